"""The CLI contract for failures: one ``error:`` line, exit 1 (2 for usage), no traceback
unless ``-v``, and nothing changed."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import xxhash

from dvcish import __version__
from dvcish.pointer import Pointer, dump_pointer
from tests import helpers
from tests.helpers import (
    assert_one_error,
    git_init,
    object_path,
    run_cli,
    run_dvcish,
    snapshot,
    write_files,
)

git_env = helpers.git_env  # fixture
git_repo = helpers.git_repo  # fixture

CORE_COMMANDS = ["init", "add", "status", "checkout", "fsck", "config", "remote", "push", "pull"]


# ----------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["add"],
        ["add", "--no-such-option", "x"],
        ["status", "--bogus"],
        ["checkout", "--force=yes"],
        ["config"],
        ["config", "unknown.key", "1"],
        ["config", "--unset", "cache.type", "copy"],
        ["init", "--what"],
        ["remote", "add", "only-a-name"],
        ["remote", "add", "bad/name", "/tmp/x"],
        ["remote", "add", "r", "ftp://example.com/x"],
        ["push", "-j", "0"],
        ["fsck", "extra-argument"],
    ],
    ids=lambda args: " ".join(args),
)
def test_usage_errors_exit_2_and_change_nothing(git_repo, args):
    before = snapshot(git_repo)
    result = run_cli(args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()
    assert snapshot(git_repo) == before


def test_usage_error_from_the_core_is_one_error_line(git_repo):
    result = run_cli(["config", "unknown.key", "1"])
    assert result.exit_code == 2
    assert_one_error(result.stderr, "unknown config key 'unknown.key'")


# ----------------------------------------------------------------------------- DvcishError paths


def _tracked_file(root: Path) -> None:
    write_files(root, {"model.bin": b"weights"})
    assert run_cli(["add", "model.bin"]).exit_code == 0


def _tracked_folder(root: Path) -> None:
    write_files(root, {"data/a": b"a", "data/b": b"b"})
    assert run_cli(["add", "data"]).exit_code == 0


def _bad_pointer(root: Path) -> None:
    oid = xxhash.xxh3_128_hexdigest(b"")
    text = f"version: 1\npath: broken\nkind: blob\nhash: xxh128\noid: {oid}\nsize: 0\n"
    (root / "broken.dvcish").write_text(text)


def _bad_tree(root: Path) -> None:
    data = b"dvcish-tree 1\nnot an entry\n"
    oid = xxhash.xxh3_128_hexdigest(data)
    object_path(root, oid).write_bytes(data)
    (root / "t").mkdir()
    (root / "t.dvcish").write_bytes(dump_pointer(Pointer("t", "dir", oid, 0, 0)))


def _user_change(root: Path) -> None:
    _tracked_file(root)
    (root / "model.bin").write_bytes(b"unsaved")


def _bad_config(root: Path) -> None:
    (root / ".dvcish/config").write_text("- not\n- sections\n")


def _broken_cache_dir(root: Path) -> None:
    (root / "plain-file").write_bytes(b"")
    (root / ".dvcish/config").write_text("cache:\n  dir: ../plain-file/cache\n")
    write_files(root, {"f": b"f"})


def _nothing(root: Path) -> None:
    return None


def _remote_without_folder(root: Path) -> None:
    _tracked_file(root)
    assert run_cli(["remote", "add", "-d", "store", str(root.parent / "absent")]).exit_code == 0


Setup = Callable[[Path], None]
ERROR_CASES: list[tuple[str, Setup, list[str], list[str]]] = [
    ("init-twice", _nothing, ["init"], ["already"]),
    ("add-missing", _nothing, ["add", "absent"], ["absent", "no such file"]),
    ("add-outside", _nothing, ["add", "/etc/hostname"], ["outside the repository"]),
    ("add-in-git", _nothing, ["add", ".git/HEAD"], [".git"]),
    ("add-pointer", _tracked_file, ["add", "model.bin.dvcish"], ["pointer file"]),
    ("add-in-tracked", _tracked_folder, ["add", "data/a"], ["tracked folder data"]),
    ("status-untracked", _nothing, ["status", "nope"], ["nope", "not tracked"]),
    ("status-bad-pointer", _bad_pointer, ["status"], ["broken.dvcish", "invalid pointer"]),
    ("checkout-bad-pointer", _bad_pointer, ["checkout"], ["broken.dvcish", "kind"]),
    ("checkout-bad-tree", _bad_tree, ["checkout"], ["invalid tree object", "line 2"]),
    ("checkout-user-change", _user_change, ["checkout"], ["model.bin", "--force"]),
    ("config-unset", _nothing, ["config", "--unset", "core.remote"], ["core.remote"]),
    ("config-get-unset", _nothing, ["config", "core.remote"], ["core.remote", "not set"]),
    ("config-bad-type", _nothing, ["config", "cache.type", "ftp"], ["cache.type", "ftp"]),
    ("config-broken", _bad_config, ["status"], [".dvcish/config", "mapping"]),
    ("os-error", _broken_cache_dir, ["add", "f"], ["plain-file", "Not a directory"]),
    ("push-no-remote", _tracked_file, ["push"], ["no remote is configured", "remote add -d"]),
    ("push-unknown-remote", _tracked_file, ["push", "-r", "nope"], ["unknown remote 'nope'"]),
    ("fetch-absent-folder", _remote_without_folder, ["fetch"], ["does not exist"]),
    ("remote-twice", _remote_without_folder, ["remote", "add", "store", "/x"], ["already"]),
]


@pytest.mark.parametrize(
    ("setup", "args", "fragments"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_error_is_one_line_exit_1_and_changes_nothing(git_repo, setup, args, fragments):
    setup(git_repo)
    before = snapshot(git_repo)
    result = run_cli(args)
    assert result.exit_code == 1, result.output
    assert_one_error(result.stderr, *fragments)
    assert snapshot(git_repo) == before


def test_outside_a_repository(tmp_path, monkeypatch, git_env):
    monkeypatch.chdir(tmp_path)
    result = run_cli(["status"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "not inside a dvcish repository", "dvcish init")


def test_init_outside_git_needs_no_scm(tmp_path, monkeypatch, git_env):
    monkeypatch.chdir(tmp_path)
    result = run_cli(["init"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "not inside a git work tree", "--no-scm")
    assert list(tmp_path.iterdir()) == []
    result = run_cli(["init", "--no-scm"])
    assert result.exit_code == 0
    assert (tmp_path / ".dvcish/cache/ff").is_dir()
    assert "git add" not in result.stdout


def test_init_in_git(tmp_path, monkeypatch, git_env):
    root = git_init(tmp_path / "r")
    monkeypatch.chdir(root)
    result = run_cli(["init"])
    assert result.exit_code == 0
    assert "git add .dvcish" in result.stdout
    assert sorted(os.listdir(root / ".dvcish")) == [".gitignore", "cache", "config", "tmp"]
    assert len(os.listdir(root / ".dvcish/cache")) == 256


# ----------------------------------------------------------------------------- -v and -q


def test_verbose_shows_a_traceback(git_repo):
    result = run_cli(["-v", "add", "absent"])
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("debug ")]
    assert lines[-1] == "error: absent: no such file or folder"


def test_verbose_traceback_for_os_errors(git_repo):
    _broken_cache_dir(git_repo)
    result = run_cli(["-v", "add", "f"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "NotADirectoryError" in result.stderr


def test_quiet_prints_nothing_but_errors(git_repo):
    write_files(git_repo, {"f": b"x"})
    result = run_cli(["-q", "add", "f"])
    assert (result.exit_code, result.stdout) == (0, "")
    result = run_cli(["-q", "add", "absent"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert_one_error(result.stderr, "absent")


# ----------------------------------------------------------------------------- real processes


def test_error_from_a_real_process(git_repo):
    result = run_dvcish(["add", "absent"], cwd=git_repo)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "error: absent: no such file or folder\n"


def test_verbose_from_a_real_process(git_repo):
    result = run_dvcish(["-v", "checkout", "nope"], cwd=git_repo)
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("debug ")]
    assert lines[-1] == "error: nope: not tracked by dvcish (no nope.dvcish)"


def test_usage_error_from_a_real_process(git_repo):
    result = run_dvcish(["add"], cwd=git_repo)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Missing argument" in result.stderr


def test_version():
    result = run_cli(["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"dvcish {__version__}\n"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", __version__)


def test_python_m_dvcish_help(tmp_path):
    result = run_dvcish(["--help"], cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: ")
    for command in CORE_COMMANDS:
        assert re.search(rf"^  {command}\s", result.stdout, re.M), command


def test_console_script_version(tmp_path):
    script = Path(sys.executable).parent / "dvcish"
    if not script.exists():
        pytest.skip("console script not installed")
    import subprocess

    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, f"dvcish {__version__}\n")


HELP_COMMANDS = [c for c in CORE_COMMANDS if c != "remote"] + ["remote add", "remote list"]


@pytest.mark.parametrize("command", HELP_COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = run_cli([*command.split(), "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.stdout
