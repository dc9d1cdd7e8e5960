"""Verified reads and writes: the one copy-while-hashing routine, the one hashing writer, the one
reflink helper and the one receiving path for downloads (``receive_group``: a read cut into its
objects, each hashed while it is written to a temp file). Every object byte that dvcish copies,
stores or receives passes through here, so "the bytes written are the bytes hashed" holds
everywhere.

Sparse files stay sparse: the hashing writer skips whole blocks of zeros instead of writing
them (the file gets holes, as ``cp --sparse=always`` makes), and the copy routine does not even
read a source's holes (``SEEK_DATA``/``SEEK_HOLE``). Both apply to every write into the cache,
the workspace and folder remotes; the bytes hashed are the same either way.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dvcish import fsutil
from dvcish.hashing import CHUNK_SIZE, hash_fd, new_hasher
from dvcish.progress import ByteCallback
from dvcish.storage.base import ObjectStore, Piece, ReadGroup

# Files up to this size are read whole: one read, one hash, one write.
SMALL_FILE = 4 << 20
# Holes are made of whole blocks of zeros; blocks are counted from the start of the file.
BLOCK = 4096
_ZERO_BLOCK = bytes(BLOCK)
_ZEROS = memoryview(bytes(CHUNK_SIZE))
FICLONE = 0x40049409  # ioctl: share the source's extents (btrfs, XFS, bcachefs)
_NO_CLONE = (errno.EOPNOTSUPP, errno.EXDEV, errno.EINVAL, errno.ENOTTY, errno.EBADF)


class HashingWriter:
    """A file-like sink that hashes what it is given and, with a descriptor, writes it there.

    Stores write an object's bytes in order, so ``hexdigest`` is the hash of exactly what was
    written: nothing needs to be read back. Without a descriptor it only hashes (fsck). Whole
    blocks of zeros are skipped, not written, so they become holes; ``finish`` then gives the
    file its full length, which a hole at the end would leave short.
    """

    def __init__(self, fd: int | None = None):
        self.fd = fd
        self.size = 0
        self._hasher = new_hasher()
        self._short = False  # the file ends in a hole not yet covered by its length

    def write(self, data: bytes | memoryview) -> int:
        self._hasher.update(data)
        if self.fd is not None:
            self._write_sparse(memoryview(data))
        self.size += len(data)
        return len(data)

    def write_zeros(self, length: int) -> None:
        """``length`` zero bytes that the source holds as a hole: hashed, never written."""
        left = length
        while left:
            take = min(left, len(_ZEROS))
            self._hasher.update(_ZEROS[:take])
            left -= take
        if self.fd is not None and length:
            os.lseek(self.fd, length, os.SEEK_CUR)
            self._short = True
        self.size += length

    def finish(self) -> None:
        """Call once everything is written (before closing the descriptor)."""
        if self._short and self.fd is not None:
            os.ftruncate(self.fd, self.size)
            self._short = False

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()

    def _write_sparse(self, view: memoryview) -> None:
        """Write ``view`` at the current position, seeking over its whole zero blocks."""
        lead = -self.size % BLOCK  # bytes before the next block boundary of the file
        zero = _zero_blocks(view[lead:]) if len(view) >= lead + BLOCK else []
        if not zero:
            fsutil.write_all(self.fd, view)  # type: ignore[arg-type]
            self._short = False
            return
        start = 0
        for first, count in zero:
            begin = lead + first * BLOCK
            fsutil.write_all(self.fd, view[start:begin])  # type: ignore[arg-type]
            os.lseek(self.fd, count * BLOCK, os.SEEK_CUR)  # type: ignore[arg-type]
            start = begin + count * BLOCK
        fsutil.write_all(self.fd, view[start:])  # type: ignore[arg-type]
        self._short = start == len(view)


def _zero_blocks(view: memoryview) -> list[tuple[int, int]]:
    """(first block, number of blocks) of each run of whole zero blocks in ``view``. Only
    blocks whose first byte is zero are compared in full, so data costs almost nothing."""
    firsts = view[::BLOCK].tobytes()
    runs: list[tuple[int, int]] = []
    index = firsts.find(0)
    while index != -1:
        start = index * BLOCK
        if view[start : start + BLOCK] == _ZERO_BLOCK:
            if runs and runs[-1][0] + runs[-1][1] == index:
                runs[-1] = (runs[-1][0], runs[-1][1] + 1)
            else:
                runs.append((index, 1))
        index = firsts.find(0, index + 1)
    return runs


def copy_hashing(
    src_fd: int,
    dst_fd: int,
    durable: bool = False,
    size_hint: int = 0,
    on_bytes: ByteCallback | None = None,
) -> tuple[str, int]:
    """Copy everything readable from ``src_fd`` to ``dst_fd``; return (oid, size) of the bytes
    written. Small files move in one read; with ``durable`` a large file's pages are handed to
    the disk as they are written (``start_writeback``), so a later barrier has little to do.
    ``on_bytes`` is told of each chunk written (progress)."""
    sink = HashingWriter(dst_fd)
    flushed = 0
    chunk_size = size_hint + 1 if 0 < size_hint < SMALL_FILE else CHUNK_SIZE
    for hole, length in _segments(src_fd, size_hint):
        if hole:
            sink.write_zeros(length)
            if on_bytes is not None:
                on_bytes(length)
            continue
        left = length if length >= 0 else None  # None: read to the end of the file
        while chunk := os.read(src_fd, chunk_size if left is None else min(chunk_size, left)):
            sink.write(chunk)
            if on_bytes is not None:
                on_bytes(len(chunk))
            if left is not None:
                left -= len(chunk)
            if durable and sink.size - flushed >= fsutil.WRITEBACK_STEP:
                fsutil.start_writeback(dst_fd, flushed, sink.size - flushed)
                flushed = sink.size
    sink.finish()
    if durable and flushed:
        fsutil.start_writeback(dst_fd, flushed, 0)
    return sink.hexdigest(), sink.size


def _segments(fd: int, size_hint: int) -> Iterator[tuple[bool, int]]:
    """(is a hole, length) of the parts of the file open at ``fd``, from its start, leaving the
    offset at each data part; length -1 means "read to the end". A file that holds all its
    blocks (or is small, or on a filesystem without ``SEEK_DATA``) is one part, read whole."""
    st = os.fstat(fd) if size_hint >= SMALL_FILE else None
    if st is None or st.st_blocks * 512 >= st.st_size:
        yield False, -1
        return
    position = 0
    while position < st.st_size:
        try:
            data = os.lseek(fd, position, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # no SEEK_DATA here: read the rest as it comes
                os.lseek(fd, position, os.SEEK_SET)
                yield False, -1
                return
            data = st.st_size  # nothing but a hole up to the end
        if data > position:
            yield True, min(data, st.st_size) - position
        if data >= st.st_size:
            return
        hole = os.lseek(fd, data, os.SEEK_HOLE)
        os.lseek(fd, data, os.SEEK_SET)
        yield False, hole - data
        position = hole


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
    src_fd: int,
    dst_fd: int,
    reflink: bool,
    durable: bool = False,
    size_hint: int = 0,
    on_bytes: ByteCallback | None = None,
) -> tuple[str, int, bool]:
    """Reflink when asked and possible (then hash the clone), else copy while hashing.

    Returns (oid of the bytes now in dst, size, whether it was a reflink). ``dst_fd`` must be
    open for reading and writing.
    """
    if reflink and try_reflink(src_fd, dst_fd):
        oid, size = hash_fd(dst_fd, on_bytes)
        return oid, size, True
    oid, size = copy_hashing(src_fd, dst_fd, durable, size_hint, on_bytes)
    return oid, size, False


@dataclass
class Received:
    """One object that arrived in a temp file, and what its bytes hash to."""

    oid: str
    path: str
    size: int
    actual: str

    @property
    def verified(self) -> bool:
        return self.actual == self.oid


class _PieceSplitter:
    """The sink of one read: routes its bytes to the pieces, each into its own temp file,
    hashing them as they are written; bytes between pieces are dropped."""

    def __init__(
        self,
        pieces: tuple[Piece, ...],
        open_temp: Callable[[str], tuple[str, int]],
        on_bytes: ByteCallback | None = None,
    ):
        self.pieces = sorted(pieces, key=lambda piece: piece.offset)
        self.open_temp = open_temp
        self.on_bytes = on_bytes
        self.position = 0
        self.index = 0
        self.current: tuple[str, int, HashingWriter] | None = None
        self.done: list[Received] = []

    def write(self, data: bytes | memoryview) -> int:
        view = memoryview(data)
        while view and self.index < len(self.pieces):
            piece = self.pieces[self.index]
            if self.position < piece.offset:  # a gap before the next piece
                skip = min(len(view), piece.offset - self.position)
                view, self.position = view[skip:], self.position + skip
                continue
            if self.current is None:
                path, fd = self.open_temp(piece.oid)
                self.current = (path, fd, HashingWriter(fd))
            sink = self.current[2]
            take = len(view) if piece.length is None else min(len(view), piece.length - sink.size)
            sink.write(view[:take])
            if self.on_bytes is not None:
                self.on_bytes(take)
            view, self.position = view[take:], self.position + take
            if piece.length is not None and sink.size == piece.length:
                self._close_piece()
        return len(data)

    def finish(self) -> None:
        """After the read: a piece that runs to the end of the read is complete now."""
        if self.current is not None and self.pieces[self.index].length is None:
            self._close_piece()

    def _close_piece(self) -> None:
        assert self.current is not None
        path, fd, sink = self.current
        sink.finish()
        os.close(fd)
        self.done.append(Received(self.pieces[self.index].oid, path, sink.size, sink.hexdigest()))
        self.current = None
        self.index += 1

    def discard(self) -> None:
        """Remove every temp file (the read failed part way)."""
        if self.current is not None:
            os.close(self.current[1])
            fsutil.remove_quietly(self.current[0])
            self.current = None
        for received in self.done:
            fsutil.remove_quietly(received.path)


def receive_group(
    store: ObjectStore,
    group: ReadGroup,
    open_temp: Callable[[str], tuple[str, int]],
    on_bytes: ByteCallback | None = None,
) -> list[Received]:
    """Run one read and cut it into its pieces, each into a fresh temp file from
    ``open_temp(oid)`` (path, open descriptor), hashed as it is written. Returns the pieces that
    arrived whole, verified or not; a read that fails leaves no temp file behind. ``on_bytes``
    is told of the pieces' bytes as they arrive (progress; gaps are not counted)."""
    splitter = _PieceSplitter(group.pieces, open_temp, on_bytes)
    try:
        store.read_group(group, splitter)  # type: ignore[arg-type]
        splitter.finish()
    except BaseException:
        splitter.discard()
        raise
    if splitter.current is not None:  # the read ended inside a piece
        os.close(splitter.current[1])
        fsutil.remove_quietly(splitter.current[0])
    return splitter.done
