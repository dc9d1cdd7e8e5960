"""``move``/``mv`` and ``remove``/``rm``: pointer, .gitignore and workspace change together,
nothing is staged in git (the printed ``git add`` records it), refusals change nothing, and
``status`` recognises a pointer renamed or moved by hand."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from dvcish.pointer import load_pointer
from tests import helpers
from tests.helpers import (
    age,
    assert_refused,
    cli_ok,
    git,
    run_cli,
    write_files,
)

git_repo = helpers.git_repo  # fixture
FILES = {"data/a.csv": b"alpha", "data/sub/b.csv": b"bravo", "model.bin": b"weights"}


@pytest.fixture
def committed(git_repo: Path) -> Path:
    """data/ and model.bin added and committed."""
    write_files(git_repo, FILES)
    age(git_repo / "data", git_repo / "model.bin")
    cli_ok("add", "data", "model.bin")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "v1")
    return git_repo


def run_git_hint(out: str, cwd: Path) -> None:
    """Run the ``git add …`` line the command printed."""
    (line,) = [line.strip() for line in out.splitlines() if line.strip().startswith("git add")]
    subprocess.run(shlex.split(line), cwd=cwd, check=True, capture_output=True)


def git_clean(root: Path) -> bool:
    return git(root, "status", "--porcelain", "--untracked-files=all") == ""


def test_move_renames_data_pointer_and_gitignore_lines_and_stages_nothing(committed):
    before_index = git(committed, "ls-files", "-s")
    out = cli_ok("move", "data", "archive2024")
    assert out.startswith("Moved data to archive2024\n")
    assert not (committed / "data").exists() and not (committed / "data.dvcish").exists()
    assert helpers.read_tree(committed / "archive2024") == {
        "a.csv": b"alpha",
        "sub/b.csv": b"bravo",
    }
    assert load_pointer(str(committed / "archive2024.dvcish")).path == "archive2024"
    assert (committed / ".gitignore").read_text().splitlines() == ["/model.bin", "/archive2024"]
    assert git(committed, "ls-files", "-s") == before_index  # nothing staged
    assert "Data and pointers are up to date." in cli_ok("status")
    assert "0 hashed" in cli_ok("add", "archive2024")  # the stat cache followed the rename
    run_git_hint(out, committed)
    git(committed, "commit", "-q", "-m", "moved")
    assert git_clean(committed)
    assert git(committed, "show", "--stat", "--format=", "HEAD").count("archive2024.dvcish") == 1


def test_mv_into_an_existing_folder_from_a_subfolder(committed):
    (committed / "models").mkdir()
    os.chdir(committed / "models")
    out = cli_ok("mv", "../model.bin", ".")
    assert "Moved model.bin to models/model.bin" in out
    assert "git add model.bin.dvcish ../.gitignore .gitignore ../model.bin.dvcish" in out
    assert (committed / "models/model.bin").read_bytes() == b"weights"
    assert (committed / "models/.gitignore").read_text() == "/model.bin\n"
    run_git_hint(out, committed / "models")
    git(committed, "commit", "-q", "-m", "moved")
    assert git_clean(committed)


@pytest.mark.parametrize(
    ("source", "destination", "fragments"),
    [
        ("data", "model.bin", ["model.bin: already exists"]),
        ("data", "sub/x", ["sub: no such folder"]),
        ("data", "data/inner", ["is data itself or inside it"]),
        ("data/sub/b.csv", "b.csv", ["inside the tracked folder data", "move the whole folder"]),
        ("model.bin", "data/model.bin", ["inside the tracked folder data"]),
        ("model.bin", "../elsewhere", ["outside the repository"]),
        ("model.bin", "weights.dvcish", ["a pointer file name"]),
        ("nothing", "x", ["not tracked by dvcish"]),
    ],
)
def test_move_refusals_change_nothing(committed, source, destination, fragments):
    write_files(committed, {"stray.dvcish.txt": b"x"})
    assert_refused(committed, ["move", source, destination], *fragments)


def test_move_onto_a_leftover_pointer_is_refused(committed):
    write_files(committed, {"new.dvcish": b"left behind"})
    assert_refused(committed, ["move", "data", "new"], "new.dvcish: already exists")


def test_a_move_that_fails_halfway_leaves_everything_as_it_was(committed):
    write_files(committed, {"sub/raw/x": b"x"})
    cli_ok("add", "sub/raw")
    (committed / "archive").mkdir()
    with immovable(committed / "sub"):  # the new pointer, written first, is removed again
        assert_refused(committed, ["move", "sub/raw", "archive/raw"], "sub/raw")


class immovable:
    """Make entries of ``folder`` impossible to rename: immutable as root, read-only otherwise."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.chattr = os.geteuid() == 0

    def __enter__(self) -> None:
        if self.chattr:
            done = subprocess.run(["chattr", "+i", str(self.folder)], capture_output=True)
            if done.returncode != 0:
                pytest.fail(f"chattr +i failed: {done.stderr.decode()}")
        else:
            os.chmod(self.folder, 0o555)

    def __exit__(self, *exc: object) -> None:
        if self.chattr:
            subprocess.run(["chattr", "-i", str(self.folder)], check=True)
        else:
            os.chmod(self.folder, 0o755)


def test_move_of_data_not_in_the_workspace_moves_the_pointer(committed):
    (committed / "model.bin").unlink()
    result = run_cli(["move", "model.bin", "weights.bin"])
    assert result.exit_code == 0, result.output
    assert "only its pointer moved" in result.stderr
    assert load_pointer(str(committed / "weights.bin.dvcish")).path == "weights.bin"
    cli_ok("checkout")
    assert (committed / "weights.bin").read_bytes() == b"weights"


def test_remove_keeps_the_data_and_warns_that_git_now_sees_it(committed):
    out = run_cli(["rm", "model.bin"])
    assert out.exit_code == 0, out.output
    assert "Removed model.bin" in out.stdout
    assert "model.bin is still in the workspace and no longer ignored by git" in out.stderr
    assert (committed / "model.bin").read_bytes() == b"weights"
    assert not (committed / "model.bin.dvcish").exists()
    assert (committed / ".gitignore").read_text() == "/data\n"
    assert "git add .gitignore model.bin.dvcish" in out.stdout
    run_git_hint(out.stdout, committed)
    staged = git(committed, "status", "--porcelain").splitlines()
    assert staged == ["M  .gitignore", "D  model.bin.dvcish", "?? model.bin"]
    assert "model.bin" not in cli_ok("status", "--json")


def test_remove_data_deletes_only_what_the_cache_holds(committed):
    write_files(committed, {"data/sub/b.csv": b"changed, not added"})
    args = ["remove", "--data", "model.bin", "data"]  # model.bin is fine, but nothing changes
    assert_refused(committed, args, "data/sub/b.csv", "remove --data --force")

    out = cli_ok("remove", "--outs", "model.bin")
    assert "Removed model.bin and its data" in out
    assert not (committed / "model.bin").exists()
    assert cli_ok("remove", "--data", "--force", "data").startswith("Removed data and its data")
    assert not (committed / "data").exists() and not (committed / ".gitignore").exists()
    result = run_cli(["remove", "--force", "data"])
    assert result.exit_code == 2


def test_status_names_a_pointer_renamed_by_hand(committed):
    os.rename(committed / "data", committed / "dataset")
    os.rename(committed / "data.dvcish", committed / "dataset.dvcish")
    out = run_cli(["status"]).stdout
    assert "data: missing from workspace" in out
    assert "dataset.dvcish tracks 'data' but is not named data.dvcish: renamed by hand?" in out
    os.rename(committed / "dataset.dvcish", committed / "data.dvcish")
    os.rename(committed / "dataset", committed / "data")
    cli_ok("move", "data", "dataset")
    assert "up to date" in cli_ok("status")


def test_status_names_a_pointer_moved_by_hand_to_another_folder(committed):
    (committed / "models").mkdir()
    os.rename(committed / "model.bin.dvcish", committed / "models/model.bin.dvcish")
    out = run_cli(["status", "--json"]).stdout
    assert "models/model.bin.dvcish looks moved by hand from model.bin.dvcish" in out
    assert "its data is still at model.bin" in out
    assert "dvcish move model.bin models/model.bin" in out
