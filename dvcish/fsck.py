"""``dvcish fsck``: rehash every cache object and check pointer -> object -> member links."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dvcish.errors import DvcishError
from dvcish.hashing import hash_file
from dvcish.repo import Repo
from dvcish.targets import find_pointer_files, load_tracked
from dvcish.workspace import FileProgress


@dataclass
class FsckReport:
    objects_checked: int = 0
    pointers_checked: int = 0
    problems: list[str] = field(default_factory=list)


def fsck(repo: Repo, progress: FileProgress | None = None) -> FsckReport:
    report = FsckReport()
    corrupt = _check_objects(repo, report, progress)
    for pointer_file in find_pointer_files(repo):
        report.pointers_checked += 1
        _check_pointer(repo, pointer_file, corrupt, report)
    return report


def _check_objects(repo: Repo, report: FsckReport, progress: FileProgress | None) -> set[str]:
    corrupt = set()
    for oid in repo.cache.list():
        path = repo.cache.path_of(oid)
        try:
            actual, _ = hash_file(path)
        except OSError as exc:
            report.problems.append(f"{path}: cannot read object {oid} ({exc.strerror})")
            corrupt.add(oid)
            continue
        report.objects_checked += 1
        if actual != oid:
            corrupt.add(oid)
            report.problems.append(
                f"{path}: corrupt object {oid} (content hashes to {actual}); "
                "delete it and run `dvcish fetch` or `dvcish add` again"
            )
        if progress is not None:
            progress(1)
    return corrupt


def _check_pointer(repo: Repo, pointer_file: str, corrupt: set[str], report: FsckReport) -> None:
    rel = repo.relpath(pointer_file)
    try:
        tracked = load_tracked(repo, pointer_file)
    except DvcishError as exc:
        report.problems.append(str(exc))
        return
    pointer = tracked.pointer
    if pointer.oid in corrupt:
        return  # already reported
    if not os.path.isfile(repo.cache.path_of(pointer.oid)):
        report.problems.append(f"{rel}: {pointer.kind} object {pointer.oid} missing from cache")
        return
    if pointer.kind != "dir":
        return
    try:
        tree = repo.cache.load_tree(pointer.oid)
    except DvcishError as exc:
        report.problems.append(f"{rel}: {exc}")
        return
    absent = repo.cache.missing({entry.oid for entry in tree.entries})
    for entry in tree.entries:
        if entry.oid in absent:
            report.problems.append(
                f"{rel}: member {tracked.rel}/{entry.path} ({entry.oid}) missing from cache"
            )
    if len(tree.entries) != pointer.nfiles or tree.size != pointer.size:
        report.problems.append(f"{rel}: nfiles/size disagree with tree {pointer.oid}")
