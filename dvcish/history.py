"""Data across git history: which pointers a selection of revisions holds.

Nouns: a *selection* names revisions (``--rev``, ``--all-branches``, ``--all-tags``,
``--all-commits``) and whether the workspace's own pointer files count too. A *label* is how a
revision is shown to people: the name it was given (``v1``, ``main``) or a short sha for
``--all-commits``. A pointer at a revision becomes a ``Tracked`` whose ``pointer_file`` is
``<repo-relative pointer path>@<label>`` and whose ``target``/``rel`` say where its data would
be in the workspace; nothing of it is ever read from or written to the workspace.

Pointer paths from git are relative to the git work tree; when the dvcish repo is a folder
inside it, only pointers below that folder count and their paths are made relative to it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from dvcish.errors import DvcishError
from dvcish.git import Git
from dvcish.pointer import POINTER_SUFFIX, Pointer
from dvcish.repo import Repo
from dvcish.targets import Tracked, all_tracked, check_inside_repo
from dvcish.tree import TreeEntry, entries_below, level_reader, path_problem

SHORT_SHA = 12


@dataclass(frozen=True)
class Selection:
    revs: tuple[str, ...] = ()
    all_branches: bool = False
    all_tags: bool = False
    all_commits: bool = False
    workspace: bool = False

    @property
    def has_revisions(self) -> bool:
        return bool(self.revs or self.all_branches or self.all_tags or self.all_commits)

    def __bool__(self) -> bool:
        return self.has_revisions or self.workspace


@dataclass
class Collected:
    """The workspace's pointers and those at the selected revisions (targets applied)."""

    workspace: list[Tracked] = field(default_factory=list)
    revisions: list[Tracked] = field(default_factory=list)

    def unique(self) -> list[Tracked]:
        """Every item once per (kind, oid, subpath), workspace items first."""
        seen: set[tuple[str, str, str | None]] = set()
        result = []
        for tracked in self.workspace + self.revisions:
            key = (tracked.pointer.kind, tracked.pointer.oid, tracked.subpath)
            if key not in seen:
                seen.add(key)
                result.append(tracked)
        return result


def collect(repo: Repo, selection: Selection, targets: Iterable[str] = ()) -> Collected:
    """The pointers a selection covers; a target that matches nothing anywhere is an error."""
    targets = list(targets)
    wanted = [target_rel(repo, target) for target in targets]
    found = Collected()
    if selection.workspace:
        found.workspace = all_tracked(repo)
    if selection.has_revisions:
        with Git(repo.root) as git:
            labels = revision_labels(git, selection)
            by_label = pointers_at_revs(repo, git, labels)
        for label, pointers in by_label.items():
            found.revisions.extend(
                tracked_at(repo, label, path, pointer) for path, pointer in pointers.items()
            )
    if wanted:
        found.workspace, in_workspace = _matching(found.workspace, wanted)
        found.revisions, in_revisions = _matching(found.revisions, wanted)
        for target, rel in zip(targets, wanted, strict=True):
            if rel not in in_workspace | in_revisions:
                raise DvcishError(
                    f"{target}: not tracked by dvcish in the workspace or the selected revisions"
                )
    return found


def drop_absent_parts(
    repo: Repo, items: list[Tracked], get_levels: Callable[[str, str], None] | None = None
) -> list[Tracked]:
    """Leave out parts of folders (``subpath``) that a version's tree does not hold.

    A file inside a folder may exist in some versions only. ``get_levels(oid, subpath)`` puts
    the tree levels that lead to a part into the cache (a download); a tree still unavailable
    keeps its item, for the transfer to report. A part that no version holds is an error.
    """
    kept: list[Tracked] = []
    found: dict[tuple[str, str], bool] = {}
    for tracked in items:
        if tracked.subpath is None or tracked.pointer.kind != "dir":
            kept.append(tracked)
            continue
        key = (tracked.rel, tracked.subpath)
        selected = _part_if_available(repo, tracked.pointer.oid, tracked.subpath, get_levels)
        holds = selected is None or bool(selected)
        found[key] = found.get(key, False) or holds
        if holds:
            kept.append(tracked)
    for (rel, subpath), holds in found.items():
        if not holds:
            raise DvcishError(
                f"{rel}/{subpath}: not in the data of the workspace or the selected revisions"
            )
    return kept


def _part_if_available(
    repo: Repo, oid: str, subpath: str, get_levels: Callable[[str, str], None] | None
) -> list[TreeEntry] | None:
    """The files of the tree ``oid`` at or below ``subpath``; None when its levels are not to
    be had."""
    if get_levels is not None:
        try:
            get_levels(oid, subpath)
        except DvcishError:
            return None
    try:
        return entries_below(level_reader(repo.cache), oid, subpath)
    except DvcishError:
        return None


def revision_labels(git: Git, selection: Selection) -> dict[str, str]:
    """Label -> commit sha for every selected revision, each commit once (first label wins)."""
    named: dict[str, str] = {}
    for rev in selection.revs:
        named.setdefault(rev, git.resolve(rev))
    if selection.all_branches:
        for name, sha in git.branches().items():
            named.setdefault(name, sha)
    if selection.all_tags:
        for name, sha in git.tags().items():
            named.setdefault(name, sha)
    if selection.all_commits:
        for sha in git.all_commits():
            named.setdefault(sha[:SHORT_SHA], sha)
    by_sha: dict[str, str] = {}
    for label, sha in named.items():
        by_sha.setdefault(sha, label)
    return {label: sha for sha, label in by_sha.items()}


def pointers_at_revs(repo: Repo, git: Git, labels: dict[str, str]) -> dict[str, dict[str, Pointer]]:
    """Label -> {pointer path relative to the dvcish repo: Pointer}, one git batch for all."""
    prefix = git_prefix(repo.root)
    by_sha = git.pointers_in_revs(labels.values())
    result: dict[str, dict[str, Pointer]] = {}
    for label, sha in labels.items():
        pointers = {}
        for path, pointer in by_sha[sha].items():
            if path.startswith(prefix):
                pointers[path[len(prefix) :]] = pointer
        result[label] = pointers
    return result


def pointers_at(repo: Repo, git: Git, rev: str) -> dict[str, Pointer]:
    return pointers_at_revs(repo, git, {rev: git.resolve(rev)})[rev]


def data_rel(pointer_path: str, pointer: Pointer, origin: str) -> str:
    """The repo-relative path of a pointer's data; refuses unsafe paths from git."""
    folder = pointer_path.rpartition("/")[0]
    rel = f"{folder}/{pointer.path}" if folder else pointer.path
    problem = path_problem(rel)
    if problem is not None:
        raise DvcishError(f"{origin}: unsafe pointer location ({problem}); refusing to use it")
    return rel


def tracked_at(repo: Repo, label: str, pointer_path: str, pointer: Pointer) -> Tracked:
    origin = f"{pointer_path}@{label}"
    rel = data_rel(pointer_path, pointer, origin)
    target = os.path.join(repo.root, *rel.split("/"))
    return Tracked(origin, pointer, target, rel, label=repo.shown(rel))


def git_prefix(root: str) -> str:
    """The dvcish repo's folder relative to its git work tree, "" or ending in "/"."""
    current = os.path.abspath(root)
    parts: list[str] = []
    while not os.path.lexists(os.path.join(current, ".git")):
        parent = os.path.dirname(current)
        if parent == current:
            return ""  # not found on disk (a bare repo or GIT_DIR): take paths as they are
        parts.append(os.path.basename(current))
        current = parent
    return "".join(f"{part}/" for part in reversed(parts))


def target_rel(repo: Repo, target: str) -> str:
    """A CLI target (relative to the current folder) as a repo-relative path ("" for the root).

    A pointer file name stands for its data (``data.dvcish`` -> ``data``).
    """
    path = os.path.abspath(target).rstrip(os.sep)
    if path != repo.root:
        check_inside_repo(repo, path, "target")
    rel = "" if path == repo.root else repo.relpath(path)
    if rel.endswith(POINTER_SUFFIX) and len(os.path.basename(rel)) > len(POINTER_SUFFIX):
        rel = rel[: -len(POINTER_SUFFIX)]
    return rel


def covers(target: str, path: str) -> bool:
    """True when ``path`` is the repo-relative ``target`` or lies below it."""
    return not target or path == target or path.startswith(target + "/")


def _matching(items: list[Tracked], wanted: list[str]) -> tuple[list[Tracked], set[str]]:
    """What the targets name (whole data, or a part of a tracked folder), and which matched."""
    result: dict[tuple[str, str | None], Tracked] = {}
    matched: set[str] = set()
    for target in wanted:
        for tracked in items:
            if covers(target, tracked.rel):
                chosen = tracked
            elif tracked.pointer.kind == "dir" and target.startswith(tracked.rel + "/"):
                chosen = replace(tracked, subpath=target[len(tracked.rel) + 1 :])
            else:
                continue
            matched.add(target)
            result.setdefault((chosen.pointer_file, chosen.subpath), chosen)
    return list(result.values()), matched
