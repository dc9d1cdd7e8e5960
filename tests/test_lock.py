"""One writer per repository: the lock in .dvcish/tmp, bounded waits, dead holders taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dvcish.errors import LockError
from dvcish.lock import RepoLock
from tests import helpers
from tests.helpers import (
    assert_one_error,
    run_cli,
    run_dvcish,
    snapshot,
    write_files,
)

git_repo = helpers.git_repo  # fixture

HOLDER = """
import sys, time
from dvcish.lock import RepoLock
lock = RepoLock(sys.argv[1], 0)
lock.acquire()
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


class Holder:
    """A separate python process that takes the repo lock and sleeps."""

    def __init__(self, root: Path, seconds: float):
        lock_path = root / ".dvcish" / "tmp" / "lock"
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(lock_path), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert self.process.stdout.readline() == "locked\n"

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self.process.stdout.close()


@pytest.fixture
def holder_factory(git_repo):
    holders: list[Holder] = []

    def start(seconds: float = 60) -> Holder:
        holder = Holder(git_repo, seconds)
        holders.append(holder)
        return holder

    yield start
    for holder in holders:
        holder.stop()


def test_second_writer_gives_up_naming_the_holder(git_repo, holder_factory):
    result = run_cli(["config", "core.lock_timeout", "0.3"])
    assert result.exit_code == 0
    holder = holder_factory()
    write_files(git_repo, {"f": b"data"})
    before = snapshot(git_repo)

    result = run_cli(["add", "f"])
    assert result.exit_code == 1
    line = assert_one_error(result.stderr, f"pid {holder.pid}", ".dvcish/tmp/lock")
    assert "locked" in line
    assert snapshot(git_repo) == before


def test_second_writer_waits_for_the_holder_to_finish(git_repo, holder_factory):
    result = run_cli(["config", "core.lock_timeout", "30"])
    assert result.exit_code == 0
    holder = holder_factory(seconds=0.5)
    write_files(git_repo, {"f": b"data"})
    result = run_cli(["add", "f"])
    assert result.exit_code == 0, result.output
    assert holder.process.poll() is not None  # it only got the lock after the holder left
    assert (git_repo / "f.dvcish").is_file()


def test_lock_of_a_killed_process_is_taken_over(git_repo, holder_factory):
    run_cli(["config", "core.lock_timeout", "0.3"])
    holder = holder_factory()
    holder.kill()
    assert (git_repo / ".dvcish/tmp/lock").exists()  # the file stays; the flock is gone
    write_files(git_repo, {"f": b"data"})
    result = run_dvcish(["add", "f"], cwd=git_repo)
    assert result.returncode == 0, result.stderr
    assert (git_repo / "f.dvcish").is_file()


def test_readers_do_not_wait_for_the_lock(git_repo, holder_factory):
    write_files(git_repo, {"f": b"data"})
    assert run_cli(["add", "f"]).exit_code == 0
    run_cli(["config", "core.lock_timeout", "0"])
    holder_factory()
    assert run_cli(["status", "-q"]).exit_code == 0
    assert run_cli(["fsck"]).exit_code == 0


@pytest.mark.parametrize("command", [["checkout"], ["config", "cache.type", "copy"]])
def test_other_writers_also_take_the_lock(git_repo, holder_factory, command):
    run_cli(["config", "core.lock_timeout", "0"])
    holder = holder_factory()
    result = run_cli(command)
    assert result.exit_code == 1
    assert_one_error(result.stderr, f"pid {holder.pid}")


def test_bad_lock_timeout_is_a_clear_error(git_repo):
    (git_repo / ".dvcish/config").write_text("core:\n  lock_timeout: soon\n")
    write_files(git_repo, {"f": b"data"})
    result = run_cli(["add", "f"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "core.lock_timeout")


# ----------------------------------------------------------------------------- RepoLock itself


def test_repo_lock_is_exclusive_and_released(tmp_path):
    path = str(tmp_path / "lock")
    with RepoLock(path, 0), pytest.raises(LockError, match=f"pid {os.getpid()}"):
        RepoLock(path, 0).acquire()
    with RepoLock(path, 0):  # released on exit
        assert Path(path).read_text().startswith(f"pid {os.getpid()}")
    assert Path(path).read_text() == ""


def test_repo_lock_waits_at_most_the_timeout(tmp_path):
    path = str(tmp_path / "lock")
    with RepoLock(path, 0), pytest.raises(LockError):
        RepoLock(path, 0.2).acquire()


def test_the_lock_file_names_the_whole_command():
    from dvcish.lock import command_line

    assert command_line(["/venv/bin/dvcish", "push", "-r", "backup", "-j", "8"]) == (
        "dvcish push -r backup -j 8"
    )
    assert command_line(["/x/dvcish/__main__.py", "pull", "my data"]) == "dvcish pull 'my data'"
    assert len(command_line(["dvcish", "add", *["f" * 50] * 20])) <= 300


def test_a_waiting_writer_says_what_it_waits_for(git_repo, holder_factory):
    run_cli(["config", "core.lock_timeout", "30"])
    holder = holder_factory(seconds=1.8)
    write_files(git_repo, {"f": b"data"})
    result = run_dvcish(["add", "f"], cwd=git_repo)
    assert result.returncode == 0, result.stderr
    waiting = result.stderr.splitlines()[0]
    assert waiting.startswith(f"waiting for the repository lock, held by pid {holder.pid} (")
    assert waiting.endswith(" 1.8)…")  # the holder's whole command line, not only argv[:2]
    quiet = run_cli(["-q", "status"])
    assert quiet.stderr == ""
