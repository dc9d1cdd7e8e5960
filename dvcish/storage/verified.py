"""Verified reads and writes: the one copy-while-hashing routine, the one hashing writer, the one
reflink helper and the one verified download. Every object byte that dvcish copies, stores or
receives passes through here, so "the bytes written are the bytes hashed" holds everywhere.
"""

from __future__ import annotations

import errno
import fcntl
import os
from typing import TYPE_CHECKING

from dvcish import fsutil
from dvcish.errors import CorruptObjectError
from dvcish.hashing import CHUNK_SIZE, hash_fd, new_hasher

if TYPE_CHECKING:
    from dvcish.storage.base import ObjectStore

# Files up to this size are read whole: one read, one hash, one write.
SMALL_FILE = 4 << 20
FICLONE = 0x40049409  # ioctl: share the source's extents (btrfs, XFS, bcachefs)
_NO_CLONE = (errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.EBADF)


class HashingWriter:
    """A file-like sink that hashes what it is given and, with a descriptor, writes it there.

    Stores write an object's bytes in order, so ``hexdigest`` is the hash of exactly what was
    written: nothing needs to be read back. Without a descriptor it only hashes (fsck).
    """

    def __init__(self, fd: int | None = None):
        self.fd = fd
        self.size = 0
        self._hasher = new_hasher()

    def write(self, data: bytes | memoryview) -> int:
        self._hasher.update(data)
        if self.fd is not None:
            fsutil.write_all(self.fd, data)
        self.size += len(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


def copy_hashing(
    src_fd: int, dst_fd: int, durable: bool = False, size_hint: int = 0
) -> tuple[str, int]:
    """Copy everything readable from ``src_fd`` to ``dst_fd``; return (oid, size) of the bytes
    written. Small files move in one read; with ``durable`` a large file's pages are handed to
    the disk as they are written (``start_writeback``), so a later barrier has little to do."""
    sink = HashingWriter(dst_fd)
    flushed = 0
    chunk_size = size_hint + 1 if 0 < size_hint < SMALL_FILE else CHUNK_SIZE
    while chunk := os.read(src_fd, chunk_size):
        sink.write(chunk)
        if durable and sink.size - flushed >= fsutil.WRITEBACK_STEP:
            fsutil.start_writeback(dst_fd, flushed, sink.size - flushed)
            flushed = sink.size
    if durable and flushed:
        fsutil.start_writeback(dst_fd, flushed, 0)
    return sink.hexdigest(), sink.size


def try_reflink(src_fd: int, dst_fd: int) -> bool:
    """Make ``dst_fd`` share ``src_fd``'s extents; False where the filesystem cannot."""
    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
    except OSError as exc:
        if exc.errno in _NO_CLONE:
            return False
        raise
    return True


def clone_or_copy(
    src_fd: int, dst_fd: int, reflink: bool, durable: bool = False, size_hint: int = 0
) -> tuple[str, int, bool]:
    """Reflink when asked and possible (then hash the clone), else copy while hashing.

    Returns (oid of the bytes now in dst, size, whether it was a reflink). ``dst_fd`` must be
    open for reading and writing.
    """
    if reflink and try_reflink(src_fd, dst_fd):
        oid, size = hash_fd(dst_fd)
        return oid, size, True
    oid, size = copy_hashing(src_fd, dst_fd, durable, size_hint)
    return oid, size, False


def download_verified(store: ObjectStore, oid: str, fd: int) -> int:
    """Write object ``oid`` from ``store`` into the empty file ``fd``, hashing as it arrives.

    A mismatch is tried once more from the start; then CorruptObjectError names the store and
    key. The caller owns ``fd`` and renames it into place only when this returns.
    """
    from dvcish.storage.base import object_key

    actual = ""
    for attempt in (1, 2):
        if attempt == 2:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
        sink = HashingWriter(fd)
        size = store.get(oid, sink)
        actual = sink.hexdigest()
        if actual == oid:
            return size
    raise CorruptObjectError(
        f"{store.description}: object {object_key(oid)} is corrupt (content hashes to "
        f"{actual}); restore it from another copy with `dvcish push`",
        oid,
        actual,
    )
