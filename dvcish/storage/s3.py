"""The S3 store: objects in a bucket under ``<prefix>/<oid[:2]>/<oid[2:]>``.

The S3 backend is this module (the store, ``S3Store``) with s3_errors.py (what each boto3/botocore
failure means) and s3_options.py (the remote settings, boto3-free). Only these import boto3 or
botocore; the rest of dvcish imports them lazily, so commands that never touch S3 never pay for
boto3.

Secrets (secret_access_key, session_token) never appear in a message or a repr.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, TypeVar

import botocore.session
from botocore import exceptions as bx
from botocore.config import Config

from dvcish.errors import (
    CorruptObjectError,
    DvcishError,
    ObjectNotFoundError,
    RemoteUnavailableError,
)
from dvcish.hashing import CHUNK_SIZE, hash_bytes
from dvcish.progress import ByteCallback, ignore
from dvcish.storage.base import BlobInfo, ObjectSink, ObjectStore, object_key, oid_from_key
from dvcish.storage.s3_errors import OVERLOADED, TRANSIENT, error_code, error_status, explain
from dvcish.storage.s3_log import log_requests
from dvcish.storage.s3_options import S3Options, parse_s3_url
from dvcish.storage.s3_parts import (
    AtOffset,
    Ranges,
    Requests,
    content_md5,
    upload_in_parts,
)

# Asking about at most this many oids sends one HEAD per oid; more lists the fan-out prefixes.
HEAD_THRESHOLD = 64
# A remote estimated to hold at most this many pages of 1,000 keys is listed in full.
FULL_LISTING_PAGES = 16
# Files below this go up in one PutObject; larger ones as a multipart upload.
MULTIPART_THRESHOLD = 64 << 20
PART_SIZE = 16 << 20
DELETE_BATCH = 1000
DEFAULT_REGION = "us-east-1"
# Instance-metadata (IMDS) credential lookups: one short attempt, so "no credentials" is quick.
IMDS_TIMEOUT = 1
# Per-object transfers retry what botocore cannot (a body cut short, a reset or a timeout while
# it streams) and what still fails after botocore's own attempts (5xx, 429, resets, timeouts):
# up to RETRY_ATTEMPTS attempts, pausing RETRY_PAUSE seconds, doubled each time, with jitter.
RETRY_ATTEMPTS = 5
RETRY_PAUSE = 0.2
# A body cut short after some bytes arrived resumes without using up an attempt, this often.
RESUMES_MAX = 32
# This many failed attempts in a row on one store (any thread) mean the endpoint is down.
DEAD_AFTER = 6
_T = TypeVar("_T")
_R = TypeVar("_R")
log = logging.getLogger(__name__)


def _fanout_ranges(count: int) -> list[tuple[str, str]]:
    """Split the 256 fan-out prefixes into ``count`` ranges [low, high); the last is open."""
    count = max(1, min(count, 16))
    cuts = [f"{(256 * index) // count:02x}" for index in range(count)]
    return [(cut, cuts[i + 1] if i + 1 < count else "") for i, cut in enumerate(cuts)]


class S3Store(ObjectStore):
    """Objects under ``s3://bucket/prefix/ab/cdef...``, reached through one shared boto3 client.

    ``put`` stores only bytes that hash to the oid: small files are read, hashed and sent from
    memory; large files go up as a multipart upload whose parts are hashed as they are read, and
    the upload is completed (made visible) only when that hash matches, aborted otherwise.
    """

    def __init__(self, url: str, options: S3Options, description: str):
        self.bucket, self.prefix = parse_s3_url(url, description)
        self.options = options
        self.description = description
        self.multipart_threshold = MULTIPART_THRESHOLD
        self.part_size = PART_SIZE
        self._root = f"{self.prefix}/" if self.prefix else ""
        self._client: Any = None
        self._lock = threading.Lock()
        self._failures_in_a_row = 0  # failed attempts since the last answer (see retrying)
        self.requests = Requests(options.jobs)  # -j: the requests in flight, parts included

    def __repr__(self) -> str:
        return f"S3Store({self.description!r})"

    def preferred_jobs(self) -> int | None:
        return self.options.jobs

    def bound_requests(self, jobs: int) -> None:
        self.requests.resize(jobs)

    def check_readable(self) -> None:
        """One cheap listing; raises a DvcishError naming the bucket when it cannot be read."""
        with self.errors("checking the bucket"):
            self.client().list_objects_v2(Bucket=self.bucket, Prefix=self._root, MaxKeys=1)

    def exists(self, oid: str) -> bool:
        def attempt() -> bool:
            try:
                self.client().head_object(Bucket=self.bucket, Key=self.key_of(oid))
            except bx.ClientError as exc:
                if error_status(exc) == 404:
                    return False
                raise
            return True

        return self.retrying(f"looking up object {oid}", attempt)

    def missing(self, oids: Iterable[str]) -> set[str]:
        wanted = set(oids)
        if len(wanted) <= HEAD_THRESHOLD:
            asked = sorted(wanted)
            found = self._parallel(self.exists, asked)
            return {oid for oid, there in zip(asked, found, strict=True) if not there}
        prefixes = sorted({oid[:2] for oid in wanted})
        if len(prefixes) > FULL_LISTING_PAGES and self._looks_small(prefixes[0]):
            ranges = _fanout_ranges(self.options.jobs)
            return wanted - set().union(*self._parallel(self._list_range, ranges))
        present = set().union(*self._parallel(self._list_prefix, prefixes))
        return wanted - present

    def _looks_small(self, fanout: str) -> bool:
        """One listing of one fan-out prefix estimates the remote's size (objects spread evenly
        over the 256 prefixes): a small remote is cheaper to list in full, a page of 1,000 keys
        at a time, than with one request per prefix (this matters on servers whose listing
        cost grows with the bucket, such as moto)."""
        with self.errors("listing objects"):
            page = self.client().list_objects_v2(
                Bucket=self.bucket, Prefix=f"{self._root}{fanout}/", MaxKeys=1000
            )
        if page.get("IsTruncated"):
            return False
        return len(page.get("Contents", ())) * 256 <= FULL_LISTING_PAGES * 1000

    def get(self, oid: str, dest: BinaryIO) -> int:
        return self.read_into(self.key_of(oid), dest, f"downloading object {oid}", oid)

    def get_blob(self, key: str, dest: BinaryIO, offset: int = 0, length: int | None = None) -> int:
        if length == 0:
            return 0
        last = -1 if length is None else offset + length - 1
        return self.read_into(self._root + key, dest, f"downloading {key}", key, offset, last)

    def receive_blob(self, key: str, sink: ObjectSink) -> int:
        """One GET; from ``multipart_threshold`` bytes on, it keeps only the first of the
        object's ranges, and the others start in ranged GETs the moment its size is known
        (s3_parts.Ranges)."""
        ranges = Ranges(self, self._root + key, sink, f"downloading {key}", key)
        try:
            self.read_into(ranges.key, AtOffset(sink, 0), ranges.action, key, sized=ranges.start)
        finally:
            ranges.wait()
        return ranges.size

    def read_into(
        self,
        key: str,
        sink: BinaryIO | AtOffset,
        action: str,
        oid: str,
        first: int = 0,
        last: int = -1,
        sized: Callable[[int], int] | None = None,
    ) -> int:
        """Stream bytes ``first``..``last`` (inclusive; -1: to the end) of ``key`` into ``sink``
        under ``retrying``: a body cut short resumes at the next byte it lacks. ``sized(total)``
        is told the object's size on the first answer and says where to stop. Returns the
        bytes written; ObjectNotFoundError (for ``oid``) when the key is absent."""
        done = 0

        def attempt() -> int:
            nonlocal done, last, sized
            start = first + done
            if 0 <= last < start:
                return done
            end = "" if last < 0 else last
            ranged = {"Range": f"bytes={start}-{end}"} if start or end != "" else {}
            try:
                response = self.client().get_object(Bucket=self.bucket, Key=key, **ranged)
            except bx.ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404"):
                    message = f"{self.description}: object {oid} not found"
                    raise ObjectNotFoundError(message, oid) from None
                if done and error_status(exc) == 416:
                    return done  # the cut came after the last byte
                raise
            if sized is not None:
                last, sized = sized(start + int(response["ContentLength"])), None
            body = response["Body"]
            try:
                for chunk in body.iter_chunks(CHUNK_SIZE):
                    wanted = chunk if last < 0 else chunk[: last + 1 - first - done]
                    sink.write(wanted)
                    done += len(wanted)
                    if 0 <= last < first + done:
                        break
            finally:
                body.close()
            return done

        return self.retrying(action, attempt, lambda: done)

    def put_blob(self, key: str, data: bytes) -> None:
        extra = {"ServerSideEncryption": self.options.sse} if self.options.sse else {}
        self.retrying(
            f"uploading {key}",
            lambda: self.client().put_object(
                Bucket=self.bucket, Key=self._root + key, Body=data, **content_md5(data), **extra
            ),
        )

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        paginator = self.client().get_paginator("list_objects_v2")
        with self.errors("listing"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._root + prefix):
                for item in page.get("Contents", ()):
                    key = item["Key"][len(self._root) :]
                    mtime = item["LastModified"].timestamp()
                    yield BlobInfo(key, int(item["Size"]), mtime)

    def delete_blobs(self, keys: Iterable[str]) -> None:
        full = [self._root + key for key in dict.fromkeys(keys)]
        batches = [full[i : i + DELETE_BATCH] for i in range(0, len(full), DELETE_BATCH)]
        self._parallel(self._delete_batch, batches)

    def put(
        self,
        oid: str,
        source_path: str,
        on_bytes: ByteCallback | None = None,
        proven: bool = False,
    ) -> None:
        extra = {"ServerSideEncryption": self.options.sse} if self.options.sse else {}
        with open(source_path, "rb") as src:
            size = os.fstat(src.fileno()).st_size
            if size < self.multipart_threshold:
                data = src.read()
                _check_hash(hash_bytes(data), oid, source_path)
                self.retrying(
                    f"uploading object {oid}",
                    lambda: self.client().put_object(
                        Bucket=self.bucket,
                        Key=self.key_of(oid),
                        Body=data,
                        **content_md5(data),
                        **extra,
                    ),
                )
                (on_bytes or ignore)(len(data))
                return
            upload_in_parts(self, oid, src, size, proven, extra, on_bytes or ignore)

    def list(self) -> Iterator[str]:
        yield from self._list_keys(self._root)

    def delete(self, oids: Iterable[str]) -> None:
        self.delete_blobs(object_key(oid) for oid in oids)

    def close(self) -> None:
        self.requests.close()
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def url_of(self, oid: str) -> str:
        return f"s3://{self.bucket}/{self.key_of(oid)}"

    def key_of(self, oid: str) -> str:
        return self._root + object_key(oid)

    def client(self) -> Any:
        """The shared boto3 S3 client, created on first use (boto3 clients are thread-safe)."""
        with self._lock:
            if self._client is None:
                with self.errors("connecting"):
                    self._client = self._make_client()
            return self._client

    def _make_client(self) -> Any:
        opts = self.options
        # botocore alone: boto3's session adds nothing a client needs and 0.2 s of imports
        core = botocore.session.Session()
        core.set_config_variable("metadata_service_timeout", IMDS_TIMEOUT)
        core.set_config_variable("metadata_service_num_attempts", 1)
        if opts.profile:
            core.set_config_variable("profile", opts.profile)
        config = Config(
            signature_version="s3v4",
            retries={"mode": "standard"},
            max_pool_connections=max(opts.jobs, self.requests.jobs, 32),
            connect_timeout=opts.connect_timeout,
            read_timeout=opts.read_timeout,
            s3={"addressing_style": opts.addressing_style},
            # Checksums only where S3 demands them: many S3-compatible servers reject the rest.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        client = core.create_client(
            "s3",
            endpoint_url=opts.endpointurl,
            region_name=opts.region or (DEFAULT_REGION if opts.endpointurl else None),
            aws_access_key_id=opts.access_key_id,
            aws_secret_access_key=opts.secret_access_key,
            aws_session_token=opts.session_token,
            use_ssl=opts.use_ssl,
            verify=opts.ssl_verify,
            config=config,
        )
        if log.isEnabledFor(logging.DEBUG):
            log.debug("s3 client for %s: %r", self.description, opts)
            log_requests(client, self._redact)
        return client

    def _parallel(self, func: Callable[[_T], _R], items: Iterable[_T]) -> list[_R]:
        items = [*items]
        if len(items) <= 1:
            return [func(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.options.jobs, len(items))) as pool:
            try:
                return [*pool.map(func, items)]
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise

    def _list_range(self, bounds: tuple[str, str]) -> set[str]:
        """Every oid whose fan-out prefix is in [low, high): one paginated listing that starts
        after ``<root><low>`` and stops at the first key of ``high``."""
        low, high = bounds
        found: set[str] = set()
        paginator = self.client().get_paginator("list_objects_v2")
        with self.errors("listing objects"):
            pages = paginator.paginate(
                Bucket=self.bucket, Prefix=self._root, StartAfter=f"{self._root}{low}"
            )
            for page in pages:
                for item in page.get("Contents", ()):
                    rest = item["Key"][len(self._root) :]
                    if high and rest[:2] >= high:
                        return found
                    oid = oid_from_key(rest)
                    if oid is not None:
                        found.add(oid)
        return found

    def _list_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client().get_paginator("list_objects_v2")
        with self.errors("listing objects"):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", ()):
                    oid = oid_from_key(item["Key"][len(self._root) :])
                    if oid is not None:
                        yield oid

    def _list_prefix(self, fanout: str) -> set[str]:
        return set(self._list_keys(f"{self._root}{fanout}/"))

    def _delete_batch(self, keys: list[str]) -> None:
        with self.errors("deleting objects"):
            response = self.client().delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )
        failed = [e for e in response.get("Errors", ()) if e.get("Code") != "NoSuchKey"]
        if failed:
            first = f"{failed[0].get('Key')}: {failed[0].get('Code')} {failed[0].get('Message')}"
            raise DvcishError(
                self._redact(
                    f"{self.description}: could not delete {len(failed)} object(s) (first "
                    f"{first}); check that the credentials may delete objects"
                )
            )

    def retrying(
        self, action: str, attempt: Callable[[], _T], progress: Callable[[], int] | None = None
    ) -> _T:
        """Run ``attempt`` (a request, and its streamed body) until it succeeds: the one retry.

        A transient failure (see TRANSIENT; a 5xx or 429 that outlived botocore's retries) is
        tried again, up to RETRY_ATTEMPTS attempts with growing pauses; ``attempt`` is called
        afresh each time and must resume from what it already delivered. A failed attempt that
        still delivered bytes (``progress()`` grew: a body cut short) does not use up an attempt,
        up to RESUMES_MAX resumes. Any other failure is not retried. Errors come out as one line
        naming the remote and ``action``; a DvcishError raised by ``attempt`` (not found, say)
        passes through. DEAD_AFTER failed attempts in a row on this store, in any thread, raise
        RemoteUnavailableError, which stops the whole transfer instead of failing every
        remaining object.
        """
        failed = resumed = 0
        while True:
            if self._failures_in_a_row >= DEAD_AFTER:
                raise RemoteUnavailableError(
                    f"{self.description}: stopped after {DEAD_AFTER} failed requests in a row "
                    f"(while {action}); check endpointurl and the network, then run it again"
                )
            before = progress() if progress is not None else 0
            try:
                with self.requests.slot():
                    result = attempt()
            except (bx.BotoCoreError, bx.ClientError) as exc:
                transient = isinstance(exc, TRANSIENT) or (
                    isinstance(exc, bx.ClientError) and error_status(exc) in OVERLOADED
                )
                error = self._error(exc, action)
                moved = progress is not None and progress() > before
                if self._note_failure(
                    not moved and (transient or isinstance(exc, bx.ConnectionError))
                ):
                    raise RemoteUnavailableError(
                        f"{error}; stopped after {DEAD_AFTER} failed requests in a row"
                    ) from None
                if moved and transient and resumed < RESUMES_MAX:
                    resumed += 1
                    continue
                failed += 1
                if not transient or failed >= RETRY_ATTEMPTS:
                    raise error from None
                time.sleep(RETRY_PAUSE * 2 ** (failed - 1) * random.uniform(0.5, 1.5))
                continue
            except DvcishError:
                self._note_failure(False)
                raise
            self._note_failure(False)
            return result

    def _note_failure(self, failed: bool) -> bool:
        """Count failed attempts in a row (an answer resets it); True when the store is dead."""
        with self._lock:
            self._failures_in_a_row = self._failures_in_a_row + 1 if failed else 0
            return self._failures_in_a_row >= DEAD_AFTER

    @contextlib.contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Turn any boto3/botocore failure inside the block into a one-line DvcishError."""
        try:
            yield
        except (bx.BotoCoreError, bx.ClientError) as exc:
            raise self._error(exc, action) from None

    def _error(self, exc: Exception, action: str) -> DvcishError:
        problem, hint = explain(exc, self.bucket, self.options)
        return DvcishError(self._redact(f"{self.description}: {problem} while {action}; {hint}"))

    def _redact(self, message: str) -> str:
        for secret in self.options.secrets():
            message = message.replace(secret, "***")
        return " ".join(message.split())


def _check_hash(actual: str, oid: str, source_path: str, why: str = "") -> None:
    if actual != oid:
        because = f" {why}" if why else ""
        raise CorruptObjectError(
            f"{source_path}: content does not hash to {oid}{because}; nothing stored", oid
        )
