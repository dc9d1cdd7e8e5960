"""An in-memory store for tests and for checking the store contract itself."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from dvcish.errors import CorruptObjectError, ObjectNotFoundError
from dvcish.hashing import hash_bytes
from dvcish.storage.base import ObjectStore, object_key


class MemoryStore(ObjectStore):
    def __init__(self, description: str = "memory store"):
        self.description = description
        self._objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def exists(self, oid: str) -> bool:
        return oid in self._objects

    def missing(self, oids: Iterable[str]) -> set[str]:
        return {oid for oid in oids if oid not in self._objects}

    def get(self, oid: str, dest: BinaryIO) -> int:
        try:
            data = self._objects[oid]
        except KeyError:
            raise ObjectNotFoundError(f"{self.description}: object {oid} not found", oid) from None
        dest.write(data)
        return len(data)

    def put(self, oid: str, source_path: str) -> None:
        with open(source_path, "rb") as src:
            data = src.read()
        if hash_bytes(data) != oid:
            raise CorruptObjectError(
                f"{source_path}: content does not hash to {oid}; nothing stored", oid
            )
        with self._lock:
            self._objects[oid] = data

    def list(self) -> Iterator[str]:
        return iter(list(self._objects))

    def delete(self, oids: Iterable[str]) -> None:
        with self._lock:
            for oid in oids:
                self._objects.pop(oid, None)

    def url_of(self, oid: str) -> str:
        return f"memory://{object_key(oid)}"

    def corrupt(self, oid: str, data: bytes) -> None:
        """Replace an object's bytes without checking them (tests of download verification)."""
        self._objects[oid] = data
