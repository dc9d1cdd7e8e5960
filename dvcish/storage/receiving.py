"""Receiving objects: the one path every downloaded or fetched object takes into a temp file.

- ``ObjectFile`` receives one object into a temp file: in order, at offsets from several threads
  at once (ranged downloads), or whole from a local file (``copy_from``, the kernel copy of
  verified.py); hashed behind the writers (hashed_io.TrailingHasher).
- ``receive_group`` runs one read and cuts it into its objects (``ReadGroup``: one loose object,
  or pieces of a pack), each hashed before anything may rename it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from dvcish import fsutil
from dvcish.progress import ByteCallback
from dvcish.storage.base import ObjectStore, Piece, ReadGroup
from dvcish.storage.hashed_io import (
    HashingWriter,
    TrailingHasher,
    report,
    set_length,
    write_sparse_at,
)
from dvcish.storage.verified import copy_data


class ObjectFile:
    """One object arriving in a temp file open for reading and writing: the sink a store's
    ``receive_blob`` fills. Bytes come in order (``write``), at offsets from several threads at
    once (``write_at``: a ranged download), or whole from a local file (``copy_from``). The
    hasher follows the longest run of final bytes from the start; ``finish`` gives the hash of
    the whole file. With ``durable`` the disk starts writing the bytes as they come."""

    def __init__(self, fd: int, durable: bool = False, on_bytes: ByteCallback | None = None):
        self.fd = fd
        self.durable = durable
        self.on_bytes = on_bytes
        self._hasher = TrailingHasher(fd)
        self._lock = threading.Lock()
        self._position = 0  # where the next ``write`` goes
        self._final = 0  # every byte before this has arrived
        self._ahead: dict[int, int] = {}  # start -> end of runs that arrived beyond _final
        self._end = 0
        self._unflushed = 0

    def write(self, data: bytes | memoryview) -> int:
        offset, self._position = self._position, self._position + len(data)
        self.write_at(offset, data)
        return len(data)

    def write_at(self, offset: int, data: bytes | memoryview) -> None:
        if not data:
            return
        write_sparse_at(self.fd, data, offset)
        with self._lock:
            self._ahead[offset] = offset + len(data)
            while self._final in self._ahead:
                self._final = self._ahead.pop(self._final)
            self._end = max(self._end, offset + len(data))
            final = self._final
            self._unflushed += len(data)
            flush = self.durable and self._unflushed >= fsutil.WRITEBACK_STEP
            if flush:
                self._unflushed = 0
        self._hasher.advance(final)
        report(self.on_bytes, len(data))
        if flush:
            fsutil.start_writeback(self.fd, 0, 0)

    def copy_from(self, src_fd: int) -> int:
        """Take the whole of the local file open at ``src_fd`` (a kernel copy)."""
        size = copy_data(
            src_fd, self.fd, os.fstat(src_fd), self._hasher, self.durable, self.on_bytes
        )
        with self._lock:
            self._final = self._end = size
        return size

    def finish(self) -> tuple[str, int]:
        """(the hash of the bytes received, their count); every write must have returned."""
        with self._lock:
            size, complete = self._end, self._final == self._end
        if not complete:
            raise RuntimeError(f"bytes missing before offset {size} of a received object")
        set_length(self.fd, size)
        if self.durable:
            fsutil.start_writeback(self.fd, 0, 0)
        return self._hasher.finish(size), size

    def abandon(self) -> None:
        self._hasher.abandon()


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
            report(self.on_bytes, take)
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
    ``open_temp(oid)`` (path, descriptor open for reading and writing), hashed as it arrives.
    Returns the pieces that arrived whole, verified or not; a read that fails leaves no temp
    file behind. A whole object is received by the store's ``receive_blob`` (a kernel copy from
    a folder, parallel ranged reads from S3). ``on_bytes`` is told of the pieces' bytes as they
    arrive (progress; gaps are not counted). Everything received goes into the cache, to be
    made durable: a whole object's pages are handed to the disk as they arrive."""
    if _is_whole_object(group):
        return [_receive_whole(store, group, open_temp, on_bytes)]
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


def _is_whole_object(group: ReadGroup) -> bool:
    if len(group.pieces) != 1 or group.offset or group.length is not None:
        return False
    piece = group.pieces[0]
    return piece.offset == 0 and piece.length is None


def _receive_whole(
    store: ObjectStore,
    group: ReadGroup,
    open_temp: Callable[[str], tuple[str, int]],
    on_bytes: ByteCallback | None,
) -> Received:
    oid = group.pieces[0].oid
    path, fd = open_temp(oid)
    sink = ObjectFile(fd, durable=True, on_bytes=on_bytes)
    try:
        try:
            store.receive_blob(group.key, sink)
            actual, size = sink.finish()
        finally:
            sink.abandon()
            os.close(fd)
    except BaseException:
        fsutil.remove_quietly(path)
        raise
    return Received(oid, path, size, actual)
