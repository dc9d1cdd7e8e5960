"""The local cache: every object once, read-only, at ``<cache>/<oid[:2]>/<oid[2:]>``.

Writing is batched for speed without giving up ordering: a ``CacheWriter`` puts each new
object in a temp file inside its own fan-out folder, then ``commit`` makes all their bytes
durable with one filesystem barrier, renames them into place, and issues a second barrier, so
a tree object or pointer written afterwards never refers to an object that is not on disk.
Reading an object for delivery verifies it against its oid unless the stat cache proves it was
verified already; a corrupt object is moved to ``.quarantine/`` and never delivered.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat as statmod
import threading
from dataclasses import dataclass, field

from dvcish import fsutil
from dvcish.errors import CorruptObjectError, DvcishError
from dvcish.hashing import CHUNK_SIZE, hash_bytes, hash_fd, new_hasher
from dvcish.state import StateDB, stat_key
from dvcish.storage.local import LocalStore
from dvcish.tree import Tree, parse_tree

QUARANTINE = ".quarantine"
SMALL_FILE = 4 << 20  # files up to this size are read whole: one read, hash, one write
FICLONE = 0x40049409


class ChangedWhileAddingError(DvcishError):
    pass


class Cache:
    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.store = LocalStore(self.root, description=f"cache {self.root}")

    def path_of(self, oid: str) -> str:
        return f"{self.root}/{oid[:2]}/{oid[2:]}"

    def folder_of(self, oid: str) -> str:
        return f"{self.root}/{oid[:2]}"

    def exists(self, oid: str) -> bool:
        try:
            os.stat(f"{self.root}/{oid[:2]}/{oid[2:]}")
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    def missing(self, oids: set[str]) -> set[str]:
        return self.store.missing(oids)

    def create_layout(self) -> None:
        os.makedirs(self.root, exist_ok=True)
        for number in range(256):
            os.makedirs(os.path.join(self.root, f"{number:02x}"), exist_ok=True)

    def writer(self) -> CacheWriter:
        self.create_layout()  # the cache may be new (DVCISH_CACHE_DIR) or emptied by hand
        return CacheWriter(self)

    def read_verified(self, oid: str) -> bytes:
        """An object's bytes, checked against its oid (a corrupt object is quarantined)."""
        try:
            with open(self.path_of(oid), "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise DvcishError(f"object {oid} is not in the cache; run `dvcish fetch`") from None
        if hash_bytes(data) != oid:
            where = self.quarantine(oid)
            raise CorruptObjectError(
                f"cache object {oid} is corrupt; moved to {where}; run `dvcish fetch` to restore",
                oid,
            )
        return data

    def load_tree(self, oid: str) -> Tree:
        return parse_tree(self.read_verified(oid), f"tree {oid}")

    def verify(self, oid: str, state: StateDB | None) -> bool:
        """True when the object's bytes hash to its oid; a corrupt object is quarantined."""
        path = self.path_of(oid)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            key = stat_key(os.fstat(fd))
            if state is not None and state.is_verified(oid, key):
                return True
            actual, _ = hash_fd(fd)
        finally:
            os.close(fd)
        if actual != oid:
            self.quarantine(oid)
            if state is not None:
                state.forget_verified(oid)
            return False
        if state is not None:
            state.record_verified(oid, key)
        return True

    def quarantine(self, oid: str) -> str:
        folder = os.path.join(self.root, QUARANTINE)
        os.makedirs(folder, exist_ok=True)
        destination = os.path.join(folder, oid)
        try:
            os.replace(self.path_of(oid), destination)
        except FileNotFoundError:
            pass
        return destination

    def list(self) -> list[str]:
        return list(self.store.list())


@dataclass
class CacheWriter:
    """Batches new objects: ``add_*`` stage them, ``commit`` makes them durable and visible."""

    cache: Cache
    use_hardlink: bool = False
    use_reflink: bool = True
    _pending: dict[str, str] = field(default_factory=dict)  # oid -> temp path
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_bytes(self, data: bytes) -> str:
        oid = hash_bytes(data)
        if oid in self._pending or self.cache.exists(oid):
            return oid
        tmp = fsutil.temp_name(self.cache.folder_of(oid))
        self._write_new(tmp, data)
        with self._lock:
            if oid in self._pending:  # another thread staged the same content meanwhile
                fsutil.remove_quietly(tmp)
            else:
                self._pending[oid] = tmp
        return oid

    def add_file(self, path: str, expected: os.stat_result) -> str:
        """Store a workspace file; fails if it changes while being read."""
        if self.use_hardlink:
            return self._add_by_hardlink(path, expected)
        return self.add_file_copy(path, expected)

    def commit(self) -> None:
        if not self._pending:
            return
        fsutil.sync_filesystem(self.cache.root)
        for oid, tmp in self._pending.items():
            os.replace(tmp, self.cache.path_of(oid))
        self._pending.clear()
        fsutil.sync_filesystem(self.cache.root)

    def abort(self) -> None:
        for tmp in self._pending.values():
            fsutil.remove_quietly(tmp)
        self._pending.clear()

    def _add_small(self, path: str, expected: os.stat_result) -> str:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.read(fd, expected.st_size + 1)
            _check_unchanged(path, expected, os.fstat(fd), len(data))
        finally:
            os.close(fd)
        return self.add_bytes(data)

    def _add_large(self, path: str, expected: os.stat_result) -> str:
        tmp = fsutil.temp_name(self.cache.root)
        try:
            with open(path, "rb") as src:
                oid, size = self._clone_or_copy(src.fileno(), tmp)
                _check_unchanged(path, expected, os.fstat(src.fileno()), size)
        except BaseException:
            fsutil.remove_quietly(tmp)
            raise
        return self._stage_temp(oid, tmp)

    def _clone_or_copy(self, src_fd: int, tmp: str) -> tuple[str, int]:
        """Copy into ``tmp`` and hash exactly the bytes written (a reflink is hashed after)."""
        dst_fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, fsutil.READ_ONLY_MODE)
        try:
            if self.use_reflink and _try_reflink(src_fd, dst_fd):
                return hash_fd(dst_fd)
            self.use_reflink = False
            hasher = new_hasher()
            size = 0
            flushed = 0
            while chunk := os.read(src_fd, CHUNK_SIZE):
                hasher.update(chunk)
                fsutil.write_all(dst_fd, chunk)
                size += len(chunk)
                if size - flushed >= fsutil.WRITEBACK_STEP:
                    fsutil.start_writeback(dst_fd, flushed, size - flushed)
                    flushed = size
            fsutil.start_writeback(dst_fd, flushed, 0)
            return hasher.hexdigest(), size
        finally:
            os.close(dst_fd)

    def _add_by_hardlink(self, path: str, expected: os.stat_result) -> str:
        fd = os.open(path, os.O_RDONLY)
        try:
            oid, size = hash_fd(fd)
            _check_unchanged(path, expected, os.fstat(fd), size)
        finally:
            os.close(fd)
        if oid in self._pending or self.cache.exists(oid):
            return oid
        tmp = fsutil.temp_name(self.cache.folder_of(oid))
        try:
            os.link(path, tmp)
        except OSError:
            return self.add_file_copy(path, expected)
        os.chmod(tmp, 0o555 if expected.st_mode & statmod.S_IXUSR else fsutil.READ_ONLY_MODE)
        return self._stage_temp(oid, tmp)

    def add_file_copy(self, path: str, expected: os.stat_result) -> str:
        if expected.st_size <= SMALL_FILE:
            return self._add_small(path, expected)
        return self._add_large(path, expected)

    def _stage_temp(self, oid: str, tmp: str) -> str:
        if oid in self._pending or self.cache.exists(oid):
            fsutil.remove_quietly(tmp)
            return oid
        folder_tmp = tmp
        if os.path.dirname(tmp) != self.cache.folder_of(oid):
            folder_tmp = fsutil.temp_name(self.cache.folder_of(oid))
            os.replace(tmp, folder_tmp)
        with self._lock:
            if oid in self._pending:
                fsutil.remove_quietly(folder_tmp)
            else:
                self._pending[oid] = folder_tmp
        return oid

    def _write_new(self, tmp: str, data: bytes) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, fsutil.READ_ONLY_MODE)
        try:
            fsutil.write_all(fd, data)
        except BaseException:
            os.close(fd)
            fsutil.remove_quietly(tmp)
            raise
        os.close(fd)


def _check_unchanged(path: str, before: os.stat_result, after: os.stat_result, read: int) -> None:
    if (
        read != before.st_size
        or after.st_size != before.st_size
        or after.st_mtime_ns != before.st_mtime_ns
    ):
        raise ChangedWhileAddingError(f"{path}: file changed while being added; add it again")


def _try_reflink(src_fd: int, dst_fd: int) -> bool:
    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.EBADF):
            return False
        raise
    return True
