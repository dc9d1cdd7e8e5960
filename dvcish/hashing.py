"""Object ids: XXH3-128 of the raw bytes, as 32 lowercase hex characters."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import xxhash

HASH_NAME = "xxh128"
OID_LENGTH = 32
CHUNK_SIZE = 1 << 20
_OID_RE = re.compile(r"[0-9a-f]{32}")


def is_valid_oid(value: object) -> bool:
    """True for a string of exactly 32 lowercase hex characters."""
    return isinstance(value, str) and _OID_RE.fullmatch(value) is not None


def hash_bytes(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)


def new_hasher() -> xxhash.xxh3_128:
    return xxhash.xxh3_128()


def hash_fd(fd: int, on_bytes: Callable[[int], None] | None = None) -> tuple[str, int]:
    """Hash everything readable from an open file descriptor; return (oid, size).
    ``on_bytes`` is told of each chunk read (progress)."""
    hasher = xxhash.xxh3_128()
    size = 0
    while True:
        chunk = os.read(fd, CHUNK_SIZE)
        if not chunk:
            break
        hasher.update(chunk)
        size += len(chunk)
        if on_bytes is not None:
            on_bytes(len(chunk))
    return hasher.hexdigest(), size


def hash_file(
    path: str | os.PathLike[str], on_bytes: Callable[[int], None] | None = None
) -> tuple[str, int]:
    """Hash a file's bytes; return (oid, size)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return hash_fd(fd, on_bytes)
    finally:
        os.close(fd)
