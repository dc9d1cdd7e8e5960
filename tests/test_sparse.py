"""Sparse files stay sparse: in the cache, in the workspace, on a folder remote and after a pull.

A file made with ``truncate`` holds almost no blocks; copying it byte by byte would fill every
hole. dvcish skips a source's holes (SEEK_DATA/SEEK_HOLE) and writes no block that is all zeros,
so it takes as little room at every step, and its bytes (and oid) are the same.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dvcish.hashing import hash_file
from dvcish.storage.hashed_io import HashingWriter
from tests.helpers import cli_ok, git_repo, object_path

__all__ = ["git_repo"]

SIZE = 48 << 20
DATA_AT = 20_000_000
MARK = b"a little data in the middle"


def on_disk(path: Path) -> int:
    return os.stat(path).st_blocks * 512


def make_sparse(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(SIZE)
        handle.seek(DATA_AT)
        handle.write(MARK)
    if on_disk(path) > 1 << 20:
        pytest.skip(f"the filesystem under {path.parent} does not keep holes")
    return hash_file(str(path))[0]


def assert_sparse(path: Path, oid: str) -> None:
    assert os.path.getsize(path) == SIZE
    assert on_disk(path) < 1 << 20, f"{path}: {on_disk(path)} bytes on disk"
    assert hash_file(str(path))[0] == oid


@pytest.mark.parametrize("remote", ["folder", "moto"])
def test_a_sparse_file_stays_sparse_through_add_push_and_pull(
    git_repo: Path, tmp_path: Path, request: pytest.FixtureRequest, remote: str
) -> None:
    oid = make_sparse(git_repo / "data" / "disk.img")
    cli_ok("add", "data")
    assert_sparse(object_path(git_repo, oid), oid)
    if remote == "folder":
        (tmp_path / "remote").mkdir()
        cli_ok("remote", "add", "-d", "store", str(tmp_path / "remote"))
    else:
        settings = request.getfixturevalue("moto_remote")
        cli_ok("remote", "add", "-d", "store", settings["url"])
        for key in ("endpointurl", "region", "access_key_id", "secret_access_key"):
            cli_ok("remote", "modify", "--local", "store", key, settings[key])
    cli_ok("push")
    if remote == "folder":
        remote_copy = tmp_path / "remote" / oid[:2] / oid[2:]
        assert_sparse(remote_copy, oid)
    shutil.rmtree(git_repo / ".dvcish" / "cache")
    os.chmod(git_repo / "data" / "disk.img", 0o644)
    shutil.rmtree(git_repo / "data")
    cli_ok("pull")
    assert_sparse(object_path(git_repo, oid), oid)
    assert_sparse(git_repo / "data" / "disk.img", oid)
    assert "up to date" in cli_ok("status")


def test_the_writer_skips_zero_blocks_at_any_offset_and_keeps_the_length(tmp_path: Path) -> None:
    pieces = [b"x" * 10, bytes(3 * 4096), b"y" * 5000, bytes(70_000)]  # ends in a hole
    path = tmp_path / "out"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    sink = HashingWriter(fd)
    for piece in pieces:
        sink.write(piece)
    sink.finish()
    os.close(fd)
    assert path.read_bytes() == b"".join(pieces)
    assert sink.hexdigest() == hash_file(str(path))[0]
