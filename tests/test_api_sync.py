"""dvcish.api.push / fetch / pull: the same use cases as the CLI, from Python."""

from __future__ import annotations

from pathlib import Path

import pytest

import dvcish.api
from dvcish.errors import DvcishError
from tests.helpers import cli_ok, git, git_env, git_init, make_dataset  # noqa: F401


@pytest.fixture
def project(tmp_path: Path, git_env: None):  # noqa: F811
    root = git_init(tmp_path / "origin")
    cli_ok("init", cwd=root)
    files = make_dataset(root / "data", 30, seed="api-sync")
    cli_ok("add", "data", cwd=root)
    cli_ok("remote", "add", "-d", "store", str(tmp_path / "remote"), cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "data")
    return root, files


def test_push_then_pull_into_a_fresh_clone(project, tmp_path):
    root, files = project
    pushed = dvcish.api.push(repo=str(root))
    levels = 2  # the tree of data/: its root level and part000/
    assert pushed.transferred == len(files) + levels and pushed.failed == []
    again = dvcish.api.push(repo=str(root))
    assert again.transferred == 0 and again.present == len(files) + levels

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    result = dvcish.api.pull(repo=str(clone))
    assert result.fetched.failed == [] and result.fetched.transferred == len(files) + 2
    assert [r.written for r in result.checkout] == [len(files)]
    for rel, data in files.items():
        assert (clone / "data" / rel).read_bytes() == data


def test_fetch_one_file_inside_a_folder(project, tmp_path):
    root, files = project
    dvcish.api.push(repo=str(root))
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    name = sorted(files)[0]
    summary = dvcish.api.fetch([str(clone / "data" / name)], repo=str(clone))
    assert summary.failed == [] and summary.transferred == 3  # two tree levels, one file
    assert not (clone / "data").exists()  # fetch never writes the workspace


def test_failures_are_records_not_strings(project, tmp_path):
    root, files = project
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    (tmp_path / "remote").mkdir()
    summary = dvcish.api.fetch(repo=str(clone))  # nothing was pushed: the tree is not there
    [failure] = summary.failed
    assert failure.kind == "not-found" and failure.path == "data"
    assert "tree" in failure.message and failure.oid in failure.message
    with pytest.raises(DvcishError, match="no default remote|unknown remote"):
        dvcish.api.push(repo=str(clone), remote="nope")
