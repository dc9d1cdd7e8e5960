"""dvcish.tree: one tree object per folder level, its canonical encoding, reading version 1 trees,
and validation of every name and path."""

from __future__ import annotations

from pathlib import Path

import pytest
import xxhash

from dvcish.errors import DvcishError
from dvcish.hashing import hash_bytes
from dvcish.tree import (
    HEADER,
    HEADER_V1,
    FolderEntry,
    Tree,
    TreeEntry,
    build_tree,
    encode_level,
    entries_below,
    name_problem,
    parse_tree,
    path_problem,
    tree_oid,
    tree_oids,
    write_tree,
)
from tests.helpers import assert_rejected

A = hash_bytes(b"a")
B = hash_bytes(b"b")
ORIGIN = "tree 0123"


def line(name: str, oid: str = A, size: int = 1, mode: str = "f") -> bytes:
    return f"{mode} {oid} {size} {name}\n".encode()


def folder_line(name: str, oid: str = B, size: int = 1, nfiles: int = 1) -> bytes:
    return f"d {oid} {size} {nfiles} {name}\n".encode()


def tree_bytes(*lines: bytes) -> bytes:
    return HEADER + b"".join(lines)


def v1_bytes(*lines: bytes) -> bytes:
    return HEADER_V1 + b"".join(lines)


def rejected(data: bytes, *fragments: str) -> str:
    return assert_rejected(parse_tree, data, ORIGIN, *fragments)


class Levels:
    """A store of tree levels in memory (what write_tree stores), read back by oid."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def store(self, data: bytes) -> str:
        oid = hash_bytes(data)
        self.objects[oid] = data
        return oid

    def read(self, oid: str) -> Tree:
        return parse_tree(self.objects[oid], oid)


# ----------------------------------------------------------------------------- levels


def test_encoding_is_exactly_the_documented_format():
    levels = Levels()
    entries = [TreeEntry("b", B, 3, True), TreeEntry("a/c", A, 0, False)]
    root, size, nfiles = write_tree(entries, levels.store)
    sub = (f"dvcish-tree 2\nf {A} 0 c\n").encode()
    sub_oid = xxhash.xxh3_128_hexdigest(sub)
    top = (f"dvcish-tree 2\nd {sub_oid} 0 1 a\nx {B} 3 b\n").encode()
    assert levels.objects == {sub_oid: sub, root: top}
    assert root == xxhash.xxh3_128_hexdigest(top) == tree_oid(build_tree(entries))
    assert (size, nfiles) == (3, 2)
    assert tree_oids(levels.read, root) == [sub_oid, root]  # children before parents


def test_empty_folder_is_one_empty_level():
    levels = Levels()
    root, size, nfiles = write_tree([], levels.store)
    assert levels.objects[root] == b"dvcish-tree 2\n"
    assert (size, nfiles) == (0, 0)
    assert parse_tree(b"dvcish-tree 2\n", ORIGIN) == Tree([], [])


def test_entries_sorted_by_name_bytes_files_and_folders_together():
    data = encode_level(
        [TreeEntry("a.b", A, 1, False), TreeEntry("é", A, 1, False), TreeEntry("B", A, 1, False)],
        [FolderEntry("a", B, 2, 1), FolderEntry("ab", B, 2, 1)],
    )
    names = [raw.split(b" ")[-1] for raw in data.split(b"\n")[1:-1]]
    assert names == [b"B", b"a", b"a.b", b"ab", "é".encode()]


def test_equal_folders_give_equal_oids_at_every_level():
    entries = [TreeEntry(f"d{n % 3}/f{n}", hash_bytes(bytes([n])), n, n % 2 == 0) for n in range(9)]
    one, two = Levels(), Levels()
    assert write_tree(entries, one.store) == write_tree(reversed(entries), two.store)
    assert one.objects == two.objects
    changed = [*entries[:-1], entries[-1]._replace(size=99)]
    three = Levels()
    write_tree(changed, three.store)
    assert len(set(three.objects) - set(one.objects)) == 2  # the changed folder and the root


def test_mode_size_and_oid_change_the_tree_oid():
    base = tree_oid(build_tree([TreeEntry("f", A, 1, False)]))
    assert tree_oid(build_tree([TreeEntry("f", A, 1, True)])) != base
    assert tree_oid(build_tree([TreeEntry("f", A, 2, False)])) != base
    assert tree_oid(build_tree([TreeEntry("f", B, 1, False)])) != base
    assert tree_oid(build_tree([TreeEntry("g", A, 1, False)])) != base


def test_round_trip_through_levels_with_unicode_and_spaces():
    entries = [
        TreeEntry("space name.txt", A, 5, False),
        TreeEntry("ünï/cödé", B, 7, True),
        TreeEntry("deep/a/b/c/d", A, 0, False),
        TreeEntry(".gitignore", A, 1, False),
        TreeEntry("x.git/y.dvcish", A, 1, False),
    ]
    levels = Levels()
    root, size, nfiles = write_tree(entries, levels.store)
    assert entries_below(levels.read, root, None) == sorted(entries)
    assert (size, nfiles) == (14, 5)
    assert entries_below(levels.read, root, "deep/a") == [entries[2]]
    assert entries_below(levels.read, root, "ünï/cödé") == [entries[1]]
    assert entries_below(levels.read, root, "deep/a/missing") == []
    assert entries_below(levels.read, root, "space name.txt/under") == []


def test_only_the_levels_on_the_way_are_read():
    entries = [TreeEntry(f"d{n}/sub/f", hash_bytes(bytes([n])), 1, False) for n in range(5)]
    levels = Levels()
    root, _size, _nfiles = write_tree(entries, levels.store)
    read: list[str] = []

    def counting(oid: str) -> Tree:
        read.append(oid)
        return levels.read(oid)

    assert entries_below(counting, root, "d3/sub/f") == [entries[3]]
    assert len(read) == 3  # the root, d3, d3/sub: not the other four folders


# ----------------------------------------------------------------------------- version 1


def test_version_1_trees_are_read_as_one_flat_level():
    data = v1_bytes(line("a/c", A, 0), line("b", B, 3, "x"))
    tree = parse_tree(data, ORIGIN)
    assert tree.version == 1 and tree.folders == []
    assert tree.entries == [TreeEntry("a/c", A, 0, False), TreeEntry("b", B, 3, True)]
    levels = Levels()
    oid = levels.store(data)
    assert entries_below(levels.read, oid, "a") == [TreeEntry("a/c", A, 0, False)]
    assert tree_oids(levels.read, oid) == [oid]


def test_version_1_rules_still_apply():
    assert_rejected(parse_tree, v1_bytes(line("a"), line("a/b")), ORIGIN, "file and a folder")
    assert_rejected(parse_tree, v1_bytes(line("b"), line("a")), ORIGIN, "out of order")
    assert_rejected(parse_tree, v1_bytes(line("a/../x")), ORIGIN, "'..'")


# ----------------------------------------------------------------------------- path rules

UNSAFE_PATHS = [
    ("", "empty"),
    ("/etc/passwd", "absolute"),
    ("../escape", "'..'"),
    ("a/../../escape", "'..'"),
    ("a/..", "'..'"),
    ("./a", "'.'"),
    ("a/./b", "'.'"),
    (".", "'.'"),
    ("a//b", "''"),
    ("a/", "''"),
    ("a\\b", "backslash"),
    ("..\\escape", "backslash"),
    ("nul\x00byte", "control"),
    ("new\nline", "control"),
    ("esc\x1b", "control"),
    ("del\x7f", "control"),
    (".git", "'.git'"),
    (".git/hooks/post-checkout", "'.git'"),
    ("a/.GIT/config", "'.GIT'"),
    ("a/.Git", "'.Git'"),
    (".dvcish/config", "'.dvcish'"),
    ("x/.DVCISH/cache", "'.DVCISH'"),
    (".Dvcish", "'.Dvcish'"),
]
UNSAFE_PARAMS = [pytest.param(path, why, id=repr(path)) for path, why in UNSAFE_PATHS]


@pytest.mark.parametrize(("path", "why"), UNSAFE_PARAMS)
def test_path_problem_names_the_rule(path, why):
    problem = path_problem(path)
    assert problem is not None
    assert why in problem


@pytest.mark.parametrize(
    "path", ["a", "a/b/c", ".gitignore", "a.git", "git", ".dvcishx", "x.dvcish", "..a", "a..", "…"]
)
def test_safe_paths(path):
    assert path_problem(path) is None


@pytest.mark.parametrize(("path", "why"), UNSAFE_PARAMS)
def test_build_tree_refuses_unsafe_paths(path, why):
    with pytest.raises(DvcishError, match="unsafe entry|invalid tree"):
        build_tree([TreeEntry(path, A, 1, False)])


@pytest.mark.parametrize(("path", "why"), UNSAFE_PARAMS)
def test_version_1_trees_refuse_unsafe_paths(path, why):
    # entries that the line syntax cannot express (newline, NUL) fail as a bad line
    rejected(v1_bytes(line(path)))


@pytest.mark.parametrize(
    "name", ["..", ".", ".git", ".GIT", ".dvcish", ".Dvcish", "a/b", "/a", ".tmp-1-2"]
)
@pytest.mark.parametrize("kind", ["file", "folder"])
def test_levels_refuse_unsafe_names(name, kind):
    entry = line(name) if kind == "file" else folder_line(name)
    rejected(tree_bytes(entry), "tree 0123")


def test_unsafe_entry_anywhere_in_a_level_is_refused():
    message = rejected(tree_bytes(line("a"), folder_line(".git"), line("c")))
    assert ".git" in message


def test_duplicate_names_refused_even_as_file_and_folder():
    rejected(tree_bytes(line("a"), line("a", B)), "'a'", "duplicated")
    rejected(tree_bytes(line("a"), folder_line("a")), "'a'", "duplicated")


def test_out_of_order_entries_refused():
    rejected(tree_bytes(line("b"), line("a")), "out of order")
    rejected(tree_bytes(folder_line("b"), line("a")), "out of order")


def test_build_tree_refuses_duplicates():
    with pytest.raises(DvcishError, match="duplicated"):
        build_tree([TreeEntry("a", A, 1, False), TreeEntry("a", B, 1, False)])


def test_build_tree_refuses_a_file_that_is_also_a_folder():
    with pytest.raises(DvcishError, match="both a file and a folder"):
        build_tree([TreeEntry("a", A, 1, False), TreeEntry("a/b", B, 1, False)])


def test_an_empty_folder_entry_is_refused():
    rejected(tree_bytes(folder_line("a", nfiles=0)), "empty")


# ----------------------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    "data",
    [b"", b"dvcish-tree 3\n", b"dvcish-tree 2", b"DVCISH-TREE 2\n", b"\n" + HEADER],
    ids=["empty", "version-3", "no-newline", "upper", "leading-blank"],
)
def test_header_required(data):
    rejected(data, "invalid tree object")


@pytest.mark.parametrize(
    "bad_line",
    [
        f"f {A} 1 a".encode(),  # no final newline
        f"d {A} 1 a\n".encode(),  # a folder needs its file count
        f"f {A} 1 1 a/b\n".encode(),
        f"F {A} 1 a\n".encode(),
        f"f {A.upper()} 1 a\n".encode(),
        f"f {A[:-1]} 1 a\n".encode(),
        f"f {A} -1 a\n".encode(),
        f"f {A} 01 a\n".encode(),
        f"d {A} 1 01 a\n".encode(),
        f"f {A} 1.0 a\n".encode(),
        f"f {A}  1 a\n".encode(),
        f"f {A} 1\n".encode(),
        f"f  {A} 1 a\n".encode(),
        f"f\t{A} 1 a\n".encode(),
        f"f {A} 1 a/b\n".encode(),  # a name is one component
        b"\n",
        f"f {A} 1 a\r\n".encode(),
        f"f {A} 1 a\n".encode() + b"\n",
    ],
    ids=lambda value: repr(value[:12] + value[-6:]),
)
def test_malformed_lines_refused(bad_line):
    rejected(HEADER + bad_line, "invalid tree object")


def test_not_utf8_refused():
    rejected(HEADER + b"f " + A.encode() + b" 1 \xff\xfe\n", "UTF-8")


def test_parse_reports_the_bad_line_number():
    data = tree_bytes(line("a"), line("b"), b"garbage\n")
    rejected(data, "line 4")


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize("name", [".git", ".GIT", ".dvcish", ".DVCish", "a\\b", "x\x01"])
def test_name_problem(name):
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", ["a", ".gitignore", "data.dvcish", "é"])
def test_name_ok(name):
    assert name_problem(name) is None


def test_the_example_in_design_md_is_what_write_tree_produces():
    """docs/design.md shows `data/` with a.txt = "hello" and sub/b.txt = "bye\\n"; its hashes
    must be the ones dvcish writes (so the docs can be checked with xxh128sum)."""
    design = (Path(__file__).parent.parent / "docs" / "design.md").read_text()
    levels: dict[str, bytes] = {}

    def store(data: bytes) -> str:
        levels[hash_bytes(data)] = data
        return hash_bytes(data)

    hello, bye = hash_bytes(b"hello"), hash_bytes(b"bye\n")
    root, size, nfiles = write_tree(
        [TreeEntry("a.txt", hello, 5, False), TreeEntry("sub/b.txt", bye, 4, False)], store
    )
    assert (size, nfiles) == (9, 2)
    sub = hash_bytes(HEADER + f"f {bye} 4 b.txt\n".encode())
    assert levels[root] == HEADER + f"f {hello} 5 a.txt\nd {sub} 4 1 sub\n".encode()
    for oid, data in levels.items():
        shown = "\n".join(data.decode().splitlines())
        assert f"cache/{oid[:2]}/{oid[2:]}" in design
        assert shown in design
