"""``dvcish status``: compare every pointer with the workspace and the cache."""

from __future__ import annotations

from dataclasses import dataclass, field

from dvcish.repo import Repo
from dvcish.targets import Tracked, resolve
from dvcish.tree import load_tree
from dvcish.workspace import (
    ABSENT,
    DIR,
    FILE,
    Changes,
    FileProgress,
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

    def to_dict(self) -> dict:
        data: dict = {"path": self.rel, "pointer": self.pointer_file, "status": self.state}
        if self.changes:
            data["added"] = self.changes.added
            data["modified"] = self.changes.modified
            data["deleted"] = self.changes.deleted
        if self.missing_objects:
            data["missing_objects"] = self.missing_objects
        return data


def status(
    repo: Repo, targets: list[str], progress: FileProgress | None = None
) -> list[TargetStatus]:
    reader = reader_for(repo, progress)
    results = [target_status(repo, tracked, reader) for tracked in resolve(repo, targets)]
    repo.state.commit()
    return results


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
