"""What some pointers need from a store or the cache: their file objects and every level of
their trees, read from the cache (for push, fsck --remote, status --cloud)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dvcish.errors import DvcishError
from dvcish.failures import NOT_FOUND, Failure
from dvcish.storage.base import ObjectStore
from dvcish.storage.cache import Cache
from dvcish.targets import Tracked
from dvcish.tree import entries_below, level_reader, tree_oids, walk_levels


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
    wanted = Wanted()
    read = level_reader(cache)
    for tracked in tracked_list:
        pointer = tracked.pointer
        if pointer.kind == "file":
            wanted.files.setdefault(pointer.oid, tracked.shown)
            continue
        try:
            selected = entries_below(read, pointer.oid, tracked.subpath)
            levels = [] if tracked.subpath is not None else list(walk_levels(read, pointer.oid))
        except DvcishError:  # a level missing (or corrupt: quarantined) in the cache
            wanted.unknown_trees.setdefault(pointer.oid, tracked.shown)
            continue
        for entry in selected:
            wanted.files.setdefault(entry.oid, tracked.shown_member(entry.path))
        for _path, oid, level in reversed(levels):  # children before their parents
            if oid not in wanted.trees:
                wanted.tree_order.append(oid)
            members = {entry.oid for entry in level.entries}
            wanted.trees[oid] = members | {folder.oid for folder in level.folders}
    return wanted


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
