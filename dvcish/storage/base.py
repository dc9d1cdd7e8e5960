"""The object-store interface and the one key layout every store uses.

An *object* is an immutable blob named by its *oid* (XXH3-128 hex of its bytes). Every store
keeps object ``oid`` under the key ``<oid[:2]>/<oid[2:]>`` below its root, the same layout as the
local cache, so a person can find and check any object by eye with ``xxh128sum``.

What a store promises (``tests/storage/test_contract.py`` checks every store, the cache too):
- ``put`` stores only bytes that hash to the oid; on a mismatch it raises CorruptObjectError and
  stores nothing. A stored object is visible to ``exists``/``get``/``list`` after ``flush``.
- ``get`` writes the bytes as stored, in order, or raises ObjectNotFoundError. It does not
  verify: readers that need trust hash what they receive (``read_verified``,
  ``verified.download_verified``).
- ``missing`` answers for many oids at once in as few requests as fit; ``delete`` of an absent
  oid is not an error; keys that are not objects (temp files, junk) are never listed.
"""

from __future__ import annotations

import abc
import io
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from dvcish.errors import CorruptObjectError
from dvcish.hashing import hash_bytes, is_valid_oid


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
    def put(self, oid: str, source_path: str) -> None:
        """Store the file at ``source_path`` as ``oid``; refused on a hash mismatch."""

    @abc.abstractmethod
    def list(self) -> Iterator[str]:
        """Every oid the store holds (order unspecified)."""

    @abc.abstractmethod
    def delete(self, oids: Iterable[str]) -> None:
        """Remove these objects; an oid the store does not hold is not an error."""

    @abc.abstractmethod
    def url_of(self, oid: str) -> str:
        """Where the object lives, for a person or another tool (a path or an s3:// URL)."""

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

    def check_readable(self) -> None:  # noqa: B027 - optional hook
        """Raise one clear DvcishError when the store cannot be read at all (before a fetch)."""

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Make every completed ``put`` durable and visible; called before anything refers to
        the objects (a tree after its members, a pointer after its tree)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""
