"""The stat cache: lets dvcish skip hashing files it has seen and objects it has verified.

``files`` maps a repo-relative path to the (inode, mtime_ns, size) it had when its oid was
computed, plus when that was recorded. An entry is trusted only if the file's stat is identical
AND the file's mtime is older than the recording by a safety margin: a file modified within the
same timestamp tick as the hashing ("racily clean", as git calls it) is hashed again.
``verified`` records cache objects whose bytes were checked against their oid, keyed by the
object file's own stat, so a later change to the object is noticed. File modes prove nothing.

``folders`` holds a *snapshot* of each workspace folder dvcish computed a tree level for: a
digest of its listing and the level it made (see folder_walk.py). ``complete`` lists tree
levels whose every object (below them too) was seen in the cache, valid while the cache's
``mark`` (marks table) is unchanged (see presence.py).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from typing import NamedTuple

# A file is "racily clean" when its mtime is this close to the moment its oid was recorded:
# on filesystems with sub-second timestamps a few timer ticks, otherwise two seconds.
FINE_MARGIN_NS = 50_000_000
COARSE_MARGIN_NS = 2_000_000_000
QUERY_CHUNK = 500  # oids per "IN (...)" query (sqlite allows 999 parameters)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, inode INTEGER, mtime_ns INTEGER, size INTEGER,
    oid TEXT, recorded_ns INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verified (
    oid TEXT PRIMARY KEY, inode INTEGER, mtime_ns INTEGER, size INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS folders (
    path TEXT PRIMARY KEY, digest TEXT, oid TEXT, size INTEGER, nfiles INTEGER,
    recorded_ns INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS complete (oid TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS marks (name TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
"""
COMMIT_EVERY = 50_000  # pending records written in one transaction (bounds memory)


class StatKey(NamedTuple):
    inode: int
    mtime_ns: int
    size: int


def stat_key(st: os.stat_result) -> StatKey:
    return StatKey(st.st_ino, st.st_mtime_ns, st.st_size)


def trusted(record: tuple, st: os.stat_result) -> bool:
    """True when a (inode, mtime_ns, size, oid, recorded_ns) record still vouches for ``st``."""
    inode, mtime_ns, size, _oid, recorded_ns = record
    if mtime_ns != st.st_mtime_ns or size != st.st_size or inode != st.st_ino:
        return False
    return settled(mtime_ns, recorded_ns)


def settled(mtime_ns: int, recorded_ns: int) -> bool:
    """True when a change at ``mtime_ns`` cannot share its timestamp with a later change made
    after ``recorded_ns`` (the file was not "racily clean" when it was recorded)."""
    margin = FINE_MARGIN_NS if mtime_ns % 1_000_000_000 else COARSE_MARGIN_NS
    return mtime_ns + margin <= recorded_ns


class FolderRecord(NamedTuple):
    digest: str
    oid: str
    size: int
    nfiles: int
    recorded_ns: int


class StateDB:
    """A small sqlite file in ``.dvcish/tmp``; losing it only costs rehashing."""

    def __init__(self, path: str):
        self.path = path
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._pending_files: list[tuple] = []
        self._pending_verified: dict[str, StatKey] = {}  # seen by is_verified before commit
        self._pending_folders: list[tuple] = []
        self._pending_complete: set[str] = set()

    def close(self) -> None:
        self.commit()
        self._conn.close()

    def files_under(self, relpath: str) -> dict[str, tuple]:
        """Records for ``relpath`` itself and everything below it, keyed by repo-relative path."""
        rows = self._conn.execute(
            "SELECT path, inode, mtime_ns, size, oid, recorded_ns FROM files"
            " WHERE path = ? OR (path >= ? AND path < ?)",
            (relpath, relpath + "/", relpath + "0"),
        )
        return {row[0]: row[1:] for row in rows}  # (inode, mtime_ns, size, oid, recorded_ns)

    def _rows_in(self, select: str, column: str, values: list[str]) -> Iterator[tuple]:
        """The rows of ``select`` whose ``column`` is one of ``values``, a few queries of at
        most QUERY_CHUNK values each."""
        for start in range(0, len(values), QUERY_CHUNK):
            chunk = values[start : start + QUERY_CHUNK]
            marks = ",".join("?" * len(chunk))
            yield from self._conn.execute(f"{select} WHERE {column} IN ({marks})", chunk)

    def file_records(self, relpaths: list[str]) -> dict[str, tuple]:
        """Records for exactly these paths (a few queries), keyed by path."""
        rows = self._rows_in(
            "SELECT path, inode, mtime_ns, size, oid, recorded_ns FROM files", "path", relpaths
        )
        return {row[0]: row[1:] for row in rows}

    def record_file(self, relpath: str, key: StatKey, oid: str) -> None:
        self._pending_files.append((relpath, key.inode, key.mtime_ns, key.size, oid))
        if len(self._pending_files) >= COMMIT_EVERY:
            self.commit()

    def folders_under(self, relpath: str) -> dict[str, FolderRecord]:
        """Snapshots of folder ``relpath`` and every folder below it, keyed by path."""
        rows = self._conn.execute(
            "SELECT path, digest, oid, size, nfiles, recorded_ns FROM folders"
            " WHERE path = ? OR (path >= ? AND path < ?)",
            (relpath, relpath + "/", relpath + "0"),
        )
        return {row[0]: FolderRecord(*row[1:]) for row in rows}

    def record_folder(self, relpath: str, digest: str, oid: str, size: int, nfiles: int) -> None:
        self._pending_folders.append((relpath, digest, oid, size, nfiles))

    def is_complete(self, oid: str) -> bool:
        if oid in self._pending_complete:
            return True
        row = self._conn.execute("SELECT 1 FROM complete WHERE oid = ?", (oid,)).fetchone()
        return row is not None

    def record_complete(self, oids: Iterable[str]) -> None:
        self._pending_complete.update(oids)

    def forget_complete(self) -> None:
        self._pending_complete.clear()
        self._conn.execute("DELETE FROM complete")

    def mark(self, name: str) -> str | None:
        row = self._conn.execute("SELECT value FROM marks WHERE name = ?", (name,)).fetchone()
        return row[0] if row is not None else None

    def set_mark(self, name: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO marks VALUES (?, ?)", (name, value))

    def move_files(self, old: str, new: str) -> None:
        """Records of ``old`` and everything below it now describe ``new`` (a rename keeps a
        file's inode, mtime and size, so they still vouch for it)."""
        self.commit()
        self._conn.execute(
            "UPDATE OR REPLACE files SET path = ? || substr(path, ?)"
            " WHERE path = ? OR (path >= ? AND path < ?)",
            (new, len(old) + 1, old, old + "/", old + "0"),
        )

    def is_verified(self, oid: str, key: StatKey) -> bool:
        pending = self._pending_verified.get(oid)
        if pending is not None:
            return pending == key
        row = self._conn.execute(
            "SELECT inode, mtime_ns, size FROM verified WHERE oid = ?", (oid,)
        ).fetchone()
        return row is not None and StatKey(*row) == key

    def verified_keys(self, oids: Iterable[str]) -> dict[str, StatKey]:
        """The recorded stat of each of these objects that was verified (a few queries)."""
        wanted = list(oids)
        rows = self._rows_in("SELECT oid, inode, mtime_ns, size FROM verified", "oid", wanted)
        found = {row[0]: StatKey(*row[1:]) for row in rows}
        pending = self._pending_verified
        found.update((oid, pending[oid]) for oid in wanted if oid in pending)
        return found

    def record_verified(self, oid: str, key: StatKey) -> None:
        self._pending_verified[oid] = key

    def forget_verified(self, oid: str) -> None:
        self._pending_verified.pop(oid, None)
        self._conn.execute("DELETE FROM verified WHERE oid = ?", (oid,))

    def commit(self) -> None:
        """Write every pending record in one transaction."""
        if not (
            self._pending_files
            or self._pending_verified
            or self._pending_folders
            or self._pending_complete
        ):
            return
        now = time.time_ns()
        self._conn.execute("BEGIN")
        try:
            self._conn.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                [row + (now,) for row in self._pending_files],
            )
            self._conn.executemany(
                "INSERT OR REPLACE INTO verified VALUES (?, ?, ?, ?)",
                [(oid, *key) for oid, key in self._pending_verified.items()],
            )
            self._conn.executemany(
                "INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?, ?, ?)",
                [row + (now,) for row in self._pending_folders],
            )
            self._conn.executemany(
                "INSERT OR IGNORE INTO complete VALUES (?)",
                [(oid,) for oid in self._pending_complete],
            )
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        self._pending_files.clear()
        self._pending_verified.clear()
        self._pending_folders.clear()
        self._pending_complete.clear()


class NullState:
    """The stat cache's interface with nothing behind it: vouches for nothing, remembers
    nothing. For deliveries outside any repo (``dvcish get`` into a temp cache)."""

    def is_verified(self, oid: str, key: StatKey) -> bool:
        return False

    def verified_keys(self, oids: Iterable[str]) -> dict[str, StatKey]:
        return {}

    def record_verified(self, oid: str, key: StatKey) -> None:
        pass

    def forget_verified(self, oid: str) -> None:
        pass

    def record_file(self, relpath: str, key: StatKey, oid: str) -> None:
        pass
