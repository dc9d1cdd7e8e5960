"""Writing object bytes into files, hashed: without filling holes, and hashed behind the writers.

- ``write_sparse_at`` writes at an offset and leaves out whole blocks of zeros (they become
  holes, as ``cp --sparse=always`` makes); ``set_length`` then gives the file its length.
- ``HashingWriter`` hashes a stream as it is written, in order (the pieces of a pack read, fsck).
- ``TrailingHasher`` hashes a file from its start as far as its writers say the bytes are final,
  reading them back in a thread of its own: what is hashed is what landed, and hashing overlaps
  the writing (a kernel copy, parallel ranged downloads).
"""

from __future__ import annotations

import os
import threading

from dvcish.hashing import new_hasher
from dvcish.progress import ByteCallback

# Files up to this size are read whole: one read, one hash, one write; no hasher thread.
SMALL_FILE = 4 << 20
# The hasher reads back this much at a time (xxhash lets go of the GIL for large inputs).
HASH_STEP = 4 << 20
# Holes are made of whole blocks of zeros; blocks are counted from the start of the file.
BLOCK = 4096
_ZERO_BLOCK = bytes(BLOCK)


# --- writing without filling holes ----------------------------------------------------------------


def write_sparse_at(fd: int, data: bytes | memoryview, offset: int) -> bool:
    """Write ``data`` at ``offset``, leaving out its whole blocks of zeros (they stay holes).
    True when its last bytes were left out: the file may then be shorter than ``offset +
    len(data)``, and the writer sets its length once everything is written."""
    view = memoryview(data)
    lead = -offset % BLOCK  # bytes before the next block boundary of the file
    zero = _zero_blocks(view[lead:]) if len(view) >= lead + BLOCK else []
    start = 0
    for first, count in zero:
        begin = lead + first * BLOCK
        _pwrite_all(fd, view[start:begin], offset + start)
        start = begin + count * BLOCK
    _pwrite_all(fd, view[start:], offset + start)
    return start == len(view) and len(view) > 0


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


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


def set_length(fd: int, size: int) -> None:
    """Give the file its full length where it ends in a hole (zero blocks not written)."""
    if os.fstat(fd).st_size < size:
        os.ftruncate(fd, size)


class HashingWriter:
    """A file-like sink that hashes what it is given and, with a descriptor, writes it there.

    Stores write an object's bytes in order, so ``hexdigest`` is the hash of exactly what was
    written: nothing needs to be read back. Without a descriptor it only hashes (fsck). Whole
    blocks of zeros are not written (they become holes); ``finish`` gives the file its length.
    """

    def __init__(self, fd: int | None = None):
        self.fd = fd
        self.size = 0
        self._hasher = new_hasher()
        self._short = False  # the file ends in a hole its length does not cover yet

    def write(self, data: bytes | memoryview) -> int:
        self._hasher.update(data)
        if self.fd is not None and data:
            self._short = write_sparse_at(self.fd, data, self.size)
        self.size += len(data)
        return len(data)

    def finish(self) -> None:
        """Call once everything is written (before closing the descriptor)."""
        if self._short and self.fd is not None:
            os.ftruncate(self.fd, self.size)
            self._short = False

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()


# --- hashing behind the writers -------------------------------------------------------------------


class TrailingHasher:
    """Hashes a file from its start as far as its writers say its bytes are final
    (``advance``), reading them back from the file: the oid is the hash of what is there.

    Past SMALL_FILE it works in a thread of its own, so hashing overlaps the writing; below, it
    hashes everything in ``finish``. A read that ends before the final offset meets the end of
    a file whose last blocks are holes not yet covered by its length: those bytes are zeros.
    """

    def __init__(self, fd: int):
        self.fd = fd
        self._hasher = new_hasher()
        self._hashed = 0
        self._ready = 0
        self._closed = False
        self._drain = False  # when closed: hash what is final before ending
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._buffer: memoryview | None = None

    def advance(self, final: int) -> None:
        """Bytes before ``final`` will not change any more."""
        with self._changed:
            if final <= self._ready:
                return
            self._ready = final
            if self._thread is None and final >= SMALL_FILE:
                self._thread = threading.Thread(target=self._run, name="hasher", daemon=True)
                self._thread.start()
            self._changed.notify()

    def finish(self, size: int) -> str:
        """The hash of the file's first ``size`` bytes (every one of them final now): the
        thread hashes what it has not reached yet, and ends."""
        if self._error is None:
            self.advance(size)
        self._stop(drain=True)
        if self._error is not None:
            raise self._error
        self._hash_up_to(size)  # all of a small file (no thread)
        return self._hasher.hexdigest()

    def abandon(self) -> None:
        """The writing failed: stop hashing."""
        self._stop()

    def _stop(self, drain: bool = False) -> None:
        """End the thread: at once, or (``drain``) once it has hashed every final byte."""
        with self._changed:
            self._closed = True
            self._drain = drain
            self._changed.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        try:
            while True:
                with self._changed:
                    while self._hashed >= self._ready and not self._closed:
                        self._changed.wait()
                    if self._closed and (not self._drain or self._hashed >= self._ready):
                        return
                    ready = self._ready
                self._hash_up_to(ready)
        except BaseException as exc:  # re-raised by finish, in the writer's thread
            self._error = exc

    def _hash_up_to(self, end: int) -> None:
        while self._hashed < end:
            want = min(HASH_STEP, end - self._hashed)
            if self._buffer is None or len(self._buffer) < want:
                self._buffer = memoryview(bytearray(HASH_STEP if end >= HASH_STEP else want))
            view = self._buffer[:want]
            got = os.preadv(self.fd, [view], self._hashed)
            if got < want:  # the file ends in a hole its length does not cover yet
                view[got:] = bytes(want - got)
            self._hasher.update(view)
            self._hashed += want


def report(on_bytes: ByteCallback | None, count: int) -> None:
    """Tell a progress callback of ``count`` bytes (if there is one and they are not none)."""
    if on_bytes is not None and count:
        on_bytes(count)
