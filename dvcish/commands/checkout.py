"""``dvcish checkout``: make the workspace match the pointers, touching only what differs.

Planning comes first and changes nothing: for every target it works out which files to write,
delete or chmod, and which existing content would be lost (content whose oid is not in the
cache). If anything would be lost and ``force`` is off, the command stops before any change.
Temp files of an interrupted run (inside tracked folders and beside targets) are never content
at risk: they are removed and counted.
"""

from __future__ import annotations

import os
import stat as statmod
from collections.abc import Iterable
from dataclasses import dataclass, field

from dvcish import fsutil
from dvcish.errors import DvcishError, ObjectNotFoundError
from dvcish.folder_walk import HashingMaker, walk_folders
from dvcish.level_compare import FolderDiff, differing_folders, entries_with_paths, executable
from dvcish.materialize import CORRUPT, MISSING, Materializer, current_umask
from dvcish.progress import Progress
from dvcish.repo import Repo
from dvcish.targets import Tracked, resolve
from dvcish.tree import (
    Tree,
    TreeEntry,
    entries_below,
    level_reader,
    members,
    printable,
    tree_oids,
    walk,
)
from dvcish.workspace import (
    ABSENT,
    DIR,
    FILE,
    Observed,
    WorkspaceReader,
    leftovers_beside,
    leftovers_inside,
    reader_for,
    remove_leftovers,
)

SHOW_AT_MOST = 5
LINK_HINT = "link files instead of copying them (cache.type reflink,hardlink,copy)"


@dataclass
class Plan:
    tracked: Tracked
    tree: Tree | None  # None when the tree object itself is missing
    writes: list[TreeEntry] = field(default_factory=list)
    chmods: list[TreeEntry] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)  # target-relative; "" is the target itself
    at_risk: dict[str, str] = field(default_factory=dict)  # relpath -> oid that would be lost
    unchanged: int = 0
    leftovers: list[str] = field(default_factory=list)  # temp files of an interrupted run
    # the target is absent: every file of the tree is written, read level by level as the
    # writes go (nothing else to compare, so nothing of the tree is held in memory)
    write_all: bool = False

    def count_writes(self) -> tuple[int, int]:
        """How many files the plan writes, and their bytes."""
        if self.write_all:
            return self.tracked.pointer.nfiles or 0, self.tracked.pointer.size
        return len(self.writes), sum(entry.size for entry in self.writes)

    def entries_to_write(self, repo: Repo) -> Iterable[TreeEntry]:
        return (
            walk(level_reader(repo.cache), self.tracked.pointer.oid)
            if self.write_all
            else self.writes
        )


@dataclass
class CheckoutResult:
    path: str  # the data path as printed (relative to the current folder)
    written: int = 0
    deleted: int = 0
    unchanged: int = 0
    missing: list[str] = field(default_factory=list)  # paths (as printed) not in the cache
    corrupt: list[str] = field(default_factory=list)
    leftovers: int = 0  # temp files of an interrupted run, removed

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "written": self.written,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "missing": self.missing,
            "corrupt": self.corrupt,
        }


def checkout(
    repo: Repo,
    targets: list[str],
    force: bool = False,
    progress: Progress | None = None,
    tracked_list: list[Tracked] | None = None,
) -> list[CheckoutResult]:
    """Progress: a step "comparing", counted steps for workspace files that need hashing, then
    a counted step "writing files" (files and bytes to deliver)."""
    progress = progress or Progress()
    if tracked_list is None:
        tracked_list = resolve(repo, targets, allow_inside=True)
    tracked_items = tracked_list
    progress.phase("comparing the workspace with the pointers")
    reader = reader_for(repo, progress)
    folders_done: set[str] = set()
    plans = [plan_target(repo, reader, tracked, folders_done) for tracked in tracked_items]
    if not force:
        refuse_losses(repo, plans)
    counts = [plan.count_writes() for plan in plans]
    if any(files for files, _size in counts):
        progress.phase("writing files")
        progress.totals(sum(files for files, _ in counts), sum(size for _, size in counts))
    materializer = Materializer(repo.cache, repo.state, repo.config.link_types(), current_umask())
    delivered = _Delivered(progress)
    materializer.on_bytes = delivered.moved
    try:
        return [apply_plan(repo, plan, materializer, delivered) for plan in plans]
    finally:
        repo.state.commit()


class _Delivered:
    """Counts deliveries for ``progress``: the bytes a copy moves as it goes, and, for what a
    delivery did not count (a link, an object missing from the cache), the rest of its size."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.counted = 0

    def moved(self, count: int) -> None:
        self.counted += count
        self.progress.bytes(count)

    def finished(self, entry: TreeEntry) -> None:
        if entry.size > self.counted:
            self.progress.bytes(entry.size - self.counted)
        self.counted = 0
        self.progress.items(1)


def plan_target(
    repo: Repo, reader: WorkspaceReader, tracked: Tracked, folders_done: set[str]
) -> Plan:
    pointer = tracked.pointer
    whole_folder = pointer.kind == "dir" and tracked.subpath is None
    st = reader.lstat(tracked.target) if whole_folder else None
    if pointer.kind == "file":
        tree = Tree([TreeEntry("", pointer.oid, pointer.size, False)])
    elif whole_folder and st is None:
        return _plan_absent_folder(repo, tracked, folders_done)
    elif not repo.cache.exists(pointer.oid):
        return Plan(tracked, None)
    elif whole_folder and st is not None and statmod.S_ISDIR(st.st_mode):
        plan = Plan(tracked, Tree([]))
        if _plan_by_folder(repo, reader, plan, folders_done):
            return plan
        tree = Tree(entries_below(level_reader(repo.cache), pointer.oid, None))
    else:
        # a part of a folder reads only the levels on the way to it (the rest may be absent)
        tree = Tree(entries_below(level_reader(repo.cache), pointer.oid, tracked.subpath))
    plan = Plan(tracked, tree)
    if tracked.subpath is not None:
        plan.leftovers = leftovers_beside(tracked.target, folders_done)
        _plan_subpath(reader, plan, tree, tracked.subpath)
        return plan
    seen = reader.observe(tracked.rel, tracked.target)
    plan.leftovers = leftovers_beside(tracked.target, folders_done)
    plan.leftovers += leftovers_inside(tracked.target, seen.scan)
    wanted = DIR if pointer.kind == "dir" else FILE
    if seen.kind == ABSENT:
        plan.writes = list(tree.entries)
    elif seen.kind == wanted == DIR:
        reader.include_tracked(seen, tracked.rel, tracked.target, tree)
        _plan_folder(plan, tree, seen)
    elif seen.kind == wanted == FILE:
        if seen.oid == pointer.oid:
            plan.unchanged = 1
        else:
            plan.writes = list(tree.entries)
            plan.at_risk[tracked.rel] = seen.oid or ""
    else:
        plan.deletes.append("")
        plan.writes = list(tree.entries)
        plan.at_risk.update(contents_at_risk(tracked.rel, seen))
    return plan


def _plan_by_folder(
    repo: Repo, reader: WorkspaceReader, plan: Plan, folders_done: set[str]
) -> bool:
    """Plan a tracked folder one folder at a time (folder_walk.py, level_compare.py): only the
    folders whose level differs from the tree's are compared, and only their changes are held.
    False when the walk found what only a whole scan plans right (ignored or untrackable
    entries, nested repositories, a version 1 tree): the caller plans the old way."""
    tracked = plan.tracked
    oid = tracked.pointer.oid
    read = level_reader(repo.cache)
    walked = walk_folders(reader, HashingMaker(reader), tracked.rel, tracked.target)
    repo.state.commit()  # what the walk hashed is known to the comparison below
    skipped = walked.skipped
    if (
        skipped.ignored_files
        or skipped.ignored_dirs
        or skipped.untrackable
        or skipped.nested_git
        or read(oid).version == 1
    ):
        return False
    plan.leftovers = leftovers_beside(tracked.target, folders_done)
    plan.leftovers += leftovers_inside(tracked.target, skipped)
    if walked.root.oid != oid:
        for diff in differing_folders(reader, read, walked, tracked.rel, tracked.target, oid):
            _plan_differing_folder(plan, diff)
    plan.unchanged = (tracked.pointer.nfiles or 0) - len(plan.writes) - len(plan.chmods)
    return True


def _plan_differing_folder(plan: Plan, diff: FolderDiff) -> None:
    """What one differing folder needs: its own files only (subfolders come as their own)."""
    rel = plan.tracked.rel
    files, oids = diff.files, diff.oids
    for entry in entries_with_paths(diff):
        name = entry.path.rpartition("/")[2]
        st = files.get(name)
        if st is None:
            plan.writes.append(entry)
        elif oids.get(name) != entry.oid:
            plan.writes.append(entry)
            plan.at_risk[f"{rel}/{entry.path}"] = oids.get(name, "")
        elif executable(st) != entry.executable:
            plan.chmods.append(entry)
    in_tree = {entry.path for entry in diff.tree.entries} if diff.tree is not None else set()
    for name in files:
        if name not in in_tree:
            path = diff.path_of(name)
            plan.deletes.append(path)
            plan.at_risk[f"{rel}/{path}"] = oids.get(name, "")


def _plan_absent_folder(repo: Repo, tracked: Tracked, folders_done: set[str]) -> Plan:
    """An absent tracked folder: all of its tree is written. Every level must be in the cache
    (checked here, before any change: the writes read them again)."""
    try:
        tree_oids(level_reader(repo.cache), tracked.pointer.oid)
    except ObjectNotFoundError:
        return Plan(tracked, None)  # a level is missing: reported as the tree missing
    plan = Plan(tracked, Tree([]), write_all=True)
    plan.leftovers = leftovers_beside(tracked.target, folders_done)
    return plan


def contents_at_risk(rel: str, seen: Observed) -> dict[str, str]:
    """What deleting the whole target at ``rel`` would discard: repo-relative path -> oid, or
    "" for content without one (links, special files, what the scan skipped: ignored paths and
    nested git repositories)."""
    if seen.kind == ABSENT:
        return {}
    if seen.kind == FILE:
        return {rel: seen.oid or ""}
    if seen.kind != DIR or seen.scan is None:
        return {rel: ""}  # a symlink or special file where data belongs
    scan = seen.scan
    at_risk = {f"{rel}/{name}": oid for name, oid in seen.oids.items()}
    for name in scan.untrackable + scan.ignored_files + scan.ignored_dirs + scan.nested_git:
        at_risk[f"{rel}/{name}"] = ""
    return at_risk


def _plan_folder(plan: Plan, tree: Tree, seen: Observed) -> None:
    tracked = plan.tracked
    assert seen.scan is not None
    files, oids = seen.scan.files, seen.oids
    for entry in tree.entries:
        st = files.get(entry.path)
        if st is None:
            plan.writes.append(entry)
        elif oids.get(entry.path) != entry.oid:
            plan.writes.append(entry)
            plan.at_risk[f"{tracked.rel}/{entry.path}"] = oids.get(entry.path, "")
        elif bool(st.st_mode & statmod.S_IXUSR) != entry.executable:
            plan.chmods.append(entry)
        else:
            plan.unchanged += 1
    wanted = tree.by_path()
    for rel in files:
        if rel not in wanted:
            plan.deletes.append(rel)
            plan.at_risk[f"{tracked.rel}/{rel}"] = oids.get(rel, "")
    for rel in seen.scan.symlinks + seen.scan.special + seen.scan.unsafe:
        plan.deletes.append(rel)
        plan.at_risk[f"{tracked.rel}/{rel}"] = ""


def _plan_subpath(reader: WorkspaceReader, plan: Plan, tree: Tree, subpath: str) -> None:
    """Granular checkout: only the tree entries at or below ``subpath``; nothing else is touched."""
    tracked = plan.tracked
    for entry in members(tree, subpath):
        path = os.path.join(tracked.target, entry.path)
        st = reader.lstat(path)
        if st is None:
            plan.writes.append(entry)
            continue
        rel = f"{tracked.rel}/{entry.path}"
        if not statmod.S_ISREG(st.st_mode):
            plan.at_risk[rel] = ""
            plan.deletes.append(entry.path)
            plan.writes.append(entry)
            continue
        oid = reader.file_oid(rel, path, st)
        if oid == entry.oid:
            plan.unchanged += 1
        else:
            plan.at_risk[rel] = oid
            plan.writes.append(entry)


def refuse_losses(repo: Repo, plans: list[Plan]) -> None:
    """Stop before any change if checkout would discard content that is not in the cache."""
    at_risk: dict[str, str] = {}
    for plan in plans:
        at_risk.update(plan.at_risk)
    refuse_to_lose(repo, at_risk, "checkout", "checkout --force")


def refuse_to_lose(repo: Repo, at_risk: dict[str, str], command: str, force: str) -> None:
    """Refuse, naming the files, when any of ``at_risk`` (path -> oid, "" for none) is not in
    the cache: ``command`` would discard it and only ``dvcish {force}`` may."""
    absent = repo.cache.missing({oid for oid in at_risk.values() if oid})
    lost = sorted(repo.shown(path) for path, oid in at_risk.items() if not oid or oid in absent)
    if lost:
        shown = ", ".join(printable(path) for path in lost[:SHOW_AT_MOST])
        more = f" and {len(lost) - SHOW_AT_MOST} more" if len(lost) > SHOW_AT_MOST else ""
        raise DvcishError(
            f"{command} would discard changes not saved in the cache: {shown}{more}; "
            f"run `dvcish add` to keep them or `dvcish {force}` to discard them"
        )


def apply_plan(
    repo: Repo, plan: Plan, materializer: Materializer, delivered: _Delivered
) -> CheckoutResult:
    tracked = plan.tracked
    result = CheckoutResult(tracked.shown, unchanged=plan.unchanged)
    result.leftovers = remove_leftovers(plan.leftovers)
    if plan.tree is None:
        result.missing.append(f"{tracked.shown} (tree {tracked.pointer.oid})")
        return result
    result.deleted = _delete(tracked.target, plan.deletes)
    is_dir = tracked.pointer.kind == "dir"
    if is_dir and not os.path.isdir(tracked.target):
        os.mkdir(tracked.target)
    ready = {tracked.target}
    _files, left = plan.count_writes()  # bytes still to write, for a full disk's message
    for entry in plan.entries_to_write(repo):
        dest = os.path.join(tracked.target, entry.path) if is_dir else tracked.target
        state_rel = f"{tracked.rel}/{entry.path}" if is_dir else tracked.rel
        _ensure_parent(tracked.target, entry.path, ready)
        try:
            outcome = materializer.deliver(entry.oid, dest, entry.executable, state_rel)
        except OSError as exc:
            if not fsutil.is_out_of_space(exc):
                raise
            needed = left
            where = fsutil.display_path(tracked.target)
            raise DvcishError(fsutil.no_space_message(where, needed, LINK_HINT)) from None
        if outcome == MISSING:
            result.missing.append(tracked.shown_member(entry.path if is_dir else ""))
        elif outcome == CORRUPT:
            result.corrupt.append(tracked.shown_member(entry.path if is_dir else ""))
        else:
            result.written += 1
        left -= entry.size
        delivered.finished(entry)
    for entry in plan.chmods:
        path = os.path.join(tracked.target, entry.path)
        mode = os.lstat(path).st_mode
        os.chmod(path, (mode | 0o111 & ~materializer.umask) if entry.executable else mode & ~0o111)
        result.written += 1
    return result


def _delete(target: str, deletes: list[str]) -> int:
    """Remove files (or the target itself, for ""), then folders left empty."""
    folders: set[str] = set()
    for rel in deletes:
        path = os.path.join(target, rel) if rel else target
        if os.path.isdir(path) and not os.path.islink(path):
            remove_tree(path)  # the target itself, or a folder with a name dvcish refuses
            continue
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        parent = os.path.dirname(path)
        while parent.startswith(target + os.sep):
            folders.add(parent)
            parent = os.path.dirname(parent)
    for folder in sorted(folders, key=len, reverse=True):
        try:
            os.rmdir(folder)
        except OSError:
            pass
    return len(deletes)


def remove_tree(path: str) -> None:
    for folder, dirs, files in os.walk(path, topdown=False):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            os.unlink(os.path.join(folder, name))
        for name in dirs:
            if not os.path.islink(os.path.join(folder, name)):
                os.rmdir(os.path.join(folder, name))
    os.rmdir(path)


def _ensure_parent(target: str, relpath: str, ready: set[str]) -> None:
    """Create the folders above ``relpath`` without ever following a symlink."""
    parts = relpath.split("/")[:-1]
    current = target
    for part in parts:
        current = os.path.join(current, part)
        if current in ready:
            continue
        try:
            os.mkdir(current)
        except FileExistsError:
            if not statmod.S_ISDIR(os.lstat(current).st_mode):
                raise DvcishError(
                    f"{current}: is a file or symlink where a folder is needed; move it away"
                ) from None
        ready.add(current)
