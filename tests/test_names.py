"""File names dvcish cannot track are refused in one line that names them, escaped.

A name whose bytes are not UTF-8 (``printf x > $'d/bad-\\xff.bin'``), or that holds a newline
or a tab, cannot go into a tree object (see "Names" in docs/design.md). Every command that
meets one says so in one line, with the name escaped, and never crashes while printing it.
Real processes here, so the real stdout and stderr encodings are used.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dvcish.tree import parse_tree
from tests.helpers import assert_one_error, cli_ok, git_repo, make_dataset, run_dvcish

__all__ = ["git_repo"]

NOT_UTF8 = os.fsdecode(b"bad-\xff.bin")


@pytest.mark.parametrize(
    ("name", "shown", "problem"),
    [
        (NOT_UTF8, "bad-\\xff.bin", "name is not valid UTF-8"),
        ("new\nline.bin", "new\\nline.bin", "control character"),
        ("tab\there.bin", "tab\\there.bin", "control character"),
    ],
)
def test_add_refuses_an_unusable_name_in_one_escaped_line(
    git_repo: Path, name: str, shown: str, problem: str
) -> None:
    make_dataset(git_repo / "data", 3)
    (git_repo / "data" / "d").mkdir()
    (git_repo / "data" / "d" / name).write_bytes(b"x")
    result = run_dvcish(["add", "data"], cwd=git_repo)
    assert result.returncode == 1
    assert_one_error(result.stderr, f"data/d/{shown}: {problem}", "rename it")
    assert not (git_repo / "data.dvcish").exists()


def test_a_target_whose_name_is_not_utf8_is_refused(git_repo: Path) -> None:
    (git_repo / NOT_UTF8).write_bytes(b"x")
    result = run_dvcish(["add", NOT_UTF8], cwd=git_repo)
    assert result.returncode == 1
    assert_one_error(result.stderr, "bad-\\xff.bin: name is not valid UTF-8")


def test_status_and_checkout_print_such_names_escaped(git_repo: Path) -> None:
    make_dataset(git_repo / "data", 3)
    cli_ok("add", "data")
    (git_repo / "data" / NOT_UTF8).write_bytes(b"x")
    (git_repo / "data" / "new\nline").write_bytes(b"y")
    status = run_dvcish(["status"], cwd=git_repo)
    assert status.returncode == 0, status.stderr
    assert "added: data/bad-\\xff.bin" in status.stdout
    assert "added: data/new\\nline" in status.stdout
    checkout = run_dvcish(["checkout"], cwd=git_repo)
    assert checkout.returncode == 1
    assert_one_error(checkout.stderr, "data/bad-\\xff.bin", "data/new\\nline")


def test_a_tree_naming_a_temp_file_is_refused() -> None:
    oid = "0" * 32
    data = f"dvcish-tree 1\nf {oid} 1 a/.tmp-12-3\n".encode()
    with pytest.raises(Exception, match=r"'.tmp-12-3' not allowed"):
        parse_tree(data, "tree x")
