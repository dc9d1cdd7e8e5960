"""Copies of large objects stay in the kernel (docs/design.md, "Copies without bringing bytes
into Python"), read off the system calls of a real dvcish process (strace):

- an object the stat cache proves is copied with ``copy_file_range`` and never read: not the
  cache file, not the copy;
- an object it cannot vouch for is copied the same way and hashed behind the copy: the copy
  is read back (what landed is what is hashed), the source is not read by Python at all.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dvcish.hashing import hash_bytes
from tests.helpers import cli_ok
from tests.strace_faults import Call, needs_strace, record_calls

pytestmark = needs_strace
READS = ("read", "pread64", "preadv", "preadv2")
BIG = 48 << 20  # above SMALL_FILE (4 MiB): a kernel copy, 8 MiB a call; the hasher follows


@pytest.fixture
def plain_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    monkeypatch.delenv("DVCISH_CACHE_DIR", raising=False)
    cli_ok("init", "--no-scm")
    cli_ok("config", "cache.type", "copy")
    (repo / "data").mkdir()
    (repo / "data" / "big.bin").write_bytes(os.urandom(BIG))
    cli_ok("add", "data")
    return repo


def cached(repo: Path) -> str:
    oid = hash_bytes((repo / "data" / "big.bin").read_bytes())
    return f"{repo}/.dvcish/cache/{oid[:2]}/{oid[2:]}"


def _on(calls: list[Call], syscalls: tuple[str, ...], inside: str) -> list[Call]:
    """The calls of ``syscalls`` on ``inside`` that moved bytes (a read of 0 bytes at the end
    of the file, which tells the end from a filesystem that cannot copy, moves none)."""
    return [
        call
        for call in calls
        if call.syscall in syscalls and inside in call.args and not call.args.endswith("= 0")
    ]


def _checkout_calls(repo: Path, log: Path) -> list[Call]:
    (repo / "data" / "big.bin").unlink()
    syscalls = (*READS, "copy_file_range")
    return record_calls(repo, ["checkout"], syscalls, log)


def test_a_proven_object_is_copied_in_the_kernel_and_never_read(
    plain_repo: Path, tmp_path: Path
) -> None:
    cache, workspace = cached(plain_repo), f"{plain_repo}/data/"
    calls = _checkout_calls(plain_repo, tmp_path / "trace.log")
    copies = [call for call in calls if call.syscall == "copy_file_range"]
    assert copies and all(cache in call.args and workspace in call.args for call in copies)
    assert _on(calls, READS, cache) == []  # the stat cache vouches for it: not hashed again
    assert _on(calls, READS, workspace) == []
    assert (plain_repo / "data" / "big.bin").stat().st_size == BIG


def test_an_unproven_object_is_hashed_behind_the_kernel_copy(
    plain_repo: Path, tmp_path: Path
) -> None:
    shutil.rmtree(plain_repo / ".dvcish" / "tmp")  # the stat cache: nothing is proven now
    cache, workspace = cached(plain_repo), f"{plain_repo}/data/"
    calls = _checkout_calls(plain_repo, tmp_path / "trace.log")
    assert [call for call in calls if call.syscall == "copy_file_range"]
    assert _on(calls, READS, cache) == []  # the source's bytes never enter Python
    read_back = _on(calls, READS, workspace)  # the copy is what gets hashed
    assert read_back
    main_thread = calls[0].tid
    assert {call.tid for call in read_back} - {main_thread}  # a hasher thread, during the copy
