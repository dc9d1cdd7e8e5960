"""``dvcish fsck``: rehash every object, check pointer -> object and tree -> member links."""

from __future__ import annotations

import xxhash

from dvcish.pointer import Pointer, dump_pointer, load_pointer
from tests import helpers
from tests.helpers import (
    corrupt_object,
    make_dataset,
    object_path,
    run_cli,
    snapshot,
    tree_in_cache,
    write_files,
)

git_repo = helpers.git_repo  # fixture


def setup_tracked(root):
    make_dataset(root / "data", 12, seed="fsck", per_folder=4)
    write_files(root, {"model.bin": b"weights"})
    result = run_cli(["add", "data", "model.bin"])
    assert result.exit_code == 0, result.output
    pointer = load_pointer(str(root / "data.dvcish"))
    tree = tree_in_cache(root, pointer.oid)
    return pointer, tree


def fsck():
    result = run_cli(["fsck"])
    problems = [line for line in result.stdout.splitlines() if not line.startswith("checked ")]
    return result, problems


def test_clean_repository(git_repo):
    setup_tracked(git_repo)
    result, problems = fsck()
    assert result.exit_code == 0
    assert problems == []
    # 12 files, model.bin, and the tree of data/: its root level and 3 subfolders
    assert "checked 17 objects and 2 pointers: 0 problems" in result.stdout


def test_corrupt_object_reported_and_left_for_the_user(git_repo):
    _, tree = setup_tracked(git_repo)
    obj = object_path(git_repo, tree.entries[0].oid)
    corrupt_object(obj)
    before = snapshot(git_repo)
    result, problems = fsck()
    assert result.exit_code == 1
    assert len(problems) == 1
    assert str(obj) in problems[0]
    assert "corrupt object" in problems[0]
    assert xxhash.xxh3_128_hexdigest(b"corrupted!") in problems[0]
    assert "1 problem" in result.stdout
    assert snapshot(git_repo) == before  # fsck only reads


def test_same_size_corruption_found(git_repo):
    """The object's size and mode are unchanged; only rehashing can find it."""
    _, tree = setup_tracked(git_repo)
    entry = next(e for e in tree.entries if e.size > 0)
    obj = object_path(git_repo, entry.oid)
    data = bytearray(obj.read_bytes())
    data[0] ^= 0xFF
    corrupt_object(obj, bytes(data))
    result, problems = fsck()
    assert result.exit_code == 1
    assert [entry.oid in line for line in problems] == [True]


def test_missing_members_one_line_each(git_repo):
    _, tree = setup_tracked(git_repo)
    for entry in tree.entries[:3]:
        object_path(git_repo, entry.oid).unlink()
    result, problems = fsck()
    assert result.exit_code == 1
    assert len(problems) == 3
    for entry, line in zip(tree.entries[:3], problems, strict=True):
        assert line == f"data.dvcish: member data/{entry.path} ({entry.oid}) missing from cache"


def test_missing_tree_and_file_objects(git_repo):
    pointer, _ = setup_tracked(git_repo)
    object_path(git_repo, pointer.oid).unlink()
    object_path(git_repo, xxhash.xxh3_128_hexdigest(b"weights")).unlink()
    result, problems = fsck()
    assert result.exit_code == 1
    assert problems == [
        f"data.dvcish: dir object {pointer.oid} missing from cache",
        f"model.bin.dvcish: file object {xxhash.xxh3_128_hexdigest(b'weights')} missing from cache",
    ]


def test_invalid_pointer_reported(git_repo):
    setup_tracked(git_repo)
    (git_repo / "model.bin.dvcish").write_text("version: 7\n")
    result, problems = fsck()
    assert result.exit_code == 1
    assert len(problems) == 1
    assert problems[0].startswith("model.bin.dvcish: invalid pointer file")


def test_pointer_counts_disagreeing_with_tree(git_repo):
    pointer, _ = setup_tracked(git_repo)
    wrong = Pointer(pointer.path, "dir", pointer.oid, pointer.size, pointer.nfiles + 1)
    (git_repo / "data.dvcish").write_bytes(dump_pointer(wrong))
    result, problems = fsck()
    assert result.exit_code == 1
    assert problems == [f"data.dvcish: nfiles/size disagree with tree {pointer.oid}"]


def test_unsafe_tree_object_reported(git_repo):
    """A tree stored under its true hash but holding a ``../`` entry is a problem."""
    member = xxhash.xxh3_128_hexdigest(b"x")
    data = f"dvcish-tree 1\nf {member} 1 ../escape\n".encode()
    oid = xxhash.xxh3_128_hexdigest(data)
    obj = object_path(git_repo, oid)
    obj.write_bytes(data)
    (git_repo / "evil.dvcish").write_bytes(dump_pointer(Pointer("evil", "dir", oid, 1, 1)))
    result, problems = fsck()
    assert result.exit_code == 1
    assert len(problems) == 1
    assert problems[0].startswith("evil.dvcish: ")
    assert "../escape" in problems[0]


def test_several_problems_each_on_one_line(git_repo):
    pointer, tree = setup_tracked(git_repo)
    corrupt_object(object_path(git_repo, tree.entries[0].oid))
    object_path(git_repo, tree.entries[1].oid).unlink()
    (git_repo / "model.bin.dvcish").write_text("nonsense: [\n")
    result, problems = fsck()
    assert result.exit_code == 1
    assert len(problems) == 3
    assert "3 problems" in result.stdout
