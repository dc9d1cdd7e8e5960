"""``dvcish add``: objects in the cache, pointer files, .gitignore, and the stat cache."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
import xxhash
import yaml

from dvcish.pointer import load_pointer
from dvcish.storage.verified import SMALL_FILE
from tests import helpers
from tests.helpers import (
    age,
    assert_one_error,
    git,
    make_bytes,
    make_dataset,
    object_path,
    run_cli,
    snapshot,
    tree_in_cache,
    write_files,
)

git_repo = helpers.git_repo  # fixture


def add_ok(*targets: str) -> str:
    return helpers.cli_ok("add", *targets)


def hashed_counts(output: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"; ([\d,]+) hashed\)", output)]


def cache_files(root: Path) -> list[Path]:
    return [p for p in (root / ".dvcish" / "cache").rglob("*") if p.is_file()]


def pointer_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


# ----------------------------------------------------------------------------- single files


def test_add_file_writes_object_pointer_and_gitignore(git_repo):
    data = make_bytes("file", 3000)
    (git_repo / "model.bin").write_bytes(data)
    out = add_ok("model.bin")
    oid = xxhash.xxh3_128_hexdigest(data)

    assert pointer_yaml(git_repo / "model.bin.dvcish") == {
        "version": 1,
        "path": "model.bin",
        "kind": "file",
        "hash": "xxh128",
        "oid": oid,
        "size": 3000,
    }
    obj = object_path(git_repo, oid)
    assert obj.read_bytes() == data
    assert stat.S_IMODE(obj.stat().st_mode) & 0o222 == 0  # read-only
    assert (git_repo / ".gitignore").read_text().splitlines() == ["/model.bin"]
    assert "git add model.bin.dvcish .gitignore" in out
    assert hashed_counts(out) == [1]
    assert (git_repo / "model.bin").read_bytes() == data  # workspace untouched


def test_pointer_and_gitignore_beside_a_target_in_a_subfolder(git_repo):
    write_files(git_repo, {"sub/deeper/x.csv": b"a,b\n"})
    out = add_ok("sub/deeper/x.csv")
    pointer = load_pointer(str(git_repo / "sub/deeper/x.csv.dvcish"))
    assert pointer.path == "x.csv"
    assert (git_repo / "sub/deeper/.gitignore").read_text() == "/x.csv\n"
    assert not (git_repo / ".gitignore").exists()
    assert "git add sub/deeper/x.csv.dvcish sub/deeper/.gitignore" in out


def test_add_from_a_subfolder_cwd(git_repo):
    write_files(git_repo, {"sub/x.csv": b"x"})
    result = run_cli(["add", "x.csv"], cwd=git_repo / "sub")
    assert result.exit_code == 0, result.output
    assert (git_repo / "sub/x.csv.dvcish").is_file()
    assert "git add x.csv.dvcish .gitignore" in result.stdout


def test_gitignore_entry_added_once_and_existing_lines_kept(git_repo):
    (git_repo / ".gitignore").write_text("*.log")  # no final newline
    (git_repo / "a").write_bytes(b"1")
    add_ok("a")
    (git_repo / "a").write_bytes(b"2")
    out = add_ok("a")
    assert (git_repo / ".gitignore").read_text() == "*.log\n/a\n"
    assert "git add a.dvcish\n" in out or out.rstrip().endswith("git add a.dvcish")


def test_large_file_goes_through_the_streaming_path(git_repo):
    data = make_bytes("large", SMALL_FILE + 12345)
    (git_repo / "big").write_bytes(data)
    add_ok("big")
    oid = xxhash.xxh3_128_hexdigest(data)
    assert load_pointer(str(git_repo / "big.dvcish")).oid == oid
    assert object_path(git_repo, oid).read_bytes() == data


def test_empty_file(git_repo):
    (git_repo / "empty").write_bytes(b"")
    add_ok("empty")
    pointer = load_pointer(str(git_repo / "empty.dvcish"))
    assert (pointer.size, pointer.oid) == (0, xxhash.xxh3_128_hexdigest(b""))
    assert object_path(git_repo, pointer.oid).read_bytes() == b""


def test_several_targets_in_one_command(git_repo):
    write_files(git_repo, {"a": b"A", "d/x": b"X", "d/y": b"Y"})
    out = add_ok("a", "d")
    assert (git_repo / "a.dvcish").is_file() and (git_repo / "d.dvcish").is_file()
    assert hashed_counts(out) == [1, 2]
    assert "git add a.dvcish .gitignore d.dvcish" in out


# ----------------------------------------------------------------------------- folders


def test_add_folder_stores_tree_and_members(git_repo):
    files = make_dataset(git_repo / "data", 30, seed="folder", per_folder=7)
    os.chmod(git_repo / "data/part000/file00003.bin", 0o755)
    out = add_ok("data")

    pointer = load_pointer(str(git_repo / "data.dvcish"))
    assert pointer.kind == "dir"
    assert pointer.nfiles == 30
    assert pointer.size == sum(map(len, files.values()))
    tree_bytes = object_path(git_repo, pointer.oid).read_bytes()
    assert xxhash.xxh3_128_hexdigest(tree_bytes) == pointer.oid
    tree = tree_in_cache(git_repo, pointer.oid)  # the root level and its five subfolders
    assert {entry.path: entry.oid for entry in tree.entries} == {
        rel: xxhash.xxh3_128_hexdigest(data) for rel, data in files.items()
    }
    assert [e.path for e in tree.entries if e.executable] == ["part000/file00003.bin"]
    for entry in tree.entries:
        obj = object_path(git_repo, entry.oid)
        assert obj.read_bytes() == files[entry.path]
        assert os.stat(obj).st_mode & 0o222 == 0
    assert hashed_counts(out) == [30]
    assert "Added data (30 files, " in out
    assert (git_repo / ".gitignore").read_text() == "/data\n"


def test_identical_files_are_stored_once(git_repo):
    write_files(git_repo, {"d/a": b"same", "d/b": b"same", "d/c/d": b"same"})
    add_ok("d")
    oid = xxhash.xxh3_128_hexdigest(b"same")
    assert object_path(git_repo, oid).read_bytes() == b"same"
    assert len(cache_files(git_repo)) == 3  # one member object + the levels d/ and d/c/


def test_empty_folder(git_repo):
    (git_repo / "empty").mkdir()
    add_ok("empty")
    pointer = load_pointer(str(git_repo / "empty.dvcish"))
    assert (pointer.nfiles, pointer.size) == (0, 0)
    assert object_path(git_repo, pointer.oid).read_bytes() == b"dvcish-tree 2\n"


def test_trailing_slash_target(git_repo):
    write_files(git_repo, {"d/a": b"1"})
    add_ok("d/")
    assert load_pointer(str(git_repo / "d.dvcish")).path == "d"


def test_no_temp_files_left_in_cache(git_repo):
    make_dataset(git_repo / "data", 40, seed="tmp")
    (git_repo / "big").write_bytes(make_bytes("big", SMALL_FILE + 1))
    add_ok("data", "big")
    leftovers = [p for p in (git_repo / ".dvcish").rglob(".tmp-*")]
    assert leftovers == []


# ----------------------------------------------------------------------------- stat cache


def test_readding_unchanged_folder_hashes_nothing(git_repo):
    make_dataset(git_repo / "data", 60, seed="unchanged")
    age(git_repo / "data")
    first = add_ok("data")
    pointer_before = (git_repo / "data.dvcish").read_bytes()
    second = add_ok("data")
    assert hashed_counts(first) == [60]
    assert hashed_counts(second) == [0]
    assert (git_repo / "data.dvcish").read_bytes() == pointer_before
    assert (git_repo / ".dvcish/tmp/state.db").is_file()


def test_readding_unchanged_file_hashes_nothing(git_repo):
    (git_repo / "f").write_bytes(b"content")
    age(git_repo / "f")
    add_ok("f")
    assert hashed_counts(add_ok("f")) == [0]


def test_changed_folder_rehashes_only_changed_files(git_repo):
    files = make_dataset(git_repo / "data", 50, seed="changes")
    age(git_repo / "data")
    add_ok("data")
    names = sorted(files)
    write_files(git_repo / "data", {names[0]: b"modified 0", names[1]: b"modified 1"})
    (git_repo / "data" / names[2]).unlink()
    write_files(git_repo / "data", {"new/file": b"new"})
    out = add_ok("data")
    assert hashed_counts(out) == [3]
    pointer = load_pointer(str(git_repo / "data.dvcish"))
    assert pointer.nfiles == 50
    tree = tree_in_cache(git_repo, pointer.oid).by_path()
    assert tree[names[0]].oid == xxhash.xxh3_128_hexdigest(b"modified 0")
    assert names[2] not in tree
    assert tree["new/file"].oid == xxhash.xxh3_128_hexdigest(b"new")


def test_racily_clean_file_is_hashed_again(git_repo):
    """A file whose mtime is not older than its stat-cache record is never trusted."""
    path = git_repo / "f"
    path.write_bytes(b"version 1")
    future = os.stat(path).st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(future, future))
    add_ok("f")
    with open(path, "r+b") as handle:  # same inode, same size, same mtime below
        handle.write(b"version 2")
    os.utime(path, ns=(future, future))
    out = add_ok("f")
    assert hashed_counts(out) == [1]
    assert load_pointer(str(git_repo / "f.dvcish")).oid == xxhash.xxh3_128_hexdigest(b"version 2")


def test_lost_stat_cache_only_costs_rehashing(git_repo):
    make_dataset(git_repo / "data", 10, seed="lost")
    age(git_repo / "data")
    add_ok("data")
    before = (git_repo / "data.dvcish").read_bytes()
    for name in os.listdir(git_repo / ".dvcish/tmp"):
        if name.startswith("state.db"):
            os.unlink(git_repo / ".dvcish/tmp" / name)
    out = add_ok("data")
    assert hashed_counts(out) == [10]
    assert (git_repo / "data.dvcish").read_bytes() == before


def test_object_deleted_from_cache_is_stored_again(git_repo):
    (git_repo / "f").write_bytes(b"precious")
    age(git_repo / "f")
    add_ok("f")
    obj = object_path(git_repo, xxhash.xxh3_128_hexdigest(b"precious"))
    obj.unlink()
    add_ok("f")
    assert obj.read_bytes() == b"precious"


# ----------------------------------------------------------------------------- refusals


def test_symlink_inside_folder_refused_naming_it(git_repo):
    write_files(git_repo, {"data/a": b"1", "data/sub/b": b"2"})
    os.symlink("../a", git_repo / "data/sub/link")
    before = snapshot(git_repo)
    result = run_cli(["add", "data"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "data/sub/link", "symlink")
    assert snapshot(git_repo) == before


def test_symlinked_subfolder_refused(git_repo, tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/secret").write_bytes(b"secret")
    write_files(git_repo, {"data/a": b"1"})
    os.symlink(tmp_path / "outside", git_repo / "data/elsewhere")
    before = snapshot(git_repo)
    result = run_cli(["add", "data"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "data/elsewhere")
    assert snapshot(git_repo) == before


def test_symlink_target_refused(git_repo):
    (git_repo / "real").write_bytes(b"x")
    os.symlink("real", git_repo / "link")
    result = run_cli(["add", "link"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "link", "symlink")
    assert not (git_repo / "link.dvcish").exists()


def test_pointer_file_inside_folder_refused(git_repo):
    write_files(git_repo, {"data/a": b"1", "data/inner.dvcish": b"version: 1\n"})
    before = snapshot(git_repo)
    result = run_cli(["add", "data"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "data/inner.dvcish")
    assert snapshot(git_repo) == before


def test_target_inside_a_tracked_folder_refused(git_repo):
    write_files(git_repo, {"data/a": b"1"})
    add_ok("data")
    before = snapshot(git_repo)
    result = run_cli(["add", "data/a"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "data/a", "tracked folder data")
    assert snapshot(git_repo) == before


def test_missing_target(git_repo):
    result = run_cli(["add", "nothing-here"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "nothing-here", "no such file")


@pytest.mark.parametrize("name", [".DVCISH", ".dvcish"])  # a nested .git is skipped: test_ignore
def test_folder_holding_a_forbidden_name_refused(git_repo, name):
    write_files(git_repo, {"data/a": b"1", f"data/{name}/config": b"x"})
    before = snapshot(git_repo)
    result = run_cli(["add", "data"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, f"data/{name}")
    assert snapshot(git_repo) == before


def test_one_bad_target_means_nothing_added(git_repo):
    write_files(git_repo, {"good": b"1"})
    before = snapshot(git_repo)
    result = run_cli(["add", "good", "missing"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "missing")
    assert snapshot(git_repo) == before


def test_pointer_is_committable_and_data_ignored_by_git(git_repo):
    make_dataset(git_repo / "data", 5, seed="git")
    add_ok("data")
    status = git(git_repo, "status", "--porcelain", "--untracked-files=all")
    assert "data/" not in status
    assert "?? data.dvcish" in status
    assert "?? .gitignore" in status


# ----------------------------------------------------------------------------- awkward names


@pytest.mark.parametrize(
    ("name", "neighbour"),
    [
        ("#hash", "hash"),
        ("!bang", "bang"),
        ("two words", "two"),
        ("data[1].csv", "data1.csv"),
        ("star*", "starfish"),
        ("q?x", "qax"),
        ("trailing ", "trailing"),
    ],
)
def test_gitignore_entry_matches_exactly_the_target(git_repo, name, neighbour):
    write_files(git_repo, {name: b"data", neighbour: b"other"})
    add_ok(name)
    untracked = git(git_repo, "ls-files", "-z", "--others", "--exclude-standard").split("\0")
    assert name not in untracked  # the data is ignored
    assert f"{name}.dvcish" in untracked  # the pointer is not
    assert neighbour in untracked  # and nothing else is


@pytest.mark.parametrize("name", ["back\\slash", "tab\there", "line\nbreak"])
def test_add_refuses_names_a_pointer_cannot_hold(git_repo, name):
    write_files(git_repo, {name: b"data"})
    before = snapshot(git_repo)
    result = run_cli(["add", name])
    assert result.exit_code == 1
    assert_one_error(result.stderr)
    assert snapshot(git_repo) == before


def test_git_add_hint_is_shell_quoted(git_repo):
    write_files(git_repo, {"my data/a": b"1"})
    out = add_ok("my data")
    assert "git add 'my data.dvcish' .gitignore" in out


# ----------------------------------------------------------------------------- git and dvcish


def test_data_that_git_tracks_is_refused_with_the_command_that_untracks_it(git_repo):
    files = make_dataset(git_repo / "data", 5, seed="in-git")
    write_files(git_repo, {"other.bin": b"not in git"})
    git(git_repo, "add", "data")
    git(git_repo, "commit", "-q", "-m", "data in git")
    before = snapshot(git_repo)
    result = run_cli(["add", "other.bin", "data"])
    assert result.exit_code == 1
    first = sorted(files)[0]
    line = assert_one_error(result.stderr, f"data/{first}", "and 2 more", "already tracked by git")
    assert "`git rm -r --cached data`" in line
    assert snapshot(git_repo) == before
    git(git_repo, "rm", "-r", "-q", "--cached", "data")
    add_ok("data")
    assert git(git_repo, "check-ignore", "data/" + first) == "data/" + first


def test_a_staged_file_is_refused_too_from_a_subfolder(git_repo):
    write_files(git_repo, {"sub/model.pt": b"weights"})
    git(git_repo, "add", "sub/model.pt")
    result = run_cli(["add", "model.pt"], cwd=git_repo / "sub")
    assert result.exit_code == 1
    line = assert_one_error(result.stderr, "model.pt: already tracked by git")
    assert "`git rm -r --cached model.pt`" in line


def test_empty_folder_counts_no_files(git_repo):
    (git_repo / "empty").mkdir()
    assert "Added empty (0 files, 0 B; 0 hashed)" in add_ok("empty")


def test_a_repository_without_git_writes_no_gitignore_and_no_git_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    root = tmp_path / "plain"
    root.mkdir()
    monkeypatch.chdir(root)
    init = helpers.cli_ok("init", "--no-scm")
    assert "git add" not in init
    assert not (root / ".dvcish" / ".gitignore").exists()
    write_files(root, {"sub/f": b"x"})
    out = add_ok("sub/f")
    assert "git add" not in out
    assert not (root / "sub" / ".gitignore").exists()
    assert helpers.cli_ok("status") == "Data and pointers are up to date.\n"
