"""``dvcish status``: compare every pointer with the workspace and the cache.

A target may be a path inside a tracked folder: then only the tree entries at or below it are
compared. Paths in results are as printed (relative to the current folder).

A workspace file that is a link to its own cache object (``cache.type`` hardlink or symlink)
and no longer matches it was changed *through* the link: the cache object is damaged, which is
reported as such (``damaged``), never as the user's change.
"""

from __future__ import annotations

import os
import posixpath
import stat as statmod
from dataclasses import dataclass, field

from dvcish.errors import DvcishError
from dvcish.folder_walk import HashingMaker, walk_folders
from dvcish.level_compare import all_changes, differing_folders
from dvcish.pointer import POINTER_SUFFIX, parse_pointer, pointer_path_for
from dvcish.presence import Presence
from dvcish.progress import Progress
from dvcish.repo import Repo
from dvcish.targets import Tracked, resolve
from dvcish.tree import Tree, entries_below, level_reader, load_tree
from dvcish.workspace import (
    ABSENT,
    FILE,
    Changes,
    WorkspaceReader,
    compare,
    is_link_to,
    reader_for,
)

UP_TO_DATE = "up to date"
MODIFIED = "modified"
MISSING_WORKSPACE = "missing from workspace"
MISSING_CACHE = "missing from cache"
DAMAGED = "cache damaged"


@dataclass
class TargetStatus:
    path: str  # the data (or the part of a folder) as printed
    pointer: str  # its pointer file as printed
    kind: str  # "file" or "dir": the pointer's kind
    oid: str  # the pointer's oid
    size: int
    state: str
    changes: Changes = field(default_factory=Changes)  # paths as printed
    missing_objects: int = 0
    hint: str | None = None  # a pointer renamed or moved by hand: how to fix it
    damaged: list[str] = field(default_factory=list)  # linked files changed through the link

    @property
    def state_word(self) -> str:
        """The state as one word for scripts: up_to_date, modified, missing_from_workspace,
        missing_from_cache, cache_damaged."""
        return self.state.replace(" ", "_")

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "pointer": self.pointer,
            "kind": self.kind,
            "oid": self.oid,
            "size": self.size,
            "state": self.state_word,
            "added": self.changes.added,
            "modified": self.changes.modified,
            "deleted": self.changes.deleted,
            "missing_objects": self.missing_objects,
            "damaged": self.damaged,
            "hint": self.hint,
        }


def status(repo: Repo, targets: list[str], progress: Progress | None = None) -> list[TargetStatus]:
    reader = reader_for(repo, progress)
    tracked_list = resolve(repo, targets, allow_inside=True)
    presence = Presence(repo.cache, repo.state)
    results = [target_status(repo, tracked, reader, presence) for tracked in tracked_list]
    presence.seal(wrote=False)
    repo.state.commit()
    add_move_hints(repo, list(zip(tracked_list, results, strict=True)))
    return results


def add_move_hints(repo: Repo, pairs: list[tuple[Tracked, TargetStatus]]) -> None:
    """Recognise pointers renamed or moved by hand (``mv data.dvcish …`` instead of
    ``dvcish move``): a pointer not named after its data, or one whose data is missing while
    git's index holds a deleted pointer for the same data."""
    for tracked, result in pairs:
        expected = pointer_path_for(tracked.pointer.path)
        if os.path.basename(tracked.pointer_file) != expected:
            result.hint = (
                f"{result.pointer} tracks {tracked.pointer.path!r} but is not named "
                f"{expected}: renamed by hand? Rename it back, then use `dvcish move`"
            )
    missing = [pair for pair in pairs if pair[1].state == MISSING_WORKSPACE and not pair[1].hint]
    if not missing or not repo.has_scm:
        return
    from dvcish.git import deleted_pointer_files

    by_data: dict[tuple[str, str], str] = {}
    for path, data in deleted_pointer_files(repo.root).items():
        try:
            pointer = parse_pointer(data, path)
        except DvcishError:
            continue
        by_data.setdefault(
            (pointer.kind, pointer.oid), posixpath.join(posixpath.dirname(path), pointer.path)
        )
    for tracked, result in missing:
        old = by_data.get((tracked.pointer.kind, tracked.pointer.oid))
        if old is not None and old != tracked.rel:
            where = (
                f"; its data is still at {old}"
                if os.path.lexists(os.path.join(repo.root, old))
                else ""
            )
            result.hint = (
                f"{result.pointer} looks moved by hand from {old}{POINTER_SUFFIX}{where}: "
                f"move it back, then use `dvcish move {old} {tracked.rel}`"
            )


def _new_result(repo: Repo, tracked: Tracked) -> TargetStatus:
    pointer = tracked.pointer
    path = tracked.shown_member(tracked.subpath or "")
    pointer_file = repo.shown(repo.relpath(tracked.pointer_file))
    return TargetStatus(path, pointer_file, pointer.kind, pointer.oid, pointer.size, UP_TO_DATE)


def target_status(
    repo: Repo, tracked: Tracked, reader: WorkspaceReader, presence: Presence
) -> TargetStatus:
    result = _new_result(repo, tracked)
    pointer = tracked.pointer
    if (
        pointer.kind == "dir"
        and reader.lstat(tracked.target) is not None
        and not repo.cache.exists(pointer.oid)
    ):
        result.state = MISSING_CACHE
        result.missing_objects = 1
        return result
    if tracked.subpath is not None:
        _part_status(repo, tracked, reader, result)
        return result
    if pointer.kind == "dir":
        st = reader.lstat(tracked.target)
        if st is not None and statmod.S_ISDIR(st.st_mode):
            _folder_status(repo, tracked, reader, result, presence)
            return result
    seen = reader.observe(tracked.rel, tracked.target)
    if seen.kind == ABSENT:
        result.state = MISSING_WORKSPACE
        return result
    if pointer.kind == "file":
        if (
            seen.kind == FILE
            and seen.oid != pointer.oid
            and _linked(repo, tracked.target, pointer.oid)
        ):
            result.state = DAMAGED
            result.damaged.append(tracked.shown)
        elif seen.kind != FILE or seen.oid != pointer.oid:
            result.state = MODIFIED
            result.changes.modified.append(tracked.shown)
        elif not repo.cache.exists(pointer.oid):
            result.state = MISSING_CACHE
            result.missing_objects = 1
        return result
    result.state = MODIFIED  # a file (or a link) where the folder belongs
    deleted = [e.path for e in load_tree(repo.cache, pointer.oid).entries]
    result.changes.deleted = [tracked.shown_member(path) for path in deleted]
    return result


def _folder_status(
    repo: Repo, tracked: Tracked, reader: WorkspaceReader, result: TargetStatus, presence: Presence
) -> None:
    """A tracked folder, folder by folder: only where a workspace folder's level differs from
    the tree's are the two compared (level_compare.py)."""
    oid = tracked.pointer.oid
    walked = walk_folders(reader, HashingMaker(reader), tracked.rel, tracked.target)
    repo.state.commit()  # what the walk hashed is known to the comparison below
    skipped = walked.skipped
    read = level_reader(repo.cache)
    if walked.root.oid != oid or skipped.untrackable:
        if skipped.ignored_files or skipped.ignored_dirs or read(oid).version == 1:
            _status_from_scan(repo, tracked, reader, result)  # ignored paths a tree may track
            return
        diffs = differing_folders(reader, read, walked, tracked.rel, tracked.target, oid)
        changes, expected = all_changes(diffs)
        changes.added = sorted(changes.added + skipped.untrackable)
        if changes:
            _record_changes(repo, result, changes, tracked, "", expected)
            return
    missing = presence.missing_below(read, oid)
    if missing:
        result.state = MISSING_CACHE
        result.missing_objects = missing


def _status_from_scan(
    repo: Repo, tracked: Tracked, reader: WorkspaceReader, result: TargetStatus
) -> None:
    """The whole folder at once: for a folder whose ignored paths the tree may track (as in
    git, a tracked file stays tracked when a pattern matches it) and version 1 trees."""
    pointer = tracked.pointer
    seen = reader.observe(tracked.rel, tracked.target)
    assert seen.scan is not None
    tree = load_tree(repo.cache, pointer.oid)
    reader.include_tracked(seen, tracked.rel, tracked.target, tree)
    if seen.scan.untrackable or seen.tree_oid() != pointer.oid:
        changes = compare(tree, seen.scan.files, seen.oids)
        changes.added.extend(seen.scan.untrackable)
        expected = {entry.path: entry.oid for entry in tree.entries}
        _record_changes(repo, result, changes, tracked, "", expected)
        return
    absent = repo.cache.missing(set(seen.oids.values()))
    if absent:
        result.state = MISSING_CACHE
        result.missing_objects = len(absent)


def _part_status(
    repo: Repo, tracked: Tracked, reader: WorkspaceReader, result: TargetStatus
) -> None:
    """A path inside a tracked folder: only the entries at or below it count."""
    subpath = tracked.subpath or ""
    if not repo.cache.exists(tracked.pointer.oid):  # and the folder is not there either
        result.state = MISSING_WORKSPACE
        return
    selected = entries_below(level_reader(repo.cache), tracked.pointer.oid, subpath)
    path = os.path.join(tracked.target, subpath)
    st = reader.lstat(path)
    if st is None:
        if not selected:
            raise DvcishError(
                f"{result.path}: not in the tracked folder {tracked.shown} (and not in the "
                "workspace)"
            )
        result.state = MISSING_WORKSPACE
        return
    rel = f"{tracked.rel}/{subpath}"
    if statmod.S_ISDIR(st.st_mode) and not (len(selected) == 1 and selected[0].path == subpath):
        seen = reader.observe(rel, path)
        assert seen.scan is not None
        cut = len(subpath) + 1
        wanted = Tree([entry._replace(path=entry.path[cut:]) for entry in selected])
        changes = compare(wanted, seen.scan.files, seen.oids)
        changes.added.extend(seen.scan.untrackable)
        present = set(seen.oids.values())
    else:
        wanted = Tree([entry._replace(path="") for entry in selected])
        oid = reader.file_oid(rel, path, st) if statmod.S_ISREG(st.st_mode) else None
        files = {"": st} if oid is not None else {}
        changes = compare(wanted, files, {"": oid} if oid else {})
        present = {oid} if oid else set()
    if changes:
        expected = {entry.path: entry.oid for entry in wanted.entries}
        _record_changes(repo, result, changes, tracked, subpath, expected)
        return
    absent = repo.cache.missing(present)
    if absent:
        result.state = MISSING_CACHE
        result.missing_objects = len(absent)


def _record_changes(
    repo: Repo,
    result: TargetStatus,
    changes: Changes,
    tracked: Tracked,
    base: str,
    expected: dict[str, str],
) -> None:
    """MODIFIED, with the changed paths (relative to ``base`` inside the folder) as printed;
    files changed through a link to their own cache object (``expected``: path -> the oid the
    tree holds) are DAMAGED instead."""

    def inside(path: str) -> str:
        return "/".join(part for part in (base, path) if part)

    def shown(paths: list[str]) -> list[str]:
        return [tracked.shown_member(inside(path)) for path in paths]

    damaged = [
        path
        for path in changes.modified
        if _linked(repo, os.path.join(tracked.target, inside(path)), expected[path])
    ]
    gone = set(damaged)
    modified = [path for path in changes.modified if path not in gone]
    result.changes = Changes(shown(changes.added), shown(modified), shown(changes.deleted))
    result.damaged = shown(damaged)
    result.state = MODIFIED if result.changes else DAMAGED


def _linked(repo: Repo, path: str, oid: str) -> bool:
    return is_link_to(path, repo.cache.path_of(oid))
