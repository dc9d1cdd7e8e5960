"""A store in a local folder (a remote on disk or a mounted share), in the cache layout."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from dvcish import fsutil
from dvcish.errors import CorruptObjectError, DvcishError, ObjectNotFoundError
from dvcish.hashing import CHUNK_SIZE, new_hasher
from dvcish.storage.base import ObjectStore, oid_from_key

# Asking about more oids than this lists the fan-out folders instead of one stat per oid.
LIST_THRESHOLD = 512


class LocalStore(ObjectStore):
    """Objects as read-only files under ``root/ab/cdef...``.

    ``put`` writes a temp file in the object's own folder and renames it into place, so an
    interrupted writer never leaves a partial object under a final name. Durability is batched:
    ``flush`` is one filesystem-wide barrier (syncfs) the transfer layer calls before it writes
    anything that refers to the objects (tree objects, pointers).
    """

    def __init__(self, root: str, description: str | None = None):
        self.root = os.path.abspath(root)
        self.description = description or f"folder {self.root}"

    def path_of(self, oid: str) -> str:
        return os.path.join(self.root, oid[:2], oid[2:])

    def check_readable(self) -> None:
        if not os.path.isdir(self.root):
            raise DvcishError(
                f"{self.description}: folder does not exist; create it or fix the remote url"
            )

    def exists(self, oid: str) -> bool:
        return os.path.isfile(self.path_of(oid))

    def missing(self, oids: Iterable[str]) -> set[str]:
        wanted = set(oids)
        if len(wanted) <= LIST_THRESHOLD:
            return {oid for oid in wanted if not self.exists(oid)}
        prefixes = {oid[:2] for oid in wanted}
        present: set[str] = set()
        for prefix in prefixes:
            try:
                names = os.listdir(os.path.join(self.root, prefix))
            except FileNotFoundError:
                continue
            present.update(prefix + name for name in names)
        return wanted - present

    def get(self, oid: str, dest: BinaryIO) -> int:
        try:
            fd = os.open(self.path_of(oid), os.O_RDONLY)
        except FileNotFoundError:
            raise ObjectNotFoundError(f"{self.description}: object {oid} not found", oid) from None
        total = 0
        try:
            while chunk := os.read(fd, CHUNK_SIZE):
                dest.write(chunk)
                total += len(chunk)
        finally:
            os.close(fd)
        return total

    def put(self, oid: str, source_path: str) -> None:
        folder = f"{self.root}/{oid[:2]}"
        tmp, dst = fsutil.create_temp(folder, fsutil.READ_ONLY_MODE)
        try:
            try:
                actual = _copy_hashing(source_path, dst)
            finally:
                os.close(dst)
            if actual != oid:
                raise CorruptObjectError(
                    f"{source_path}: content does not hash to {oid}; nothing stored", oid
                )
            os.replace(tmp, f"{folder}/{oid[2:]}")
        except BaseException:
            fsutil.remove_quietly(tmp)
            raise

    def flush(self) -> None:
        if os.path.isdir(self.root):
            fsutil.sync_filesystem(self.root)

    def list(self) -> Iterator[str]:
        try:
            prefixes = os.listdir(self.root)
        except FileNotFoundError:
            return
        for prefix in sorted(prefixes):
            if len(prefix) != 2:
                continue
            try:
                names = os.listdir(os.path.join(self.root, prefix))
            except (NotADirectoryError, FileNotFoundError):
                continue
            for name in names:
                oid = oid_from_key(f"{prefix}/{name}")
                if oid is not None:
                    yield oid

    def delete(self, oids: Iterable[str]) -> None:
        for oid in oids:
            fsutil.remove_quietly(self.path_of(oid))


def _copy_hashing(source_path: str, dst: int) -> str:
    """Copy a file into an open descriptor; return the hash of exactly the bytes written."""
    hasher = new_hasher()
    src = os.open(source_path, os.O_RDONLY)
    size = flushed = 0
    try:
        while chunk := os.read(src, CHUNK_SIZE):
            hasher.update(chunk)
            fsutil.write_all(dst, chunk)
            size += len(chunk)
            if size - flushed >= fsutil.WRITEBACK_STEP:  # let the disk start on it now
                fsutil.start_writeback(dst, flushed, size - flushed)
                flushed = size
    finally:
        os.close(src)
    if flushed:
        fsutil.start_writeback(dst, flushed, 0)
    return hasher.hexdigest()
