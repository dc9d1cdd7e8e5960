"""The durability rule (docs/design.md), read off the system calls a real dvcish process makes.

- Objects in the cache and on a folder remote: each temp file is flushed (``fsync``, or one
  ``syncfs`` for many) before it is renamed to its object name, and its folder is flushed after
  the rename, before anything that names the object (a pointer file) is written.
- Workspace files written by ``checkout`` and ``pull`` are never flushed, and no ``syncfs``
  (which would flush the whole filesystem, workspace included) runs for a few large objects.

strace records the calls (tests/strace_faults.py); the crash sweep (tests/test_crash_sweep.py)
kills the same commands between them.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.helpers import cli_ok, make_dataset
from tests.strace_faults import Call, needs_strace, record_calls

pytestmark = needs_strace
BARRIERS = ("fsync", "fdatasync", "syncfs")
CALLS = (*BARRIERS, "rename", "renameat2")
BIG = 6 << 20  # above SMALL_FILE: copied in the kernel, hashed behind the copy


@pytest.fixture
def plain_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A dvcish repository outside git (strace would trace git too), with a folder remote."""
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    monkeypatch.delenv("DVCISH_CACHE_DIR", raising=False)
    cli_ok("init", "--no-scm")
    (tmp_path / "remote").mkdir()
    cli_ok("remote", "add", "-d", "here", str(tmp_path / "remote"))
    make_dataset(repo / "data", 3)
    (repo / "data" / "big.bin").write_bytes(os.urandom(BIG))
    return repo


def _path(call: Call) -> str:
    """The file a barrier call flushes (strace -y shows it after the descriptor)."""
    found = re.match(r"\d+<([^>]*)>", call.args)
    assert found is not None, call
    return found.group(1)


def _renames(calls: list[Call], inside: str) -> list[tuple[int, str, str]]:
    """(position, temp path, final path) of each rename of a temp file under ``inside``."""
    found = []
    for index, call in enumerate(calls):
        names = re.findall(r'"([^"]*)"', call.args)
        if call.syscall.startswith("rename") and len(names) == 2 and inside in names[1]:
            found.append((index, *names))
    return found


def _flushed_before(calls: list[Call], index: int, path: str) -> bool:
    return any(
        call.syscall == "syncfs" or (call.syscall in BARRIERS and _path(call) == path)
        for call in calls[:index]
    )


def _flushed_after(calls: list[Call], index: int, folder: str) -> bool:
    return any(
        call.syscall == "syncfs" or (call.syscall in BARRIERS and _path(call) == folder)
        for call in calls[index + 1 :]
    )


def assert_objects_durable(calls: list[Call], store: Path) -> None:
    renames = _renames(calls, f"{store}/")
    assert len(renames) >= 5, renames  # 4 files and their tree
    for index, tmp, final in renames:
        assert _flushed_before(calls, index, tmp), f"{final} renamed before its bytes were flushed"
        folder = os.path.dirname(final)
        assert _flushed_after(calls, index, folder), f"{final}: its name was never flushed"


def test_add_makes_each_object_durable_before_its_name_and_the_pointer(
    plain_repo: Path, tmp_path: Path
) -> None:
    calls = record_calls(plain_repo, ["add", "data"], CALLS, tmp_path / "trace.log")
    cache = plain_repo / ".dvcish" / "cache"
    assert_objects_durable(calls, cache)
    pointer = max(i for i, *_ in _renames(calls, str(plain_repo / "data.dvcish")))
    last_object = max(i for i, *_ in _renames(calls, f"{cache}/"))
    assert last_object < pointer
    folders = {os.path.dirname(final) for _, _, final in _renames(calls, f"{cache}/")}
    assert all(_flushed_after(calls, last_object, folder) for folder in folders)
    assert not [call for call in calls if call.syscall == "syncfs"]  # a few files: no syncfs


def test_push_to_a_folder_remote_makes_each_object_durable(
    plain_repo: Path, tmp_path: Path
) -> None:
    cli_ok("add", "data")
    calls = record_calls(plain_repo, ["push", "-j", "2"], CALLS, tmp_path / "trace.log")
    assert_objects_durable(calls, tmp_path / "remote")


def test_checkout_and_pull_never_flush_the_workspace(plain_repo: Path, tmp_path: Path) -> None:
    cli_ok("add", "data")
    cli_ok("push")
    shutil.rmtree(plain_repo / "data")
    calls = record_calls(plain_repo, ["checkout"], CALLS, tmp_path / "checkout.log")
    assert len(_renames(calls, f"{plain_repo}/data/")) == 4  # every file delivered
    workspace = f"{plain_repo}/data"
    assert [call for call in calls if call.syscall == "syncfs"] == []
    assert [c for c in calls if c.syscall in BARRIERS and _path(c).startswith(workspace)] == []

    shutil.rmtree(plain_repo / "data")
    shutil.rmtree(plain_repo / ".dvcish" / "cache")
    calls = record_calls(plain_repo, ["pull"], CALLS, tmp_path / "pull.log")
    assert_objects_durable(calls, plain_repo / ".dvcish" / "cache")  # the cache: durable
    assert len(_renames(calls, f"{workspace}/")) == 4
    assert [call for call in calls if call.syscall == "syncfs"] == []
    assert [c for c in calls if c.syscall in BARRIERS and _path(c).startswith(workspace)] == []
