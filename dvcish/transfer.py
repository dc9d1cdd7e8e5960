"""Moving objects between the cache and a store: push, fetch and cloud status.

Everything here takes ``(cache, store)``, never a repository. What is missing is decided in
batch (``store.missing``), transfers run in a thread pool, and data goes before metadata: file
objects first, a tree object only after all its members are on the destination (and flushed).
Every downloaded object is verified on the way in (storage/verified.py). A failure is a
``Failure`` record (oid, path, kind, message), so a summary or ``--json`` can group them.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TypeVar

from dvcish import fsutil
from dvcish.errors import (
    CorruptObjectError,
    DvcishError,
    ObjectNotFoundError,
    RemoteUnavailableError,
)
from dvcish.progress import Progress, Tally
from dvcish.storage.base import ObjectStore, ReadGroup
from dvcish.storage.cache import Cache, StatCache
from dvcish.targets import Tracked
from dvcish.tree import Tree, load_tree, members

WAIT_TICK = 0.2  # seconds between progress reports while a transfer is in flight
T = TypeVar("T")
U = TypeVar("U")

# Failure kinds
NOT_FOUND = "not-found"  # the source (remote, or cache for a push) does not hold the object
CORRUPT = "corrupt"  # the object's bytes do not match its oid
NOT_IN_SELECTION = "not-in-data"  # a path inside a folder that this version does not hold
SKIPPED = "skipped"  # a tree not pushed because some of its members could not be
ERROR = "error"  # anything else: transport, permissions, disk


def default_jobs() -> int:
    return 4 * (os.cpu_count() or 1)


@dataclass(frozen=True)
class Failure:
    oid: str
    path: str  # the data path the object stands for, as printed ("" when unknown)
    kind: str
    message: str

    def to_dict(self) -> dict:
        return {"oid": self.oid, "path": self.path, "kind": self.kind, "message": self.message}


@dataclass
class TransferSummary:
    transferred: int = 0
    present: int = 0  # already at the destination
    failed: list[Failure] = field(default_factory=list)

    def merge(self, other: TransferSummary) -> None:
        self.transferred += other.transferred
        self.present += other.present
        self.failed.extend(other.failed)

    def to_dict(self) -> dict:
        return {
            "transferred": self.transferred,
            "present": self.present,
            "failed": [failure.to_dict() for failure in self.failed],
        }


def failure_of(exc: Exception, oid: str, path: str) -> Failure:
    """The record for an exception raised while moving ``oid``."""
    if isinstance(exc, ObjectNotFoundError):
        return Failure(oid, path, NOT_FOUND, str(exc))
    if isinstance(exc, CorruptObjectError):
        return Failure(oid, path, CORRUPT, str(exc))
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return Failure(oid, path, ERROR, f"object {oid}: {where}{exc.strerror or exc}")
    return Failure(oid, path, ERROR, str(exc))


@dataclass
class Wanted:
    """The objects some pointers need: file objects, and trees with their member oids."""

    files: dict[str, str] = field(default_factory=dict)  # oid -> a path that needs it
    trees: dict[str, set[str]] = field(default_factory=dict)  # tree oid -> member oids
    unknown_trees: dict[str, str] = field(default_factory=dict)  # tree oid -> path; not cached

    def problems(self) -> list[Failure]:
        return [
            Failure(
                oid, rel, NOT_FOUND, f"{rel}: tree {oid} missing from the cache; run `dvcish fetch`"
            )
            for oid, rel in sorted(self.unknown_trees.items())
        ]

    def all_oids(self) -> set[str]:
        return set(self.files) | set(self.trees)

    def label(self, oid: str) -> str:
        if oid in self.files:
            return self.files[oid]
        if oid in self.unknown_trees:
            return self.unknown_trees[oid]
        return ""


def wanted_from_cache(cache: Cache, tracked_list: Iterable[Tracked]) -> Wanted:
    """What pushing these pointers needs, read from trees in the local cache."""
    wanted = Wanted()
    for tracked in tracked_list:
        pointer = tracked.pointer
        if pointer.kind == "file":
            wanted.files.setdefault(pointer.oid, tracked.shown)
            continue
        if not cache.exists(pointer.oid):
            wanted.unknown_trees.setdefault(pointer.oid, tracked.shown)
            continue
        tree = load_tree(cache, pointer.oid)
        for entry in members(tree, tracked.subpath):
            wanted.files.setdefault(entry.oid, tracked.shown_member(entry.path))
        if tracked.subpath is None:
            wanted.trees[pointer.oid] = {entry.oid for entry in tree.entries}
    return wanted


def push(
    cache: Cache,
    store: ObjectStore,
    tracked_list: list[Tracked],
    jobs: int,
    progress: Progress | None = None,
) -> TransferSummary:
    """Upload what the pointers need that the store lacks; members before their trees. A full
    disk under a folder remote stops the push with one line saying how much more it needs."""
    try:
        return _push(cache, store, tracked_list, jobs, progress or Progress())
    except OSError as exc:
        if not fsutil.is_out_of_space(exc):
            raise
        wanted = wanted_from_cache(cache, tracked_list).all_oids()
        needed = sum(_sizes(cache, store.missing(wanted - cache.missing(wanted))).values())
        hint = "push to a remote with room"
        raise DvcishError(fsutil.no_space_message(store.description, needed, hint)) from None


def _push(
    cache: Cache, store: ObjectStore, tracked_list: list[Tracked], jobs: int, progress: Progress
) -> TransferSummary:
    wanted = wanted_from_cache(cache, tracked_list)
    summary = TransferSummary(failed=wanted.problems())
    candidates = wanted.all_oids()
    not_cached = cache.missing(candidates)
    for oid in sorted(not_cached):
        path = wanted.label(oid)
        message = f"{path or 'tree'}: object {oid} missing from the cache; cannot push it"
        summary.failed.append(Failure(oid, path, NOT_FOUND, message))
    available = candidates - not_cached
    progress.phase("asking the remote what it holds")
    on_remote_missing = store.missing(available)
    summary.present = len(available - on_remote_missing)
    # in dataset path order, so a pack holds neighbours together (partial pulls read less)
    file_oids = sorted((oid for oid in on_remote_missing if oid in wanted.files), key=wanted.label)
    tree_oids = sorted(on_remote_missing - set(file_oids))
    sizes = _sizes(cache, on_remote_missing)
    if on_remote_missing:
        progress.phase("uploading")
        progress.totals(len(on_remote_missing), sum(sizes.values()))
    tally = Tally()

    def upload(oid: str) -> None:
        store.put(oid, cache.path_of(oid), tally.add)

    batched = [oid for oid in file_oids if store.batches(sizes.get(oid, 0))]
    alone = [oid for oid in file_oids if not store.batches(sizes.get(oid, 0))]
    broken = _run_pool(1, batched, upload, summary, progress, wanted.label, tally)  # in order
    broken |= _run_pool(jobs, alone, upload, summary, progress, wanted.label, tally)
    unsafe = not_cached | broken
    ready = []
    for tree_oid in tree_oids:
        if wanted.trees.get(tree_oid, set()) & unsafe:
            message = f"tree {tree_oid}: not pushed because some of its members are missing"
            summary.failed.append(Failure(tree_oid, wanted.label(tree_oid), SKIPPED, message))
        else:
            ready.append(tree_oid)
    # A tree that goes into a pack becomes visible with the index written by the last flush,
    # together with (never before) its members; a tree stored alone waits for a flush of them.
    packed_trees = [oid for oid in ready if store.batches(sizes.get(oid, 0))]
    loose_trees = [oid for oid in ready if not store.batches(sizes.get(oid, 0))]
    _run_pool(1, packed_trees, upload, summary, progress, wanted.label, tally)
    if loose_trees:
        store.flush()  # members durable and visible before any tree that names them
        _run_pool(jobs, loose_trees, upload, summary, progress, wanted.label, tally)
    if on_remote_missing:
        store.flush()
    return summary


def _sizes(cache: Cache, oids: set[str]) -> dict[str, int]:
    sizes = {}
    for oid in oids:
        try:
            sizes[oid] = os.stat(cache.path_of(oid)).st_size
        except OSError:
            continue
    return sizes


def fetch(
    cache: Cache,
    store: ObjectStore,
    tracked_list: list[Tracked],
    jobs: int,
    progress: Progress | None = None,
    state: StatCache | None = None,
) -> TransferSummary:
    """Download into the cache what the pointers need that it lacks (trees first, read to
    learn their members); every object is verified before it gets its final name.

    With ``state`` (a stat cache), objects already in the cache are verified too, reading only
    those the stat cache cannot vouch for: a corrupt one is quarantined and downloaded again.
    Without it (``pull``) checkout verifies what it delivers.
    """
    progress = progress or Progress()
    summary = TransferSummary()
    progress.phase("reading the folder lists")
    store.check_readable()
    needed: dict[str, str] = {}  # oid -> a path that needs it
    sizes: dict[str, int] = {}
    for tracked in tracked_list:
        pointer = tracked.pointer
        if pointer.kind == "file":
            needed.setdefault(pointer.oid, tracked.shown)
            sizes[pointer.oid] = pointer.size
            continue
        tree = _tree_for_fetch(cache, store, tracked, summary)
        if tree is None:
            continue
        selected = members(tree, tracked.subpath)
        if tracked.subpath is not None and not selected:
            path = tracked.shown_member(tracked.subpath)
            message = f"{path}: not in this version's data"
            summary.failed.append(Failure(pointer.oid, path, NOT_IN_SELECTION, message))
        for entry in selected:
            needed.setdefault(entry.oid, tracked.shown_member(entry.path))
            sizes[entry.oid] = entry.size
    if state is None:
        progress.phase("checking the cache")
        absent = cache.freshen(set(needed))
    else:
        progress.phase("verifying what the cache holds")
        absent, corrupt = cache.freshen_verified(set(needed), state)
        absent |= corrupt  # quarantined: downloaded again below
    summary.present += len(needed) - len(absent)
    if absent:
        progress.phase("downloading")
        progress.totals(len(absent), sum(sizes[oid] for oid in absent))

    groups = store.plan_reads(sorted(absent, key=lambda oid: needed[oid]))
    try:
        _run_reads(jobs, groups, cache, store, summary, progress, needed.get)
    except OSError as exc:
        if not fsutil.is_out_of_space(exc):
            raise
        cache.flush()
        raise cache.full(sum(sizes[oid] for oid in cache.missing(absent))) from None
    finally:
        progress.phase("making the cache durable")
        cache.flush()  # what arrived is kept, even when the command fails
    if state is not None:
        cache.record_received(absent, state)  # those that arrived: verified on the way in
    return summary


def _tree_for_fetch(
    cache: Cache, store: ObjectStore, tracked: Tracked, summary: TransferSummary
) -> Tree | None:
    oid = tracked.pointer.oid
    if not cache.freshen({oid}):
        summary.present += 1
        try:
            return load_tree(cache, oid)
        except CorruptObjectError:
            pass  # quarantined: download it again below
        summary.present -= 1
    try:
        cache.receive(store, oid)
        cache.flush()
        tree = load_tree(cache, oid)
    except DvcishError as exc:
        failure = failure_of(exc, oid, tracked.shown)
        message = f"{tracked.shown}: tree {oid}: {exc}"
        summary.failed.append(Failure(oid, tracked.shown, failure.kind, message))
        return None
    summary.transferred += 1
    return tree


def stops_the_run(exc: BaseException) -> bool:
    """A failure that ends a whole transfer rather than one object: a remote that gave up
    (RemoteUnavailableError) or a full disk (nothing else would fit either)."""
    return isinstance(exc, RemoteUnavailableError) or fsutil.is_out_of_space(exc)


def _run_pool(
    jobs: int,
    oids: list[str],
    action: Callable[[str], None],
    summary: TransferSummary,
    progress: Progress,
    label: Callable[[str], str | None],
    tally: Tally,
) -> set[str]:
    """Run ``action`` on every oid in a thread pool; return the oids that failed. A failure
    that ``stops_the_run`` is raised instead. The bytes the actions count into ``tally`` reach
    ``progress`` while the main thread waits."""
    failed: set[str] = set()

    def run_one(oid: str) -> Failure | None:
        """The failure, or None; runs in a worker thread."""
        try:
            action(oid)
        except (DvcishError, OSError) as exc:
            if stops_the_run(exc):
                raise
            return failure_of(exc, oid, label(oid) or "")
        return None

    def on_wait() -> None:
        tally.pass_to(progress.bytes)

    for oid, failure in bounded_map(jobs, run_one, oids, on_wait):  # progress: main thread
        if failure is None:
            summary.transferred += 1
        else:
            failed.add(oid)
            summary.failed.append(failure)
        tally.pass_to(progress.bytes)
        progress.items(1)
    return failed


def _run_reads(
    jobs: int,
    groups: list[ReadGroup],
    cache: Cache,
    store: ObjectStore,
    summary: TransferSummary,
    progress: Progress,
    label: Callable[[str], str | None],
) -> None:
    """Run the reads in a thread pool; each stages the objects it brings into the cache. The
    bytes reach ``progress`` as they arrive, while the main thread waits."""
    tally = Tally()

    def run_one(group: ReadGroup) -> list[tuple[str, int | DvcishError | OSError]]:
        try:
            return cache.receive_group(store, group, tally.add)  # type: ignore[return-value]
        except (DvcishError, OSError) as exc:
            if stops_the_run(exc):
                raise
            return [(piece.oid, exc) for piece in group.pieces]

    def on_wait() -> None:
        tally.pass_to(progress.bytes)

    for _group, outcomes in bounded_map(jobs, run_one, groups, on_wait):  # progress: main thread
        tally.pass_to(progress.bytes)
        for oid, outcome in outcomes:
            if isinstance(outcome, Exception):
                summary.failed.append(failure_of(outcome, oid, label(oid) or ""))
            else:
                summary.transferred += 1
            progress.items(1)


def bounded_map(
    jobs: int,
    function: Callable[[U], T],
    items: Iterable[U],
    on_wait: Callable[[], None] | None = None,
):
    """Like ``pool.map`` but with at most a few tasks per thread in flight, so memory stays
    flat for 200,000 objects; yields (item, result) in order. While it waits for a result,
    ``on_wait`` runs about every WAIT_TICK seconds on the calling thread (progress)."""
    window = max(1, jobs) * 4
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        pending: deque = deque()
        try:
            for item in items:
                pending.append((item, pool.submit(function, item)))
                if len(pending) >= window:
                    done_item, future = pending.popleft()
                    yield done_item, _result(future, on_wait)
            while pending:
                done_item, future = pending.popleft()
                yield done_item, _result(future, on_wait)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # a failure stops what has not begun
            raise


def _result(future: Future, on_wait: Callable[[], None] | None):
    while on_wait is not None and not future.done():
        wait([future], timeout=WAIT_TICK)
        if not future.done():
            on_wait()
    return future.result()


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


def cloud_status(cache: Cache, store: ObjectStore, tracked_list: list[Tracked]) -> CloudStatus:
    """Which objects the pointers need that the remote lacks (read-only on both sides)."""
    wanted = wanted_from_cache(cache, tracked_list)
    labels = dict(wanted.files)
    labels.update({oid: f"{rel} (tree)" for oid, rel in wanted.unknown_trees.items()})
    labels.update({oid: f"tree {oid}" for oid in wanted.trees})
    report = CloudStatus()
    absent = store.missing(set(labels))
    # A tree only the remote holds: read it (into memory, verified) to learn its members.
    for tree_oid in sorted(set(wanted.unknown_trees) - absent):
        tree = load_tree(store, tree_oid)
        found = {e.oid: f"{wanted.unknown_trees[tree_oid]}/{e.path}" for e in tree.entries}
        fresh = {oid: label for oid, label in found.items() if oid not in labels}
        labels.update(fresh)
        absent |= store.missing(set(fresh))
    report.present = len(labels) - len(absent)
    not_cached = cache.missing(absent)
    for oid in sorted(absent, key=lambda oid: labels[oid]):
        entry = (labels[oid], oid)
        (report.missing_everywhere if oid in not_cached else report.missing_on_remote).append(entry)
    return report
