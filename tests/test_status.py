"""``dvcish status``: up to date / modified / missing from workspace / missing from cache."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import xxhash

from dvcish.pointer import load_pointer
from tests import helpers
from tests.helpers import (
    age,
    assert_one_error,
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


def status_json(*args: str) -> tuple[int, list[dict]]:
    result = run_cli(["status", "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def by_path(entries: list[dict]) -> dict[str, dict]:
    return {entry["path"]: entry for entry in entries}


def setup_tracked(root) -> dict[str, bytes]:
    files = make_dataset(root / "data", 20, seed="status", per_folder=5)
    write_files(root, {"model.bin": b"weights"})
    age(root / "data", root / "model.bin")
    add_ok("data", "model.bin")
    return files


def test_up_to_date(git_repo):
    setup_tracked(git_repo)
    result = run_cli(["status"])
    assert result.exit_code == 0
    assert result.stdout == "Data and pointers are up to date.\n"
    code, entries = status_json()
    assert code == 0
    data, model = entries
    assert data == {
        "path": "data",
        "pointer": "data.dvcish",
        "kind": "dir",
        "oid": load_pointer(str(git_repo / "data.dvcish")).oid,
        "size": load_pointer(str(git_repo / "data.dvcish")).size,
        "state": "up_to_date",
        "added": [],
        "modified": [],
        "deleted": [],
        "missing_objects": 0,
        "damaged": [],
        "hint": None,
    }
    assert (model["path"], model["kind"], model["state"]) == ("model.bin", "file", "up_to_date")
    assert model["oid"] == xxhash.xxh3_128_hexdigest(b"weights")
    quiet = run_cli(["status", "-q"])
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")


def test_nothing_tracked(git_repo):
    result = run_cli(["status"])
    assert result.exit_code == 0
    assert "No data is tracked yet" in result.stdout
    assert status_json() == (0, [])


def test_modified_folder_lists_added_modified_deleted(git_repo):
    files = setup_tracked(git_repo)
    names = sorted(files)
    write_files(git_repo / "data", {names[3]: b"changed", "zz/new": b"new"})
    (git_repo / "data" / names[5]).unlink()
    code, entries = status_json()
    assert code == 0  # the command worked; -q is the way to get exit 1 on changes
    data = by_path(entries)["data"]
    assert data["state"] == "modified"
    assert (data["added"], data["modified"], data["deleted"]) == (
        ["data/zz/new"],
        [f"data/{names[3]}"],
        [f"data/{names[5]}"],
    )
    assert by_path(entries)["model.bin"]["state"] == "up_to_date"

    text = run_cli(["status"])
    assert text.exit_code == 0
    assert "data: modified (1 added, 1 modified, 1 deleted)" in text.stdout
    assert f"    modified: data/{names[3]}" in text.stdout
    assert "model.bin" not in text.stdout

    quiet = run_cli(["status", "-q"])
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (1, "", "")


def test_modified_file(git_repo):
    setup_tracked(git_repo)
    (git_repo / "model.bin").write_bytes(b"weights, retrained")
    code, entries = status_json("model.bin")
    assert code == 0
    assert entries == [
        {
            "path": "model.bin",
            "pointer": "model.bin.dvcish",
            "kind": "file",
            "oid": xxhash.xxh3_128_hexdigest(b"weights"),
            "size": len(b"weights"),
            "state": "modified",
            "added": [],
            "modified": ["model.bin"],
            "deleted": [],
            "missing_objects": 0,
            "damaged": [],
            "hint": None,
        }
    ]


def test_same_size_change_with_old_mtime_is_noticed_by_inode(git_repo):
    setup_tracked(git_repo)
    path = git_repo / "model.bin"
    before = os.stat(path)
    (git_repo / "replacement").write_bytes(b"WEIGHTS")  # same size, another inode
    os.replace(git_repo / "replacement", path)
    os.utime(path, ns=(before.st_mtime_ns, before.st_mtime_ns))
    assert os.stat(path).st_ino != before.st_ino
    assert status_json("model.bin")[1][0]["state"] == "modified"


def test_executable_bit_change_is_a_modification(git_repo):
    files = setup_tracked(git_repo)
    name = sorted(files)[0]
    os.chmod(git_repo / "data" / name, 0o755)
    code, entries = status_json("data")
    assert code == 0
    assert entries[0]["modified"] == [f"data/{name}"]


def test_symlink_in_tracked_folder_shows_as_added(git_repo):
    setup_tracked(git_repo)
    os.symlink("/etc/passwd", git_repo / "data/link")
    code, entries = status_json("data")
    assert code == 0
    assert entries[0]["added"] == ["data/link"]


def test_folder_replaced_by_file_is_modified(git_repo):
    setup_tracked(git_repo)
    shutil.rmtree(git_repo / "data")
    (git_repo / "data").write_bytes(b"not a folder")
    code, entries = status_json("data")
    assert (code, entries[0]["state"]) == (0, "modified")
    assert len(entries[0]["deleted"]) == 20


def test_missing_from_workspace(git_repo):
    setup_tracked(git_repo)
    shutil.rmtree(git_repo / "data")
    (git_repo / "model.bin").unlink()
    code, entries = status_json()
    assert code == 0
    assert [entry["state"] for entry in entries] == ["missing_from_workspace"] * 2
    text = run_cli(["status"]).stdout
    assert "data: missing from workspace" in text
    assert "model.bin: missing from workspace" in text


def test_missing_from_cache_member(git_repo):
    files = setup_tracked(git_repo)
    tree_oid = load_pointer(str(git_repo / "data.dvcish")).oid
    tree = tree_in_cache(git_repo, tree_oid)
    for entry in tree.entries[:2]:
        object_path(git_repo, entry.oid).unlink()
    code, entries = status_json("data")
    assert code == 0
    assert entries[0]["state"] == "missing_from_cache"
    assert entries[0]["missing_objects"] == 2
    text = run_cli(["status"]).stdout
    assert "data: missing from cache (2 objects; run `dvcish fetch`)" in text
    assert len(files) == 20


def test_missing_from_cache_tree_and_file(git_repo):
    setup_tracked(git_repo)
    object_path(git_repo, load_pointer(str(git_repo / "data.dvcish")).oid).unlink()
    object_path(git_repo, xxhash.xxh3_128_hexdigest(b"weights")).unlink()
    code, entries = status_json()
    assert code == 0
    assert [entry["state"] for entry in entries] == ["missing_from_cache"] * 2


def test_targets_by_data_path_or_pointer(git_repo):
    setup_tracked(git_repo)
    (git_repo / "model.bin").write_bytes(b"changed")
    assert [e["path"] for e in status_json("data")[1]] == ["data"]
    assert [e["path"] for e in status_json("data.dvcish")[1]] == ["data"]
    assert run_cli(["status", "-q", "data"]).exit_code == 0
    assert run_cli(["status", "-q", "model.bin.dvcish"]).exit_code == 1


@pytest.mark.parametrize("args", [["x"], ["x.dvcish"], []])
def test_status_from_a_subfolder(git_repo, args):
    write_files(git_repo, {"sub/x": b"x"})
    add_ok("sub/x")
    result = run_cli(["status", "--json", *args], cwd=git_repo / "sub")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["path"] == "x"  # relative to the current folder
    assert json.loads(result.stdout)[0]["pointer"] == "x.dvcish"


def test_untracked_target_is_an_error(git_repo):
    result = run_cli(["status", "nope"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "nope", "not tracked")


def test_racily_clean_file_is_rehashed_by_status(git_repo):
    path = git_repo / "f"
    path.write_bytes(b"version 1")
    future = os.stat(path).st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(future, future))
    add_ok("f")
    assert status_json("f")[0] == 0  # records the racily clean stat again
    with open(path, "r+b") as handle:  # same inode, size and mtime
        handle.write(b"version 2")
    os.utime(path, ns=(future, future))
    assert status_json("f")[1][0]["state"] == "modified"


def test_status_changes_nothing(git_repo):
    files = setup_tracked(git_repo)
    write_files(git_repo / "data", {sorted(files)[0]: b"edit"})
    before = snapshot(git_repo)
    run_cli(["status"])
    run_cli(["status", "--json"])
    assert snapshot(git_repo) == before


# ----------------------------------------------------------------------------- inside a folder


def test_a_file_or_folder_inside_a_tracked_folder(git_repo):
    files = setup_tracked(git_repo)
    names = sorted(files)
    inner = names[0].split("/")[0]  # part000
    assert status_json(f"data/{names[0]}")[1][0]["state"] == "up_to_date"
    assert status_json(f"data/{inner}")[1][0]["state"] == "up_to_date"
    write_files(git_repo / "data", {names[0]: b"edited", f"{inner}/new.bin": b"new"})
    (git_repo / "data" / names[1]).unlink()
    code, entries = status_json(f"data/{inner}")
    assert code == 0
    part = entries[0]
    assert (part["path"], part["state"]) == (f"data/{inner}", "modified")
    assert part["added"] == [f"data/{inner}/new.bin"]
    assert part["modified"] == [f"data/{names[0]}"]
    assert part["deleted"] == [f"data/{names[1]}"]
    untouched = names[-1].split("/")[0]
    assert untouched != inner
    assert status_json(f"data/{untouched}")[1][0]["state"] == "up_to_date"
    assert status_json(f"data/{names[0]}")[1][0]["modified"] == [f"data/{names[0]}"]
    deleted = status_json(f"data/{names[1]}")[1][0]
    assert deleted["state"] == "missing_from_workspace"
    here = run_cli(["status", "-q", names[-1]], cwd=git_repo / "data")  # relative to the cwd
    assert here.exit_code == 0


def test_a_path_neither_in_the_folder_nor_on_disk_is_an_error(git_repo):
    setup_tracked(git_repo)
    result = run_cli(["status", "data/no/such/file"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "data/no/such/file", "not in the tracked folder data")
