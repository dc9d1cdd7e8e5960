"""dvcish.tree: the canonical encoding of a folder and validation of every entry path."""

from __future__ import annotations

import pytest
import xxhash

from dvcish.errors import DvcishError
from dvcish.hashing import hash_bytes
from dvcish.tree import (
    HEADER,
    Tree,
    TreeEntry,
    build_tree,
    encode_tree,
    name_problem,
    parse_tree,
    path_problem,
    tree_oid,
)
from tests.helpers import assert_rejected

A = hash_bytes(b"a")
B = hash_bytes(b"b")
ORIGIN = "tree 0123"


def line(path: str, oid: str = A, size: int = 1, mode: str = "f") -> bytes:
    return f"{mode} {oid} {size} {path}\n".encode()


def tree_bytes(*lines: bytes) -> bytes:
    return HEADER + b"".join(lines)


def rejected(data: bytes, *fragments: str) -> str:
    return assert_rejected(parse_tree, data, ORIGIN, *fragments)


# ----------------------------------------------------------------------------- encoding


def test_encoding_is_exactly_the_documented_format():
    tree = build_tree([TreeEntry("b", B, 3, True), TreeEntry("a/c", A, 0, False)])
    data = encode_tree(tree)
    assert data == (f"dvcish-tree 1\nf {A} 0 a/c\nx {B} 3 b\n").encode()
    assert tree_oid(tree) == xxhash.xxh3_128_hexdigest(data)


def test_empty_tree():
    tree = build_tree([])
    assert encode_tree(tree) == b"dvcish-tree 1\n"
    assert parse_tree(b"dvcish-tree 1\n", ORIGIN) == Tree([])
    assert tree.size == 0


def test_entries_sorted_by_utf8_bytes_whatever_the_input_order():
    paths = ["é", "z", "a/b", "a.b", "a-b", "B", "a", "ab"]
    # "a" and "a/b" cannot coexist (file and folder), so drop "a"
    paths.remove("a")
    tree = build_tree(TreeEntry(path, A, 1, False) for path in paths)
    ordered = [entry.path for entry in tree.entries]
    assert ordered == sorted(paths, key=lambda path: path.encode("utf-8"))
    assert ordered == ["B", "a-b", "a.b", "a/b", "ab", "z", "é"]


def test_equal_folders_give_equal_oids_regardless_of_order():
    entries = [TreeEntry(f"d{n % 3}/f{n}", hash_bytes(bytes([n])), n, n % 2 == 0) for n in range(9)]
    assert tree_oid(build_tree(entries)) == tree_oid(build_tree(reversed(entries)))


def test_mode_size_and_oid_change_the_tree_oid():
    base = tree_oid(build_tree([TreeEntry("f", A, 1, False)]))
    assert tree_oid(build_tree([TreeEntry("f", A, 1, True)])) != base
    assert tree_oid(build_tree([TreeEntry("f", A, 2, False)])) != base
    assert tree_oid(build_tree([TreeEntry("f", B, 1, False)])) != base
    assert tree_oid(build_tree([TreeEntry("g", A, 1, False)])) != base


def test_round_trip_with_unicode_and_spaces():
    tree = build_tree(
        [
            TreeEntry("space name.txt", A, 5, False),
            TreeEntry("ünï/cödé", B, 7, True),
            TreeEntry("deep/a/b/c/d", A, 0, False),
            TreeEntry(".gitignore", A, 1, False),
            TreeEntry("x.git/y.dvcish", A, 1, False),
        ]
    )
    parsed = parse_tree(encode_tree(tree), ORIGIN)
    assert parsed == tree
    assert parsed.size == 14
    assert parsed.by_path()["ünï/cödé"].executable


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
def test_parse_tree_refuses_unsafe_paths(path, why):
    # entries that the line syntax cannot express (newline, NUL) fail as a bad line
    rejected(tree_bytes(line(path)))


def test_unsafe_entry_anywhere_in_the_tree_is_refused():
    data = tree_bytes(line("a"), line("b/../../x"), line("c"))
    message = rejected(data)
    assert "b/../../x" in message


def test_duplicate_entries_refused():
    rejected(tree_bytes(line("a"), line("a", B)), "'a'", "duplicated")


def test_out_of_order_entries_refused():
    rejected(tree_bytes(line("b"), line("a")), "out of order")


def test_build_tree_refuses_duplicates():
    with pytest.raises(DvcishError, match="duplicated"):
        build_tree([TreeEntry("a", A, 1, False), TreeEntry("a", B, 1, False)])


def test_file_that_is_also_a_folder_refused():
    rejected(tree_bytes(line("a"), line("a/b")), "both a file and a folder")


# ----------------------------------------------------------------------------- syntax


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"dvcish-tree 2\n",
        b"dvcish-tree 1",
        b"DVCISH-TREE 1\n",
        b"\n" + HEADER,
    ],
    ids=["empty", "version-2", "no-newline", "upper", "leading-blank"],
)
def test_header_required(data):
    rejected(data, "invalid tree object")


@pytest.mark.parametrize(
    "bad_line",
    [
        f"f {A} 1 a".encode(),  # no final newline
        f"d {A} 1 a\n".encode(),  # unknown mode
        f"F {A} 1 a\n".encode(),
        f"f {A.upper()} 1 a\n".encode(),
        f"f {A[:-1]} 1 a\n".encode(),
        f"f {A} -1 a\n".encode(),
        f"f {A} 01 a\n".encode(),
        f"f {A} 1.0 a\n".encode(),
        f"f {A}  1 a\n".encode(),
        f"f {A} 1\n".encode(),
        f"f  {A} 1 a\n".encode(),
        f"f\t{A} 1 a\n".encode(),
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
