"""The object-store interface and the one key layout every store uses.

An *object* is an immutable blob named by its *oid* (XXH3-128 hex of its bytes). Every store
keeps object ``oid`` under the key ``<oid[:2]>/<oid[2:]>`` below its root, the same layout as the
local cache, so a person can find and check any object by eye with ``xxh128sum``.

Besides objects, a store holds *blobs*: files under other keys (``packs/<packid>.zip``,
``index/<indexid>``, see packed.py), written whole and read whole or by byte range. An object
is a blob too, under its object key.

What a store promises (``tests/storage/test_contract.py`` checks every store, the cache too):
- ``put`` stores only bytes that hash to the oid; on a mismatch it raises CorruptObjectError and
  stores nothing. A stored object is visible to ``exists``/``get``/``list`` after ``flush``.
- ``get`` writes the bytes as stored, in order, or raises ObjectNotFoundError. It does not
  verify: readers that need trust hash what they receive (``read_verified``,
  ``verified.receive_group``).
- ``missing`` answers for many oids at once in as few requests as fit; ``delete`` of an absent
  oid is not an error; keys that are not objects (temp files, junk) are never listed.
"""

from __future__ import annotations

import abc
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from dvcish.errors import CorruptObjectError
from dvcish.hashing import hash_bytes, is_valid_oid
from dvcish.progress import ByteCallback


def object_key(oid: str) -> str:
    """The relative key of an object: ``ab/cdef...``."""
    return f"{oid[:2]}/{oid[2:]}"


def oid_from_key(key: str) -> str | None:
    """The oid for a relative key, or None when the key is not an object (temp files, junk)."""
    prefix, sep, rest = key.partition("/")
    if not sep or len(prefix) != 2:
        return None
    oid = prefix + rest
    return oid if is_valid_oid(oid) else None


@dataclass(frozen=True)
class BlobInfo:
    key: str  # relative to the store's root, "/"-separated
    size: int
    mtime: float  # seconds since the epoch (S3: LastModified)


@dataclass(frozen=True)
class Piece:
    """One object inside a read: ``length`` bytes at ``offset`` from the read's start (None:
    everything to the end of the read)."""

    oid: str
    offset: int
    length: int | None


@dataclass(frozen=True)
class ReadGroup:
    """One request that delivers objects: bytes ``[offset, offset + length)`` of blob ``key``
    (``length`` None: to its end), cut into ``pieces``. ``origin`` names the blob in messages."""

    key: str
    offset: int
    length: int | None
    pieces: tuple[Piece, ...]
    origin: str

    @property
    def size(self) -> int:
        """The bytes the read brings, where known (for progress)."""
        return self.length or 0


class ObjectSink(Protocol):
    """Where ``receive_blob`` puts a whole blob (verified.ObjectFile): bytes in order, bytes at
    an offset (from any thread, each byte once), or a whole local file."""

    def write(self, data: bytes | memoryview) -> int: ...

    def write_at(self, offset: int, data: bytes | memoryview) -> None: ...

    def copy_from(self, fd: int) -> int: ...


def loose_read(oid: str) -> ReadGroup:
    return ReadGroup(object_key(oid), 0, None, (Piece(oid, 0, None),), f"object {object_key(oid)}")


class ObjectStore(abc.ABC):
    """Where objects live: a local folder, the cache, an S3 bucket, memory."""

    #: human-readable name used in messages ("remote 'origin' (s3://bucket/x)")
    description: str = "store"

    @abc.abstractmethod
    def exists(self, oid: str) -> bool:
        """True when the store holds an object under ``oid``."""

    @abc.abstractmethod
    def missing(self, oids: Iterable[str]) -> set[str]:
        """The subset of ``oids`` the store does not hold, decided in as few requests as fit."""

    @abc.abstractmethod
    def get(self, oid: str, dest: BinaryIO) -> int:
        """Write the object's bytes to ``dest`` with ``dest.write``, in order; return the count.

        Raises ObjectNotFoundError when the store does not hold it.
        """

    @abc.abstractmethod
    def put(
        self,
        oid: str,
        source_path: str,
        on_bytes: ByteCallback | None = None,
        proven: bool = False,
    ) -> None:
        """Store the file at ``source_path`` as ``oid``; refused on a hash mismatch.

        ``on_bytes(n)`` is told of the bytes as they are stored, from any thread: a large
        object part by part or chunk by chunk, every byte once when the put succeeds.
        ``proven``: the caller knows the file hashes to ``oid`` (the stat cache verified this
        very file), so a store may copy it without hashing it again.
        """

    @abc.abstractmethod
    def list(self) -> Iterator[str]:
        """Every oid the store holds (order unspecified)."""

    @abc.abstractmethod
    def delete(self, oids: Iterable[str]) -> None:
        """Remove these objects; an oid the store does not hold is not an error."""

    @abc.abstractmethod
    def url_of(self, oid: str) -> str:
        """Where the object lives, for a person or another tool (a path or an s3:// URL)."""

    # --- blobs ----------------------------------------------------------------------------------

    @abc.abstractmethod
    def put_blob(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` whole or not at all; visible after ``flush``."""

    @abc.abstractmethod
    def get_blob(self, key: str, dest: BinaryIO, offset: int = 0, length: int | None = None) -> int:
        """Write bytes ``[offset, offset + length)`` of blob ``key`` to ``dest`` (``length``
        None: to the end); return the count. ObjectNotFoundError when there is no such blob."""

    @abc.abstractmethod
    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        """Every blob whose key starts with ``prefix`` ("" for all), temp files excluded."""

    @abc.abstractmethod
    def delete_blobs(self, keys: Iterable[str]) -> None:
        """Remove these blobs; an absent key is not an error."""

    def read_blob(self, key: str, offset: int = 0, length: int | None = None) -> bytes:
        """Bytes of a (small) blob, or of a range of it, in memory."""
        buffer = io.BytesIO()
        self.get_blob(key, buffer, offset, length)
        return buffer.getvalue()

    # --- reading many objects -------------------------------------------------------------------

    def plan_reads(self, oids: Iterable[str]) -> list[ReadGroup]:
        """The requests that bring these objects; by default one per object."""
        return [loose_read(oid) for oid in oids]

    def read_group(self, group: ReadGroup, dest: BinaryIO) -> int:
        return self.get_blob(group.key, dest, group.offset, group.length)

    def receive_blob(self, key: str, sink: ObjectSink) -> int:
        """Bring the whole of blob ``key`` into ``sink``; return its size. By default one read
        in order; a folder copies the file in the kernel (``sink.copy_from``) and S3 reads a
        large object in ranges at once (``sink.write_at``)."""
        return self.get_blob(key, sink)  # type: ignore[arg-type]

    def read_verified(self, oid: str) -> bytes:
        """A small object's bytes (a tree), read into memory and checked against its oid.

        Raises ObjectNotFoundError when the store lacks it, CorruptObjectError on a mismatch.
        """
        buffer = io.BytesIO()
        self.get(oid, buffer)
        data = buffer.getvalue()
        actual = hash_bytes(data)
        if actual != oid:
            raise CorruptObjectError(
                f"{self.description}: object {object_key(oid)} is corrupt (content hashes to "
                f"{actual}); push it again from a good copy",
                oid,
                actual,
            )
        return data

    def batches(self, size: int) -> bool:
        """True when an object of ``size`` bytes is collected with others into one request
        (a pack): such puts cost no request each, and are best made in order, one thread."""
        return False

    def preferred_jobs(self) -> int | None:
        """How many transfers at once this store's settings ask for (None: no preference)."""
        return None

    def bound_requests(self, jobs: int) -> None:  # noqa: B027 - optional hook
        """Allow at most ``jobs`` requests in flight from now on, the parts of large objects
        included (``-j``); call it before a transfer starts."""

    def check_readable(self) -> None:  # noqa: B027 - optional hook
        """Raise one clear DvcishError when the store cannot be read at all (before a fetch)."""

    def check_writable(self) -> None:
        """Raise one clear DvcishError when a push cannot even start (a wrong bucket, bad
        credentials); by default the same check as ``check_readable``."""
        self.check_readable()

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Make every completed ``put`` durable and visible; called before anything refers to
        the objects (a tree after its members, a pointer after its tree)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""
