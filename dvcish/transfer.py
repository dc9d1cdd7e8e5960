"""Moving objects between the cache and a store: push and fetch (tree levels included).

Everything here takes ``(cache, store)``, never a repository. What is missing is decided in
batch (``store.missing``), transfers run in a thread pool, and data goes before metadata: file
objects first, a tree object only after all its members are on the destination (and flushed).
Every downloaded object is verified on the way in (storage/receiving.py). A failure is a
``Failure`` record (oid, path, kind, message), so a summary or ``--json`` can group them.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

from dvcish import fsutil
from dvcish.errors import (
    CorruptObjectError,
    DvcishError,
    ObjectNotFoundError,
    RemoteUnavailableError,
)
from dvcish.failures import (
    CORRUPT,
    NOT_FOUND,
    NOT_IN_SELECTION,
    SKIPPED,
    Failure,
    TransferSummary,
    failure_of,
)
from dvcish.progress import Progress, Tally
from dvcish.storage.base import ObjectStore, ReadGroup
from dvcish.storage.cache import Cache, StatCache
from dvcish.storage.verified import SMALL_FILE
from dvcish.targets import Tracked
from dvcish.tree import MAX_DEPTH, TreeEntry, entries_below, level_reader, load_level, walk
from dvcish.wanted import Wanted, wanted_batches

WAIT_TICK = 0.2  # seconds between progress reports while a transfer is in flight
# Files a push plans, sends and forgets at a time (about 1 KB of memory each).
PUSH_BATCH = 50_000
# Files a fetch downloads and forgets at a time.
FETCH_BATCH = 50_000
T = TypeVar("T")
U = TypeVar("U")


def default_jobs() -> int:
    return 4 * (os.cpu_count() or 1)


def push(
    cache: Cache,
    store: ObjectStore,
    tracked_list: list[Tracked],
    jobs: int,
    progress: Progress | None = None,
    state: StatCache | None = None,
) -> TransferSummary:
    """Upload what the pointers need that the store lacks; members before their trees. A full
    disk under a folder remote stops the push with one line saying how much more it needs.
    Objects that ``state`` proves (verified, and unchanged since) are not hashed again."""
    try:
        store.bound_requests(jobs)
        return _push(cache, store, tracked_list, jobs, progress or Progress(), state)
    except OSError as exc:
        if not fsutil.is_out_of_space(exc):
            raise
        needed = 0
        for batch in wanted_batches(cache, tracked_list, PUSH_BATCH):
            wanted = batch.all_oids()
            needed += sum(_sizes(cache, store.missing(wanted - cache.missing(wanted))).values())
        hint = "push to a remote with room"
        raise DvcishError(fsutil.no_space_message(store.description, needed, hint)) from None


def _push(
    cache: Cache,
    store: ObjectStore,
    tracked_list: list[Tracked],
    jobs: int,
    progress: Progress,
    state: StatCache | None,
) -> TransferSummary:
    """Push batch after batch of whole levels (``wanted_batches``): memory holds one batch,
    whatever the number of files. What failed stays known across batches, so no level is sent
    whose member failed in an earlier batch."""
    summary = TransferSummary()
    unsafe: set[str] = set()  # objects not on the remote after their batch: their trees wait
    for wanted in wanted_batches(cache, tracked_list, PUSH_BATCH):
        summary.failed.extend(wanted.problems())
        _push_batch(cache, store, wanted, jobs, progress, summary, unsafe, state)
    return summary


def _push_batch(
    cache: Cache,
    store: ObjectStore,
    wanted: Wanted,
    jobs: int,
    progress: Progress,
    summary: TransferSummary,
    unsafe: set[str],
    state: StatCache | None,
) -> None:
    candidates = wanted.all_oids()
    not_cached = cache.missing(candidates)
    for oid in sorted(not_cached):
        path = wanted.label(oid)
        message = f"{path or 'tree'}: object {oid} missing from the cache; cannot push it"
        summary.failed.append(Failure(oid, path, NOT_FOUND, message))
    available = candidates - not_cached
    progress.phase("asking the remote what it holds")
    on_remote_missing = store.missing(available)
    summary.present += len(available - on_remote_missing)
    # in dataset path order, so a pack holds neighbours together (partial pulls read less)
    file_oids = sorted((oid for oid in on_remote_missing if oid in wanted.files), key=wanted.label)
    tree_oids = [oid for oid in wanted.tree_order if oid in on_remote_missing]
    sizes = _sizes(cache, on_remote_missing)
    large = {oid for oid in file_oids if sizes.get(oid, 0) > SMALL_FILE}  # worth proving
    proven = cache.proven(large, state) if state is not None else set()
    if on_remote_missing:
        progress.phase("uploading")
        progress.totals(len(on_remote_missing), sum(sizes.values()))
    tally = Tally()

    def upload(oid: str) -> None:
        store.put(oid, cache.path_of(oid), tally.add, oid in proven)

    batched = [oid for oid in file_oids if store.batches(sizes.get(oid, 0))]
    alone = [oid for oid in file_oids if not store.batches(sizes.get(oid, 0))]
    broken = _run_pool(1, batched, upload, summary, progress, wanted.label, tally)  # in order
    broken |= _run_pool(jobs, alone, upload, summary, progress, wanted.label, tally)
    unsafe |= not_cached | broken
    ready = []
    for tree_oid in tree_oids:  # children first: a level whose sublevel is skipped is skipped
        if wanted.trees.get(tree_oid, set()) & unsafe:
            message = f"tree {tree_oid}: not pushed because some of its members are missing"
            summary.failed.append(Failure(tree_oid, wanted.label(tree_oid), SKIPPED, message))
            unsafe.add(tree_oid)
        else:
            ready.append(tree_oid)
    # A tree that goes into a pack becomes visible with the index written by the last flush,
    # together with (never before) its members; a tree stored alone waits for a flush of them.
    packed_trees = [oid for oid in ready if store.batches(sizes.get(oid, 0))]
    loose_trees = [oid for oid in ready if not store.batches(sizes.get(oid, 0))]
    _run_pool(1, packed_trees, upload, summary, progress, wanted.label, tally)
    if loose_trees:
        store.flush()  # members durable and visible before any tree that names them
        # one at a time, children first: a level is never visible before its sublevels
        _run_pool(1, loose_trees, upload, summary, progress, wanted.label, tally)
    if on_remote_missing:
        store.flush()


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
    verify_present: bool = True,
) -> TransferSummary:
    """Download into the cache what the pointers need that it lacks (trees first, read to
    learn their members); every object is verified before it gets its final name.

    With ``state`` (a stat cache), what arrives is recorded as verified, and (with
    ``verify_present``) objects already in the cache are verified too, reading only those the
    stat cache cannot vouch for: a corrupt one is quarantined and downloaded again. ``pull``
    leaves those to its checkout, which verifies what it delivers.
    """
    progress = progress or Progress()
    summary = TransferSummary()
    progress.phase("reading the folder lists")
    store.bound_requests(jobs)
    store.check_readable()
    ready = [
        tracked
        for tracked in tracked_list
        if tracked.pointer.kind == "file"
        or _levels_for_fetch(cache, store, tracked, jobs, summary, progress)
    ]
    for needed, sizes in _files_in_batches(cache, ready, summary, FETCH_BATCH):
        _fetch_files(cache, store, needed, sizes, jobs, progress, state, summary, verify_present)
    return summary


def _files_in_batches(
    cache: Cache, ready: list[Tracked], summary: TransferSummary, limit: int
) -> Iterator[tuple[dict[str, str], dict[str, int]]]:
    """The file objects the pointers select (their levels are in the cache), about ``limit``
    at a time: (oid -> a path that needs it, oid -> size)."""
    read = level_reader(cache)
    needed: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for tracked in ready:
        pointer = tracked.pointer
        if pointer.kind == "file":
            entries: Iterable[TreeEntry] = [
                TreeEntry(tracked.shown, pointer.oid, pointer.size, False)
            ]
        elif tracked.subpath is not None:
            entries = entries_below(read, pointer.oid, tracked.subpath)
            if not entries:
                path = tracked.shown_member(tracked.subpath)
                message = f"{path}: not in this version's data"
                summary.failed.append(Failure(pointer.oid, path, NOT_IN_SELECTION, message))
        else:
            entries = walk(read, pointer.oid)
        for entry in entries:
            label = tracked.shown if pointer.kind == "file" else tracked.shown_member(entry.path)
            needed.setdefault(entry.oid, label)
            sizes[entry.oid] = entry.size
            if len(needed) >= limit:
                yield needed, sizes
                needed, sizes = {}, {}
    if needed:
        yield needed, sizes


def _fetch_files(
    cache: Cache,
    store: ObjectStore,
    needed: dict[str, str],
    sizes: dict[str, int],
    jobs: int,
    progress: Progress,
    state: StatCache | None,
    summary: TransferSummary,
    verify_present: bool,
) -> None:
    """Download one batch of file objects into the cache (those it lacks), verified."""
    if state is None or not verify_present:
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
    if state is not None:  # those that arrived were verified on the way in
        # pull: only large ones, which checkout then copies without reading them again
        kept = absent if verify_present else {oid for oid in absent if sizes[oid] > SMALL_FILE}
        cache.record_received(kept, state)


def _levels_for_fetch(
    cache: Cache,
    store: ObjectStore,
    tracked: Tracked,
    jobs: int,
    summary: TransferSummary,
    progress: Progress,
) -> bool:
    """Bring into the cache every tree level the files ``tracked`` selects need (those on the
    way to its subpath and all below it); False (a failure recorded) when one could not be had."""
    oid = tracked.pointer.oid
    try:
        fetch_levels(cache, store, oid, tracked.subpath, jobs, summary)  # bars: files only
        return True
    except DvcishError as exc:
        failure = failure_of(exc, oid, tracked.shown)
        message = f"{tracked.shown}: tree {oid}: {exc}"
        summary.failed.append(Failure(oid, tracked.shown, failure.kind, message))
        return False


def fetch_levels(
    cache: Cache,
    store: ObjectStore,
    root: str,
    subpath: str | None,
    jobs: int,
    summary: TransferSummary,
    progress: Progress | None = None,
) -> None:
    """Bring into the cache, verified, the tree levels below ``root`` that a fetch of
    ``subpath`` (None: everything) reads: depth by depth, each depth's missing levels in one
    batch of merged reads. A level the cache holds corrupt is quarantined and read again."""
    parts = subpath.strip("/").split("/") if subpath else []
    frontier, depth = [root], 0
    while frontier:
        absent = cache.freshen(set(frontier))
        summary.present += len(frontier) - len(absent)
        below: list[str] = []  # the next depth's levels; a level is parsed, read and let go
        for oid in frontier:
            if oid not in absent:
                try:
                    below += _sublevels(cache, oid, parts, depth)
                except CorruptObjectError:  # quarantined: read it again
                    absent.add(oid)
                    summary.present -= 1
        if absent:
            before = len(summary.failed)
            groups = store.plan_reads(sorted(absent))
            _run_reads(jobs, groups, cache, store, summary, progress or Progress(), lambda _: "")
            cache.flush()
            if len(summary.failed) > before:
                first = summary.failed[before]
                del summary.failed[before:]  # reported once, as the tree's failure
                raise _error_of(first)
            for oid in absent:
                below += _sublevels(cache, oid, parts, depth)
        frontier = below
        depth += 1
        if depth > MAX_DEPTH:
            raise DvcishError(f"tree {root}: folders nested deeper than {MAX_DEPTH} levels")


def _sublevels(cache: Cache, oid: str, parts: list[str], depth: int) -> list[str]:
    """The subfolder levels of the level ``oid`` that a fetch of ``parts`` reads."""
    return [
        folder.oid
        for folder in load_level(cache, oid).folders
        if depth >= len(parts) or folder.name == parts[depth]
    ]


def _error_of(failure: Failure) -> DvcishError:
    """The exception a failure record stands for (its kind kept)."""
    if failure.kind == NOT_FOUND:
        return ObjectNotFoundError(failure.message, failure.oid)
    if failure.kind == CORRUPT:
        return CorruptObjectError(failure.message, failure.oid)
    return DvcishError(failure.message)


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
