"""``dvcish gc``: remove from the cache (and a remote, if asked) what nothing in scope needs.

The *scope* is a ``history.Selection``: the workspace's pointers (always) and those at the chosen
revisions. An object is *referenced* when a pointer in scope names it, or it is a member of a
tree such a pointer names. Every referenced tree must be read to know its members: one that is
missing or corrupt stops gc before anything is deleted, since its members cannot be told apart
from garbage. For ``--cloud`` a tree missing locally is read from that remote, verified.

An object is *young* while its last change (the later of mtime and ctime, so a fresh hardlink or
rename counts) is within the grace period (``gc.grace`` or ``--grace``, default 1h). Young objects
are never removed, so a concurrent ``add``, ``fetch`` or ``push`` (from another repo sharing the
cache or the remote) keeps what it is writing. Temp files (``.tmp-<pid>-<n>``) older than the
grace period are leftovers of interrupted writers and are removed too: in the cache, in
``.dvcish/`` and, with ``--cloud``, on a folder remote. ``plan`` changes nothing;
``apply`` deletes what a plan lists, checking each local object's age again just before.
On a remote, ages come from the store's listing (S3 LastModified); packs and index files are
collected in two phases (storage/remote_gc.py). Nothing here asks for confirmation: the CLI
does.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from dvcish import config as cfg
from dvcish import fsutil
from dvcish.errors import CorruptObjectError, DvcishError, ObjectNotFoundError, UsageError
from dvcish.fsutil import display_path
from dvcish.history import Selection, collect
from dvcish.repo import Repo
from dvcish.storage import remote_gc
from dvcish.storage.base import ObjectStore, oid_from_key
from dvcish.storage.local import LocalStore
from dvcish.storage.packed import PackedStore
from dvcish.targets import Tracked
from dvcish.tree import LevelReader, Tree, level_reader, walk_levels

DEFAULT_GRACE = 3600.0


@dataclass
class GcPlan:
    """What gc removes (or removed, after ``apply``)."""

    grace: float
    referenced: int = 0  # distinct objects the scope needs
    objects: dict[str, int] = field(default_factory=dict)  # cache oid -> size
    temp_files: dict[str, int] = field(default_factory=dict)  # path -> size (cache, remote)
    young: int = 0  # unreferenced but younger than the grace period: kept
    remote: str | None = None  # description of the remote, with --cloud
    remote_objects: list[str] = field(default_factory=list)  # loose objects removed
    remote_young: int = 0
    remote_plan: remote_gc.RemotePlan | None = None  # packs and indexes, with --cloud
    needed: set[str] = field(default_factory=set, repr=False)

    @property
    def bytes_freed(self) -> int:
        return sum(self.objects.values()) + sum(self.temp_files.values())

    def to_dict(self) -> dict:
        return {
            "objects": sorted(self.objects),
            "temp_files": sorted(display_path(path) for path in self.temp_files),
            "bytes_freed": self.bytes_freed,
            "young": self.young,
            "remote": self.remote,
            "remote_objects": sorted(self.remote_objects),
            "remote_young": self.remote_young,
            "remote_packs": self.remote_plan.to_dict() if self.remote_plan else None,
        }


def grace_seconds(repo: Repo) -> float:
    return cfg.parse_duration(repo.config.get("gc.grace"), "gc.grace", DEFAULT_GRACE)


def plan(
    repo: Repo,
    selection: Selection,
    store: ObjectStore | None = None,
    now: float | None = None,
    grace: float | None = None,
) -> GcPlan:
    """Work out what to remove; deletes nothing. The caller holds the repo lock. ``grace``
    (seconds) overrides ``gc.grace``."""
    if not selection:
        raise UsageError(
            "gc needs a scope: --workspace, --all-branches, --all-tags, --all-commits or --rev"
        )
    now = time.time() if now is None else now
    result = GcPlan(grace_seconds(repo) if grace is None else grace)
    scope = Selection(
        selection.revs, selection.all_branches, selection.all_tags, selection.all_commits, True
    )
    needed = referenced_oids(repo, collect(repo, scope).unique(), store)
    result.referenced = len(needed)
    result.needed = needed
    _plan_cache(repo, needed, now, result)
    if store is not None:
        _plan_remote(store, needed, now, result)
    return result


def referenced_oids(
    repo: Repo, tracked_list: list[Tracked], store: ObjectStore | None = None
) -> set[str]:
    """Every oid the pointers need: their own, each level of their trees, and its files."""
    needed: set[str] = set()
    read = _level_reader(repo, store)
    for tracked in tracked_list:
        pointer = tracked.pointer
        needed.add(pointer.oid)
        if pointer.kind != "dir" or pointer.oid in needed - {pointer.oid}:
            continue
        try:
            for _path, level_oid, level in walk_levels(read, pointer.oid):
                needed.add(level_oid)
                needed.update(entry.oid for entry in level.entries)
        except (ObjectNotFoundError, CorruptObjectError):
            _refuse_unreadable(repo, tracked)
    return needed


def _level_reader(repo: Repo, store: ObjectStore | None) -> LevelReader:
    """Levels from the cache, else (with --cloud) from the remote, verified."""
    from_cache, from_store = level_reader(repo.cache), level_reader(store) if store else None

    def read(oid: str) -> Tree:
        if repo.cache.exists(oid) or from_store is None:
            return from_cache(oid)
        return from_store(oid)

    return read


def _refuse_unreadable(repo: Repo, tracked: Tracked) -> None:
    oid = tracked.pointer.oid
    where = tracked.pointer_file
    if os.path.isabs(where):
        where = repo.shown(repo.relpath(where))
    raise DvcishError(
        f"{where}: tree {oid} is not in the cache, so gc cannot tell which objects {tracked.rel} "
        "needs; run `dvcish fetch` with the same --rev/--all-* flags first (nothing was deleted)"
    )


def _plan_cache(repo: Repo, needed: set[str], now: float, result: GcPlan) -> None:
    root = repo.cache.root
    try:
        top = list(os.scandir(root))
    except FileNotFoundError:
        return
    for entry in top:
        if fsutil.is_temp_name(entry.name):
            _consider_temp(entry, now, result)
        elif len(entry.name) == 2 and entry.is_dir(follow_symlinks=False):
            with os.scandir(entry.path) as names:
                for item in names:
                    if fsutil.is_temp_name(item.name):
                        _consider_temp(item, now, result)
                        continue
                    oid = oid_from_key(f"{entry.name}/{item.name}")
                    if oid is None or oid in needed:
                        continue
                    st = item.stat(follow_symlinks=False)
                    if _is_young(st, now, result.grace):
                        result.young += 1
                    else:
                        result.objects[oid] = st.st_size
    with os.scandir(repo.dvcish_dir) as entries:  # config files are written there too
        for entry in entries:
            if fsutil.is_temp_name(entry.name):
                _consider_temp(entry, now, result)


def _consider_temp(entry: os.DirEntry, now: float, result: GcPlan) -> None:
    try:
        st = entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        return
    if entry.is_file(follow_symlinks=False) and not _is_young(st, now, result.grace):
        result.temp_files[entry.path] = st.st_size


def _is_young(st: os.stat_result, now: float, grace: float) -> bool:
    return now - max(st.st_mtime, st.st_ctime) < grace


def _plan_remote(store: ObjectStore, needed: set[str], now: float, result: GcPlan) -> None:
    assert isinstance(store, PackedStore), "remotes are opened as packed stores"
    result.remote = store.description
    if isinstance(store.backend, LocalStore):
        for path, st in store.backend.temp_files():
            if not _is_young(st, now, result.grace):
                result.temp_files[path] = st.st_size
    result.remote_plan = remote_gc.plan(store, needed, result.grace, now)
    result.remote_objects = sorted(result.remote_plan.loose)
    result.remote_young = result.remote_plan.loose_young + result.remote_plan.waiting


def apply(
    repo: Repo, planned: GcPlan, store: ObjectStore | None = None, now: float | None = None
) -> GcPlan:
    """Delete what ``planned`` lists; returns what was actually removed."""
    done = GcPlan(planned.grace, planned.referenced, young=planned.young, remote=planned.remote)
    done.needed = planned.needed
    done.remote_young = planned.remote_young
    for oid, size in planned.objects.items():
        if _remove_if_old(repo.cache.path_of(oid), planned.grace, now):
            done.objects[oid] = size
        else:
            done.young += 1
    for path, size in planned.temp_files.items():
        if _remove_if_old(path, planned.grace, now):
            done.temp_files[path] = size
    if store is not None and planned.remote_plan is not None:
        assert isinstance(store, PackedStore)
        done.remote_plan = remote_gc.apply(store, planned.remote_plan, planned.needed)
        done.remote_objects = list(planned.remote_objects)
    return done


def _remove_if_old(path: str, grace: float, now: float | None) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if _is_young(st, time.time() if now is None else now, grace):
        return False
    fsutil.remove_quietly(path)
    return True
