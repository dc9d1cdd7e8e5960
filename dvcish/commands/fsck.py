"""``dvcish fsck``: rehash every cache object and check pointer -> object -> member links.

A corrupt object that a workspace file is linked to (``cache.type`` hardlink or symlink) was
changed through that file: the problem names the file and both ways out.

``fsck_remote`` does the same for what a remote holds for the current pointers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dvcish.errors import DvcishError
from dvcish.fsutil import display_path
from dvcish.hashing import hash_file
from dvcish.remotes import open_remote
from dvcish.repo import Repo
from dvcish.sources import store_jobs
from dvcish.storage.base import ObjectStore, object_key
from dvcish.storage.hashed_io import HashingWriter
from dvcish.storage.pack_check import check_pack
from dvcish.storage.pack_index import PackEntry
from dvcish.storage.packed import PackedStore
from dvcish.targets import Tracked, all_tracked, find_pointer_files, load_tracked
from dvcish.transfer import bounded_map
from dvcish.tree import load_tree, printable
from dvcish.wanted import wanted_from_cache
from dvcish.workspace import FileProgress, is_link_to


@dataclass
class FsckReport:
    objects_checked: int = 0
    pointers_checked: int = 0
    problems: list[str] = field(default_factory=list)  # one line each

    def to_dict(self) -> dict:
        return {
            "objects_checked": self.objects_checked,
            "pointers_checked": self.pointers_checked,
            "problems": self.problems,
        }


def fsck(repo: Repo, progress: FileProgress | None = None) -> FsckReport:
    report = FsckReport()
    corrupt = _check_objects(repo, report, progress)
    for pointer_file in find_pointer_files(repo):
        report.pointers_checked += 1
        _check_pointer(repo, pointer_file, corrupt, report)
    return report


def _check_objects(repo: Repo, report: FsckReport, progress: FileProgress | None) -> dict[str, str]:
    """Rehash every object; the corrupt ones, with what they hash to ("" when unreadable)."""
    corrupt: dict[str, str] = {}
    for oid in repo.cache.list():
        path = repo.cache.path_of(oid)
        try:
            actual, _ = hash_file(path)
        except OSError as exc:
            report.problems.append(f"{path}: cannot read object {oid} ({exc.strerror})")
            corrupt[oid] = ""
            continue
        report.objects_checked += 1
        if actual != oid:
            corrupt[oid] = actual
            report.problems.append(
                f"{path}: corrupt object {oid} (content hashes to {actual}); "
                "delete it and run `dvcish fetch` or `dvcish add` again"
            )
        if progress is not None:
            progress(1)
    return corrupt


def _check_pointer(
    repo: Repo, pointer_file: str, corrupt: dict[str, str], report: FsckReport
) -> None:
    rel = display_path(pointer_file)
    try:
        tracked = load_tracked(repo, pointer_file)
    except DvcishError as exc:
        report.problems.append(str(exc))
        return
    pointer = tracked.pointer
    if pointer.kind == "file" and pointer.oid in corrupt:
        _damaged_link(repo, tracked.target, pointer.oid, corrupt, report)
    if pointer.oid in corrupt:
        return  # already reported
    if not os.path.isfile(repo.cache.path_of(pointer.oid)):
        report.problems.append(f"{rel}: {pointer.kind} object {pointer.oid} missing from cache")
        return
    if pointer.kind != "dir":
        return
    try:
        tree = load_tree(repo.cache, pointer.oid)
    except DvcishError as exc:
        report.problems.append(f"{rel}: {exc}")
        return
    absent = repo.cache.missing({entry.oid for entry in tree.entries})
    for entry in tree.entries:
        if entry.oid in corrupt:
            _damaged_link(
                repo, os.path.join(tracked.target, entry.path), entry.oid, corrupt, report
            )
        if entry.oid in absent:
            report.problems.append(
                f"{rel}: member {tracked.shown_member(entry.path)} ({entry.oid}) missing from cache"
            )
    if len(tree.entries) != pointer.nfiles or tree.size != pointer.size:
        report.problems.append(f"{rel}: nfiles/size disagree with tree {pointer.oid}")


def _damaged_link(
    repo: Repo, path: str, oid: str, corrupt: dict[str, str], report: FsckReport
) -> None:
    """Name the workspace file through which a corrupt object was changed, if it is linked."""
    if not is_link_to(path, repo.cache.path_of(oid)):
        return
    shown = printable(display_path(path))
    report.problems.append(
        f"{shown}: linked to cache object {oid}, which changed through it (now hashes to "
        f"{corrupt[oid] or 'nothing readable'}), so the cache lost that version; run "
        f"`dvcish unprotect {shown}` (keeps these bytes, sets the object aside), then "
        f"`dvcish add` to record them or `dvcish pull --force {shown}` to restore the old ones"
    )


def fsck_remote(
    repo: Repo, remote: str | None, jobs: int | None, progress: FileProgress | None = None
) -> FsckReport:
    """Re-hash what the remote holds for the workspace's pointers; report missing and corrupt
    objects. Read-only on the remote: nothing is deleted or rewritten there."""
    store = open_remote(repo, remote)
    try:
        store.check_readable()  # a wrong bucket is one line, not one per object
        return check_store(repo, store, all_tracked(repo), store_jobs(store, jobs), progress)
    finally:
        store.close()


def check_store(
    repo: Repo,
    store: ObjectStore,
    tracked_list: list[Tracked],
    jobs: int,
    progress: FileProgress | None = None,
) -> FsckReport:
    """Re-hash what ``store`` holds for these pointers: loose objects one by one, and every
    live pack whole (its name, its members, and its index against its central directory)."""
    wanted = wanted_from_cache(repo.cache, tracked_list)
    problems = [failure.message for failure in wanted.problems()]
    report = FsckReport(pointers_checked=len(tracked_list), problems=problems)
    labels = dict(wanted.files)
    labels.update({oid: f"tree of {oid}" for oid in wanted.trees})
    absent = store.missing(set(labels))
    for oid in sorted(absent):
        report.problems.append(f"{store.description}: {labels[oid]} ({object_key(oid)}) missing")
    packed: set[str] = set()
    if isinstance(store, PackedStore):
        packed = _check_packs(store, jobs, report, progress)
    loose = sorted(set(labels) - absent - packed)
    for _oid, problem in bounded_map(jobs, lambda oid: _check_loose(store, oid, labels), loose):
        report.objects_checked += 1
        if problem is not None:
            report.problems.append(problem)
        if progress is not None:
            progress(1)
    return report


def _check_loose(store: ObjectStore, oid: str, labels: dict[str, str]) -> str | None:
    sink = HashingWriter()
    try:
        store.get(oid, sink)  # type: ignore[arg-type]
    except DvcishError as exc:
        return str(exc)
    actual = sink.hexdigest()
    if actual != oid:
        return (
            f"{store.description}: object {object_key(oid)} ({labels[oid]}) is corrupt "
            f"(content hashes to {actual}); push it again from a good cache"
        )
    return None


def _check_packs(
    store: PackedStore, jobs: int, report: FsckReport, progress: FileProgress | None
) -> set[str]:
    """Check every live pack; return the oids they hold."""
    index = store.index()
    for indexid in store.damaged_indexes:
        report.problems.append(
            f"{store.description}: index/{indexid} is damaged (ignored); "
            "run `dvcish remote reindex` to rebuild the index from the packs"
        )
    entries = list(index.pack_entries())
    held: set[str] = set()

    def check(entry: PackEntry) -> list[str]:
        return check_pack(store, entry.packid, list(entry.members()))

    for entry, problems in bounded_map(jobs, check, entries):
        report.objects_checked += len(entry)
        report.problems.extend(problems)
        held.update(member.oid for member in entry.members())
        if progress is not None:
            progress(len(entry))
    return held
