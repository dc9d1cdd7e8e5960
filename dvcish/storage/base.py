"""The object-store interface and the one key layout every store uses.

An object is an immutable blob named by its oid (XXH3-128 hex of its bytes). Every store keeps
object ``oid`` under the key ``<oid[:2]>/<oid[2:]>`` below its root, the same layout as the
local cache, so a person can find and check any object by eye with ``xxh128sum``.
"""

from __future__ import annotations

import abc
import io
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from dvcish.errors import CorruptObjectError
from dvcish.hashing import hash_bytes, is_valid_oid

# Called after each object moves, with the number of bytes it carried.
ProgressCallback = Callable[[int], None]


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


def read_verified(store: ObjectStore, oid: str) -> bytes:
    """A small object's bytes (a tree), read into memory and checked against its oid.

    Raises ObjectNotFoundError when the store lacks it, CorruptObjectError on a mismatch.
    """
    buffer = io.BytesIO()
    store.get(oid, buffer)
    data = buffer.getvalue()
    actual = hash_bytes(data)
    if actual != oid:
        raise CorruptObjectError(
            f"{store.description}: object {object_key(oid)} is corrupt (content hashes to "
            f"{actual}); push it again from a good copy",
            oid,
            actual,
        )
    return data


class ObjectStore(abc.ABC):
    """Where objects live: a local folder, an S3 bucket, memory.

    Implementations never trust the caller: ``put`` checks that the bytes hash to ``oid`` and
    stores nothing when they do not. ``get`` writes bytes as stored; callers that need trust
    (everything that downloads) verify the hash of what they received.
    """

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
    def put(self, oid: str, source_path: str) -> None:
        """Store the file at ``source_path`` as ``oid``; atomic, and refused on a hash mismatch."""

    @abc.abstractmethod
    def list(self) -> Iterator[str]:
        """Every oid the store holds (order unspecified)."""

    @abc.abstractmethod
    def delete(self, oids: Iterable[str]) -> None:
        """Remove these objects; an oid the store does not hold is not an error."""

    def check_readable(self) -> None:  # noqa: B027 - optional hook
        """Raise one clear DvcishError when the store cannot be read at all (before a fetch)."""

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Make every completed ``put`` durable; called before anything refers to the objects."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""
