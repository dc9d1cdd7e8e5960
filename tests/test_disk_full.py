"""A full disk stops the command with one line naming where dvcish was writing, about how
much more room it needs and what to do; nothing half-written is left under a final name.

The disk fills up for real as far as dvcish can tell: strace makes one write
(``write``, ``pwrite64`` or ``copy_file_range``) into the cache
or the workspace fail with ENOSPC (tests/strace_faults.py). Also here: ``pull`` prints the
fetch's failures even when the checkout after it fails as a whole.

The repositories with faults are not git work trees (``init --no-scm``): strace would inject
the fault into dvcish's git child processes too.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from dvcish import fsutil
from tests.helpers import (
    assert_one_error,
    cli_ok,
    git_repo,
    make_dataset,
    read_tree,
    run_cli,
)
from tests.strace_faults import WRITES, Call, needs_strace, record_calls, run_injected

__all__ = ["git_repo"]


@pytest.fixture
def plain_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A dvcish repository outside git, as the cwd."""
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    monkeypatch.delenv("DVCISH_CACHE_DIR", raising=False)
    cli_ok("init", "--no-scm")
    return repo


def fail_a_write(
    repo: Path, dry: Path, args: list[str], into: str, pick: Callable[[list[Call]], Call]
) -> str:
    """Run ``dvcish ARGS`` in ``repo`` with one write failing with ENOSPC: ``pick`` chooses
    it among the writes into paths containing ``into`` that a dry run in ``dry`` (a copy) made.
    The command must exit 1; returns its stderr."""
    calls = record_calls(dry, args, WRITES, dry.parent / "trace.log")
    call = pick([call for call in calls if into in call.args and _only_one(call, calls)])
    result = run_injected(repo, args, call, "error=ENOSPC")
    assert result.returncode == 1
    return result.stderr


def _only_one(call: Call, calls: list[Call]) -> bool:
    """strace fails the K-th call of a syscall in every thread: true when no other thread
    makes as many calls of ``call``'s syscall (sqlite writes with ``pwrite64`` too)."""
    return not any(
        other.tid != call.tid and other.syscall == call.syscall and other.number >= call.number
        for other in calls
    )


def first(calls: list[Call]) -> Call:
    return calls[0]


def last_by_a_worker(calls: list[Call]) -> Call:
    """The last call made by a worker thread (the main thread's id is the pid that temp file
    names carry): when it fails, the main thread has printed nothing yet, so strace's
    per-thread count cannot make the error message fail too."""
    main_pid = re.search(r"\.tmp-(\d+)-", calls[0].args).group(1)  # type: ignore[union-attr]
    return [call for call in calls if call.tid != main_pid][-1]


def total(files: dict[str, bytes]) -> str:
    return fsutil.human_bytes(sum(len(data) for data in files.values()))


def cache_files(repo: Path) -> list[str]:
    cache = repo / ".dvcish" / "cache"
    return [str(path) for path in cache.rglob("*") if path.is_file()]


@needs_strace
def test_add_on_a_full_disk_names_the_cache_and_the_room_it_needs(
    plain_repo: Path, tmp_path: Path
) -> None:
    files = make_dataset(plain_repo / "data", 6)
    dry = shutil.copytree(plain_repo, tmp_path / "dry" / "repo")
    assert_one_error(
        fail_a_write(plain_repo, dry, ["add", "data"], "/.dvcish/cache/", first),
        f"no space left on device while writing to .dvcish/cache (needs about {total(files)} "
        "more); free space or set cache.dir",
    )
    assert not (plain_repo / "data.dvcish").exists()
    assert cache_files(plain_repo) == []  # no object, no temp file


@needs_strace
def test_checkout_on_a_full_disk_names_the_data_and_leaves_no_partial_file(
    plain_repo: Path, tmp_path: Path
) -> None:
    files = make_dataset(plain_repo / "data", 6)
    cli_ok("add", "data")
    shutil.rmtree(plain_repo / "data")
    dry = shutil.copytree(plain_repo, tmp_path / "dry" / "repo")
    assert_one_error(
        fail_a_write(plain_repo, dry, ["checkout"], f"{dry}/data/", first),
        f"no space left on device while writing to data (needs about {total(files)} more)",
        "link files instead of copying them",
    )
    assert read_tree(plain_repo / "data") == {}  # nothing half-written, no temp file
    cli_ok("checkout")
    assert read_tree(plain_repo / "data") == files


@needs_strace
def test_fetch_on_a_full_disk_stops_at_once_with_one_line(plain_repo: Path, tmp_path: Path) -> None:
    make_dataset(plain_repo / "data", 32)  # its worker writes more often than sqlite does
    (tmp_path / "remote").mkdir()
    cli_ok("remote", "add", "-d", "here", str(tmp_path / "remote"))
    cli_ok("add", "data")
    cli_ok("push")
    shutil.rmtree(plain_repo / ".dvcish" / "cache")
    dry = shutil.copytree(plain_repo, tmp_path / "dry" / "repo")
    args = ["fetch", "-j", "1"]
    assert_one_error(
        fail_a_write(plain_repo, dry, args, "/.dvcish/cache/", last_by_a_worker),
        "no space left on device while writing to .dvcish/cache (needs about",
        "set cache.dir",
    )
    assert not [path for path in cache_files(plain_repo) if fsutil.is_temp_name(Path(path).name)]


@needs_strace
def test_push_to_a_full_folder_remote_names_the_remote(plain_repo: Path, tmp_path: Path) -> None:
    make_dataset(plain_repo / "data", 6)
    (plain_repo / "data" / "big.bin").write_bytes(os.urandom(6 << 20))  # loose, 6 writes
    (tmp_path / "remote").mkdir()
    cli_ok("remote", "add", "-d", "here", "../remote")
    cli_ok("add", "data")
    dry = shutil.copytree(plain_repo, tmp_path / "dry" / "repo")
    (tmp_path / "dry" / "remote").mkdir()  # the dry run pushes to a copy of the remote
    args = ["push", "-j", "1"]
    assert_one_error(
        fail_a_write(plain_repo, dry, args, f"{dry.parent}/remote/", last_by_a_worker),
        "no space left on device while writing to remote 'here' (../remote) (needs about",
        "push to a remote with room",
    )


def test_pull_prints_the_fetch_failures_when_the_checkout_fails_too(
    git_repo: Path, tmp_path: Path
) -> None:
    files = make_dataset(git_repo / "data", 4)
    remote = tmp_path / "remote"
    remote.mkdir()
    cli_ok("remote", "add", "-d", "here", str(remote))
    cli_ok("add", "data")
    cli_ok("push")
    lost = sorted(files)[0]
    shutil.rmtree(git_repo / ".dvcish" / "cache")
    for path in remote.rglob("*"):
        if path.is_file() and path.read_bytes() == files[lost]:
            os.chmod(path, 0o644)
            path.unlink()  # the remote lost one object: the fetch fails for it
    (git_repo / "data" / sorted(files)[1]).write_bytes(b"my own edit")  # checkout refuses
    result = run_cli(["pull"])
    assert result.exit_code == 1
    assert f"data/{lost}" in result.stderr or "not found" in result.stderr
    assert "could not be transferred" in result.stderr
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("error: checkout would discard changes not saved in the cache")
    )
