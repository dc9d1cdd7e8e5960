"""Reading the workspace: scan a tracked folder, find each file's oid (stat cache first), and
compare what is there with a tree.
"""

from __future__ import annotations

import os
import stat as statmod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from dvcish.errors import DvcishError
from dvcish.hashing import hash_bytes, hash_file
from dvcish.state import StateDB, stat_key, trusted
from dvcish.storage.base import oid_from_key
from dvcish.tree import Tree, TreeEntry, build_tree, encode_tree, name_problem

# Called with how many files were just processed.
FileProgress = Callable[[int], None]


class FileStat(NamedTuple):
    """The four stat fields dvcish uses, under os.stat_result's names; a scan of 200,000 files
    keeps one per file, at a fraction of an os.stat_result's memory."""

    st_ino: int
    st_mtime_ns: int
    st_size: int
    st_mode: int


def file_stat(st: os.stat_result) -> FileStat:
    return FileStat(st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode)


@dataclass
class Scan:
    """What a folder holds: regular files with their stat, and anything dvcish cannot track."""

    files: dict[str, os.stat_result] = field(default_factory=dict)
    symlinks: list[str] = field(default_factory=list)
    special: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.deleted)


def scan_folder(folder: str, cache_root: str | None = None) -> Scan:
    """Walk ``folder`` with ``os.scandir``, never following symlinks.

    The one exception: a symlink into ``cache_root`` (made by checkout with ``cache.type
    symlink``) stands for the cache object it points to and is listed as a file, with the
    object's stat.
    """
    scan = Scan()
    link_prefix = os.path.join(cache_root, "") if cache_root else None
    stack = [("", folder)]
    while stack:
        prefix, path = stack.pop()
        with os.scandir(path) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    if name_problem(entry.name) is not None:
                        scan.unsafe.append(rel)
                    else:
                        stack.append((rel + "/", entry.path))
                    continue
                st = entry.stat(follow_symlinks=False)
                if statmod.S_ISREG(st.st_mode):
                    if name_problem(entry.name) is not None:
                        scan.unsafe.append(rel)
                    else:
                        scan.files[rel] = FileStat(
                            st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode
                        )
                elif statmod.S_ISLNK(st.st_mode):
                    target = cache_link_target(entry.path, link_prefix)
                    if target is not None:
                        scan.files[rel] = file_stat(target)
                    else:
                        scan.symlinks.append(rel)
                else:
                    scan.special.append(rel)
    return scan


def cache_link_target(path: str, link_prefix: str | None) -> os.stat_result | None:
    if link_prefix is None:
        return None
    target = os.readlink(path)
    if not target.startswith(link_prefix) or oid_from_key(target[len(link_prefix) :]) is None:
        return None
    try:
        st = os.stat(target)
    except OSError:
        return None
    return st if statmod.S_ISREG(st.st_mode) else None


def lstat_through_cache_link(path: str, cache_root: str) -> os.stat_result:
    """``os.lstat``, except that a symlink into the cache gives the object's stat."""
    st = os.lstat(path)
    if statmod.S_ISLNK(st.st_mode):
        return cache_link_target(path, os.path.join(cache_root, "")) or st
    return st


def require_trackable(scan: Scan, folder_label: str) -> None:
    """Refuse folders holding symlinks, devices or unsafe names, naming the first offender."""
    for items, what in (
        (scan.symlinks, "is a symlink; dvcish does not track symlinks inside folders"),
        (scan.special, "is not a regular file"),
        (scan.unsafe, "has a name dvcish cannot track (.git, .dvcish, control characters)"),
    ):
        if items:
            first = sorted(items)[0]
            more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
            raise DvcishError(
                f"{folder_label}/{first}: {what}{more}; remove it or add files one by one"
            )


def known_oids(
    state: StateDB, target_rel: str, files: dict[str, os.stat_result]
) -> tuple[dict[str, str], list[str]]:
    """Split files into (oids the stat cache vouches for, paths that need hashing)."""
    records = state.files_under(target_rel)
    known: dict[str, str] = {}
    unknown: list[str] = []
    prefix = f"{target_rel}/"
    for rel, st in files.items():
        record = records.get(prefix + rel if rel else target_rel)
        if record is not None and trusted(record, st):
            known[rel] = record[3]
        else:
            unknown.append(rel)
    return known, unknown


def hash_folder_files(
    state: StateDB,
    target_rel: str,
    folder: str,
    files: dict[str, os.stat_result],
    progress: FileProgress | None = None,
) -> dict[str, str]:
    """The oid of every file, hashing only what the stat cache cannot vouch for."""
    oids, unknown = known_oids(state, target_rel, files)
    if progress is not None and oids:
        progress(len(oids))
    for rel in unknown:
        try:
            oid, _ = hash_file(os.path.join(folder, rel))
        except FileNotFoundError:
            continue
        oids[rel] = oid
        state.record_file(f"{target_rel}/{rel}", stat_key(files[rel]), oid)
        if progress is not None:
            progress(1)
    return oids


def hash_single_file(state: StateDB, target_rel: str, path: str, st: os.stat_result) -> str:
    oids, unknown = known_oids(state, target_rel, {"": st})
    if unknown:
        oid, _ = hash_file(path)
        state.record_file(target_rel, stat_key(st), oid)
        return oid
    return oids[""]


def tree_from_files(files: dict[str, os.stat_result], oids: dict[str, str]) -> Tree:
    return build_tree(
        TreeEntry(rel, oids[rel], st.st_size, bool(st.st_mode & statmod.S_IXUSR))
        for rel, st in files.items()
    )


def workspace_tree_oid(files: dict[str, os.stat_result], oids: dict[str, str]) -> str:
    """The oid ``tree_from_files`` would give, skipping its validation: scanned names are safe
    already (UTF-8 preserves code point order, so sorting the str paths sorts their bytes)."""
    entries = [
        TreeEntry(rel, oids[rel], st.st_size, bool(st.st_mode & statmod.S_IXUSR))
        for rel, st in sorted(files.items())
    ]
    return hash_bytes(encode_tree(Tree(entries)))


def compare(tree: Tree, files: dict[str, os.stat_result], oids: dict[str, str]) -> Changes:
    """What the workspace changed relative to ``tree`` (modified includes the executable bit)."""
    changes = Changes()
    expected = tree.by_path()
    for rel in sorted(files):
        entry = expected.get(rel)
        if entry is None:
            changes.added.append(rel)
        elif oids.get(rel) != entry.oid or entry.executable != bool(
            files[rel].st_mode & statmod.S_IXUSR
        ):
            changes.modified.append(rel)
    changes.deleted = sorted(rel for rel in expected if rel not in files)
    return changes
