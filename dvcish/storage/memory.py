"""An in-memory store for tests and for checking the store contract itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from dvcish.errors import CorruptObjectError, ObjectNotFoundError
from dvcish.hashing import hash_bytes
from dvcish.progress import ByteCallback
from dvcish.storage.base import BlobInfo, ObjectStore, object_key, oid_from_key


class MemoryStore(ObjectStore):
    """Blobs in a dict, objects among them under their object keys."""

    def __init__(self, description: str = "memory store"):
        self.description = description
        self._blobs: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def exists(self, oid: str) -> bool:
        return object_key(oid) in self._blobs

    def missing(self, oids: Iterable[str]) -> set[str]:
        return {oid for oid in oids if object_key(oid) not in self._blobs}

    def get(self, oid: str, dest: BinaryIO) -> int:
        try:
            data = self._blobs[object_key(oid)][0]
        except KeyError:
            raise ObjectNotFoundError(f"{self.description}: object {oid} not found", oid) from None
        dest.write(data)
        return len(data)

    def put(
        self,
        oid: str,
        source_path: str,
        on_bytes: ByteCallback | None = None,
        proven: bool = False,
    ) -> None:
        with open(source_path, "rb") as src:
            data = src.read()
        if hash_bytes(data) != oid:
            raise CorruptObjectError(
                f"{source_path}: content does not hash to {oid}; nothing stored", oid
            )
        self.put_blob(object_key(oid), data)
        if on_bytes is not None:
            on_bytes(len(data))

    def list(self) -> Iterator[str]:
        return iter([oid for key in list(self._blobs) if (oid := oid_from_key(key)) is not None])

    def delete(self, oids: Iterable[str]) -> None:
        self.delete_blobs(object_key(oid) for oid in oids)

    def url_of(self, oid: str) -> str:
        return f"memory://{object_key(oid)}"

    def put_blob(self, key: str, data: bytes) -> None:
        with self._lock:
            self._blobs[key] = (bytes(data), time.time())

    def get_blob(self, key: str, dest: BinaryIO, offset: int = 0, length: int | None = None) -> int:
        try:
            data = self._blobs[key][0]
        except KeyError:
            raise ObjectNotFoundError(f"{self.description}: {key} not found", key) from None
        piece = data[offset:] if length is None else data[offset : offset + length]
        dest.write(piece)
        return len(piece)

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        found = [(key, value) for key, value in list(self._blobs.items()) if key.startswith(prefix)]
        return iter([BlobInfo(key, len(data), mtime) for key, (data, mtime) in found])

    def delete_blobs(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._blobs.pop(key, None)

    def corrupt(self, oid: str, data: bytes) -> None:
        """Replace an object's bytes without checking them (tests of download verification)."""
        self.put_blob(object_key(oid), data)
