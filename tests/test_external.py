"""``dvcish get``, ``import``, ``update`` and ``external.fetch_imports`` against real git repos.

The source repo keeps its data on a local-folder remote; git and the filesystem are real.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from dvcish.commands import external
from dvcish.commands.checkout import checkout
from dvcish.hashing import hash_bytes
from dvcish.repo import open_repo
from dvcish.targets import all_tracked
from tests.helpers import (
    assert_one_error,
    corrupt_object,
    git,
    git_env,  # noqa: F401 (fixture)
    git_init,
    read_tree,
    run_cli,
    snapshot,
    write_files,
)

V1 = {"a.txt": b"alpha v1\n", "sub/b.txt": b"beta\n", "run.sh": b"#!/bin/sh\necho hi\n"}
V2 = {"a.txt": b"alpha v2\n", "sub/b.txt": b"beta\n", "run.sh": b"#!/bin/sh\necho hi\n"}
V2["c.txt"] = b"new in v2\n"
MODEL = b"model weights\n"


@dataclass
class SourceRepo:
    root: Path
    remote: Path
    v1: str
    v2: str


def cli_ok(args, cwd=None):
    result = run_cli(args, cwd=cwd)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def make_source(base: Path, with_remote: bool = True) -> SourceRepo:
    """``base/src``: data/ and model.bin tracked; tags v1 and v2 (data changes); pushed."""
    root = git_init(base / "src")
    remote = base / "remote"
    cli_ok(["init"], cwd=root)
    if with_remote:
        cli_ok(["remote", "add", "-d", "store", str(remote)], cwd=root)
    write_files(root / "data", V1)
    os.chmod(root / "data" / "run.sh", 0o755)
    (root / "model.bin").write_bytes(MODEL)
    cli_ok(["add", "data", "model.bin"], cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "v1")
    git(root, "tag", "v1")
    if with_remote:
        cli_ok(["push"], cwd=root)
    write_files(root / "data", V2)
    cli_ok(["add", "data"], cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "v2")
    git(root, "tag", "v2")
    if with_remote:
        cli_ok(["push"], cwd=root)
    return SourceRepo(root, remote, git(root, "rev-parse", "v1"), git(root, "rev-parse", "v2"))


@pytest.fixture
def source(tmp_path: Path, git_env: None) -> SourceRepo:  # noqa: F811
    return make_source(tmp_path)


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point tempfile at an empty folder, to check that commands leave nothing behind."""
    folder = tmp_path / "systmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def dst(tmp_path: Path, git_env: None) -> Path:  # noqa: F811
    root = git_init(tmp_path / "dst")
    cli_ok(["init"], cwd=root)
    return root


def prefixed(files: dict[str, bytes], prefix: str) -> dict[str, bytes]:
    return {f"{prefix}/{rel}": data for rel, data in files.items()}


# --- get ---------------------------------------------------------------------------------------


def test_get_folder_defaults_to_head_and_rev_picks_a_tag(source, workdir, private_tmp):
    result = cli_ok(["get", source.root, "data"], cwd=workdir)
    assert read_tree(workdir / "data") == V2
    # 4 files and 2 tree levels (data/ and data/sub/)
    assert "4 files" in result.stdout and "6 fetched, 0 already in cache" in result.stdout
    cli_ok(["get", source.root, "data", "--rev", "v1", "-o", "old"], cwd=workdir)
    assert read_tree(workdir / "old") == V1
    assert os.stat(workdir / "old" / "run.sh").st_mode & 0o100
    assert not os.stat(workdir / "old" / "a.txt").st_mode & 0o100
    assert os.listdir(private_tmp) == []  # temp clone and temp cache removed


def test_get_accepts_pointer_path_file_inside_folder_and_subfolder(source, workdir):
    cli_ok(["get", source.root, "data.dvcish", "--rev", "v1", "-o", "whole"], cwd=workdir)
    assert read_tree(workdir / "whole") == V1
    cli_ok(["get", source.root, "data/sub/b.txt"], cwd=workdir)
    assert (workdir / "b.txt").read_bytes() == b"beta\n"
    cli_ok(["get", source.root, "./data/sub/", "-o", "part"], cwd=workdir)
    assert read_tree(workdir / "part") == {"b.txt": b"beta\n"}
    cli_ok(["get", source.root, "model.bin", "-o", "nested/../m.bin"], cwd=workdir)
    assert (workdir / "m.bin").read_bytes() == MODEL


def test_get_refuses_an_existing_output_and_leaves_it_alone(source, workdir):
    (workdir / "data").mkdir()
    (workdir / "data" / "mine.txt").write_bytes(b"keep")
    result = run_cli(["get", source.root, "data"], cwd=workdir)
    assert result.exit_code == 1
    assert_one_error(result.stderr, "data", "already exists")
    assert read_tree(workdir) == {"data/mine.txt": b"keep"}


def test_get_with_a_shared_cache_downloads_nothing_the_second_time(
    source, workdir, tmp_path, monkeypatch
):
    monkeypatch.setenv("DVCISH_CACHE_DIR", str(tmp_path / "shared"))
    first = cli_ok(["get", source.root, "data", "-o", "one"], cwd=workdir)
    assert "6 fetched" in first.stdout
    shutil.move(source.remote, tmp_path / "remote-gone")  # the second get must not need it
    second = cli_ok(["get", source.root, "data", "-o", "two"], cwd=workdir)
    assert "0 fetched, 6 already in cache" in second.stdout
    assert read_tree(workdir / "two") == V2


def test_get_inside_a_dvcish_repo_fills_that_repos_cache(source, dst):
    cli_ok(["get", source.root, "model.bin", "-o", "copy.bin"], cwd=dst)
    repo = open_repo(str(dst))
    assert repo.cache.exists(hash_bytes(MODEL))
    assert not (dst / "copy.bin.dvcish").exists()  # get tracks nothing


def test_get_refuses_a_corrupt_remote_object_and_writes_nothing(source, workdir, private_tmp):
    oid = hash_bytes(MODEL)
    corrupt_object(source.remote / oid[:2] / oid[2:])
    result = run_cli(["get", source.root, "model.bin"], cwd=workdir)
    assert result.exit_code == 1
    assert_one_error(result.stderr, "corrupt", oid[2:])
    assert os.listdir(workdir) == [] and os.listdir(private_tmp) == []


def no_remote_source(tmp_path: Path) -> Path:
    return make_source(tmp_path / "bare-src", with_remote=False).root


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("unknown rev", ["unknown revision", "nope"]),
        ("untracked path", ["README.md", "not tracked"]),
        ("outside path", ["../etc/passwd", "not a path inside"]),
        ("missing file in folder", ["data/zzz.txt", "not tracked"]),
        ("no remote", ["no default remote"]),
        ("unknown remote", ["unknown remote", "elsewhere"]),
        ("not a dvcish repo", ["not a dvcish repository"]),
        ("git missing", ["git not found"]),
    ],
)
def test_get_errors_are_one_line_and_leave_nothing(
    case, fragments, source, workdir, private_tmp, tmp_path, monkeypatch
):
    args = ["get", source.root, "data"]
    if case == "unknown rev":
        args += ["--rev", "nope"]
    elif case == "untracked path":
        args[2] = "README.md"
    elif case == "outside path":
        args[2] = "../etc/passwd"
    elif case == "missing file in folder":
        args[2] = "data/zzz.txt"
    elif case == "no remote":
        args[1] = no_remote_source(tmp_path)
    elif case == "unknown remote":
        args += ["-r", "elsewhere"]
    elif case == "not a dvcish repo":
        plain = git_init(tmp_path / "plain")
        (plain / "f").write_bytes(b"x")
        git(plain, "add", "f")
        git(plain, "commit", "-qm", "plain")
        args[1] = plain
    elif case == "git missing":
        empty = tmp_path / "empty-bin"
        empty.mkdir()
        monkeypatch.setenv("PATH", str(empty))
    result = run_cli(args, cwd=workdir)
    assert result.exit_code == 1, result.stdout
    assert_one_error(result.stderr, *fragments)
    assert os.listdir(workdir) == []
    assert os.listdir(private_tmp) == []


def test_get_never_expands_this_machines_environment_into_a_source_config(
    source, workdir, monkeypatch
):
    monkeypatch.setenv("DVCISH_TEST_REMOTE", str(source.remote))
    cli_ok(["remote", "modify", "store", "url", "${DVCISH_TEST_REMOTE}"], cwd=source.root)
    git(source.root, "commit", "-qam", "remote from the environment")
    assert cli_ok(["pull"], cwd=source.root)  # its own repo may use ${VAR}
    result = run_cli(["get", source.root, "model.bin"], cwd=workdir)
    assert result.exit_code == 1
    assert_one_error(result.stderr, "'store'", "environment variable")
    assert os.listdir(workdir) == []


# --- import and update -------------------------------------------------------------------------


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_import_pins_the_commit_checks_out_and_ignores_the_data(source, dst):
    result = cli_ok(["import", source.root, "data", "--rev", "v1"], cwd=dst)
    assert read_tree(dst / "data") == V1
    pointer = load_yaml(dst / "data.dvcish")
    assert pointer["source"] == {
        "url": str(source.root),
        "path": "data",
        "rev": "v1",
        "rev_lock": source.v1,
    }
    assert pointer["kind"] == "dir" and pointer["nfiles"] == 3
    assert "/data" in (dst / ".gitignore").read_text().splitlines()
    assert "git add data.dvcish .gitignore" in result.stdout
    status = cli_ok(["status"], cwd=dst)
    assert "up to date" in status.stdout


def test_import_of_a_subfolder_and_a_file_inside_a_folder(source, dst):
    cli_ok(["import", "../src", "data/sub", "-o", "part"], cwd=dst)
    assert read_tree(dst / "part") == {"b.txt": b"beta\n"}
    pointer = load_yaml(dst / "part.dvcish")
    assert pointer["source"]["url"] == "../src"  # relative to the repo root, as given
    assert pointer["source"]["rev"] is None and pointer["source"]["rev_lock"] == source.v2
    cli_ok(["import", str(source.root), "data/c.txt"], cwd=dst)
    assert (dst / "c.txt").read_bytes() == V2["c.txt"]
    assert load_yaml(dst / "c.txt.dvcish")["kind"] == "file"


def test_import_refuses_existing_output_and_leaves_no_trace(source, dst, private_tmp):
    (dst / "data").write_bytes(b"mine")
    before = snapshot(dst)
    result = run_cli(["import", source.root, "data"], cwd=dst)
    assert result.exit_code == 1
    assert_one_error(result.stderr, "already exists")
    assert snapshot(dst) == before
    result = run_cli(["import", source.root, "nope", "-o", "x"], cwd=dst)
    assert result.exit_code == 1
    assert_one_error(result.stderr, "nope", "not tracked")
    assert snapshot(dst) == before and os.listdir(private_tmp) == []


def test_update_moves_an_import_to_a_new_revision(source, dst):
    cli_ok(["import", source.root, "data", "--rev", "v1"], cwd=dst)
    result = cli_ok(["update", "data", "--rev", "v2"], cwd=dst)
    assert f"Updated data to {source.v2[:12]}" in result.stdout
    assert read_tree(dst / "data") == V2
    assert load_yaml(dst / "data.dvcish")["source"]["rev_lock"] == source.v2
    assert load_yaml(dst / "data.dvcish")["source"]["rev"] == "v2"
    again = cli_ok(["update", "data.dvcish"], cwd=dst)
    assert "already at" in again.stdout


def test_update_follows_the_branch_it_was_imported_from(source, dst):
    cli_ok(["import", source.root, "model.bin", "--rev", "main"], cwd=dst)
    (source.root / "model.bin").write_bytes(b"retrained\n")
    cli_ok(["add", "model.bin"], cwd=source.root)
    cli_ok(["push"], cwd=source.root)
    git(source.root, "commit", "-qam", "retrain")
    cli_ok(["update", "model.bin"], cwd=dst)
    assert (dst / "model.bin").read_bytes() == b"retrained\n"


def test_update_refuses_data_that_is_not_an_import(dst):
    (dst / "local.txt").write_bytes(b"x")
    cli_ok(["add", "local.txt"], cwd=dst)
    result = run_cli(["update", "local.txt"], cwd=dst)
    assert result.exit_code == 1
    assert_one_error(result.stderr, "local.txt", "not an import")


# --- fetch_imports -----------------------------------------------------------------------------


def test_fetch_imports_reproduces_imports_in_a_fresh_clone(source, dst, tmp_path, monkeypatch):
    cli_ok(["import", "../src", "data", "--rev", "v1"], cwd=dst)
    cli_ok(["import", "../src", "data/sub", "-o", "part"], cwd=dst)
    cli_ok(["import", "../src", "data/a.txt", "--rev", "v2", "-o", "a.txt"], cwd=dst)
    (dst / "own.txt").write_bytes(b"own data")
    cli_ok(["add", "own.txt"], cwd=dst)
    git(dst, "add", "-A")
    git(dst, "commit", "-qm", "imports")
    clone = tmp_path / "clone"  # a sibling of src, so "../src" still resolves
    git(tmp_path, "clone", "-q", str(dst), str(clone))
    monkeypatch.chdir(clone)  # targets.load_tracked reads pointers relative to the cwd

    repo = open_repo(str(clone))
    tracked = all_tracked(repo)
    summary = external.fetch_imports(repo, tracked, jobs=2)
    assert summary.failed == []
    # v1's two tree levels and 3 files, the level the part import reads again, b, a v2
    assert summary.transferred == 2 + 3 + 1 + 1
    results = checkout(repo, [], tracked_list=[t for t in tracked if t.pointer.source])
    assert all(not r.missing and not r.corrupt for r in results)
    assert read_tree(clone / "data") == V1
    assert read_tree(clone / "part") == {"b.txt": b"beta\n"}
    assert (clone / "a.txt").read_bytes() == V2["a.txt"]

    shutil.move(source.root, tmp_path / "src-gone")  # a complete cache needs no clone at all
    again = external.fetch_imports(repo, tracked)
    assert again.failed == [] and again.transferred == 0 and again.present == 5 + 2 + 1
    repo.close()


def test_fetch_imports_reports_each_unreachable_import(source, dst, tmp_path, monkeypatch):
    cli_ok(["import", "../src", "data", "--rev", "v1"], cwd=dst)
    cli_ok(["import", "../src", "model.bin"], cwd=dst)
    git(dst, "add", "-A")
    git(dst, "commit", "-qm", "imports")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(dst), str(clone))
    shutil.move(source.remote, tmp_path / "remote-gone")
    monkeypatch.chdir(clone)
    repo = open_repo(str(clone))
    summary = external.fetch_imports(repo, all_tracked(repo))
    repo.close()
    assert summary.transferred == 0
    assert [failure.path for failure in summary.failed] == ["data", "model.bin"]
    assert all("folder does not exist" in failure.message for failure in summary.failed)


# ------------------------------------------------------------------------ a project in a folder


@pytest.fixture
def mono(tmp_path: Path, git_env: None) -> Path:  # noqa: F811
    """``mono/``: a git repository whose dvcish project is its folder ``project/``."""
    top = git_init(tmp_path / "mono")
    project = top / "project"
    project.mkdir()
    cli_ok(["init"], cwd=project)
    cli_ok(["remote", "add", "-d", "store", str(tmp_path / "mono-remote")], cwd=project)
    write_files(project / "data", V1)
    cli_ok(["add", "data"], cwd=project)
    cli_ok(["push"], cwd=project)
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "project in a folder")
    return top


def test_get_import_and_ls_read_a_project_in_a_git_subfolder(mono, workdir, dst):
    out = workdir / "got"
    cli_ok(["get", str(mono / "project"), "data/a.txt", "-o", str(out)], cwd=workdir)
    assert out.read_bytes() == V1["a.txt"]
    url = (mono / ".git").resolve().as_uri()
    cli_ok(["get", url, "project/data/sub", "-o", str(workdir / "sub")], cwd=workdir)
    assert read_tree(workdir / "sub") == {"b.txt": V1["sub/b.txt"]}
    cli_ok(["import", str(mono / "project"), "data", "-o", "imported"], cwd=dst)
    assert read_tree(dst / "imported") == V1
    listed = run_cli(["ls", str(mono / "project"), "-R", "--json"], cwd=dst)
    assert sorted(entry["path"] for entry in json_of(listed)) == sorted(
        f"data/{name}" for name in V1
    )


def json_of(result) -> list:
    import json

    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
