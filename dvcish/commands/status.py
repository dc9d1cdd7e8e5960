"""``dvcish status``: compare every pointer with the workspace and the cache."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field

from dvcish.errors import DvcishError
from dvcish.pointer import POINTER_SUFFIX, parse_pointer, pointer_path_for
from dvcish.progress import Progress
from dvcish.repo import Repo
from dvcish.targets import Tracked, resolve
from dvcish.tree import load_tree
from dvcish.workspace import (
    ABSENT,
    DIR,
    FILE,
    Changes,
    WorkspaceReader,
    compare,
    reader_for,
)

UP_TO_DATE = "up to date"
MODIFIED = "modified"
MISSING_WORKSPACE = "missing from workspace"
MISSING_CACHE = "missing from cache"


@dataclass
class TargetStatus:
    rel: str
    pointer_file: str
    state: str
    changes: Changes = field(default_factory=Changes)
    missing_objects: int = 0
    hint: str | None = None  # a pointer renamed or moved by hand: how to fix it

    def to_dict(self) -> dict:
        data: dict = {"path": self.rel, "pointer": self.pointer_file, "status": self.state}
        if self.changes:
            data["added"] = self.changes.added
            data["modified"] = self.changes.modified
            data["deleted"] = self.changes.deleted
        if self.missing_objects:
            data["missing_objects"] = self.missing_objects
        if self.hint:
            data["hint"] = self.hint
        return data


def status(repo: Repo, targets: list[str], progress: Progress | None = None) -> list[TargetStatus]:
    reader = reader_for(repo, progress)
    tracked_list = resolve(repo, targets)
    results = [target_status(repo, tracked, reader) for tracked in tracked_list]
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
                f"{result.pointer_file} tracks {tracked.pointer.path!r} but is not named "
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
                f"{result.pointer_file} looks moved by hand from {old}{POINTER_SUFFIX}{where}: "
                f"move it back, then use `dvcish move {old} {tracked.rel}`"
            )


def target_status(repo: Repo, tracked: Tracked, reader: WorkspaceReader) -> TargetStatus:
    result = TargetStatus(tracked.rel, repo.relpath(tracked.pointer_file), UP_TO_DATE)
    pointer = tracked.pointer
    if (
        pointer.kind == "dir"
        and reader.lstat(tracked.target) is not None
        and not repo.cache.exists(pointer.oid)
    ):
        result.state = MISSING_CACHE
        result.missing_objects = 1
        return result
    seen = reader.observe(tracked.rel, tracked.target)
    if seen.kind == ABSENT:
        result.state = MISSING_WORKSPACE
        return result
    if pointer.kind == "file":
        if seen.kind != FILE or seen.oid != pointer.oid:
            result.state = MODIFIED
            result.changes.modified.append(tracked.rel)
        elif not repo.cache.exists(pointer.oid):
            result.state = MISSING_CACHE
            result.missing_objects = 1
        return result
    if seen.kind != DIR:
        result.state = MODIFIED
        result.changes.deleted = [e.path for e in load_tree(repo.cache, pointer.oid).entries]
        return result
    assert seen.scan is not None
    # Fast path: the workspace's own tree hashes to the pointer's oid, so nothing changed and
    # the stored tree need not even be parsed.
    if seen.scan.untrackable or seen.tree_oid() != pointer.oid:
        tree = load_tree(repo.cache, pointer.oid)
        reader.include_tracked(seen, tracked.rel, tracked.target, tree)
        if seen.scan.untrackable or seen.tree_oid() != pointer.oid:
            result.changes = compare(tree, seen.scan.files, seen.oids)
            result.changes.added.extend(seen.scan.untrackable)
            result.state = MODIFIED
            return result
    absent = repo.cache.missing(set(seen.oids.values()))
    if absent:
        result.state = MISSING_CACHE
        result.missing_objects = len(absent)
    return result
