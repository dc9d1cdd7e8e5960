"""A store in a local folder (a remote on disk or a mounted share), in the cache layout."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from dvcish import fsutil
from dvcish.errors import CorruptObjectError, DvcishError, ObjectNotFoundError
from dvcish.hashing import CHUNK_SIZE
from dvcish.progress import ByteCallback
from dvcish.storage.base import BlobInfo, ObjectSink, ObjectStore, oid_from_key
from dvcish.storage.batch import DurableBatch
from dvcish.storage.verified import SMALL_FILE, CopyHow, copy_file

# Asking about more oids than this lists the fan-out folders instead of one stat per oid.
LIST_THRESHOLD = 512
# Listing a fan-out folder costs about as much per name as a stat costs per object divided by
# STAT_PER_NAME; a folder's size in bytes over DIRENT_BYTES guesses how many names it holds
# (ext4 and XFS: 20-40 bytes an entry). So a push of 50,000 files into a cache of 1.28M
# objects stats them instead of listing 1.28M names for every batch.
STAT_PER_NAME = 20
DIRENT_BYTES = 32


class LocalStore(ObjectStore):
    """Objects as read-only files under ``root/ab/cdef...``.

    ``put`` copies into a temp file in the object's own folder (in the kernel, or as a reflink
    where the filesystem shares extents), hashing it unless it is proven, and stages it in a
    ``DurableBatch``: ``flush`` makes the bytes durable, renames them into place and makes the
    names durable (the durability rule in storage/batch.py). An interrupted writer never leaves
    a partial object under a final name.
    """

    def __init__(self, root: str, description: str | None = None):
        self.root = os.path.abspath(root)
        self.description = description or f"folder {self.root}"
        self.batch = DurableBatch(self.root)
        self.reflink_works = True  # until a large put finds the filesystem cannot

    def path_of(self, oid: str) -> str:
        return f"{self.root}/{oid[:2]}/{oid[2:]}"

    def folder_of(self, oid: str) -> str:
        return f"{self.root}/{oid[:2]}"

    def url_of(self, oid: str) -> str:
        return self.path_of(oid)

    def check_readable(self) -> None:
        if not os.path.isdir(self.root):
            raise DvcishError(
                f"{self.description}: folder does not exist; create it or fix the remote url"
            )

    def check_writable(self) -> None:
        """A folder remote that does not exist yet is created by the first put."""

    def exists(self, oid: str) -> bool:
        try:
            os.stat(self.path_of(oid))
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    def missing(self, oids: Iterable[str]) -> set[str]:
        wanted = set(oids)
        if len(wanted) <= LIST_THRESHOLD:
            return {oid for oid in wanted if not self.exists(oid)}
        by_prefix: dict[str, list[str]] = {}
        for oid in wanted:
            by_prefix.setdefault(oid[:2], []).append(oid)
        absent: set[str] = set()
        for prefix, group in by_prefix.items():
            folder = os.path.join(self.root, prefix)
            try:
                entries_guess = os.stat(folder).st_size // DIRENT_BYTES
            except (FileNotFoundError, NotADirectoryError):
                absent.update(group)
                continue
            if len(group) * STAT_PER_NAME < entries_guess:  # a few of many: stat them
                absent.update(oid for oid in group if not self.exists(oid))
                continue
            try:
                names = set(os.listdir(folder))
            except (FileNotFoundError, NotADirectoryError):
                names = set()
            absent.update(oid for oid in group if oid[2:] not in names)
        return absent

    def get(self, oid: str, dest: BinaryIO) -> int:
        try:
            return _copy_range(self.path_of(oid), dest, 0, None)
        except FileNotFoundError:
            raise ObjectNotFoundError(f"{self.description}: object {oid} not found", oid) from None

    def put(
        self,
        oid: str,
        source_path: str,
        on_bytes: ByteCallback | None = None,
        proven: bool = False,
    ) -> None:
        tmp, dst = fsutil.create_temp(self.folder_of(oid), fsutil.READ_ONLY_MODE, readable=True)
        try:
            try:
                src = os.open(source_path, os.O_RDONLY)
                try:
                    how = CopyHow(self._reflink(src), proven, durable=True)
                    copied = copy_file(src, dst, how, on_bytes)
                finally:
                    os.close(src)
            finally:
                os.close(dst)
            if copied.oid is not None and copied.oid != oid:
                raise CorruptObjectError(
                    f"{source_path}: content does not hash to {oid}; nothing stored", oid
                )
        except BaseException:
            fsutil.remove_quietly(tmp)
            raise
        if how.reflink and not copied.cloned:
            self.reflink_works = False
        self.batch.add(tmp, self.path_of(oid))

    def _reflink(self, src_fd: int) -> bool:
        """Try a reflink for a large file, until one fails (a small one is one write anyway)."""
        return self.reflink_works and os.fstat(src_fd).st_size >= SMALL_FILE

    def receive_blob(self, key: str, sink: ObjectSink) -> int:
        try:
            fd = os.open(self._blob_path(key), os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFoundError(f"{self.description}: {key} not found", key) from None
        try:
            return sink.copy_from(fd)
        finally:
            os.close(fd)

    def put_blob(self, key: str, data: bytes) -> None:
        final = self._blob_path(key)
        tmp, fd = fsutil.create_temp(os.path.dirname(final), fsutil.READ_ONLY_MODE)
        try:
            try:
                fsutil.write_all(fd, data)
            finally:
                os.close(fd)
        except BaseException:
            fsutil.remove_quietly(tmp)
            raise
        self.batch.add(tmp, final)

    def get_blob(self, key: str, dest: BinaryIO, offset: int = 0, length: int | None = None) -> int:
        try:
            return _copy_range(self._blob_path(key), dest, offset, length)
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFoundError(f"{self.description}: {key} not found", key) from None

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        folder, _, _ = prefix.rpartition("/")
        start = os.path.join(self.root, folder) if folder else self.root
        for path, st in _walk_files(start):
            key = os.path.relpath(path, self.root).replace(os.sep, "/")
            if key.startswith(prefix):
                yield BlobInfo(key, st.st_size, st.st_mtime)

    def delete_blobs(self, keys: Iterable[str]) -> None:
        for key in keys:
            fsutil.remove_quietly(self._blob_path(key))

    def _blob_path(self, key: str) -> str:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts):
            raise DvcishError(f"{self.description}: bad key {key!r}")
        return os.path.join(self.root, *parts)

    def flush(self) -> None:
        self.batch.commit()

    def discard(self) -> None:
        """Drop what was put but not yet flushed (a failed command leaves no temp files)."""
        self.batch.discard()

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

    def temp_files(self) -> Iterator[tuple[str, os.stat_result]]:
        """(path, stat) of every temp file below the root: what interrupted writers left (or
        running ones are writing; gc removes those older than its grace period)."""
        return _walk_files(self.root, temps=True)


def _copy_range(path: str, dest: BinaryIO, offset: int, length: int | None) -> int:
    """Write bytes [offset, offset + length) of the file at ``path`` to ``dest``."""
    fd = os.open(path, os.O_RDONLY)
    total = 0
    try:
        if offset:
            os.lseek(fd, offset, os.SEEK_SET)
        while length is None or total < length:
            want = CHUNK_SIZE if length is None else min(CHUNK_SIZE, length - total)
            chunk = os.read(fd, want)
            if not chunk:
                break
            dest.write(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    return total


def _walk_files(start: str, temps: bool = False) -> Iterator[tuple[str, os.stat_result]]:
    """(path, stat) of every regular file below ``start`` that is not a temp file (only the
    temp files, with ``temps``)."""
    stack = [start]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            elif entry.is_file(follow_symlinks=False) and fsutil.is_temp_name(entry.name) == temps:
                yield entry.path, entry.stat(follow_symlinks=False)
