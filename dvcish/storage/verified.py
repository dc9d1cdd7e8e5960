"""Verified copies: the one copy routine and the one reflink helper. Every object byte that
dvcish copies between local files passes through here, so "the oid is the hash of the bytes
written" holds everywhere (writing and hashing: hashed_io.py; receiving: receiving.py).

``copy_file`` copies a file in the kernel (``copy_file_range``: the bytes never enter Python),
or shares its extents (a reflink) where asked and the filesystem can. Unless the source is
*proven* (the stat cache recorded that this very file hashes to its oid), a hasher reads the
destination back behind the copy, in a thread of its own, and hashes it: what is hashed is what
landed, and hashing overlaps the copy.

Sparse files stay sparse: no block of zeros that arrives is written (it becomes a hole, as
``cp --sparse=always`` makes) and a source's holes are never read or copied
(``SEEK_DATA``/``SEEK_HOLE``). Both apply to every write into the cache, the workspace and
folder remotes; the bytes hashed are the same either way.
"""

from __future__ import annotations

import errno
import fcntl
import os
from dataclasses import dataclass

from dvcish import fsutil
from dvcish.hashing import CHUNK_SIZE
from dvcish.progress import ByteCallback
from dvcish.storage.hashed_io import (
    SMALL_FILE,
    HashingWriter,
    TrailingHasher,
    report,
    set_length,
    write_sparse_at,
)

__all__ = ["SMALL_FILE", "CopyHow", "Copied", "copy_file", "try_reflink"]

# One kernel copy call moves at most this much, so the hasher follows closely behind it.
COPY_STEP = 8 << 20
FICLONE = 0x40049409  # ioctl: share the source's extents (btrfs, XFS, bcachefs)
_NO_CLONE = (errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.EBADF)
# copy_file_range refused (another filesystem, an old kernel): the bytes go through Python.
_NO_KERNEL_COPY = (errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP)


# --- copying --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CopyHow:
    """How ``copy_file`` copies one file."""

    reflink: bool = False  # share the source's extents where the filesystem can
    proven: bool = False  # the source is known to hash to its oid: copy it, do not hash it
    durable: bool = False  # the copy will be made durable: start writing it to disk as it goes
    clone_only: bool = False  # with reflink: where it cannot clone, copy nothing


@dataclass(frozen=True)
class Copied:
    """What ``copy_file`` made: the hash of the bytes now in the destination (None when the
    source was proven, so nothing was hashed), their count, and whether it is a reflink."""

    oid: str | None
    size: int
    cloned: bool


def copy_file(
    src_fd: int, dst_fd: int, how: CopyHow, on_bytes: ByteCallback | None = None
) -> Copied:
    """Copy the file open at ``src_fd`` into the empty file open at ``dst_fd`` (for reading and
    writing): a reflink, a kernel copy, or for a small unproven file one read and one write.
    ``on_bytes`` is told of the bytes as they are copied (holes included). With ``clone_only``
    a filesystem that cannot clone gets nothing written (``cloned`` is False)."""
    st = os.fstat(src_fd)
    if how.reflink and try_reflink(src_fd, dst_fd):
        size = os.fstat(dst_fd).st_size
        oid = None if how.proven else _hash_whole(dst_fd, size)
        report(on_bytes, size)
        return Copied(oid, size, True)
    if how.clone_only:
        return Copied(None, 0, False)
    if not how.proven and st.st_size < SMALL_FILE:
        return _copy_small(src_fd, dst_fd, st.st_size, on_bytes)
    hasher = None if how.proven else TrailingHasher(dst_fd)
    try:
        size = copy_data(src_fd, dst_fd, st, hasher, how.durable, on_bytes)
        oid = None if hasher is None else hasher.finish(size)
    except BaseException:
        if hasher is not None:
            hasher.abandon()
        raise
    return Copied(oid, size, False)


def _copy_small(src_fd: int, dst_fd: int, size_hint: int, on_bytes: ByteCallback | None) -> Copied:
    """One read (of everything there is, even if the file grew), one hash, one write."""
    data = os.read(src_fd, size_hint + 1)
    while len(data) > size_hint and (more := os.read(src_fd, CHUNK_SIZE)):
        data += more  # it grew while it was read: the caller's size check reports it
    sink = HashingWriter(dst_fd)
    sink.write(data)
    sink.finish()
    report(on_bytes, len(data))
    return Copied(sink.hexdigest(), len(data), False)


def _hash_whole(fd: int, size: int) -> str:
    hasher = TrailingHasher(fd)
    return hasher.finish(size)


def copy_data(
    src_fd: int,
    dst_fd: int,
    st: os.stat_result,
    hasher: TrailingHasher | None,
    durable: bool,
    on_bytes: ByteCallback | None,
) -> int:
    """Copy every data part of the source to the same offsets of the destination in the kernel
    (holes are skipped: they stay holes); return the size. The hasher is told how far the
    copy is final as it goes; with ``durable`` the disk starts writing as it goes."""
    parts = _data_parts(src_fd, st)
    end = flushed = 0
    kernel = True
    for start, length in parts:
        report(on_bytes, start - end)  # a hole, counted but never read
        offset = start
        while length is None or offset < start + length:
            want = COPY_STEP if length is None else min(COPY_STEP, start + length - offset)
            moved, kernel = _copy_range(src_fd, dst_fd, offset, want, kernel, st.st_size)
            if not moved:
                break
            offset += moved
            if hasher is not None:
                hasher.advance(offset)
            report(on_bytes, moved)
            if durable and offset - flushed >= fsutil.WRITEBACK_STEP:
                fsutil.start_writeback(dst_fd, flushed, offset - flushed)
                flushed = offset
        end = offset
    read_to_the_end = bool(parts) and parts[-1][1] is None
    size = end if read_to_the_end else st.st_size  # a sparse file may end in a hole
    report(on_bytes, size - end)
    set_length(dst_fd, size)
    if durable:
        fsutil.start_writeback(dst_fd, flushed, 0)
    return size


def _copy_range(
    src_fd: int, dst_fd: int, offset: int, count: int, kernel: bool, size: int
) -> tuple[int, bool]:
    """Copy up to ``count`` bytes at ``offset`` to the same offset of the destination, in the
    kernel while ``kernel`` holds; (bytes copied, whether to keep using the kernel). 0 bytes:
    the source ends there. ``size`` is the source's size when it was opened: a 0 from the
    kernel at or past it is the end, and needs no read to tell."""
    if kernel:
        try:
            moved = os.copy_file_range(src_fd, dst_fd, count, offset, offset)
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
            kernel = False
        else:
            if moved:
                return moved, True
            if offset >= size:
                return 0, True
    # Through Python: the kernel refused, or said 0, which some filesystems (procfs, FUSE)
    # say for files it cannot copy; a read tells that from the true end.
    data = os.pread(src_fd, count, offset)
    if data:
        write_sparse_at(dst_fd, data, offset)
        kernel = False
    return len(data), kernel


def _data_parts(fd: int, st: os.stat_result) -> list[tuple[int, int | None]]:
    """(start, length) of the parts of the file that hold data; length None means "to the end".
    A file that holds all its blocks (or is small, or on a filesystem without ``SEEK_DATA``) is
    one part."""
    if st.st_size < SMALL_FILE or st.st_blocks * 512 >= st.st_size:
        return [(0, None)]
    parts: list[tuple[int, int | None]] = []
    position = 0
    while position < st.st_size:
        try:
            data = os.lseek(fd, position, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # nothing but a hole up to the end
                break
            return [*parts, (position, None)]  # no SEEK_DATA here: read the rest as it comes
        if data >= st.st_size:
            break
        hole = os.lseek(fd, data, os.SEEK_HOLE)
        parts.append((data, hole - data))
        position = hole
    return parts


def try_reflink(src_fd: int, dst_fd: int) -> bool:
    """Make ``dst_fd`` share ``src_fd``'s extents; False where the filesystem cannot."""
    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
    except OSError as exc:
        if exc.errno in _NO_CLONE:
            return False
        raise
    return True
