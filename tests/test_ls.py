"""``dvcish ls``: tracked data of this repo or another one, at any revision, -R inside folders."""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import pytest

from dvcish.hashing import hash_bytes
from tests.helpers import assert_one_error, corrupt_object, git, git_env, run_cli, run_dvcish  # noqa: F401
from tests.test_history import V1, Versions, make_versions, ok


@pytest.fixture
def versions(tmp_path, monkeypatch) -> Versions:
    return make_versions(tmp_path, monkeypatch)


def ls_json(*args: str) -> list[dict]:
    return json.loads(ok("ls", "--json", *args))


def paths(entries: list[dict]) -> list[str]:
    return [entry["path"] for entry in entries]


def test_this_repo_lists_the_workspace_pointers(versions):
    entries = ls_json()
    assert entries == [
        {
            "path": "data",
            "kind": "dir",
            "size": len(b"alpha v2!charlie"),
            "oid": versions.v2_data,
            "nfiles": 2,
        },
        {"path": "model.bin", "kind": "file", "size": 7, "oid": hash_bytes(b"weights")},
    ]
    text = ok("ls").splitlines()
    assert text[0].split() == ["dir", "16", "B", versions.v2_data, "data"]


def test_recursive_and_revisions(versions):
    assert paths(ls_json("-R")) == ["data/a.txt", "data/c.txt", "model.bin"]
    at_v1 = ls_json("-R", "--rev", "v1")
    assert paths(at_v1) == ["data/a.txt", "data/sub/b.txt", "model.bin"]
    assert at_v1[0] == {
        "path": "data/a.txt",
        "kind": "file",
        "size": 8,
        "oid": hash_bytes(b"alpha v1"),
    }
    assert paths(ls_json("--rev", "v1", "data/sub")) == ["data/sub/b.txt"]  # inside a folder
    result = run_cli(["ls", "data/sub"])  # gone from the workspace
    assert result.exit_code == 1
    assert_one_error(result.stderr, "data/sub: no tracked data there in the workspace")


def test_another_local_repo_at_a_tag(versions, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clones = tmp_path / "clones"
    clones.mkdir()
    monkeypatch.chdir(elsewhere)  # not a dvcish repo
    monkeypatch.setattr(tempfile, "tempdir", str(clones))
    entries = ls_json(str(versions.root), "--rev", "v1")
    assert paths(entries) == ["data", "model.bin"]
    assert entries[0]["oid"] == versions.v1_data
    # -R reads the tree from that repo's cache; PATH narrows the listing
    files = ls_json(str(versions.root), "data", "--rev", "v1", "-R")
    assert files == [
        {"path": f, "kind": "file", "size": len(V1[f]), "oid": hash_bytes(V1[f])}
        for f in ("data/a.txt", "data/sub/b.txt")
    ]
    assert os.listdir(clones) == []  # the temporary clones are gone
    result = run_cli(["ls", str(versions.root), "--rev", "nosuch"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "nosuch")


def test_another_repo_reads_trees_from_its_default_remote(versions, tmp_path, monkeypatch):
    ok("push", "--all-tags")
    shutil.rmtree(versions.root / ".dvcish" / "cache")
    monkeypatch.chdir(tmp_path)
    # the remote is in .dvcish/config at every commit; its path is relative to that repo
    assert paths(ls_json(str(versions.root), "-R")) == ["data/a.txt", "data/c.txt", "model.bin"]
    # a tree on the remote that does not match its oid is refused
    corrupt_object(versions.remote / versions.v1_data[:2] / versions.v1_data[2:])
    result = run_cli(["ls", str(versions.root), "--rev", "v1", "-R"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, f"tree {versions.v1_data} of data is corrupt")
    # a revision whose config names no remote: the message says where the tree could be
    ok("remote", "remove", "storage", cwd=versions.root)
    git(versions.root, "commit", "-q", "-am", "no remote")
    result = run_cli(["ls", str(versions.root), "-R"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, f"tree {versions.v2_data}", "no default remote")


def test_ls_as_a_real_process_with_a_file_url(versions, tmp_path):
    done = run_dvcish(["ls", versions.root.as_uri(), "--rev", "v1", "--json"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [e["oid"] for e in json.loads(done.stdout)][0] == versions.v1_data
    assert "Example: dvcish ls" in run_dvcish(["ls", "--help"], cwd=tmp_path).stdout


def test_an_empty_or_broken_repository_is_one_clear_line(tmp_path, git_env):  # noqa: F811
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    assert run_cli(["init"], cwd=empty).exit_code == 0
    result = run_cli(["ls", "--rev", "HEAD"], cwd=empty)
    assert_one_error(result.stderr, "has no commits yet")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli(["ls", str(empty), "data"], cwd=elsewhere)
    assert_one_error(result.stderr, "has no commits yet")
    (empty / ".git" / "HEAD").write_text("garbage\n")
    result = run_cli(["ls", "--rev", "HEAD"], cwd=empty)
    line = assert_one_error(result.stderr, ".git is broken")
    assert "<command>" not in line
