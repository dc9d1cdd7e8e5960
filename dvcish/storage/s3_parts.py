"""Large S3 objects in parts, in parallel both ways, inside one bound on requests in flight.

- ``Requests`` holds a store's bounds: at most ``jobs`` requests in flight (``-j``; every
  request of the store holds a slot while it is out) and at most ``jobs`` part buffers in
  memory; and the pool that runs parts. Parts of a large object queue for the same slots as
  whole small objects, so they travel alongside each other and ``-j`` bounds them all.
- ``upload_in_parts``: a multipart upload. The object's own thread reads the parts in order
  (hashing them unless the file is proven) into part-sized buffers and hands each to the pool;
  the upload is completed (made visible) only when the hash matches, aborted otherwise.
- ``Ranges``: a large download in one range per request slot (at least a part each): the
  first GET keeps streaming the first range while ranged GETs bring the others at once, each
  written at its offset as it streams (no buffer: ``ObjectSink.write_at``); the receiving side
  hashes the file as one object before anything renames it (storage/receiving.py).

An interrupted download restarts cleanly: a part cut short resumes where it stopped within
the run (S3Store.read_into), but a failed or killed run leaves no part behind (the temp file is
removed, or is a ``.tmp-`` leftover that the next run cleans up), and the next run downloads
the object again from its first byte.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, BinaryIO, Protocol, TypeVar

from dvcish.errors import CorruptObjectError
from dvcish.hashing import new_hasher
from dvcish.progress import ByteCallback
from dvcish.storage.base import ObjectSink

MAX_PARTS = 10_000
_T = TypeVar("_T")


class Requests:
    """The request slots, part buffers and part pool of one store; ``resize`` before use."""

    def __init__(self, jobs: int):
        self.jobs = 0
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.resize(jobs)

    def resize(self, jobs: int) -> None:
        """Allow ``jobs`` requests in flight (call it while none is)."""
        if self.jobs != max(1, jobs):
            self.close()  # its pool has the old size
        self.jobs = max(1, jobs)
        self._slots = threading.BoundedSemaphore(self.jobs)
        self._buffers = threading.BoundedSemaphore(self.jobs)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``jobs`` request slots."""
        with self._slots:
            yield

    def buffer(self) -> None:
        """Wait for room for one more part buffer; ``release_buffer`` when it is sent."""
        self._buffers.acquire()

    def release_buffer(self) -> None:
        self._buffers.release()

    def submit(self, work: Callable[[], Any]) -> Future[Any]:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="part")
            return self._pool.submit(work)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


class S3Store(Protocol):
    """What moving parts needs of the store (storage/s3.py: S3Store)."""

    bucket: str
    part_size: int
    requests: Requests

    def key_of(self, oid: str) -> str: ...

    def client(self) -> Any: ...

    def errors(self, action: str) -> AbstractContextManager[None]: ...

    def retrying(
        self, action: str, attempt: Callable[[], _T], progress: Callable[[], int] | None = None
    ) -> _T: ...

    multipart_threshold: int

    def read_into(
        self, key: str, sink: AtOffset, action: str, oid: str, first: int = 0, last: int = -1
    ) -> int: ...


def content_md5(data: bytes) -> dict[str, str]:
    """A Content-MD5 header: the server refuses bytes damaged on the way."""
    digest = hashlib.md5(data, usedforsecurity=False).digest()
    return {"ContentMD5": base64.b64encode(digest).decode()}


def part_size_for(store: S3Store, size: int) -> int:
    return max(store.part_size, -(-size // MAX_PARTS))


def upload_in_parts(
    store: S3Store,
    oid: str,
    src: BinaryIO,
    size: int,
    proven: bool,
    extra: dict[str, str],
    report: ByteCallback,
) -> None:
    """Upload ``src`` as a multipart upload; complete it only if its bytes hash to ``oid``."""
    target = {"Bucket": store.bucket, "Key": store.key_of(oid)}
    with store.errors(f"uploading object {oid}"), store.requests.slot():
        started = store.client().create_multipart_upload(**target, **extra)
    upload = {**target, "UploadId": started["UploadId"]}
    try:
        parts, digest = _send_parts(store, upload, src, part_size_for(store, size), proven, report)
        if digest is not None and digest != oid:
            raise CorruptObjectError(
                f"{src.name}: content does not hash to {oid} (it changed while uploading); "
                "nothing stored",
                oid,
            )
        with store.errors(f"uploading object {oid}"), store.requests.slot():
            store.client().complete_multipart_upload(**upload, MultipartUpload={"Parts": parts})
    except BaseException:
        with contextlib.suppress(Exception), store.requests.slot():
            store.client().abort_multipart_upload(**upload)
        raise


def _send_parts(
    store: S3Store,
    upload: dict[str, str],
    src: BinaryIO,
    part_size: int,
    proven: bool,
    report: ByteCallback,
) -> tuple[list[dict[str, Any]], str | None]:
    """Read the parts in order (hashing them unless ``proven``) and send them through the
    pool, each in a buffer of its own; (the parts, the hash or None)."""
    hasher = None if proven else new_hasher()
    failed = threading.Event()
    futures: list[Future[dict[str, Any]]] = []

    def send(number: int, chunk: bytes) -> dict[str, Any]:
        try:
            response = store.retrying(
                f"uploading part {number} of {upload['Key']}",
                lambda: store.client().upload_part(
                    **upload, PartNumber=number, Body=chunk, **content_md5(chunk)
                ),
            )
            report(len(chunk))
            return {"PartNumber": number, "ETag": response["ETag"]}
        except BaseException:
            failed.set()
            raise
        finally:
            store.requests.release_buffer()

    try:
        while not failed.is_set():
            store.requests.buffer()
            chunk = src.read(part_size)
            if not chunk:
                store.requests.release_buffer()
                break
            if hasher is not None:
                hasher.update(chunk)
            number = len(futures) + 1
            futures.append(store.requests.submit(lambda n=number, c=chunk: send(n, c)))
            del chunk
    finally:
        done = [future.exception() for future in futures]  # wait for every part in flight
    errors = [error for error in done if error is not None]
    if errors:
        raise errors[0]
    return [future.result() for future in futures], None if hasher is None else hasher.hexdigest()


class Ranges:
    """The ranged GETs of one download, one range per request slot (at least a part): the
    object's first GET keeps the first range and ``start`` sends the others at once, each
    written at its offset as it streams. Few long ranges rather than many parts: some servers
    (moto) assemble the whole object for every ranged GET of a multipart upload."""

    def __init__(self, store: S3Store, key: str, sink: ObjectSink, action: str, oid: str):
        self.store, self.key, self.sink, self.action, self.oid = store, key, sink, action, oid
        self.size = 0
        self._futures: list[Future[int]] = []

    def start(self, size: int) -> int:
        """The object has ``size`` bytes: send the ranges after the first; where the first
        GET stops (its last byte)."""
        self.size = size
        store = self.store
        if size < store.multipart_threshold:
            return size - 1
        step = max(part_size_for(store, size), -(-size // store.requests.jobs))
        for offset in range(step, size, step):
            last = min(offset + step, size) - 1
            self._futures.append(store.requests.submit(self._reader(offset, last)))
        return step - 1

    def _reader(self, offset: int, last: int) -> Callable[[], int]:
        writer = AtOffset(self.sink, offset)
        return lambda: self.store.read_into(self.key, writer, self.action, self.oid, offset, last)

    def wait(self) -> None:
        """Wait for every range (they write into the sink); raise the first that failed."""
        errors = [error for error in (future.exception() for future in self._futures) if error]
        if errors:
            raise errors[0]


class AtOffset:
    """A sink that writes a stream into an ``ObjectSink`` from ``offset`` on."""

    def __init__(self, sink: ObjectSink, offset: int):
        self.sink = sink
        self.position = offset

    def write(self, data: bytes | memoryview) -> int:
        self.sink.write_at(self.position, data)
        self.position += len(data)
        return len(data)
