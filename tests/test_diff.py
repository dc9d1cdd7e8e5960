"""``dvcish diff``: files added, modified and deleted between revisions and the workspace."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from dvcish.hashing import hash_bytes
from tests.helpers import assert_one_error, git, object_path, run_cli, run_dvcish, write_files
from tests.test_history import Versions, make_versions


@pytest.fixture
def versions(tmp_path, monkeypatch) -> Versions:
    return make_versions(tmp_path, monkeypatch)


def diff(*args: str) -> tuple[int, str]:
    result = run_cli(["diff", *args])
    return result.exit_code, result.stdout


def diff_json(*args: str) -> dict:
    result = run_cli(["diff", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_between_two_revisions_lists_files_inside_folders(versions):
    code, out = diff("v1", "main")
    assert code == 0
    lines = out.splitlines()
    assert lines[:3] == ["A\tdata/c.txt", "M\tdata/a.txt", "D\tdata/sub/b.txt"]
    assert lines[3] == "v1 -> main: 1 added, 1 modified, 1 deleted"
    assert len(lines) == 4  # model.bin did not change

    assert diff_json("v1", "main") == {
        "added": [{"path": "data/c.txt", "oid": hash_bytes(b"charlie")}],
        "modified": [
            {
                "path": "data/a.txt",
                "oid": hash_bytes(b"alpha v2!"),
                "old_oid": hash_bytes(b"alpha v1"),
            }
        ],
        "deleted": [{"path": "data/sub/b.txt", "oid": hash_bytes(b"bravo")}],
    }
    reverse = diff_json("main", "v1")
    assert [c["path"] for c in reverse["added"]] == ["data/sub/b.txt"]
    assert [c["path"] for c in reverse["deleted"]] == ["data/c.txt"]


def test_head_against_the_workspace_by_default(versions):
    root = versions.root
    assert diff() == (0, "No data changed between HEAD and workspace.\n")
    write_files(root, {"data/new/deep.txt": b"new", "data/c.txt": b"changed", "model.bin": b"w2"})
    os.unlink(root / "data/a.txt")
    changes = diff_json()
    assert [c["path"] for c in changes["added"]] == ["data/new/deep.txt"]
    assert changes["added"][0]["oid"] == hash_bytes(b"new")
    assert [c["path"] for c in changes["modified"]] == ["data/c.txt", "model.bin"]
    assert [c["path"] for c in changes["deleted"]] == ["data/a.txt"]
    # an older revision against the workspace
    code, out = diff("v1")
    assert code == 0
    assert "D\tdata/sub/b.txt" in out.splitlines()
    assert "A\tdata/c.txt" in out.splitlines()


def test_unchanged_files_are_not_hashed_again(versions):
    """A same-size edit with the old mtime is invisible: the stat cache vouched for the file."""
    path = versions.root / "data/c.txt"
    st = os.stat(path)
    assert diff()[0] == 0
    path.write_bytes(b"CHARLIE")  # same size, same inode
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert diff_json()["modified"] == []
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert [c["path"] for c in diff_json()["modified"]] == ["data/c.txt"]


def test_deleted_tracked_data_lists_every_file(versions):
    shutil.rmtree(versions.root / "data")
    changes = diff_json()
    assert [c["path"] for c in changes["deleted"]] == ["data/a.txt", "data/c.txt"]
    assert changes["added"] == changes["modified"] == []


def test_targets_limit_the_output(versions, monkeypatch):
    code, out = diff("v1", "HEAD", "data/sub")
    assert code == 0
    assert out.splitlines()[0] == "D\tdata/sub/b.txt"
    assert len(out.splitlines()) == 2
    assert diff("v1", "HEAD", "model.bin") == (0, "No data changed between v1 and HEAD.\n")
    monkeypatch.chdir(versions.root / "data")  # targets and output: relative to the cwd
    assert [c["path"] for c in diff_json("v1", "HEAD", "a.txt")["modified"]] == ["a.txt"]


def test_a_tree_missing_from_the_cache_names_it_and_suggests_fetch(versions):
    os.unlink(object_path(versions.root, versions.v1_data))
    result = run_cli(["diff", "v1"])
    assert result.exit_code == 1
    assert_one_error(
        result.stderr, f"data@v1: tree {versions.v1_data} is not in the cache", "fetch --rev v1"
    )
    assert diff("v1", "HEAD", "model.bin")[0] == 0  # data that did not change needs no tree


def test_unknown_revision_or_path_is_one_line(versions):
    result = run_cli(["diff", "nosuch"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "nosuch", "nor a git revision")


def test_diff_as_a_real_process(versions):
    git(versions.root, "tag", "v2")
    done = run_dvcish(["diff", "v1", "v2", "--json"], cwd=versions.root)
    assert done.returncode == 0, done.stderr
    assert [c["path"] for c in json.loads(done.stdout)["modified"]] == ["data/a.txt"]
    assert "Example: dvcish diff" in run_dvcish(["diff", "--help"], cwd=versions.root).stdout
