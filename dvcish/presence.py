"""Which trees the cache holds whole, known without a stat per object every time.

A tree level is *complete* in the cache when it and every object below it are there. Checking
that costs one ``stat`` per object, so the stat cache remembers complete levels (its
``complete`` table). What it remembers stands while the cache's *mark* is unchanged: a digest
of the modification times of the 256 fan-out folders, which change whenever an object is
added or removed. A command that only adds objects (``add``, ``fetch``) takes the mark again
when it is done, so its own writes keep what it knows. Anything else that changes a fan-out
folder (``gc``, a quarantined object, objects deleted by hand, another repository sharing the
cache) changes the mark, and the next command forgets every complete level and checks again.
"""

from __future__ import annotations

from dvcish.state import StateDB
from dvcish.storage.cache import Cache
from dvcish.tree import LevelReader, Tree, walk_levels

MARK = "cache"
# Objects asked about at once: enough to make listing the fan-out folders pay, few enough
# that the set stays small (~100 bytes an oid).
BATCH = 200_000


class Presence:
    """What one command knows of complete levels; ``seal`` keeps it for the next command."""

    def __init__(self, cache: Cache, state: StateDB):
        self.cache = cache
        self.state = state
        self.start_mark = cache.fanout_mark()
        if state.mark(MARK) != self.start_mark:
            state.forget_complete()

    def holds(self, oid: str) -> bool:
        """True when the level ``oid`` is known complete in the cache."""
        return self.state.is_complete(oid)

    def record(self, oids: list[str]) -> None:
        """These levels are complete (their objects were just seen or written)."""
        self.state.record_complete(oids)

    def missing_below(self, read: LevelReader, oid: str) -> int:
        """How many objects of the tree ``oid`` (itself included) the cache lacks; a complete
        tree is recorded as such. Reads one level at a time, skips levels known complete, and
        asks the cache about objects in batches (one listing of a fan-out folder per batch)."""
        if self.holds(oid):
            return 0
        if not self.cache.exists(oid):
            return 1
        levels: list[str] = []
        wanted: set[str] = set()
        missing = 0
        for _path, level_oid, level in walk_levels(self._unknown_levels(read), oid):
            levels.append(level_oid)
            wanted.update(entry.oid for entry in level.entries)
            wanted.update(f.oid for f in level.folders if not self.holds(f.oid))
            if len(wanted) >= BATCH:
                missing += len(self.cache.missing(wanted))
                wanted.clear()
        missing += len(self.cache.missing(wanted))
        if missing == 0:
            self.record(levels)
        return missing

    def _unknown_levels(self, read: LevelReader) -> LevelReader:
        """A reader that gives an empty level for a level known complete (nothing to check
        below it) or one the cache lacks (counted missing by its parent), so the count goes on
        below the rest."""

        def read_unknown(oid: str) -> Tree:
            if self.holds(oid) or not self.cache.exists(oid):
                return Tree([])
            return read(oid)

        return read_unknown

    def seal(self, wrote: bool) -> None:
        """Keep what this command learnt: take the cache's mark as it is now. A command that
        did not write the cache seals only if nobody else changed it meanwhile."""
        if self.cache.removals:
            self.state.forget_complete()  # this command removed objects itself
        mark = self.cache.fanout_mark()
        if wrote or mark == self.start_mark:
            self.state.set_mark(MARK, mark)
