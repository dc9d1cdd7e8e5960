"""Safety: hostile trees and pointers, symlinks, unsafe targets, corrupt objects, unstable files.

Every refusal must leave the workspace, the cache and the pointers exactly as they were
(compared with a snapshot), and nothing may appear outside the repository.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import xxhash

from dvcish.pointer import Pointer, dump_pointer, load_pointer
from dvcish.storage.cache import Cache, ChangedWhileAddingError
from dvcish.storage.verified import SMALL_FILE
from tests import helpers
from tests.helpers import (
    assert_one_error,
    corrupt_object,
    make_bytes,
    make_dataset,
    object_path,
    read_tree,
    run_cli,
    snapshot,
    write_files,
)

git_repo = helpers.git_repo  # fixture


ok = helpers.cli_ok


def store_object(root: Path, data: bytes) -> str:
    oid = xxhash.xxh3_128_hexdigest(data)
    path = object_path(root, oid)
    if not path.exists():
        path.write_bytes(data)
        os.chmod(path, 0o444)
    return oid


def hand_made_tree(root: Path, name: str, entries: list[tuple[str, bytes]]) -> str:
    """Store members and a tree object (unsorted and unchecked, as an attacker would), and
    write ``name.dvcish`` pointing at it. Returns the tree oid."""
    lines = [b"dvcish-tree 1\n"]
    for path, data in entries:
        oid = store_object(root, data)
        lines.append(f"f {oid} {len(data)} {path}\n".encode())
    tree_oid = store_object(root, b"".join(lines))
    size = sum(len(data) for _, data in entries)
    pointer = Pointer(name, "dir", tree_oid, size, len(entries))
    (root / f"{name}.dvcish").write_bytes(dump_pointer(pointer))
    return tree_oid


# ----------------------------------------------------------------------------- hostile trees


@pytest.mark.parametrize(
    "evil",
    [
        "../escaped",
        "../../escaped",
        "sub/../../escaped",
        "/tmp/dvcish-test-absolute-escape",
        "./x",
        ".git/hooks/post-checkout",
        "sub/.GIT/config",
        ".dvcish/config",
        "sub/.DVCISH/config",
        "sub/.Dvcish",
        "a\\..\\..\\escaped",
        "",
    ],
)
def test_checkout_refuses_hostile_tree_and_writes_nothing(git_repo, tmp_path, evil):
    # a harmless entry sorts first: validation must happen before any write
    hand_made_tree(git_repo, "data", [("aaa", b"harmless"), (evil, b"#!/bin/sh\necho owned\n")])
    outside_before = snapshot(tmp_path, skip=())
    result = run_cli(["checkout"])
    assert result.exit_code == 1
    line = assert_one_error(result.stderr)
    assert "unsafe entry" in line or "invalid tree" in line
    assert snapshot(tmp_path, skip=()) == outside_before
    assert not Path("/tmp/dvcish-test-absolute-escape").exists()
    assert not (git_repo / "data").exists()


def test_hostile_tree_refused_by_status_too(git_repo, tmp_path):
    hand_made_tree(git_repo, "data", [("../escaped", b"x")])
    (git_repo / "data").mkdir()
    result = run_cli(["status"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "../escaped")


def test_tree_with_duplicate_entries_refused(git_repo):
    hand_made_tree(git_repo, "data", [("a", b"one"), ("a", b"two")])
    before = snapshot(git_repo)
    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "'a'")
    assert snapshot(git_repo) == before


def test_tree_with_file_and_folder_of_one_name_refused(git_repo):
    hand_made_tree(git_repo, "data", [("a", b"one"), ("a/b", b"two")])
    before = snapshot(git_repo)
    assert run_cli(["checkout"]).exit_code == 1
    assert snapshot(git_repo) == before


@pytest.mark.parametrize("path", ["../outside", "sub/data", "/abs", ".git", "data\x00"])
def test_pointer_path_must_stay_beside_the_pointer(git_repo, path):
    data_oid = store_object(git_repo, b"payload")
    text = dump_pointer(Pointer("placeholder", "file", data_oid, 7)).decode()
    text = text.replace("path: placeholder", f"path: {path!r}")
    (git_repo / "evil.dvcish").write_text(text)
    before = snapshot(git_repo.parent, skip=())
    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "evil.dvcish", "path")
    assert snapshot(git_repo.parent, skip=()) == before


# ----------------------------------------------------------------------------- symlinks at checkout


@pytest.fixture
def tracked(git_repo):
    files = make_dataset(git_repo / "data", 9, seed="safety", per_folder=3)
    ok("add", "data")
    return files


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "file00000.bin").write_bytes(b"outside bytes")
    (folder / "victim").write_bytes(b"victim bytes")
    return folder


def test_symlinked_parent_folder_is_not_followed(git_repo, tracked, outside):
    shutil.rmtree(git_repo / "data/part000")
    os.symlink(outside, git_repo / "data/part000")
    outside_before = snapshot(outside, skip=())

    refused = run_cli(["checkout"])
    assert refused.exit_code == 1
    assert_one_error(refused.stderr, "data/part000")
    assert os.path.islink(git_repo / "data/part000")

    ok("checkout", "--force")
    assert snapshot(outside, skip=()) == outside_before
    assert not os.path.islink(git_repo / "data/part000")
    assert read_tree(git_repo / "data") == tracked


def test_tracked_folder_replaced_by_symlink(git_repo, tracked, outside):
    shutil.rmtree(git_repo / "data")
    os.symlink(outside, git_repo / "data")
    outside_before = snapshot(outside, skip=())
    assert run_cli(["checkout"]).exit_code == 1
    ok("checkout", "--force")
    assert snapshot(outside, skip=()) == outside_before
    assert not os.path.islink(git_repo / "data")
    assert read_tree(git_repo / "data") == tracked


def test_checkout_never_writes_through_a_file_symlink(git_repo, tracked, outside):
    name = sorted(tracked)[0]
    (git_repo / "data" / name).unlink()
    os.symlink(outside / "victim", git_repo / "data" / name)
    outside_before = snapshot(outside, skip=())
    assert run_cli(["checkout"]).exit_code == 1
    ok("checkout", "--force")
    assert snapshot(outside, skip=()) == outside_before
    assert not os.path.islink(git_repo / "data" / name)
    assert (git_repo / "data" / name).read_bytes() == tracked[name]


def test_file_target_replaced_by_symlink(git_repo, outside):
    write_files(git_repo, {"model.bin": b"weights"})
    ok("add", "model.bin")
    (git_repo / "model.bin").unlink()
    os.symlink(outside / "victim", git_repo / "model.bin")
    outside_before = snapshot(outside, skip=())
    assert run_cli(["checkout"]).exit_code == 1
    ok("checkout", "--force")
    assert snapshot(outside, skip=()) == outside_before
    assert (git_repo / "model.bin").read_bytes() == b"weights"
    assert not os.path.islink(git_repo / "model.bin")


def test_symlink_in_a_folder_being_added_is_refused(git_repo, outside):
    write_files(git_repo, {"data/a": b"a"})
    os.symlink(outside / "victim", git_repo / "data/b")
    before = snapshot(git_repo)
    result = run_cli(["add", "data"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "data/b", "symlink")
    assert snapshot(git_repo) == before


# ----------------------------------------------------------------------------- unsafe targets


@pytest.mark.parametrize(
    "target",
    [
        "../outside-file",
        "{tmp}/outside-file",
        "sub/../../outside-file",
        ".",
        ".git/config",
        ".git",
        ".dvcish/config",
        ".dvcish/cache",
        ".DVCISH",
        "kept.dvcish",
        "linked-out/secret",
    ],
)
def test_add_refuses_unsafe_targets(git_repo, tmp_path, target):
    (tmp_path / "outside-file").write_bytes(b"outside")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/secret").write_bytes(b"secret")
    os.symlink(tmp_path / "elsewhere", git_repo / "linked-out")
    write_files(git_repo, {"kept": b"k", "sub/x": b"x", ".DVCISH/x": b"x"})
    ok("add", "kept")
    before = snapshot(tmp_path, skip=())
    result = run_cli(["add", target.format(tmp=tmp_path)])
    assert result.exit_code == 1
    assert_one_error(result.stderr)
    assert snapshot(tmp_path, skip=()) == before


def test_pointer_reached_through_a_symlinked_folder_is_refused(git_repo, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data_oid = store_object(git_repo, b"payload")
    (elsewhere / "x.dvcish").write_bytes(dump_pointer(Pointer("x", "file", data_oid, 7)))
    os.symlink(elsewhere, git_repo / "link")
    before = snapshot(tmp_path, skip=())
    result = run_cli(["checkout", "link/x.dvcish"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "outside the repository")
    assert snapshot(tmp_path, skip=()) == before


@pytest.mark.parametrize("command", ["checkout", "status"])
def test_other_commands_refuse_paths_outside(git_repo, tmp_path, command):
    (tmp_path / "x.dvcish").write_bytes(
        dump_pointer(Pointer("x", "file", xxhash.xxh3_128_hexdigest(b""), 0))
    )
    result = run_cli([command, str(tmp_path / "x.dvcish")])
    assert result.exit_code == 1
    assert_one_error(result.stderr)
    assert not (tmp_path / "x").exists()


# ----------------------------------------------------------------------------- corrupt objects


@pytest.mark.parametrize(
    "link_types", ["reflink,copy", "copy", "hardlink,copy", "symlink,copy", "reflink,hardlink"]
)
def test_corrupt_object_is_quarantined_never_delivered(git_repo, tracked, link_types):
    ok("config", "cache.type", link_types)
    name = sorted(tracked)[1]
    oid = xxhash.xxh3_128_hexdigest(tracked[name])
    obj = object_path(git_repo, oid)
    corrupt_object(obj, b"X" * len(tracked[name]))  # same size, still read-only
    assert os.stat(obj).st_mode & 0o777 == 0o444
    shutil.rmtree(git_repo / "data")

    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert f"data/{name}: cache object corrupt (quarantined)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not os.path.lexists(git_repo / "data" / name)
    quarantined = git_repo / ".dvcish/cache/.quarantine" / oid
    assert quarantined.read_bytes() == b"X" * len(tracked[name])
    assert not obj.exists()
    others = {rel: data for rel, data in tracked.items() if rel != name}
    assert {rel: (git_repo / "data" / rel).read_bytes() for rel in others} == others


def test_object_corrupted_after_a_verified_checkout_is_caught(git_repo, tracked):
    """The stat cache remembers verified objects by their stat; a change invalidates that."""
    ok("config", "cache.type", "hardlink,copy")
    shutil.rmtree(git_repo / "data")
    ok("checkout")  # verifies and links every object
    name = sorted(tracked)[2]
    obj = object_path(git_repo, xxhash.xxh3_128_hexdigest(tracked[name]))
    shutil.rmtree(git_repo / "data")  # drop the workspace links so the object is alone
    corrupt_object(obj, b"tampered")
    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert f"data/{name}" in result.stderr
    assert not os.path.lexists(git_repo / "data" / name)
    assert not obj.exists()


def test_corrupt_tree_object_is_quarantined(git_repo, tracked):
    tree_oid = load_pointer(str(git_repo / "data.dvcish")).oid
    obj = object_path(git_repo, tree_oid)
    data = obj.read_bytes()
    corrupt_object(obj, data.replace(b"part000", b"part999"))  # the root level names folders
    shutil.rmtree(git_repo / "data")
    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, tree_oid, "corrupt")
    assert (git_repo / ".dvcish/cache/.quarantine" / tree_oid).exists()
    assert not (git_repo / "data").exists()


def test_corrupt_file_pointer_object(git_repo):
    write_files(git_repo, {"model.bin": b"weights"})
    ok("add", "model.bin")
    oid = xxhash.xxh3_128_hexdigest(b"weights")
    corrupt_object(object_path(git_repo, oid), b"WEIGHTS")
    (git_repo / "model.bin").unlink()
    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert "model.bin: cache object corrupt" in result.stderr
    assert not (git_repo / "model.bin").exists()
    assert (git_repo / ".dvcish/cache/.quarantine" / oid).read_bytes() == b"WEIGHTS"


# ----------------------------------------------------------------------------- unstable files


@pytest.mark.parametrize("size", [100, SMALL_FILE + 100])
@pytest.mark.parametrize("hardlink", [False, True])
def test_file_changed_while_adding_is_refused(tmp_path, size, hardlink):
    cache = Cache(str(tmp_path / "cache"))
    cache.create_layout()
    path = tmp_path / "data.bin"
    path.write_bytes(make_bytes("unstable", size))
    stale = os.stat(path)
    with open(path, "ab") as handle:  # the file grows after its stat was taken
        handle.write(b"more")
    writer = cache.writer()
    writer.use_hardlink = hardlink
    with pytest.raises(ChangedWhileAddingError, match="data.bin: file changed while being added"):
        writer.add_file(str(path), stale)
    writer.abort()
    assert cache.list() == []
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_same_size_change_while_adding_is_refused(tmp_path):
    cache = Cache(str(tmp_path / "cache"))
    cache.create_layout()
    path = tmp_path / "data.bin"
    path.write_bytes(b"aaaa")
    stale = os.stat(path)
    path.write_bytes(b"bbbb")
    later = stale.st_mtime_ns + 1_000_000
    os.utime(path, ns=(later, later))
    with pytest.raises(ChangedWhileAddingError):
        cache.writer().add_file(str(path), stale)


def test_stable_file_is_added(tmp_path):
    cache = Cache(str(tmp_path / "cache"))
    cache.create_layout()
    path = tmp_path / "data.bin"
    path.write_bytes(b"stable")
    writer = cache.writer()
    oid = writer.add_file(str(path), os.stat(path))
    assert not cache.exists(oid)  # staged, not visible before commit
    writer.commit()
    assert Path(cache.path_of(oid)).read_bytes() == b"stable"
    assert oid == xxhash.xxh3_128_hexdigest(b"stable")
