"""Comparing a tree with the workspace one folder at a time (``status``, ``checkout``).

The walk of the workspace (folder_walk.py) gives each folder's level; where it equals the
tree's level for that folder, nothing below it differs and neither side is read further. What
remains are the folders that differ, each compared on its own: the tree's level against the
folder's listing. So ``status`` after a change in one subfolder reads the levels on the way to
it, and memory holds one folder at a time.
"""

from __future__ import annotations

import os
import stat as statmod
from collections.abc import Iterator
from dataclasses import dataclass, field

from dvcish.folder_walk import Walked
from dvcish.tree import LevelReader, Tree, TreeEntry
from dvcish.workspace import Changes, FileStat, Listing, WorkspaceReader


@dataclass
class FolderDiff:
    """One folder where the tree and the workspace differ. ``tree`` is None when the tree has
    no such folder, ``listing`` None when the workspace has none; ``oids`` are the workspace
    files' oids (through the stat cache, hashing what it cannot vouch for)."""

    rel: str  # relative to the tracked folder, "" for the tracked folder itself
    tree: Tree | None
    listing: Listing | None
    oids: dict[str, str] = field(default_factory=dict)

    def path_of(self, name: str) -> str:
        return f"{self.rel}/{name}" if self.rel else name

    @property
    def files(self) -> dict[str, FileStat]:
        return self.listing.files if self.listing is not None else {}

    def changes(self) -> Changes:
        """This folder's files only (subfolders are folders of their own), sorted by name."""
        changes = Changes()
        expected = {entry.path: entry for entry in self.tree.entries} if self.tree else {}
        for name, st in sorted(self.files.items()):
            entry = expected.get(name)
            if entry is None:
                changes.added.append(self.path_of(name))
            elif self.oids.get(name) != entry.oid or entry.executable != executable(st):
                changes.modified.append(self.path_of(name))
        changes.deleted = [
            self.path_of(name) for name in sorted(expected) if name not in self.files
        ]
        return changes


def executable(st: FileStat) -> bool:
    return bool(st.st_mode & statmod.S_IXUSR)


def differing_folders(
    reader: WorkspaceReader,
    read: LevelReader,
    walked: Walked | None,
    rel: str,
    path: str,
    oid: str,
) -> Iterator[FolderDiff]:
    """Every folder where the tree ``oid`` and the workspace folder ``path`` (repo-relative
    ``rel``, walked as ``walked``; None when it is absent) differ, parents first."""
    levels = walked.levels if walked is not None else {}
    stack: list[tuple[str, str | None, bool]] = [("", oid, walked is not None)]
    while stack:
        folder, tree_oid, in_workspace = stack.pop()
        seen = levels.get(folder)
        if tree_oid is not None and seen is not None and seen.oid == tree_oid:
            continue
        tree = read(tree_oid) if tree_oid is not None else None
        listing = None
        if in_workspace:
            listing = _list(reader, f"{rel}/{folder}" if folder else rel, _join(path, folder))
        diff = FolderDiff(folder, tree, listing)
        if listing is not None:
            repo_rel = f"{rel}/{folder}" if folder else rel
            diff.oids = reader.oids_of(repo_rel, _join(path, folder), listing.files)
        yield diff
        stack.extend(_subfolders(diff, tree, listing))


def _subfolders(
    diff: FolderDiff, tree: Tree | None, listing: Listing | None
) -> list[tuple[str, str | None, bool]]:
    in_tree = {folder.name: folder.oid for folder in tree.folders} if tree else {}
    in_workspace = set(listing.folders) if listing is not None else set()
    names = sorted(set(in_tree) | in_workspace, reverse=True)  # popped in name order
    return [(diff.path_of(name), in_tree.get(name), name in in_workspace) for name in names]


def _list(reader: WorkspaceReader, repo_rel: str, path: str) -> Listing | None:
    try:
        if not statmod.S_ISDIR(os.lstat(path).st_mode):
            return None
    except OSError:
        return None
    return reader.list_folder(path, repo_rel, reader.rules_for(repo_rel), top=True)


def _join(path: str, rel: str) -> str:
    return f"{path}/{rel}" if rel else path


def all_changes(diffs: Iterator[FolderDiff]) -> tuple[Changes, dict[str, str]]:
    """Every change, and the tree's oid of each modified file (target-relative paths)."""
    changes = Changes()
    expected: dict[str, str] = {}
    for diff in diffs:
        found = diff.changes()
        changes.added.extend(found.added)
        changes.modified.extend(found.modified)
        changes.deleted.extend(found.deleted)
        if found.modified and diff.tree is not None:
            by_name = {entry.path: entry for entry in diff.tree.entries}
            for path in found.modified:
                expected[path] = by_name[path.rpartition("/")[2]].oid
    changes.added.sort()
    changes.modified.sort()
    changes.deleted.sort()
    return changes, expected


def entries_with_paths(diff: FolderDiff) -> list[TreeEntry]:
    """The tree's files of this folder with target-relative paths."""
    if diff.tree is None:
        return []
    return [entry._replace(path=diff.path_of(entry.path)) for entry in diff.tree.entries]
