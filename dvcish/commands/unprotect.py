"""``dvcish unprotect``: turn workspace files that are links to cache objects into copies.

With ``cache.type`` hardlink or symlink a workspace file *is* the cache object: read-only mode
keeps most programs from writing into it, but not one that ignores the mode (root does), and
then the cached version is gone. Unprotecting a path replaces each such link below it with a
copy of the bytes it shows (a temp file beside it, renamed over it), so it can be edited
safely. Files that are copies already are left alone. A link whose bytes no longer match its
object was changed through the link: the copy keeps those bytes (the user's edit), and the
damaged object is quarantined and reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dvcish.materialize import Materializer, current_umask
from dvcish.repo import Repo
from dvcish.targets import Tracked, resolve
from dvcish.tree import TreeEntry, load_tree, members
from dvcish.workspace import is_link_to


@dataclass
class UnprotectResult:
    rel: str
    copied: int = 0  # links replaced by copies
    damaged: list[str] = field(default_factory=list)  # repo-relative; their object was changed


def unprotect(repo: Repo, targets: list[str]) -> list[UnprotectResult]:
    tracked_list = resolve(repo, targets, allow_inside=True)
    materializer = Materializer(repo.cache, repo.state, ["copy"], current_umask())
    try:
        return [_unprotect_one(repo, materializer, tracked) for tracked in tracked_list]
    finally:
        repo.state.commit()


def _unprotect_one(repo: Repo, materializer: Materializer, tracked: Tracked) -> UnprotectResult:
    result = UnprotectResult(tracked.rel)
    for entry in _entries(repo, tracked):
        path = os.path.join(tracked.target, entry.path) if entry.path else tracked.target
        rel = f"{tracked.rel}/{entry.path}" if entry.path else tracked.rel
        if not is_link_to(path, repo.cache.path_of(entry.oid)):
            continue
        result.copied += 1
        if not materializer.make_private(entry.oid, path, entry.executable, rel):
            result.damaged.append(rel)
    return result


def _entries(repo: Repo, tracked: Tracked) -> list[TreeEntry]:
    """The files the pointer (or the part of it named) stands for."""
    pointer = tracked.pointer
    if pointer.kind == "file":
        return [TreeEntry("", pointer.oid, pointer.size, False)]
    if not repo.cache.exists(pointer.oid):
        return []  # without its tree nothing can be a link to a known object
    return members(load_tree(repo.cache, pointer.oid), tracked.subpath)
