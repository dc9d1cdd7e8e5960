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

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from dvcish.errors import DvcishError
from dvcish.fsutil import is_temp_name
from dvcish.hashing import hash_bytes

if TYPE_CHECKING:
    from dvcish.storage.base import ObjectStore

HEADER = b"dvcish-tree 1\n"
FORBIDDEN_COMPONENTS = (".git", ".dvcish")
# one entry line: no control characters or backslashes anywhere in the path
_LINE = r"([fx]) ([0-9a-f]{32}) (0|[1-9][0-9]*) ([^\x00-\x1f\x7f\\\\]+)\n"
_LINE_RE = re.compile(_LINE)
_TREE_RE = re.compile(f"(?:{_LINE})*")
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\\\]")


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
    bad = _BAD_CHARS.search(path)
    if bad is not None:
        return "backslash in path" if bad.group() == "\\" else "control character in path"
    if path[0] == "/":
        return "absolute path"
    parts = path.split("/")
    for part in ("", ".", ".."):
        if part in parts:
            return f"path component {part!r} not allowed"
    lowered = path.lower()
    if ".git" in lowered or ".dvcish" in lowered or ".tmp-" in lowered:
        for part in parts:
            if part.lower() in FORBIDDEN_COMPONENTS or is_temp_name(part):
                return f"path component {part!r} not allowed"
    return None


def check_relpath(path: str, origin: str) -> None:
    problem = path_problem(path)
    if problem is not None:
        raise DvcishError(f"{origin}: unsafe entry {path!r} ({problem}); refusing to use it")


def build_tree(entries: Iterable[TreeEntry]) -> Tree:
    ordered = sorted(entries, key=lambda entry: entry.path)
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
    if _TREE_RE.fullmatch(text) is None:
        raise bad(_first_bad_line(text))
    entries = [
        TreeEntry(match[4], match[2], int(match[3]), match[1] == "x")
        for match in _LINE_RE.finditer(text)
    ]
    _check_entries(entries, origin)
    return Tree(entries)


def load_tree(store: ObjectStore, oid: str) -> Tree:
    """Read a tree object from any store (the cache included), verified, and parse it."""
    return parse_tree(store.read_verified(oid), f"tree {oid} from {store.description}")


def members(tree: Tree, subpath: str | None) -> list[TreeEntry]:
    """The entries at or below ``subpath`` (all of them for None)."""
    if subpath is None:
        return tree.entries
    prefix = subpath.rstrip("/") + "/"
    return [e for e in tree.entries if e.path == subpath or e.path.startswith(prefix)]


def _first_bad_line(text: str) -> str:
    for number, line in enumerate(text.split("\n"), start=2):
        if _LINE_RE.fullmatch(line + "\n") is None:
            return f"line {number} is not '<mode> <oid> <size> <path>' with a safe path"
    return "text does not end with a newline"


def _check_entries(entries: list[TreeEntry], origin: str) -> None:
    """Every path safe, strictly sorted (so no duplicates), and no file that is also a folder.

    UTF-8 preserves code point order, so comparing the str paths compares their bytes.
    """
    folders: set[str] = set()
    previous = ""
    for index, entry in enumerate(entries):
        path = entry.path
        wrapped = f"/{path}/"
        if "//" in wrapped or "/./" in wrapped or "/../" in wrapped or _BAD_CHARS.search(path):
            check_relpath(path, origin)
        lowered = path.lower()
        if ".git" in lowered or ".dvcish" in lowered or ".tmp-" in lowered:
            check_relpath(path, origin)
        if index and path <= previous:
            raise DvcishError(
                f"{origin}: invalid tree object: entry {path!r} is duplicated or out of order"
            )
        previous = path
        folder = path.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    for entry in entries:
        if entry.path in folders:
            raise DvcishError(
                f"{origin}: invalid tree object: {entry.path!r} is both a file and a folder"
            )


def name_problem(name: str) -> str | None:
    """Why one path component (a file or folder name) cannot be tracked, or None."""
    bad = _BAD_CHARS.search(name)
    if bad is not None:
        return "backslash in name" if bad.group() == "\\" else "control character in name"
    if not is_utf8(name):
        return "name is not valid UTF-8"
    if name.lower() in FORBIDDEN_COMPONENTS:
        return f"name {name!r} not allowed"
    if is_temp_name(name):
        return "name is reserved for dvcish temp files"
    return None


def is_utf8(name: str) -> bool:
    """False for a name read from disk whose bytes are not UTF-8 (Python keeps such bytes as
    lone surrogates, which cannot be encoded, stored in a tree or printed)."""
    if name.isascii():
        return True
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(path: str) -> str:
    """``path`` fit for one line of output: bytes that are not UTF-8 as ``\\xNN``, control
    characters as ``\\n``, ``\\t`` or ``\\xNN``, and backslashes doubled."""
    if path.isprintable() and "\\" not in path:
        return path
    shown = []
    for char in path:
        if "\udc80" <= char <= "\udcff":  # an undecodable byte, kept by surrogateescape
            shown.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif char == "\\" or not char.isprintable():
            shown.append(char.encode("unicode_escape").decode("ascii"))
        else:
            shown.append(char)
    return "".join(shown)
