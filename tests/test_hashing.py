"""dvcish.hashing: XXH3-128 of raw bytes as 32 lowercase hex characters."""

from __future__ import annotations

import os

import pytest
import xxhash

from dvcish.hashing import (
    CHUNK_SIZE,
    HASH_NAME,
    OID_LENGTH,
    hash_bytes,
    hash_fd,
    hash_file,
    is_valid_oid,
    new_hasher,
)
from tests.helpers import make_bytes

SAMPLES = [b"", b"a", b"hello world\n", make_bytes("sample", 4097)]


def test_hash_name_and_length():
    assert HASH_NAME == "xxh128"
    assert OID_LENGTH == 32


@pytest.mark.parametrize("data", SAMPLES, ids=["empty", "one", "text", "4097"])
def test_hash_bytes_is_xxh3_128_hex(data):
    oid = hash_bytes(data)
    assert oid == xxhash.xxh3_128_hexdigest(data)
    assert len(oid) == 32
    assert oid == oid.lower()
    assert is_valid_oid(oid)


def test_known_vector_for_empty_input():
    # XXH3-128 of no bytes with the default seed
    assert hash_bytes(b"") == "99aa06d3014798d86001c324468d497f"


def test_different_bytes_give_different_oids():
    assert hash_bytes(b"a") != hash_bytes(b"b")
    assert hash_bytes(b"a") != hash_bytes(b"a\n")


def test_new_hasher_incremental_matches_one_shot():
    data = make_bytes("incremental", 10_000)
    hasher = new_hasher()
    for start in range(0, len(data), 777):
        hasher.update(data[start : start + 777])
    assert hasher.hexdigest() == hash_bytes(data)


@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1])
def test_hash_file_across_chunk_boundaries(tmp_path, size):
    data = make_bytes(size, size)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(path) == (xxhash.xxh3_128_hexdigest(data), size)


def test_hash_fd_reads_from_current_offset(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"headerBODY")
    fd = os.open(path, os.O_RDONLY)
    try:
        os.lseek(fd, 6, os.SEEK_SET)
        assert hash_fd(fd) == (hash_bytes(b"BODY"), 4)
    finally:
        os.close(fd)


def test_hash_file_missing_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "absent")


@pytest.mark.parametrize(
    "value",
    [
        "0" * 32,
        "0123456789abcdef0123456789abcdef",
    ],
)
def test_valid_oids(value):
    assert is_valid_oid(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0" * 31,
        "0" * 33,
        "0123456789ABCDEF0123456789abcdef",  # upper case
        "g" * 32,
        "0" * 31 + "\n",
        " " + "0" * 31,
        "0" * 32 + "\n",
        None,
        0,
        b"0" * 32,
        ["0" * 32],
    ],
)
def test_invalid_oids(value):
    assert not is_valid_oid(value)
