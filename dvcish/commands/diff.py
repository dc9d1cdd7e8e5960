"""``dvcish diff``: which data files were added, modified or deleted between two versions.

A *side* is a git revision or the workspace. Each side maps the repo-relative path of every piece
of tracked data to what it holds: a file's oid, or a folder's tree oid with a way to list its
files. Data whose kind and oid are equal on both sides is skipped without reading any tree; the
rest is expanded to files and compared path by path. A revision's trees come from the cache.
The workspace side reads the data itself (not its pointers), hashing through the stat cache so
unchanged files are never read again; a folder's files form a tree whose oid is compared first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from dvcish import history
from dvcish.errors import DvcishError
from dvcish.git import Git
from dvcish.progress import Progress
from dvcish.repo import Repo
from dvcish.targets import all_tracked
from dvcish.tree import load_tree
from dvcish.workspace import DIR, FILE, WorkspaceReader, reader_for

DEFAULT_REV = "HEAD"
WORKSPACE = "workspace"


@dataclass
class _Data:
    """What one side holds at one data path."""

    kind: str  # "file" or "dir"
    oid: str  # the file's oid, or the folder's tree oid
    files: Callable[[], dict[str, str]]  # path inside the data ("" for a file) -> oid


@dataclass
class Change:
    path: str  # as printed (relative to the current folder)
    oid: str | None  # the new content (the old one for a deletion)
    old_oid: str | None = None  # modified only

    def to_dict(self) -> dict:
        data: dict = {"path": self.path, "oid": self.oid}
        if self.old_oid is not None:
            data["old_oid"] = self.old_oid
        return data


@dataclass
class DiffResult:
    a: str  # label of the old side
    b: str  # label of the new side ("workspace")
    added: list[Change] = field(default_factory=list)
    modified: list[Change] = field(default_factory=list)
    deleted: list[Change] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.deleted)

    def to_dict(self) -> dict:
        return {
            "added": [change.to_dict() for change in self.added],
            "modified": [change.to_dict() for change in self.modified],
            "deleted": [change.to_dict() for change in self.deleted],
        }


def split_args(repo: Repo, args: list[str]) -> tuple[list[str], list[str]]:
    """Leading arguments naming git revisions (at most two) -> revs; the rest -> targets.

    An argument that is an existing path is a target even when a branch has the same name
    (write ``refs/heads/NAME`` for the branch).
    """
    revs: list[str] = []
    if not args:
        return revs, []
    with Git(repo.root) as git:
        for arg in args:
            if len(revs) == 2 or os.path.lexists(arg) or not _is_rev(git, arg):
                break
            revs.append(arg)
    return revs, args[len(revs) :]


def _is_rev(git: Git, arg: str) -> bool:
    try:
        git.resolve(arg)
    except DvcishError:
        return False
    return True


def diff(
    repo: Repo,
    a_rev: str | None = None,
    b_rev: str | None = None,
    targets: list[str] | None = None,
    progress: Progress | None = None,
) -> DiffResult:
    """Compare ``a_rev`` (default HEAD) with ``b_rev`` (default: the workspace)."""
    a_rev = a_rev or DEFAULT_REV
    wanted = [history.target_rel(repo, target) for target in targets or []]
    with Git(repo.root) as git:
        old = _revision_side(repo, git, a_rev)
        new = _revision_side(repo, git, b_rev) if b_rev else None
    if new is None:
        new = _workspace_side(repo, wanted, progress)
        repo.state.commit()
    if wanted:
        for target, rel in zip(targets or [], wanted, strict=True):
            if not any(_related(rel, path) for path in [*old, *new]):
                hint = "" if os.path.lexists(target) else " (nor a git revision)"
                raise DvcishError(
                    f"{target}: no tracked data there at {a_rev} or {b_rev or 'in the workspace'}"
                    f"{hint}; check the path, `git tag` and `git branch`"
                )
        old = {rel: data for rel, data in old.items() if any(_related(t, rel) for t in wanted)}
        new = {rel: data for rel, data in new.items() if any(_related(t, rel) for t in wanted)}
    before, after = _expand_changed(old, new)
    if wanted:
        before = {p: o for p, o in before.items() if any(history.covers(t, p) for t in wanted)}
        after = {p: o for p, o in after.items() if any(history.covers(t, p) for t in wanted)}
    result = DiffResult(a_rev, b_rev or WORKSPACE)
    for path in sorted(set(before) | set(after)):
        shown = repo.shown(path)  # as printed: relative to the current folder
        if path not in before:
            result.added.append(Change(shown, after[path]))
        elif path not in after:
            result.deleted.append(Change(shown, before[path]))
        elif before[path] != after[path]:
            result.modified.append(Change(shown, after[path], before[path]))
    return result


def _related(target: str, rel: str) -> bool:
    """The data at ``rel`` is the target, lies below it, or holds it."""
    return history.covers(target, rel) or target.startswith(rel + "/")


def _expand_changed(
    old: dict[str, _Data], new: dict[str, _Data]
) -> tuple[dict[str, str], dict[str, str]]:
    """Path -> oid on each side, for every file of data that differs between the sides."""
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    for rel in sorted(set(old) | set(new)):
        a, b = old.get(rel), new.get(rel)
        if a is not None and b is not None and (a.kind, a.oid) == (b.kind, b.oid):
            continue
        for data, into in ((a, before), (b, after)):
            if data is not None:
                for path, oid in data.files().items():
                    into[f"{rel}/{path}" if path else rel] = oid
    return before, after


def _revision_side(repo: Repo, git: Git, rev: str) -> dict[str, _Data]:
    side: dict[str, _Data] = {}
    for pointer_path, pointer in history.pointers_at(repo, git, rev).items():
        rel = history.data_rel(pointer_path, pointer, f"{pointer_path}@{rev}")
        if pointer.kind == "file":
            side[rel] = _Data("file", pointer.oid, _constant({"": pointer.oid}))
        else:
            side[rel] = _Data("dir", pointer.oid, _cached_tree(repo, rel, pointer.oid, rev))
    return side


def _cached_tree(repo: Repo, rel: str, oid: str, rev: str) -> Callable[[], dict[str, str]]:
    def files() -> dict[str, str]:
        if not repo.cache.exists(oid):
            raise DvcishError(
                f"{rel}@{rev}: tree {oid} is not in the cache; run `dvcish fetch --rev {rev} {rel}`"
            )
        return {entry.path: entry.oid for entry in load_tree(repo.cache, oid).entries}

    return files


def _workspace_side(repo: Repo, wanted: list[str], progress: Progress | None) -> dict[str, _Data]:
    """The data the workspace's pointers name, as it is on disk (absent data is left out)."""
    reader = reader_for(repo, progress)
    side: dict[str, _Data] = {}
    for tracked in all_tracked(repo):
        if wanted and not any(_related(target, tracked.rel) for target in wanted):
            continue
        seen = reader.observe(tracked.rel, tracked.target)
        if seen.kind == FILE:
            assert seen.oid is not None
            side[tracked.rel] = _Data("file", seen.oid, _constant({"": seen.oid}))
        elif seen.kind == DIR:
            _include_tracked(repo, reader, tracked, seen)
            side[tracked.rel] = _Data("dir", seen.tree_oid(), _constant(seen.oids))
    return side


def _include_tracked(repo: Repo, reader: WorkspaceReader, tracked, seen) -> None:
    """Files the pointer's tree tracks stay in the comparison when a pattern ignores them."""
    scan, pointer = seen.scan, tracked.pointer
    if not (scan.ignored_files or scan.ignored_dirs) or pointer.kind != "dir":
        return
    if repo.cache.exists(pointer.oid):
        tree = load_tree(repo.cache, pointer.oid)
        reader.include_tracked(seen, tracked.rel, tracked.target, tree)


def _constant(files: dict[str, str]) -> Callable[[], dict[str, str]]:
    return lambda: files
