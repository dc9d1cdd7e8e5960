"""``dvcish install``: the hooks it writes, what it refuses, and the hooks run by real git."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dvcish.commands import hooks
from tests.helpers import (
    assert_one_error,
    git,
    git_env,  # noqa: F401 (fixture)
    git_repo,  # noqa: F401 (fixture)
    read_tree,
    run_cli,
)

NAMES = ["post-checkout", "pre-commit", "pre-push"]


def cli_ok(args, cwd=None):
    result = run_cli(args, cwd=cwd)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def git_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Real git, hooks included; not checked, so a test can look at a refusal."""
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def test_install_writes_three_marked_executable_hooks(git_repo):  # noqa: F811
    result = cli_ok(["install"])
    assert "post-checkout, pre-push, pre-commit" in result.stdout
    folder = git_repo / ".git" / "hooks"
    for name in NAMES:
        text = (folder / name).read_text()
        assert text.startswith("#!/bin/sh\n") and hooks.MARKER in text
        assert sys.executable in text
        assert os.access(folder / name, os.X_OK)
    cli_ok(["install"])  # installing again refreshes its own hooks


def test_install_respects_core_hooks_path(git_repo):  # noqa: F811
    git(git_repo, "config", "core.hooksPath", ".githooks")
    cli_ok(["install"])
    assert sorted(os.listdir(git_repo / ".githooks")) == NAMES
    assert not (git_repo / ".git" / "hooks" / "pre-push").exists()


def test_install_refuses_a_foreign_hook_and_writes_nothing(git_repo):  # noqa: F811
    foreign = git_repo / ".git" / "hooks" / "pre-push"
    foreign.write_text("#!/bin/sh\necho mine\n")
    result = run_cli(["install"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, str(foreign), "did not write")
    assert foreign.read_text() == "#!/bin/sh\necho mine\n"
    assert not (git_repo / ".git" / "hooks" / "post-checkout").exists()


def test_uninstall_removes_only_dvcish_hooks(git_repo):  # noqa: F811
    cli_ok(["install"])
    foreign = git_repo / ".git" / "hooks" / "pre-commit"
    foreign.write_text("#!/bin/sh\nexit 0\n")
    result = cli_ok(["install", "--uninstall"])
    assert "Removed post-checkout, pre-push" in result.stdout
    assert "Left" in result.stdout and "pre-commit" in result.stdout
    assert not (git_repo / ".git" / "hooks" / "post-checkout").exists()
    assert foreign.read_text() == "#!/bin/sh\nexit 0\n"
    assert "No dvcish hooks" in cli_ok(["install", "--uninstall"]).stdout


def test_install_needs_git(tmp_path, monkeypatch, git_env):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    cli_ok(["init", "--no-scm"])
    result = run_cli(["install"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "not a git repository")


@pytest.fixture
def tagged(git_repo):  # noqa: F811
    """data/ at v1 and v2 (tags), hooks installed, a local remote; the work tree is at v2."""
    cli_ok(["remote", "add", "-d", "store", str(git_repo.parent / "remote")])
    data = git_repo / "data"
    data.mkdir()
    (data / "a.txt").write_bytes(b"v1\n")
    cli_ok(["add", "data"])
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "v1")
    git(git_repo, "tag", "v1")
    (data / "a.txt").write_bytes(b"v2\n")
    cli_ok(["add", "data"])
    git(git_repo, "commit", "-qam", "v2")
    git(git_repo, "tag", "v2")
    cli_ok(["install"])
    return git_repo


def test_post_checkout_hook_checks_the_data_out(tagged):
    done = git_run(tagged, "checkout", "-q", "v1")
    assert done.returncode == 0, done.stderr
    assert (tagged / "data" / "a.txt").read_bytes() == b"v1\n"
    git_run(tagged, "checkout", "-q", "main")
    assert (tagged / "data" / "a.txt").read_bytes() == b"v2\n"


def test_pre_commit_hook_warns_but_never_blocks(tagged):
    (tagged / "data" / "a.txt").write_bytes(b"edited, not added\n")
    (tagged / "notes.txt").write_text("notes\n")
    git(tagged, "add", "notes.txt")
    done = git_run(tagged, "commit", "-m", "notes")
    assert done.returncode == 0, done.stderr
    assert "dvcish: tracked data differs" in done.stderr
    assert "data: modified" in done.stderr
    assert git(tagged, "log", "-1", "--format=%s") == "notes"


def test_pre_push_hook_pushes_data_and_blocks_when_it_cannot(tagged, tmp_path):
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    done = git_run(tagged, "push", "-q", str(origin), "main")
    assert done.returncode == 0, done.stderr
    assert len(read_tree(tmp_path / "remote")) == 2  # data's file and tree objects
    cli_ok(["remote", "modify", "store", "url", "/dev/null/cannot-exist"])
    git(tagged, "commit", "-q", "--allow-empty", "-m", "later")
    (tagged / "data" / "b.txt").write_bytes(b"new\n")
    cli_ok(["add", "data"])
    git(tagged, "commit", "-qam", "more data")
    refused = git_run(tagged, "push", "-q", str(origin), "main")
    assert refused.returncode != 0
    assert "error:" in refused.stderr
    assert git(origin, "log", "-1", "--format=%s", "main") == "v2"
