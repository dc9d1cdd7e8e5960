"""push and fetch: move the objects the pointers need between the cache and a store.

What is missing is decided in batch (``store.missing``), transfers run in a thread pool, and
data goes before metadata: file objects first, a tree object only after all its members are
on the destination. Every downloaded object is hashed and compared with its oid before it
enters the cache; a mismatch is retried once and then reported with the remote and key.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from dvcish import fsutil
from dvcish.cache import Cache
from dvcish.errors import DvcishError, ObjectNotFoundError
from dvcish.hashing import new_hasher
from dvcish.repo import Repo
from dvcish.storage.base import ObjectStore, object_key, read_verified
from dvcish.targets import Tracked
from dvcish.tree import Tree, parse_tree

ObjectProgress = Callable[[int], None]
T = TypeVar("T")


def default_jobs() -> int:
    return 4 * (os.cpu_count() or 1)


@dataclass
class Wanted:
    """The objects some pointers need: file objects, and trees with their member oids."""

    files: dict[str, str] = field(default_factory=dict)  # oid -> a path that needs it
    trees: dict[str, set[str]] = field(default_factory=dict)  # tree oid -> member oids
    unknown_trees: dict[str, str] = field(default_factory=dict)  # tree oid -> path; not cached

    @property
    def problems(self) -> list[str]:
        return [
            f"{rel}: tree {oid} missing from the cache; run `dvcish fetch` first"
            for oid, rel in sorted(self.unknown_trees.items())
        ]

    def all_oids(self) -> set[str]:
        return set(self.files) | set(self.trees)


@dataclass
class TransferSummary:
    transferred: int = 0
    present: int = 0  # already at the destination
    failed: list[str] = field(default_factory=list)


def members(tree: Tree, subpath: str | None) -> list:
    if subpath is None:
        return tree.entries
    prefix = subpath.rstrip("/") + "/"
    return [e for e in tree.entries if e.path == subpath or e.path.startswith(prefix)]


def wanted_from_cache(cache: Cache, tracked_list: Iterable[Tracked]) -> Wanted:
    """What pushing these pointers needs, read from trees in the local cache."""
    wanted = Wanted()
    for tracked in tracked_list:
        pointer = tracked.pointer
        if pointer.kind == "file":
            wanted.files.setdefault(pointer.oid, tracked.rel)
            continue
        if not cache.exists(pointer.oid):
            wanted.unknown_trees.setdefault(pointer.oid, tracked.rel)
            continue
        tree = cache.load_tree(pointer.oid)
        selected = members(tree, tracked.subpath)
        for entry in selected:
            wanted.files.setdefault(entry.oid, f"{tracked.rel}/{entry.path}")
        if tracked.subpath is None:
            wanted.trees[pointer.oid] = {entry.oid for entry in tree.entries}
    return wanted


def push(
    repo: Repo,
    store: ObjectStore,
    tracked_list: list[Tracked],
    jobs: int,
    progress: ObjectProgress | None = None,
    byte_progress: ObjectProgress | None = None,
) -> TransferSummary:
    """Upload what the pointers need; ``progress`` counts objects, ``byte_progress`` bytes."""
    wanted = wanted_from_cache(repo.cache, tracked_list)
    summary = TransferSummary(failed=list(wanted.problems))
    candidates = wanted.all_oids()
    not_cached = repo.cache.missing(candidates)
    for oid in sorted(not_cached):
        summary.failed.append(
            f"{wanted.files.get(oid, oid)}: object {oid} missing from the cache; cannot push it"
        )
    available = candidates - not_cached
    on_remote_missing = store.missing(available)
    summary.present = len(available - on_remote_missing)
    file_oids = [oid for oid in on_remote_missing if oid in wanted.files]

    def upload(oid: str) -> int:
        path = repo.cache.path_of(oid)
        size = os.stat(path).st_size
        store.put(oid, path)
        return size

    broken = _run_pool(jobs, file_oids, upload, summary, (progress, byte_progress))
    if file_oids:
        store.flush()  # members durable before any tree that names them
    unsafe = not_cached | broken
    tree_oids = []
    for tree_oid in sorted(on_remote_missing - set(file_oids)):
        if wanted.trees.get(tree_oid, set()) & unsafe:
            summary.failed.append(f"tree {tree_oid}: not pushed because members are missing")
        else:
            tree_oids.append(tree_oid)
    _run_pool(jobs, tree_oids, upload, summary, (progress, byte_progress))
    if tree_oids:
        store.flush()
    return summary


def fetch(
    repo: Repo,
    store: ObjectStore,
    tracked_list: list[Tracked],
    jobs: int,
    progress: ObjectProgress | None = None,
    byte_progress: ObjectProgress | None = None,
) -> TransferSummary:
    """Download what the pointers need; ``progress`` counts objects, ``byte_progress`` bytes."""
    summary = TransferSummary()
    store.check_readable()
    needed: dict[str, str] = {}
    for tracked in tracked_list:
        pointer = tracked.pointer
        if pointer.kind == "file":
            needed.setdefault(pointer.oid, tracked.rel)
            continue
        tree = _tree_for_fetch(repo.cache, store, tracked, summary)
        if tree is None:
            continue
        selected = members(tree, tracked.subpath)
        if tracked.subpath is not None and not selected:
            summary.failed.append(f"{tracked.rel}/{tracked.subpath}: not in this version's data")
        for entry in selected:
            needed.setdefault(entry.oid, f"{tracked.rel}/{entry.path}")
    absent = repo.cache.missing(set(needed))
    summary.present += len(needed) - len(absent)

    def download(oid: str) -> int:
        return download_verified(repo.cache, store, oid)

    _run_pool(jobs, sorted(absent), download, summary, (progress, byte_progress), needed)
    if summary.transferred:  # a warm cache downloads nothing and needs no barrier
        fsutil.sync_filesystem(repo.cache.root)
    return summary


def _tree_for_fetch(
    cache: Cache, store: ObjectStore, tracked: Tracked, summary: TransferSummary
) -> Tree | None:
    oid = tracked.pointer.oid
    if cache.exists(oid):
        summary.present += 1
        return cache.load_tree(oid)
    try:
        download_verified(cache, store, oid)
    except DvcishError as exc:
        summary.failed.append(f"{tracked.rel}: tree {oid}: {exc}")
        return None
    summary.transferred += 1
    with open(cache.path_of(oid), "rb") as handle:
        return parse_tree(handle.read(), f"tree {oid} from {store.description}")


class HashingWriter:
    """A file-like sink for ``store.get`` that hashes what it is given (stores write an object's
    bytes in order) and, with a descriptor, also writes it there: nothing is read back to
    verify it. Without one it only hashes (``fsck --remote``)."""

    def __init__(self, fd: int | None = None):
        self.fd = fd
        self.hasher = new_hasher()

    def write(self, data: bytes) -> int:
        self.hasher.update(data)
        if self.fd is not None:
            fsutil.write_all(self.fd, data)
        return len(data)


def download_verified(cache: Cache, store: ObjectStore, oid: str) -> int:
    """Download into a temp file beside the final name, verify, rename; retry once on mismatch."""
    folder = cache.folder_of(oid)
    for attempt in (1, 2):
        tmp, fd = fsutil.create_temp(folder, fsutil.READ_ONLY_MODE)
        try:
            try:
                sink = HashingWriter(fd)
                size = store.get(oid, sink)
            finally:
                os.close(fd)
            actual = sink.hasher.hexdigest()
            if actual == oid:
                os.replace(tmp, cache.path_of(oid))
                return size
        finally:
            fsutil.remove_quietly(tmp)
        if attempt == 2:
            raise DvcishError(
                f"{store.description}: object {object_key(oid)} is corrupt (content hashes to "
                f"{actual}); restore it from another copy with `dvcish push`"
            )


def _run_pool(
    jobs: int,
    oids: list[str],
    action: Callable[[str], int | None],
    summary: TransferSummary,
    progress: tuple[ObjectProgress | None, ObjectProgress | None],
    labels: dict[str, str] | None = None,
) -> set[str]:
    """Run ``action`` on every oid in a thread pool; return the oids that failed."""
    failed: set[str] = set()
    if not oids:
        return failed

    count_objects, count_bytes = progress

    def run_one(oid: str) -> tuple[str | None, int]:
        """(error line or None, bytes moved); runs in a worker thread."""
        try:
            return None, action(oid) or 0
        except ObjectNotFoundError as exc:
            return f"{(labels or {}).get(oid, oid)}: {exc}", 0
        except DvcishError as exc:
            return str(exc), 0
        except OSError as exc:
            return f"object {oid}: {exc.strerror or exc}", 0

    for oid, (error, moved) in bounded_map(jobs, run_one, oids):  # progress: main thread only
        if error is None:
            summary.transferred += 1
        else:
            failed.add(oid)
            summary.failed.append(error)
        if count_objects is not None:
            count_objects(1)
        if count_bytes is not None and moved:
            count_bytes(moved)
    return failed


def bounded_map(jobs: int, function: Callable[[str], T], items: Iterable[str]):
    """Like ``pool.map`` but with at most a few tasks per thread in flight, so memory stays
    flat for 200,000 objects; yields (item, result) in order."""
    window = max(1, jobs) * 4
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending: deque = deque()
        for item in items:
            pending.append((item, pool.submit(function, item)))
            if len(pending) >= window:
                done_item, future = pending.popleft()
                yield done_item, future.result()
        while pending:
            done_item, future = pending.popleft()
            yield done_item, future.result()


@dataclass
class CloudStatus:
    present: int = 0
    missing_on_remote: list[tuple[str, str]] = field(default_factory=list)  # (path, oid)
    missing_everywhere: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "present": self.present,
            "missing_on_remote": [{"path": p, "oid": o} for p, o in self.missing_on_remote],
            "missing_everywhere": [{"path": p, "oid": o} for p, o in self.missing_everywhere],
        }


def cloud_status(repo: Repo, store: ObjectStore, tracked_list: list[Tracked]) -> CloudStatus:
    """Which objects the pointers need that the remote lacks (read-only on both sides)."""
    wanted = wanted_from_cache(repo.cache, tracked_list)
    labels = dict(wanted.files)
    labels.update({oid: f"{rel} (tree)" for oid, rel in wanted.unknown_trees.items()})
    labels.update({oid: f"tree {oid}" for oid in wanted.trees})
    report = CloudStatus()
    absent = store.missing(set(labels))
    # A tree only the remote holds: read it (into memory, verified) to learn its members.
    for tree_oid in sorted(set(wanted.unknown_trees) - absent):
        tree = parse_tree(read_verified(store, tree_oid), f"tree {tree_oid}")
        members = {e.oid: f"{wanted.unknown_trees[tree_oid]}/{e.path}" for e in tree.entries}
        fresh = {oid: label for oid, label in members.items() if oid not in labels}
        labels.update(fresh)
        absent |= store.missing(set(fresh))
    report.present = len(labels) - len(absent)
    not_cached = repo.cache.missing(absent)
    for oid in sorted(absent, key=lambda oid: labels[oid]):
        entry = (labels[oid], oid)
        (report.missing_everywhere if oid in not_cached else report.missing_on_remote).append(entry)
    return report
