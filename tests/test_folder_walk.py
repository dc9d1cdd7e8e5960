"""Folder by folder (issue 10): snapshots of unchanged folders, level-by-level comparison, the
cache's complete levels, and ``add`` undoing what it stored when a later folder is refused."""

from __future__ import annotations

import os
import shutil

import pytest
import xxhash

from dvcish import transfer
from dvcish.commands.add import add
from dvcish.commands.status import status
from dvcish.errors import DvcishError
from dvcish.folder_walk import HashingMaker, walk_folders
from dvcish.level_compare import all_changes, differing_folders
from dvcish.pointer import load_pointer
from dvcish.presence import Presence
from dvcish.remotes import open_remote
from dvcish.repo import Repo, open_repo
from dvcish.tree import level_reader
from dvcish.workspace import reader_for
from tests import helpers
from tests.helpers import (
    age,
    assert_one_error,
    make_bytes,
    object_path,
    run_cli,
    snapshot,
    write_files,
)

git_repo = helpers.git_repo  # fixture
FOLDERS = 8


def make_folders(root, per_folder: int = 5) -> None:
    files = {
        f"data/d{folder}/f{number}": make_bytes((folder, number), 100 + number)
        for folder in range(FOLDERS)
        for number in range(per_folder)
    }
    files["data/top"] = b"top"
    write_files(root, files)
    age(*(root / name for name in files))


def added_repo(root) -> Repo:
    make_folders(root)
    helpers.cli_ok("add", "data")
    return open_repo(str(root))


def walk(repo: Repo):
    reader = reader_for(repo)
    return reader, walk_folders(reader, HashingMaker(reader), "data", f"{repo.root}/data")


def test_second_walk_reuses_every_folder_from_its_snapshot(git_repo):
    repo = added_repo(git_repo)
    _reader, first = walk(repo)
    repo.state.commit()
    _reader, second = walk(repo)
    assert first.root == second.root
    assert first.root.oid == load_pointer(str(git_repo / "data.dvcish")).oid
    assert second.reused == FOLDERS + 1


def test_a_changed_file_is_seen_although_its_folder_has_a_snapshot(git_repo):
    repo = added_repo(git_repo)
    walk(repo)
    repo.state.commit()
    (git_repo / "data/d3/f1").write_bytes(b"changed")
    _reader, walked = walk(repo)
    assert walked.root.oid != load_pointer(str(git_repo / "data.dvcish")).oid
    assert walked.reused == FOLDERS - 1  # d3 and the top folder are made again


def test_status_of_one_changed_subfolder_reads_only_the_levels_on_its_way(git_repo):
    repo = added_repo(git_repo)
    (git_repo / "data/d5/f2").write_bytes(b"changed")
    reader, walked = walk(repo)
    read = level_reader(repo.cache)
    levels_read: list[str] = []

    def counting_read(oid: str):
        levels_read.append(oid)
        return read(oid)

    pointer = load_pointer(str(git_repo / "data.dvcish"))
    diffs = differing_folders(
        reader, counting_read, walked, "data", f"{git_repo}/data", pointer.oid
    )
    changes, _expected = all_changes(diffs)
    assert changes.modified == ["d5/f2"]
    assert changes.added == [] and changes.deleted == []
    assert len(levels_read) == 2  # the top level and d5's, not the other seven


def test_status_finds_a_member_object_deleted_by_hand_after_a_clean_status(git_repo):
    added_repo(git_repo)
    assert "up to date" in helpers.cli_ok("status")  # records the levels complete
    os.unlink(object_path(git_repo, xxhash.xxh3_128_hexdigest(make_bytes((2, 3), 103))))
    result = run_cli(["status"])
    assert "missing from cache" in result.stdout + result.stderr


def test_complete_levels_are_forgotten_when_the_cache_changes(git_repo):
    repo = added_repo(git_repo)
    oid = load_pointer(str(git_repo / "data.dvcish")).oid
    presence = Presence(repo.cache, repo.state)
    assert presence.missing_below(level_reader(repo.cache), oid) == 0
    presence.seal(wrote=False)
    assert Presence(repo.cache, repo.state).holds(oid)
    os.unlink(object_path(git_repo, xxhash.xxh3_128_hexdigest(make_bytes((0, 0), 100))))
    again = Presence(repo.cache, repo.state)
    assert not again.holds(oid)
    assert again.missing_below(level_reader(repo.cache), oid) == 1


def test_add_reuses_a_folder_only_while_the_cache_holds_its_objects(git_repo):
    added_repo(git_repo)
    lost = object_path(git_repo, xxhash.xxh3_128_hexdigest(make_bytes((4, 1), 101)))
    os.unlink(lost)
    helpers.cli_ok("add", "data")
    assert lost.read_bytes() == make_bytes((4, 1), 101)


def test_add_again_freshens_the_objects_of_reused_folders(git_repo):
    added_repo(git_repo)
    member = object_path(git_repo, xxhash.xxh3_128_hexdigest(make_bytes((6, 0), 100)))
    os.utime(member, (1_000_000, 1_000_000))  # old, as gc's grace period sees it
    helpers.cli_ok("status")
    helpers.cli_ok("add", "data")
    assert member.stat().st_mtime > 1_000_000


def test_a_refused_add_deletes_the_objects_it_stored_in_earlier_folders(git_repo):
    make_folders(git_repo)
    os.symlink("../d0/f0", git_repo / "data/d7/link")  # d0..d6 are stored before d7 is read
    before = snapshot(git_repo)
    repo = open_repo(str(git_repo))
    repo.cache.batch.limit = 16  # objects reach their final names while the walk goes on
    with pytest.raises(DvcishError, match="data/d7/link: is a symlink"):
        add(repo, [str(git_repo / "data")])
    assert snapshot(git_repo) == before


def test_a_refused_add_from_the_command_line_names_the_entry(git_repo):
    make_folders(git_repo)
    os.symlink("../d0/f0", git_repo / "data/d7/link")
    before = snapshot(git_repo)
    result = run_cli(["add", "data"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "data/d7/link", "symlink")
    assert snapshot(git_repo) == before


def test_status_is_up_to_date_when_a_walk_reuses_everything(git_repo):
    repo = added_repo(git_repo)
    for _ in range(2):
        [result] = status(repo, ["data"])
        assert result.state == "up to date", result


# ----------------------------------------------------------------------------- push in batches


def test_push_in_batches_sends_everything_and_a_clone_gets_it_all(git_repo, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "PUSH_BATCH", 6)  # about one folder a batch
    make_folders(git_repo)
    helpers.cli_ok("add", "data")
    helpers.cli_ok("remote", "add", "-d", "store", str(tmp_path / "remote"))
    pushed = helpers.cli_ok("push")
    assert pushed.startswith(f"{FOLDERS * 5 + 1 + FOLDERS + 1} pushed")  # files and levels
    helpers.git(git_repo, "add", "-A")
    helpers.git(git_repo, "commit", "-qm", "data")
    clone = tmp_path / "clone"
    helpers.git(tmp_path, "clone", "-q", str(git_repo), str(clone))
    helpers.cli_ok("pull", cwd=clone)
    assert helpers.read_tree(clone / "data") == helpers.read_tree(git_repo / "data")


def test_push_in_batches_holds_back_every_level_above_a_missing_member(
    git_repo, tmp_path, monkeypatch
):
    monkeypatch.setattr(transfer, "PUSH_BATCH", 6)
    make_folders(git_repo)
    helpers.cli_ok("add", "data")
    lost = xxhash.xxh3_128_hexdigest(make_bytes((1, 2), 102))  # in d1: an early batch
    os.unlink(object_path(git_repo, lost))
    helpers.cli_ok("remote", "add", "-d", "store", str(tmp_path / "remote"))
    result = run_cli(["push"])
    assert result.exit_code == 1
    repo = open_repo(str(git_repo))
    read = level_reader(repo.cache)
    root = load_pointer(str(git_repo / "data.dvcish")).oid
    d1 = next(folder.oid for folder in read(root).folders if folder.name == "d1")
    d2 = next(folder.oid for folder in read(root).folders if folder.name == "d2")
    held = open_remote(repo, None)  # packs included
    assert held.missing({root, d1, lost}) == {root, d1, lost}  # d1 and the top wait
    assert not held.missing({d2})  # a level of a later batch went up


def test_pull_in_batches_into_an_empty_workspace(git_repo, tmp_path, monkeypatch):
    monkeypatch.setattr(transfer, "FETCH_BATCH", 4)
    make_folders(git_repo)
    helpers.cli_ok("add", "data")
    helpers.cli_ok("remote", "add", "-d", "store", str(tmp_path / "remote"))
    helpers.cli_ok("push")
    helpers.git(git_repo, "add", "-A")
    helpers.git(git_repo, "commit", "-qm", "data")
    clone = tmp_path / "clone"
    helpers.git(tmp_path, "clone", "-q", str(git_repo), str(clone))
    helpers.cli_ok("pull", cwd=clone)
    assert helpers.read_tree(clone / "data") == helpers.read_tree(git_repo / "data")


def test_checkout_of_an_absent_folder_with_a_level_missing_writes_nothing(git_repo):
    repo = added_repo(git_repo)
    root = load_pointer(str(git_repo / "data.dvcish")).oid
    d4 = next(f.oid for f in level_reader(repo.cache)(root).folders if f.name == "d4")
    os.unlink(object_path(git_repo, d4))
    shutil.rmtree(git_repo / "data")
    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert "data" in result.stderr and not (git_repo / "data").exists()
