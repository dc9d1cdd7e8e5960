"""What some pointers need from a store or the cache: their file objects and every level of
their trees, read from the cache (for push, fsck --remote, status --cloud)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from dvcish.errors import DvcishError
from dvcish.failures import NOT_FOUND, Failure
from dvcish.storage.base import ObjectStore
from dvcish.storage.cache import Cache
from dvcish.targets import Tracked
from dvcish.tree import entries_below, level_reader, tree_oids, walk_levels_children_first


@dataclass
class Wanted:
    """The objects some pointers need: file objects, and tree levels with their members."""

    files: dict[str, str] = field(default_factory=dict)  # oid -> a path that needs it
    trees: dict[str, set[str]] = field(default_factory=dict)  # level oid -> its member oids
    tree_order: list[str] = field(default_factory=list)  # levels, children before parents
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
    """What pushing these pointers needs, read from the tree levels in the local cache."""
    return next(wanted_batches(cache, tracked_list, None), Wanted())


def wanted_batches(
    cache: Cache, tracked_list: Iterable[Tracked], limit: int | None
) -> Iterator[Wanted]:
    """What pushing these pointers needs, in batches of whole tree levels holding about
    ``limit`` files each (None: one batch), children before parents within and across batches,
    so that a push can send and forget one batch at a time. A pointer whose tree is missing (or
    corrupt: quarantined) in the cache is *unknown*; none of the levels above the missing one
    are in any batch."""
    read = level_reader(cache)
    batch = Wanted()
    levels_seen: set[str] = set()  # a level shared by two pointers is wanted once
    for tracked in tracked_list:
        pointer = tracked.pointer
        if pointer.kind == "file":
            batch.files.setdefault(pointer.oid, tracked.shown)
            continue
        try:
            if tracked.subpath is not None:
                for entry in entries_below(read, pointer.oid, tracked.subpath):
                    batch.files.setdefault(entry.oid, tracked.shown_member(entry.path))
                continue
            for path, oid, level in walk_levels_children_first(read, pointer.oid):
                if oid in levels_seen:
                    continue
                levels_seen.add(oid)
                for entry in level.entries:
                    batch.files.setdefault(entry.oid, tracked.shown_member(path + entry.path))
                batch.tree_order.append(oid)
                members = {entry.oid for entry in level.entries}
                batch.trees[oid] = members | {folder.oid for folder in level.folders}
                if limit is not None and len(batch.files) >= limit:
                    yield batch
                    batch = Wanted()
        except DvcishError:  # a level missing (or corrupt: quarantined) in the cache
            batch.unknown_trees.setdefault(pointer.oid, tracked.shown)
    if batch.files or batch.trees or batch.unknown_trees:
        yield batch


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
        read = level_reader(store)
        found = {
            e.oid: f"{wanted.unknown_trees[tree_oid]}/{e.path}"
            for e in entries_below(read, tree_oid, None)
        }
        found.update({oid: f"tree {oid}" for oid in tree_oids(read, tree_oid) if oid != tree_oid})
        fresh = {oid: label for oid, label in found.items() if oid not in labels}
        labels.update(fresh)
        absent |= store.missing(set(fresh))
    report.present = len(labels) - len(absent)
    not_cached = cache.missing(absent)
    for oid in sorted(absent, key=lambda oid: labels[oid]):
        entry = (labels[oid], oid)
        (report.missing_everywhere if oid in not_cached else report.missing_on_remote).append(entry)
    return report
