"""Tree objects: the manifest of a tracked folder, stored like any object, one per folder.

A tracked folder is a tree of *levels*, like git's: each folder is one tree object listing its
files and, for each subfolder, the oid of that subfolder's own tree object. Encoding (UTF-8
text, one entry per line, every line ends with ``\\n``)::

    dvcish-tree 2
    f <oid> <size> <name>            a file (x instead of f: executable)
    d <oid> <size> <nfiles> <name>   a subfolder: its tree object, total bytes, total files

Entries are sorted by the name's UTF-8 bytes with no duplicates; a name is one path component.
A tree's oid is the hash of these exact bytes, so equal folders give equal oids at every level:
comparing two versions, or a version with the workspace, only reads the levels that differ.
Empty folders are not recorded.

Version 1 trees (``dvcish-tree 1``: one flat list of ``<mode> <oid> <size> <path>`` with
``/``-separated paths) written by earlier releases are read as one level holding every file.

Trees are untrusted input: ``parse_tree`` validates every name and path before anything is
written (``check_relpath``, ``name_problem``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from dvcish.errors import DvcishError
from dvcish.fsutil import is_temp_name
from dvcish.hashing import hash_bytes

if TYPE_CHECKING:
    from dvcish.storage.base import ObjectStore

HEADER_V1 = b"dvcish-tree 1\n"
HEADER = b"dvcish-tree 2\n"
FORBIDDEN_COMPONENTS = (".git", ".dvcish")
MAX_DEPTH = 256  # levels below a tracked folder: far more than any dataset, and no recursion risk
# no control characters or backslashes anywhere in a path (or a name)
_SAFE = r"[^\x00-\x1f\x7f\\\\]+"
_LINE_V1 = rf"([fx]) ([0-9a-f]{{32}}) (0|[1-9][0-9]*) ({_SAFE})\n"
_LINE_V1_RE = re.compile(_LINE_V1)
_TREE_V1_RE = re.compile(f"(?:{_LINE_V1})*")
_NUMBER = r"(0|[1-9][0-9]*)"
_FILE = rf"([fx]) ([0-9a-f]{{32}}) {_NUMBER}"
_FOLDER = rf"(d) ([0-9a-f]{{32}}) {_NUMBER} {_NUMBER}"
_LINE = rf"(?:{_FILE}|{_FOLDER}) ([^/\x00-\x1f\x7f\\\\]+)\n"  # a name: no "/" either
_LINE_RE = re.compile(_LINE)
_TREE_RE = re.compile(f"(?:{_LINE})*")
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\\\]")


class TreeEntry(NamedTuple):
    path: str  # a file: relative to the level (a name), or to the tracked folder when walked
    oid: str
    size: int
    executable: bool


class FolderEntry(NamedTuple):
    name: str  # one path component
    oid: str  # the subfolder's tree object
    size: int  # total bytes below
    nfiles: int  # total files below


class Tree(NamedTuple):
    """One level: its files and its subfolders (a version 1 tree: every file, no folders).

    ``Tree(entries)`` with ``/``-separated paths is also how commands pass a flat list of files
    around (``load_tree`` makes one from all the levels of a folder)."""

    entries: list[TreeEntry]  # sorted by path bytes
    folders: list[FolderEntry] = []  # sorted by name bytes
    version: int = 2

    @property
    def size(self) -> int:
        return sum(entry.size for entry in self.entries) + sum(f.size for f in self.folders)

    @property
    def nfiles(self) -> int:
        return len(self.entries) + sum(folder.nfiles for folder in self.folders)

    def by_path(self) -> dict[str, TreeEntry]:
        return {entry.path: entry for entry in self.entries}


# --- paths and names ---------------------------------------------------------------------------


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


def name_problem(name: str) -> str | None:
    """Why one path component (a file or folder name) cannot be tracked, or None."""
    if name.isprintable() and "\\" not in name and name[:1] != ".":
        return None  # the common case, decided without a regex (surrogates are unprintable)
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


# --- encoding ----------------------------------------------------------------------------------


def encode_level(files: Iterable[TreeEntry], folders: Iterable[FolderEntry]) -> bytes:
    """The bytes of one level (names already checked and unique): entries by name bytes."""
    lines: list[tuple[str, str]] = []
    for entry in files:
        mode = "x" if entry.executable else "f"
        lines.append((entry.path, f"{mode} {entry.oid} {entry.size} {entry.path}\n"))
    for folder in folders:
        lines.append((folder.name, f"d {folder.oid} {folder.size} {folder.nfiles} {folder.name}\n"))
    lines.sort()  # UTF-8 preserves code point order: sorting str sorts their bytes
    return HEADER + "".join(line for _name, line in lines).encode()


def level_oid(files: Iterable[TreeEntry], folders: Iterable[FolderEntry]) -> str:
    return hash_bytes(encode_level(files, folders))


def write_tree(
    entries: Iterable[TreeEntry], store_level: Callable[[bytes], str]
) -> tuple[str, int, int]:
    """Write the levels of a folder holding ``entries`` (``/``-separated paths, checked by
    ``build_tree``) through ``store_level(bytes) -> oid``, deepest first; return the root's
    (oid, size, nfiles). An empty folder is one empty level."""
    ordered = build_tree(entries).entries
    return _write_level(ordered, 0, len(ordered), "", store_level)


def _write_level(
    entries: list[TreeEntry], start: int, end: int, prefix: str, store: Callable[[bytes], str]
) -> tuple[str, int, int]:
    files: list[TreeEntry] = []
    folders: list[FolderEntry] = []
    index = start
    while index < end:
        entry = entries[index]
        rest = entry.path[len(prefix) :]
        name, slash, _ = rest.partition("/")
        if not slash:
            files.append(entry._replace(path=name))
            index += 1
            continue
        inner = f"{prefix}{name}/"
        stop = index
        while stop < end and entries[stop].path.startswith(inner):
            stop += 1
        oid, size, nfiles = _write_level(entries, index, stop, inner, store)
        folders.append(FolderEntry(name, oid, size, nfiles))
        index = stop
    data = encode_level(files, folders)
    size = sum(e.size for e in files) + sum(f.size for f in folders)
    return store(data), size, len(files) + sum(f.nfiles for f in folders)


def build_tree(entries: Iterable[TreeEntry]) -> Tree:
    """A flat, checked list of files (``/``-separated paths), sorted by path."""
    ordered = sorted(entries, key=lambda entry: entry.path)
    _check_flat(ordered, "new tree")
    return Tree(ordered)


def tree_oid(tree: Tree) -> str:
    """The root oid the files of a flat ``tree`` get (levels computed, nothing stored)."""
    return write_tree(tree.entries, hash_bytes)[0]


# --- decoding ----------------------------------------------------------------------------------


def parse_tree(data: bytes, origin: str) -> Tree:
    """Decode and validate one tree object; ``origin`` names it in error messages."""
    if data.startswith(HEADER_V1):
        return _parse_v1(data, origin)
    if not data.startswith(HEADER):
        raise _bad(origin, "missing 'dvcish-tree 2' header")
    try:
        text = data[len(HEADER) :].decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(origin, "not UTF-8") from None
    if _TREE_RE.fullmatch(text) is None:
        raise _bad(origin, _first_bad_line(text, _LINE_RE, "an entry"))
    files: list[TreeEntry] = []
    folders: list[FolderEntry] = []
    previous = ""
    for match in _LINE_RE.finditer(text):
        name = match[8]
        if (files or folders) and name <= previous:
            raise _bad(origin, f"entry {name!r} is duplicated or out of order")
        previous = name
        problem = name_problem(name) if not name.isalnum() else None
        if problem is None and name in (".", ".."):
            problem = f"name {name!r} not allowed"
        if problem is not None:
            raise DvcishError(f"{origin}: unsafe entry {name!r} ({problem}); refusing to use it")
        if match[4] == "d":
            nfiles = int(match[7])
            if nfiles == 0:
                raise _bad(origin, f"folder {name!r} is empty")
            folders.append(FolderEntry(name, match[5], int(match[6]), nfiles))
        else:
            files.append(TreeEntry(name, match[2], int(match[3]), match[1] == "x"))
    return Tree(files, folders)


def _parse_v1(data: bytes, origin: str) -> Tree:
    try:
        text = data[len(HEADER_V1) :].decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(origin, "not UTF-8") from None
    if _TREE_V1_RE.fullmatch(text) is None:
        raise _bad(origin, _first_bad_line(text, _LINE_V1_RE, "'<mode> <oid> <size> <path>'"))
    entries = [
        TreeEntry(match[4], match[2], int(match[3]), match[1] == "x")
        for match in _LINE_V1_RE.finditer(text)
    ]
    _check_flat(entries, origin)
    return Tree(entries, [], 1)


def _bad(origin: str, why: str) -> DvcishError:
    return DvcishError(f"{origin}: invalid tree object: {why}")


def _first_bad_line(text: str, line_re: re.Pattern, shape: str) -> str:
    for number, line in enumerate(text.split("\n"), start=2):
        if line_re.fullmatch(line + "\n") is None:
            return f"line {number} is not {shape} with a safe name"
    return "text does not end with a newline"


def _check_flat(entries: list[TreeEntry], origin: str) -> None:
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


# --- reading levels ----------------------------------------------------------------------------

LevelReader = Callable[[str], Tree]  # tree oid -> that level, verified and parsed


def load_level(store: ObjectStore, oid: str) -> Tree:
    """One tree object from any store (the cache included), verified and parsed."""
    return parse_tree(store.read_verified(oid), f"tree {oid} from {store.description}")


def level_reader(store: ObjectStore) -> LevelReader:
    return lambda oid: load_level(store, oid)


def walk_levels(
    read: LevelReader, oid: str, prefix: str = "", depth: int = 0
) -> Iterator[tuple[str, str, Tree]]:
    """(path of the level inside the tracked folder, its oid, the level) for every level below
    ``oid``, parents before children; each level is read when the walk reaches it."""
    if depth > MAX_DEPTH:
        raise DvcishError(f"tree {oid}: folders nested deeper than {MAX_DEPTH} levels")
    level = read(oid)
    yield prefix, oid, level
    for folder in level.folders:
        yield from walk_levels(read, folder.oid, f"{prefix}{folder.name}/", depth + 1)


def walk_levels_children_first(read: LevelReader, oid: str) -> Iterator[tuple[str, str, Tree]]:
    """As ``walk_levels``, but every level after all the levels below it; only the levels on
    the way down from ``oid`` are held at once."""
    stack: list[tuple[str, str, Tree, int]] = [("", oid, read(oid), 0)]
    while stack:
        path, level_oid, level, done = stack[-1]
        if done < len(level.folders):
            if len(stack) > MAX_DEPTH:
                raise DvcishError(f"tree {oid}: folders nested deeper than {MAX_DEPTH} levels")
            stack[-1] = (path, level_oid, level, done + 1)
            folder = level.folders[done]
            stack.append((f"{path}{folder.name}/", folder.oid, read(folder.oid), 0))
            continue
        stack.pop()
        yield path, level_oid, level


def walk(read: LevelReader, oid: str, prefix: str = "") -> Iterator[TreeEntry]:
    """Every file below the tree ``oid``, its path inside the tracked folder after ``prefix``."""
    for path, _oid, level in walk_levels(read, oid, prefix):
        for entry in level.entries:
            yield entry._replace(path=path + entry.path) if path else entry


def tree_oids(read: LevelReader, oid: str) -> list[str]:
    """The oid of every level below (and including) ``oid``, children before their parents."""
    return [level_oid_ for _path, level_oid_, _level in walk_levels(read, oid)][::-1]


def entries_below(read: LevelReader, oid: str, subpath: str | None) -> list[TreeEntry]:
    """The files at or below ``subpath`` (all for None), with paths inside the tracked folder,
    sorted; only the levels on the way to ``subpath`` and below it are read."""
    level = read(oid)
    if level.version == 1:
        return members(level, subpath)
    prefix = ""
    parts = subpath.strip("/").split("/") if subpath else []
    for index, name in enumerate(parts):
        last = index == len(parts) - 1
        found = next((e for e in level.entries if e.path == name), None)
        if found is not None:
            return [found._replace(path=prefix + name)] if last else []
        folder = next((f for f in level.folders if f.name == name), None)
        if folder is None:
            return []
        prefix += name + "/"
        if last:
            return sorted(walk(read, folder.oid, prefix), key=lambda entry: entry.path)
        level = read(folder.oid)
    return sorted(walk(read, oid), key=lambda entry: entry.path)


def load_tree(store: ObjectStore, oid: str) -> Tree:
    """Every file of the tracked folder whose tree is ``oid``, as one flat sorted list (reads
    every level: for commands that need all of it)."""
    return Tree(entries_below(level_reader(store), oid, None))


def members(tree: Tree, subpath: str | None) -> list[TreeEntry]:
    """The entries of a flat tree at or below ``subpath`` (all of them for None)."""
    if subpath is None:
        return tree.entries
    prefix = subpath.rstrip("/") + "/"
    return [e for e in tree.entries if e.path == subpath or e.path.startswith(prefix)]
