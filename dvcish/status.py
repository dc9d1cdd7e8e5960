"""``dvcish status``: compare every pointer with the workspace and the cache."""

from __future__ import annotations

import stat as statmod
from dataclasses import dataclass, field

from dvcish.repo import Repo
from dvcish.targets import Tracked, resolve
from dvcish.workspace import (
    Changes,
    FileProgress,
    compare,
    hash_folder_files,
    hash_single_file,
    lstat_through_cache_link,
    scan_folder,
    workspace_tree_oid,
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
    results = [target_status(repo, tracked, progress) for tracked in resolve(repo, targets)]
    repo.state.commit()
    return results


def target_status(repo: Repo, tracked: Tracked, progress: FileProgress | None) -> TargetStatus:
    pointer_rel = repo.relpath(tracked.pointer_file)
    result = TargetStatus(tracked.rel, pointer_rel, UP_TO_DATE)
    try:
        st = lstat_through_cache_link(tracked.target, repo.cache.root)
    except FileNotFoundError:
        result.state = MISSING_WORKSPACE
        return result
    pointer = tracked.pointer
    if pointer.kind == "file":
        if not statmod.S_ISREG(st.st_mode):
            result.state = MODIFIED
            result.changes.modified.append(tracked.rel)
            return result
        oid = hash_single_file(repo.state, tracked.rel, tracked.target, st)
        if oid != pointer.oid:
            result.state = MODIFIED
            result.changes.modified.append(tracked.rel)
        elif not repo.cache.exists(oid):
            result.state = MISSING_CACHE
            result.missing_objects = 1
        return result
    if not repo.cache.exists(pointer.oid):
        result.state = MISSING_CACHE
        result.missing_objects = 1
        return result
    if not statmod.S_ISDIR(st.st_mode):
        result.state = MODIFIED
        result.changes.deleted = [e.path for e in repo.cache.load_tree(pointer.oid).entries]
        return result
    scan = scan_folder(tracked.target, repo.cache.root)
    oids = hash_folder_files(repo.state, tracked.rel, tracked.target, scan.files, progress)
    clean = not (scan.symlinks or scan.special or scan.unsafe)
    # Fast path: the workspace's own tree hashes to the pointer's oid, so nothing changed and
    # the stored tree need not even be parsed.
    if not clean or workspace_tree_oid(scan.files, oids) != pointer.oid:
        tree = repo.cache.load_tree(pointer.oid)
        result.changes = compare(tree, scan.files, oids)
        result.changes.added.extend(sorted(scan.symlinks + scan.special + scan.unsafe))
        result.state = MODIFIED
        return result
    absent = repo.cache.missing(set(oids.values()))
    if absent:
        result.state = MISSING_CACHE
        result.missing_objects = len(absent)
    return result
