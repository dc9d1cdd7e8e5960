"""Data across git history: --rev/--all-* on push, fetch, pull and status --cloud.

Also home of the ``versions`` fixture the diff, gc and ls tests share: a repo with two committed
versions of a folder (tag v1, then main) and a default remote committed in its config.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import pytest

from dvcish.errors import DvcishError
from dvcish.history import Selection, collect, git_prefix
from dvcish.pointer import load_pointer
from dvcish.repo import open_repo
from dvcish.tree import level_reader, load_tree, tree_oids
from tests import helpers
from tests.helpers import age, assert_one_error, git, git_init, run_cli, run_dvcish, write_files

V1 = {"data/a.txt": b"alpha v1", "data/sub/b.txt": b"bravo", "model.bin": b"weights"}
V2 = {"data/a.txt": b"alpha v2!", "data/c.txt": b"charlie"}


@dataclasses.dataclass
class Versions:
    root: Path
    remote: Path
    v1_data: str  # tree oid of data at v1
    v2_data: str  # tree oid of data at main

    def objects(self, rev: str) -> set[str]:
        """Every oid the data at ``rev`` needs (from the cache)."""
        repo = open_repo(str(self.root))
        tree = self.v1_data if rev == "v1" else self.v2_data
        found = {tree, load_pointer(str(self.root / "model.bin.dvcish")).oid}
        found.update(entry.oid for entry in load_tree(repo.cache, tree).entries)
        found.update(tree_oids(level_reader(repo.cache), tree))  # data/sub/ has its own level
        return found

    def remote_has(self, oid: str) -> bool:
        return (self.remote / oid[:2] / oid[2:]).is_file()


ok = helpers.cli_ok


use_test_git = helpers.set_git_env


def make_versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Versions:
    """v1 (tagged): data/{a,sub/b}, model.bin; main: data/a changed, data/c added, sub/b gone.

    The cwd is the repo's root afterwards. The test modules of diff, gc and ls use it too.
    """
    use_test_git(monkeypatch)
    git_repo = git_init(tmp_path / "repo")
    monkeypatch.chdir(git_repo)
    ok("init")
    remote = tmp_path / "remote"
    ok("remote", "add", "-d", "storage", str(remote))
    ok("remote", "modify", "storage", "packs", "false")  # loose objects: tests look at them
    write_files(git_repo, V1)
    age(git_repo / "data", git_repo / "model.bin")
    ok("add", "data", "model.bin")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "v1")
    git(git_repo, "tag", "v1")
    v1_data = load_pointer(str(git_repo / "data.dvcish")).oid
    (git_repo / "data/sub/b.txt").unlink()
    write_files(git_repo, V2)
    age(git_repo / "data")
    ok("add", "data")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-q", "-m", "v2")
    v2_data = load_pointer(str(git_repo / "data.dvcish")).oid
    assert v1_data != v2_data
    return Versions(git_repo, remote, v1_data, v2_data)


@pytest.fixture
def versions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Versions:
    return make_versions(tmp_path, monkeypatch)


def fresh_clone(versions: Versions, tmp_path: Path, monkeypatch, name: str = "clone") -> Path:
    clone = tmp_path / name
    git(tmp_path, "clone", "-q", str(versions.root), str(clone))
    monkeypatch.chdir(clone)
    return clone


def test_push_all_tags_then_pull_an_old_tag_in_a_fresh_clone(versions, tmp_path, monkeypatch):
    v1_only = versions.objects("v1") - versions.objects("main")
    assert len(v1_only) == 4  # the root and sub/ levels, data/a v1, data/sub/b
    ok("push")
    assert all(versions.remote_has(oid) for oid in versions.objects("main"))
    assert not any(versions.remote_has(oid) for oid in v1_only)  # plain push: workspace only

    out = ok("push", "--all-tags")
    assert "4 pushed" in out
    assert all(versions.remote_has(oid) for oid in v1_only)

    clone = fresh_clone(versions, tmp_path, monkeypatch)
    git(clone, "-c", "advice.detachedHead=false", "checkout", "-q", "v1")
    ok("pull")
    assert (clone / "data/a.txt").read_bytes() == b"alpha v1"
    assert (clone / "data/sub/b.txt").read_bytes() == b"bravo"
    assert not (clone / "data/c.txt").exists()


def test_pull_rev_fetches_that_data_but_checks_out_the_workspace(versions, tmp_path, monkeypatch):
    ok("push", "--rev", "v1")
    clone = fresh_clone(versions, tmp_path, monkeypatch)
    ok("pull", "--rev", "v1")
    assert (clone / "data/a.txt").read_bytes() == b"alpha v2!"  # main's data, not v1's
    assert not (clone / "data/sub").exists()
    shutil.rmtree(versions.remote)  # v1's data must already be in the cache now
    git(clone, "-c", "advice.detachedHead=false", "checkout", "-q", "v1")
    ok("checkout")
    assert (clone / "data/a.txt").read_bytes() == b"alpha v1"
    assert (clone / "data/sub/b.txt").read_bytes() == b"bravo"


def test_fetch_rev_with_a_target_inside_a_folder(versions, tmp_path, monkeypatch):
    ok("push", "--all-branches", "--all-tags")
    clone = fresh_clone(versions, tmp_path, monkeypatch)
    out = ok("fetch", "--rev", "v1", "data/sub/b.txt")
    assert "fetched" in out
    cache = open_repo(str(clone)).cache
    assert cache.exists(versions.v1_data)  # the tree came first
    assert cache.exists(load_pointer(str(versions.root / "model.bin.dvcish")).oid) is False
    b_oid = {e.path: e.oid for e in load_tree(cache, versions.v1_data).entries}["sub/b.txt"]
    assert cache.exists(b_oid)
    assert not (clone / "data").exists()  # fetch never touches the workspace


def test_push_of_a_revision_whose_tree_is_not_in_the_cache_reports_it(
    versions, tmp_path, monkeypatch
):
    ok("push")
    fresh_clone(versions, tmp_path, monkeypatch)
    ok("pull")
    result = run_cli(["push", "--rev", "v1"])
    assert result.exit_code == 1
    assert f"data: tree {versions.v1_data} missing from the cache" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["push", "--rev", "nosuch"],
        ["fetch", "--rev", "v1", "--rev", "nosuch"],
        ["pull", "--rev", "nosuch"],
        ["status", "--cloud", "--rev", "nosuch"],
    ],
)
def test_unknown_revision_is_one_line_and_exit_1(versions, command):
    result = run_cli(command)
    assert result.exit_code == 1
    assert_one_error(result.stderr, "unknown revision 'nosuch'")
    assert not versions.remote.exists()  # nothing was pushed before the error


def test_all_commits_in_a_shallow_clone_refuses(versions, tmp_path, monkeypatch):
    ok("push")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", versions.root.as_uri(), str(shallow))
    monkeypatch.chdir(shallow)
    result = run_cli(["fetch", "--all-commits"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "shallow clone", "git fetch --unshallow")


def test_status_cloud_with_revisions(versions):
    ok("push")
    assert ok("status", "--cloud")  # the workspace's data is all there
    result = run_cli(["status", "--cloud", "--rev", "v1", "--json"])
    assert result.exit_code == 0  # the command worked: JSON says what is missing
    assert run_cli(["status", "--cloud", "--rev", "v1", "-q"]).exit_code == 1
    missing = {entry["oid"] for entry in json.loads(result.stdout)["missing_on_remote"]}
    assert missing == versions.objects("v1") - versions.objects("main")
    ok("push", "--rev", "v1")
    ok("status", "--cloud", "--all-tags")


def test_revision_flags_without_cloud_are_a_usage_error(versions):
    result = run_cli(["status", "--rev", "v1"])
    assert result.exit_code == 2
    assert_one_error(result.stderr, "--cloud")


def test_collect_applies_targets_and_dedupes(versions):
    repo = open_repo(str(versions.root))
    found = collect(repo, Selection(revs=("v1", "HEAD", "main"), workspace=True))
    # main and HEAD are one commit: its pointers appear once, labelled by the first name given
    assert sorted(t.pointer_file for t in found.revisions) == [
        "data.dvcish@HEAD",
        "data.dvcish@v1",
        "model.bin.dvcish@HEAD",
        "model.bin.dvcish@v1",
    ]
    unique = found.unique()
    model = load_pointer(str(versions.root / "model.bin.dvcish")).oid
    assert sorted((t.rel, t.pointer.oid) for t in unique) == sorted(
        [("data", versions.v2_data), ("data", versions.v1_data), ("model.bin", model)]
    )
    assert os.path.isabs(unique[0].pointer_file)  # the workspace's items come first

    inside = collect(repo, Selection(revs=("v1",)), ["data/sub"])
    assert [(t.pointer_file, t.rel, t.subpath) for t in inside.revisions] == [
        ("data.dvcish@v1", "data", "sub")
    ]
    assert inside.workspace == []
    with pytest.raises(DvcishError, match="nowhere: not tracked by dvcish"):
        collect(repo, Selection(revs=("v1",), workspace=True), ["nowhere"])


def test_a_dvcish_repo_in_a_subfolder_of_git(tmp_path, monkeypatch):
    use_test_git(monkeypatch)
    top = git_init(tmp_path / "top")
    project = top / "proj"
    project.mkdir()
    monkeypatch.chdir(project)
    ok("init")
    write_files(project, {"data/x.bin": b"x"})
    ok("add", "data")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "one")
    assert git_prefix(str(project)) == "proj/"
    found = collect(open_repo(str(project)), Selection(revs=("HEAD",)))
    assert [(t.pointer_file, t.rel) for t in found.revisions] == [("data.dvcish@HEAD", "data")]
    assert found.revisions[0].target == str(project / "data")


def test_push_all_tags_as_a_real_process(versions):
    done = run_dvcish(["push", "--all-tags", "-j", "2"], cwd=versions.root)
    assert done.returncode == 0, done.stderr
    assert all(versions.remote_has(oid) for oid in versions.objects("v1"))
    help_text = run_dvcish(["push", "--help"], cwd=versions.root).stdout
    for flag in ("--rev", "--all-branches", "--all-tags", "--all-commits"):
        assert flag in help_text
