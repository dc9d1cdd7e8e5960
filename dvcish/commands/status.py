"""``dvcish status``: compare every pointer with the workspace and the cache.

A target may be a path inside a tracked folder: then only the tree entries at or below it are
compared. Paths in results are as printed (relative to the current folder).
"""

from __future__ import annotations

import os
import stat as statmod
from dataclasses import dataclass, field

from dvcish.errors import DvcishError
from dvcish.repo import Repo
from dvcish.targets import Tracked, resolve
from dvcish.tree import Tree, load_tree, members
from dvcish.workspace import (
    ABSENT,
    DIR,
    FILE,
    Changes,
    FileProgress,
    WorkspaceReader,
    compare,
)

UP_TO_DATE = "up to date"
MODIFIED = "modified"
MISSING_WORKSPACE = "missing from workspace"
MISSING_CACHE = "missing from cache"


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

    @property
    def state_word(self) -> str:
        """The state as one word for scripts: up_to_date, modified, missing_from_workspace,
        missing_from_cache."""
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
        }


def status(
    repo: Repo, targets: list[str], progress: FileProgress | None = None
) -> list[TargetStatus]:
    reader = WorkspaceReader(repo.state, repo.cache.root, progress)
    tracked_list = resolve(repo, targets, allow_inside=True)
    results = [target_status(repo, tracked, reader) for tracked in tracked_list]
    repo.state.commit()
    return results


def _new_result(repo: Repo, tracked: Tracked) -> TargetStatus:
    pointer = tracked.pointer
    path = tracked.shown_member(tracked.subpath or "")
    pointer_file = repo.shown(repo.relpath(tracked.pointer_file))
    return TargetStatus(path, pointer_file, pointer.kind, pointer.oid, pointer.size, UP_TO_DATE)


def target_status(repo: Repo, tracked: Tracked, reader: WorkspaceReader) -> TargetStatus:
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
    seen = reader.observe(tracked.rel, tracked.target)
    if seen.kind == ABSENT:
        result.state = MISSING_WORKSPACE
        return result
    if pointer.kind == "file":
        if seen.kind != FILE or seen.oid != pointer.oid:
            result.state = MODIFIED
            result.changes.modified.append(tracked.shown)
        elif not repo.cache.exists(pointer.oid):
            result.state = MISSING_CACHE
            result.missing_objects = 1
        return result
    if seen.kind != DIR:
        result.state = MODIFIED
        deleted = [e.path for e in load_tree(repo.cache, pointer.oid).entries]
        result.changes.deleted = [tracked.shown_member(path) for path in deleted]
        return result
    assert seen.scan is not None
    # Fast path: the workspace's own tree hashes to the pointer's oid, so nothing changed and
    # the stored tree need not even be parsed.
    if seen.scan.untrackable or seen.tree_oid() != pointer.oid:
        changes = compare(load_tree(repo.cache, pointer.oid), seen.scan.files, seen.oids)
        changes.added.extend(seen.scan.untrackable)
        _record_changes(result, changes, tracked, "")
        return result
    absent = repo.cache.missing(set(seen.oids.values()))
    if absent:
        result.state = MISSING_CACHE
        result.missing_objects = len(absent)
    return result


def _part_status(
    repo: Repo, tracked: Tracked, reader: WorkspaceReader, result: TargetStatus
) -> None:
    """A path inside a tracked folder: only the entries at or below it count."""
    subpath = tracked.subpath or ""
    if not repo.cache.exists(tracked.pointer.oid):  # and the folder is not there either
        result.state = MISSING_WORKSPACE
        return
    tree = load_tree(repo.cache, tracked.pointer.oid)
    selected = members(tree, subpath)
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
        part = Tree([entry._replace(path=entry.path[cut:]) for entry in selected])
        changes = compare(part, seen.scan.files, seen.oids)
        changes.added.extend(seen.scan.untrackable)
        present = set(seen.oids.values())
    else:
        wanted = Tree([entry._replace(path="") for entry in selected])
        oid = reader.file_oid(rel, path, st) if statmod.S_ISREG(st.st_mode) else None
        files = {"": st} if oid is not None else {}
        changes = compare(wanted, files, {"": oid} if oid else {})
        present = {oid} if oid else set()
    if changes:
        _record_changes(result, changes, tracked, subpath)
        return
    absent = repo.cache.missing(present)
    if absent:
        result.state = MISSING_CACHE
        result.missing_objects = len(absent)


def _record_changes(result: TargetStatus, changes: Changes, tracked: Tracked, base: str) -> None:
    """MODIFIED, with the changed paths (relative to ``base`` inside the folder) as printed."""

    def shown(paths: list[str]) -> list[str]:
        return [tracked.shown_member("/".join(p for p in (base, path) if p)) for path in paths]

    result.state = MODIFIED
    result.changes = Changes(shown(changes.added), shown(changes.modified), shown(changes.deleted))
