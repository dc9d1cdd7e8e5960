"""``dvcish checkout``: make the workspace match the pointers, touching only what differs."""

from __future__ import annotations

import os
import shutil
import stat

import xxhash

from dvcish.pointer import load_pointer
from tests import helpers
from tests.helpers import (
    age,
    assert_one_error,
    make_dataset,
    object_path,
    read_tree,
    run_cli,
    snapshot,
    tree_in_cache,
    write_files,
)

git_repo = helpers.git_repo  # fixture


ok = helpers.cli_ok


def inodes(folder) -> dict[str, tuple[int, int]]:
    """relpath -> (inode, mtime_ns) of every file below ``folder``."""
    found = {}
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            st = os.lstat(os.path.join(dirpath, name))
            found[os.path.relpath(os.path.join(dirpath, name), folder)] = (
                st.st_ino,
                st.st_mtime_ns,
            )
    return found


def two_versions(root):
    """data v1 (20 files) and v2 (1 modified, 1 deleted, 1 added); v2 is in the workspace."""
    v1 = make_dataset(root / "data", 20, seed="v1", per_folder=5)
    os.chmod(root / "data" / sorted(v1)[4], 0o755)
    ok("add", "data")
    pointer_v1 = (root / "data.dvcish").read_bytes()
    names = sorted(v1)
    write_files(root / "data", {names[0]: b"v2 content", "extra/new.txt": b"new in v2"})
    (root / "data" / names[1]).unlink()
    ok("add", "data")
    pointer_v2 = (root / "data.dvcish").read_bytes()
    return v1, read_tree(root / "data"), pointer_v1, pointer_v2


def test_restores_deleted_data_with_modes(git_repo):
    files = make_dataset(git_repo / "data", 25, seed="restore")
    executable = sorted(files)[3]
    os.chmod(git_repo / "data" / executable, 0o755)
    write_files(git_repo, {"model.bin": b"weights"})
    ok("add", "data", "model.bin")
    shutil.rmtree(git_repo / "data")
    (git_repo / "model.bin").unlink()

    out = ok("checkout")
    assert read_tree(git_repo / "data") == files
    assert (git_repo / "model.bin").read_bytes() == b"weights"
    assert "data: 25 written, 0 deleted, 0 unchanged" in out
    umask = os.umask(0)
    os.umask(umask)
    for rel in files:
        mode = stat.S_IMODE(os.stat(git_repo / "data" / rel).st_mode)
        expected = (0o777 if rel == executable else 0o666) & ~umask
        assert mode == expected, rel
    assert run_cli(["status", "-q"]).exit_code == 0


def test_nothing_to_do_touches_nothing(git_repo):
    make_dataset(git_repo / "data", 15, seed="noop")
    age(git_repo / "data")
    ok("add", "data")
    before = inodes(git_repo / "data")
    snap = snapshot(git_repo)
    out = ok("checkout")
    assert out == "Workspace already matches the pointers.\n"
    assert inodes(git_repo / "data") == before
    assert snapshot(git_repo) == snap


def test_switching_versions_touches_only_what_differs(git_repo):
    v1, v2, pointer_v1, pointer_v2 = two_versions(git_repo)
    names = sorted(v1)
    before = inodes(git_repo / "data")

    (git_repo / "data.dvcish").write_bytes(pointer_v1)
    out = ok("checkout", "data")
    assert read_tree(git_repo / "data") == v1
    assert not (git_repo / "data/extra").exists()  # folder left empty is removed
    after = inodes(git_repo / "data")
    changed = {rel for rel in after if before.get(rel) != after[rel]}
    assert changed == {names[0], names[1]}
    assert "data: 2 written, 1 deleted, 18 unchanged" in out

    (git_repo / "data.dvcish").write_bytes(pointer_v2)
    ok("checkout")
    assert read_tree(git_repo / "data") == v2
    assert run_cli(["status", "-q"]).exit_code == 0


def test_executable_bit_restored_without_rewriting(git_repo):
    files = make_dataset(git_repo / "data", 5, seed="mode")
    name = sorted(files)[2]
    path = git_repo / "data" / name
    os.chmod(path, 0o755)
    ok("add", "data")
    os.chmod(path, 0o644)
    inode = os.stat(path).st_ino
    ok("checkout")
    assert os.stat(path).st_mode & stat.S_IXUSR
    assert os.stat(path).st_ino == inode
    os.chmod(git_repo / "data" / sorted(files)[0], 0o755)
    ok("checkout")
    assert not os.stat(git_repo / "data" / sorted(files)[0]).st_mode & stat.S_IXUSR


def test_refuses_to_discard_unsaved_changes(git_repo):
    files = make_dataset(git_repo / "data", 10, seed="refuse")
    write_files(git_repo, {"model.bin": b"weights"})
    ok("add", "data", "model.bin")
    names = sorted(files)
    write_files(git_repo / "data", {names[2]: b"my unsaved work", "notes.txt": b"new file"})
    (git_repo / "model.bin").write_bytes(b"retrained, not added")
    before = snapshot(git_repo)

    result = run_cli(["checkout"])
    assert result.exit_code == 1
    line = assert_one_error(result.stderr, f"data/{names[2]}", "data/notes.txt", "model.bin")
    assert "--force" in line
    assert snapshot(git_repo) == before

    forced = run_cli(["checkout", "--force"])
    assert forced.exit_code == 0, forced.output
    assert read_tree(git_repo / "data") == files
    assert (git_repo / "model.bin").read_bytes() == b"weights"


def test_changes_already_in_the_cache_are_not_at_risk(git_repo):
    v1, _v2, pointer_v1, _ = two_versions(git_repo)
    # the v2 workspace content was added, so switching back loses nothing: no --force needed
    (git_repo / "data.dvcish").write_bytes(pointer_v1)
    ok("checkout")
    assert read_tree(git_repo / "data") == v1


def test_refusal_lists_at_most_a_few_files(git_repo):
    files = make_dataset(git_repo / "data", 12, seed="many")
    ok("add", "data")
    write_files(git_repo / "data", {rel: b"edited " + rel.encode() for rel in files})
    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "and 7 more")


def test_only_the_named_target_is_checked_out(git_repo):
    write_files(git_repo, {"a": b"A", "b": b"B"})
    ok("add", "a", "b")
    (git_repo / "a").unlink()
    (git_repo / "b").unlink()
    ok("checkout", "a.dvcish")
    assert (git_repo / "a").read_bytes() == b"A"
    assert not (git_repo / "b").exists()
    ok("checkout", "b")
    assert (git_repo / "b").read_bytes() == b"B"


def test_folder_where_a_file_belongs(git_repo):
    write_files(git_repo, {"f": b"file"})
    ok("add", "f")
    (git_repo / "f").unlink()
    write_files(git_repo, {"f/inside": b"x"})
    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "f")
    assert (git_repo / "f/inside").read_bytes() == b"x"
    ok("checkout", "--force")
    assert (git_repo / "f").read_bytes() == b"file"


def test_file_where_a_folder_belongs(git_repo):
    files = make_dataset(git_repo / "data", 3, seed="shape")
    ok("add", "data")
    shutil.rmtree(git_repo / "data")
    (git_repo / "data").write_bytes(b"oops")
    assert run_cli(["checkout"]).exit_code == 1
    assert (git_repo / "data").read_bytes() == b"oops"
    ok("checkout", "--force")
    assert read_tree(git_repo / "data") == files


def test_missing_objects_are_listed_and_exit_1(git_repo):
    files = make_dataset(git_repo / "data", 8, seed="missing")
    ok("add", "data")
    tree = tree_in_cache(git_repo, load_pointer(str(git_repo / "data.dvcish")).oid)
    lost = tree.entries[1]
    object_path(git_repo, lost.oid).unlink()
    shutil.rmtree(git_repo / "data")

    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert f"data/{lost.path}: missing from the cache" in result.stderr
    assert "Traceback" not in result.stderr
    restored = read_tree(git_repo / "data")
    assert restored == {rel: data for rel, data in files.items() if rel != lost.path}


def test_missing_tree_object(git_repo):
    make_dataset(git_repo / "data", 3, seed="tree")
    ok("add", "data")
    tree_oid = load_pointer(str(git_repo / "data.dvcish")).oid
    object_path(git_repo, tree_oid).unlink()
    shutil.rmtree(git_repo / "data")
    result = run_cli(["checkout"])
    assert result.exit_code == 1
    assert tree_oid in result.stderr and "missing from the cache" in result.stderr
    assert not (git_repo / "data").exists()


def test_checkout_replaces_files_instead_of_writing_into_them(git_repo, tmp_path):
    """A hard link made outside the repo keeps the old content after checkout."""
    v1, _v2, pointer_v1, _ = two_versions(git_repo)
    name = sorted(v1)[0]
    outside = tmp_path / "outside-link"
    os.link(git_repo / "data" / name, outside)
    (git_repo / "data.dvcish").write_bytes(pointer_v1)
    ok("checkout")
    assert (git_repo / "data" / name).read_bytes() == v1[name]
    assert outside.read_bytes() == b"v2 content"


def test_checkout_file_target_replaces_instead_of_writing_into(git_repo, tmp_path):
    write_files(git_repo, {"f": b"one"})
    ok("add", "f")
    pointer_one = (git_repo / "f.dvcish").read_bytes()
    write_files(git_repo, {"f": b"two"})
    ok("add", "f")
    os.link(git_repo / "f", tmp_path / "outside")
    (git_repo / "f.dvcish").write_bytes(pointer_one)
    ok("checkout")
    assert (git_repo / "f").read_bytes() == b"one"
    assert (tmp_path / "outside").read_bytes() == b"two"


def test_no_temp_files_left_behind(git_repo):
    make_dataset(git_repo / "data", 30, seed="temps")
    ok("add", "data")
    shutil.rmtree(git_repo / "data")
    ok("checkout")
    assert [p for p in git_repo.rglob(".tmp-*")] == []


def test_checked_out_file_matches_its_oid(git_repo):
    write_files(git_repo, {"f": b"exact bytes"})
    ok("add", "f")
    (git_repo / "f").unlink()
    ok("checkout")
    oid = load_pointer(str(git_repo / "f.dvcish")).oid
    assert xxhash.xxh3_128_hexdigest((git_repo / "f").read_bytes()) == oid
