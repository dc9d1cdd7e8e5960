"""Linked caches (``cache.type`` hardlink or symlink): a workspace file *is* the cache object.

A process that ignores the read-only mode (root does) can write into the object through the
workspace file. status and fsck then report a damaged cache object naming the file, never a
user change; ``dvcish unprotect`` replaces links with copies so files can be edited safely; and
the ways out that the messages give (add the new bytes, or pull the old ones back) work.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dvcish.hashing import hash_bytes
from tests.helpers import cli_ok, git_repo, make_dataset, object_path, read_tree, run_cli

__all__ = ["git_repo"]

EDITED = "part000/file00001.bin"


@pytest.fixture(params=["hardlink", "symlink"])
def linked(request: pytest.FixtureRequest, git_repo: Path) -> dict[str, bytes]:
    """data/ checked out as links into the cache."""
    cli_ok("config", "cache.type", f"{request.param},copy")
    files = make_dataset(git_repo / "data", 5)
    cli_ok("add", "data")
    for path in (git_repo / "data").rglob("*"):
        if path.is_file():
            os.chmod(path, 0o644)
            path.unlink()
    cli_ok("checkout")
    assert is_linked(git_repo / "data" / EDITED, request.param)
    return files


def is_linked(path: Path, how: str) -> bool:
    return path.is_symlink() if how == "symlink" else os.lstat(path).st_nlink > 1


def edit_through_the_link(repo: Path) -> bytes:
    """Write into the file as a process that ignores read-only modes would."""
    path = repo / "data" / EDITED
    os.chmod(path.resolve(), 0o644)  # root would not even need this
    with open(path, "r+b") as handle:
        handle.write(b"EDITED IN PLACE")
    return path.read_bytes()


def test_a_change_through_a_link_is_a_damaged_cache_object(
    linked: dict[str, bytes], git_repo: Path
) -> None:
    old_oid = hash_bytes(linked[EDITED])
    edit_through_the_link(git_repo)
    status = run_cli(["status"])
    assert "data: cache damaged" in status.stdout and f"damaged: data/{EDITED}" in status.stdout
    assert "modified" not in status.stdout
    fsck = run_cli(["fsck"])
    assert fsck.exit_code == 1
    line = next(line for line in fsck.stdout.splitlines() if line.startswith(f"data/{EDITED}"))
    assert f"linked to cache object {old_oid}, which changed through it" in line
    assert f"`dvcish unprotect data/{EDITED}`" in line and "pull --force" in line


def test_unprotect_then_pull_force_brings_the_old_version_back(
    linked: dict[str, bytes], git_repo: Path, tmp_path: Path
) -> None:
    (tmp_path / "remote").mkdir()
    cli_ok("remote", "add", "-d", "here", str(tmp_path / "remote"))
    cli_ok("push")
    edit_through_the_link(git_repo)
    cli_ok("unprotect", f"data/{EDITED}")
    cli_ok("pull", "--force", f"data/{EDITED}")
    assert {rel: (git_repo / "data" / rel).read_bytes() for rel in linked} == linked
    assert "0 problems" in cli_ok("fsck")
    assert "up to date" in cli_ok("status")


def test_unprotect_turns_links_into_copies(linked: dict[str, bytes], git_repo: Path) -> None:
    out = cli_ok("unprotect", "data")
    assert "data: 5 links replaced by copies" in out
    for rel in linked:
        path = git_repo / "data" / rel
        assert not path.is_symlink() and os.lstat(path).st_nlink == 1
    assert read_tree(git_repo / "data") == linked
    assert "up to date" in cli_ok("status")
    (git_repo / "data" / EDITED).write_bytes(b"my edit")  # writable, and only the copy changes
    assert "0 problems" in cli_ok("fsck")
    assert f"modified: data/{EDITED}" in cli_ok("status")
    assert "0 links replaced" in cli_ok("unprotect", "data")


def test_unprotect_keeps_an_edit_made_through_a_link(
    linked: dict[str, bytes], git_repo: Path
) -> None:
    edited = edit_through_the_link(git_repo)
    old_oid = hash_bytes(linked[EDITED])
    result = run_cli(["unprotect", f"data/{EDITED}"])
    assert result.exit_code == 0
    assert f"warning: data/{EDITED}: its cache object had been changed" in result.stderr
    assert (git_repo / "data" / EDITED).read_bytes() == edited
    assert not object_path(git_repo, old_oid).exists()  # quarantined, never delivered again
    cli_ok("add", "data")
    assert "0 problems" in cli_ok("fsck")
