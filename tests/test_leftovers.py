"""Temp files left by an interrupted run are dvcish's, never the user's data.

A file named ``.tmp-<pid>-<n>`` inside a tracked folder or beside a target is what a killed
checkout, pull or add leaves behind (the crash sweep in test_crash_sweep.py makes real ones).
Here they are planted by hand: status and diff ignore them, add never records them, checkout
never calls them a change, and both remove them and say so. Any other name is user data.
"""

from __future__ import annotations

from pathlib import Path

from dvcish.pointer import load_pointer
from tests.helpers import (
    cli_ok,
    git,
    git_repo,
    make_dataset,
    read_tree,
    run_cli,
    tree_in_cache,
)

__all__ = ["git_repo"]

INSIDE = "part000/.tmp-4242-0"
BESIDE = ".tmp-4242-1"


def tracked_paths(repo: Path) -> list[str]:
    oid = load_pointer(str(repo / "data.dvcish")).oid
    return [entry.path for entry in tree_in_cache(repo, oid).entries]


def plant(repo: Path) -> None:
    (repo / "data" / INSIDE).write_bytes(b"half a fi")
    (repo / BESIDE).write_bytes(b"half a pointer")


def test_status_and_diff_do_not_see_leftovers(git_repo: Path) -> None:
    make_dataset(git_repo / "data", 6)
    cli_ok("add", "data")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "data")
    plant(git_repo)
    assert "up to date" in cli_ok("status")
    assert "data/" not in cli_ok("diff")
    assert (git_repo / "data" / INSIDE).exists()  # read-only commands leave them alone


def test_add_never_records_a_leftover_and_removes_it(git_repo: Path) -> None:
    files = make_dataset(git_repo / "data", 6)
    plant(git_repo)
    out = cli_ok("add", "data")
    assert "Removed 2 temp files left by an interrupted dvcish run." in out
    assert tracked_paths(git_repo) == sorted(files)
    assert not (git_repo / "data" / INSIDE).exists() and not (git_repo / BESIDE).exists()


def test_checkout_removes_leftovers_instead_of_refusing(git_repo: Path) -> None:
    files = make_dataset(git_repo / "data", 6)
    cli_ok("add", "data")
    plant(git_repo)
    (git_repo / "data" / "part000" / "file00001.bin").unlink()
    out = cli_ok("checkout")  # no --force
    assert "Removed 2 temp files left by an interrupted dvcish run." in out
    assert read_tree(git_repo / "data") == files
    assert not (git_repo / BESIDE).exists()


def test_a_name_that_only_looks_like_a_temp_file_is_data(git_repo: Path) -> None:
    make_dataset(git_repo / "data", 3)
    cli_ok("add", "data")
    for name in (".tmp-notes", ".tmp-12", ".tmp-1-2.txt"):
        (git_repo / "data" / name).write_bytes(b"mine")
    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert "would discard changes" in result.stderr and "data/.tmp-1-2.txt" in result.stderr
    assert "3 added" in run_cli(["status"]).stdout
