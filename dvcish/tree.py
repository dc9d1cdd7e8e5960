"""Tree objects: the canonical manifest of a tracked folder, stored in the cache like any object.

Encoding (UTF-8 text, one entry per line, every line ends with ``\\n``)::

    dvcish-tree 1
    <mode> <oid> <size> <path>

``mode`` is ``f`` (regular) or ``x`` (executable); ``path`` is relative, ``/``-separated, and
entries are sorted by the path's UTF-8 bytes with no duplicates. The tree's oid is the hash of
these exact bytes, so equal folders always give equal oids. Trees are untrusted input:
``parse_tree`` validates every path before anything is written (see ``check_relpath``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from dvcish.errors import DvcishError
from dvcish.hashing import hash_bytes, is_valid_oid

HEADER = b"dvcish-tree 1\n"
FORBIDDEN_COMPONENTS = (".git", ".dvcish")


class TreeEntry(NamedTuple):
    path: str  # relative, "/"-separated
    oid: str
    size: int
    executable: bool


class Tree(NamedTuple):
    entries: list[TreeEntry]  # sorted by path bytes

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.entries)

    def by_path(self) -> dict[str, TreeEntry]:
        return {entry.path: entry for entry in self.entries}


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a safe relative path inside a tracked folder, or None when it is."""
    if not path:
        return "empty path"
    if "\\" in path:
        return "backslash in path"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        return "control character in path"
    if path.startswith("/"):
        return "absolute path"
    for part in path.split("/"):
        if part in ("", ".", ".."):
            return f"path component {part!r} not allowed"
        if part.lower() in FORBIDDEN_COMPONENTS:
            return f"path component {part!r} not allowed"
    return None


def check_relpath(path: str, origin: str) -> None:
    problem = path_problem(path)
    if problem is not None:
        raise DvcishError(f"{origin}: unsafe entry {path!r} ({problem}); refusing to use it")


def sort_key(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def build_tree(entries: Iterable[TreeEntry]) -> Tree:
    ordered = sorted(entries, key=lambda entry: sort_key(entry.path))
    _check_entries(ordered, "new tree")
    return Tree(ordered)


def encode_tree(tree: Tree) -> bytes:
    lines = [HEADER]
    for entry in tree.entries:
        mode = "x" if entry.executable else "f"
        lines.append(f"{mode} {entry.oid} {entry.size} {entry.path}\n".encode())
    return b"".join(lines)


def tree_oid(tree: Tree) -> str:
    return hash_bytes(encode_tree(tree))


def parse_tree(data: bytes, origin: str) -> Tree:
    """Decode and validate tree bytes; ``origin`` names the object in error messages."""

    def bad(why: str) -> DvcishError:
        return DvcishError(f"{origin}: invalid tree object: {why}")

    if not data.startswith(HEADER):
        raise bad("missing 'dvcish-tree 1' header")
    try:
        text = data[len(HEADER) :].decode("utf-8")
    except UnicodeDecodeError:
        raise bad("not UTF-8") from None
    if text and not text.endswith("\n"):
        raise bad("last line has no newline")
    entries = []
    for number, line in enumerate(text.split("\n")[:-1], start=2):
        fields = line.split(" ", 3)
        if len(fields) != 4:
            raise bad(f"line {number} is not '<mode> <oid> <size> <path>'")
        mode, oid, size_text, path = fields
        if mode not in ("f", "x"):
            raise bad(f"line {number}: unknown mode {mode!r}")
        if not is_valid_oid(oid):
            raise bad(f"line {number}: bad oid")
        if not size_text.isdigit() or not size_text.isascii() or str(int(size_text)) != size_text:
            raise bad(f"line {number}: bad size")
        entries.append(TreeEntry(path, oid, int(size_text), mode == "x"))
    _check_entries(entries, origin)
    return Tree(entries)


def _check_entries(entries: list[TreeEntry], origin: str) -> None:
    """Every path safe, strictly sorted (so no duplicates), and no file that is also a folder."""
    folders: set[str] = set()
    previous = b""
    for index, entry in enumerate(entries):
        check_relpath(entry.path, origin)
        key = sort_key(entry.path)
        if index and key <= previous:
            raise DvcishError(
                f"{origin}: invalid tree object: entry {entry.path!r} is duplicated or out of order"
            )
        previous = key
        parts = entry.path.split("/")
        for depth in range(1, len(parts)):
            folders.add("/".join(parts[:depth]))
    for entry in entries:
        if entry.path in folders:
            raise DvcishError(
                f"{origin}: invalid tree object: {entry.path!r} is both a file and a folder"
            )
