"""Folder by folder, from the bottom up: the tree level each workspace folder would make.

``status``, ``add`` and ``checkout`` read a tracked folder one folder at a time, so no command
holds more than one folder's listing (and the levels of the folders above it) in memory.

A folder's *snapshot* (the stat cache's ``folders`` table) is a digest of its listing (each
file's name, inode, mtime, size and mode, each subfolder's level, and the ignore rules in
force) with the level the folder made. When the digest of a folder matches its snapshot, and no
file in it was changed within the racy margin of the recording (state.py), the level is known
without looking up or hashing any file: one ``stat`` per file. Only *plain* folders get a
snapshot: nothing in them ignored, refused or left over.

What a level is made of is up to a ``LevelMaker``: ``status`` hashes what the stat cache cannot
vouch for (``HashingMaker``); ``add`` also stores files and levels in the cache.
"""

from __future__ import annotations

import stat as statmod
from array import array
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import xxhash

from dvcish.hashing import hash_bytes
from dvcish.state import FolderRecord, settled
from dvcish.tree import MAX_DEPTH, FolderEntry, TreeEntry, encode_level
from dvcish.workspace import FileStat, Listing, Scan, WorkspaceReader

LOOKAHEAD = 8  # folders listed ahead of the walk, at most


@dataclass(frozen=True)
class Level:
    """What a folder contributes to its parent's level."""

    oid: str
    size: int
    nfiles: int


class LevelMaker(Protocol):
    def reuse(self, level: Level) -> bool:
        """May a snapshot's level stand as it is (``add``: only when the cache holds it)?"""
        ...

    def make(self, folder: Folder, folders: list[FolderEntry]) -> Level:
        """The level of ``folder`` holding these subfolders (their levels already made)."""
        ...


@dataclass
class Folder:
    """One folder of the walk: where it is and what it holds."""

    rel: str  # relative to the tracked folder, "" for the tracked folder itself
    repo_rel: str  # relative to the repository (the stat cache's keys)
    path: str
    listing: Listing
    done: int = 0  # how many of its subfolders were walked
    queued: int = 0  # how many of its subfolders the lookahead started listing
    levels: dict[str, Level] = field(default_factory=dict)  # subfolder name -> level


@dataclass
class Walked:
    """What a walk found: the level of every folder that holds files (target-relative paths,
    "" for the tracked folder, which always has one), and what it left out."""

    levels: dict[str, Level]
    skipped: Scan  # untrackable entries, ignored paths, nested repos, leftovers (no files)
    reused: int = 0  # folders whose level came from their snapshot

    @property
    def root(self) -> Level:
        return self.levels[""]


def walk_folders(
    reader: WorkspaceReader,
    maker: LevelMaker,
    rel: str,
    path: str,
    on_folder: Callable[[Folder], None] | None = None,
) -> Walked:
    """Walk the tracked folder ``path`` (repo-relative ``rel``) bottom up; every folder's level
    is made by ``maker`` unless its snapshot still stands. ``on_folder`` sees each listing
    before its subfolders are read (``add`` refuses what it cannot track right there)."""
    snapshots = reader.state.folders_under(rel)
    walked = Walked({}, Scan())
    lookahead = Lookahead(reader)
    try:
        top = _enter(lookahead, "", rel, path, reader.rules_for(rel), True, walked, on_folder)
        frames = [top]
        while frames:
            lookahead.plan(frames)
            frame = frames[-1]
            names = frame.listing.folders
            if frame.done < len(names):
                name = names[frame.done]
                frame.done += 1
                if len(frames) > MAX_DEPTH:
                    continue  # deeper than any tree may go: left out, as trees refuse it
                child_rel = f"{frame.rel}/{name}" if frame.rel else name
                child = _enter(
                    lookahead,
                    child_rel,
                    f"{frame.repo_rel}/{name}",
                    f"{frame.path}/{name}",
                    frame.listing.rules,
                    False,
                    walked,
                    on_folder,
                )
                frames.append(child)
                continue
            frames.pop()
            level = _finish(frame, snapshots, maker, reader, walked, is_top=not frames)
            if level is not None:
                walked.levels[frame.rel] = level
                if frames:
                    frames[-1].levels[frame.rel.rpartition("/")[2]] = level
    finally:
        lookahead.close()
    return walked


class Lookahead:
    """Lists the folders the walk reaches next in a thread of its own, a few ahead: ``stat``
    lets go of the GIL, so listing them overlaps the work on the current folder (about 1.3x
    faster on 2 cores at 1.28M files). Listings wait here until the walk takes them."""

    def __init__(self, reader: WorkspaceReader, window: int = LOOKAHEAD):
        self.reader = reader
        self.window = window
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="dvcish-list")
        self.pending: dict[str, Future] = {}

    def plan(self, frames: list[Folder]) -> None:
        """Start listing the next subfolders of the folders being walked, deepest first."""
        for depth in range(min(len(frames), MAX_DEPTH) - 1, -1, -1):
            frame = frames[depth]
            names = frame.listing.folders
            frame.queued = max(frame.queued, frame.done)
            while len(self.pending) < self.window and frame.queued < len(names):
                name = names[frame.queued]
                frame.queued += 1
                path = f"{frame.path}/{name}"
                self.pending[path] = self.pool.submit(
                    self.reader.list_folder,
                    path,
                    f"{frame.repo_rel}/{name}",
                    frame.listing.rules,
                    False,
                )
            if len(self.pending) >= self.window:
                return

    def listing(self, path: str, repo_rel: str, rules, top: bool) -> Listing:
        future = self.pending.pop(path, None)
        if future is not None:
            return future.result()
        return self.reader.list_folder(path, repo_rel, rules, top=top)

    def close(self) -> None:
        for future in self.pending.values():
            future.cancel()
        self.pool.shutdown(wait=True)


def _enter(
    lookahead: Lookahead,
    rel: str,
    repo_rel: str,
    path: str,
    rules,
    top: bool,
    walked: Walked,
    on_folder: Callable[[Folder], None] | None,
) -> Folder:
    reader = lookahead.reader
    listing = lookahead.listing(path, repo_rel, rules, top)
    listing.add_to(walked.skipped, f"{rel}/" if rel else "", with_files=False)
    folder = Folder(rel, repo_rel, path, listing)
    if on_folder is not None:
        on_folder(folder)
    if reader.progress is not None:
        reader.progress.items(len(listing.files))  # files read so far
    return folder


def _finish(
    folder: Folder,
    snapshots: dict[str, FolderRecord],
    maker: LevelMaker,
    reader: WorkspaceReader,
    walked: Walked,
    is_top: bool,
) -> Level | None:
    listing = folder.listing
    if not listing.files and not folder.levels and not is_top:
        return None  # an empty folder is not recorded
    digest = listing_digest(listing, folder.levels) if listing.plain else None
    record = snapshots.get(folder.repo_rel) if digest is not None else None
    if record is not None and record.digest == digest:
        newest = max((st.st_mtime_ns for st in listing.files.values()), default=0)
        level = Level(record.oid, record.size, record.nfiles)
        if settled(newest, record.recorded_ns) and maker.reuse(level):
            walked.reused += 1
            return level
    subfolders = [
        FolderEntry(name, level.oid, level.size, level.nfiles)
        for name, level in folder.levels.items()
    ]
    level = maker.make(folder, subfolders)
    if digest is not None:
        reader.state.record_folder(folder.repo_rel, digest, level.oid, level.size, level.nfiles)
    return level


def listing_digest(listing: Listing, levels: dict[str, Level]) -> str:
    """The digest of a plain folder's listing: what its level depends on."""
    hasher = xxhash.xxh3_128()
    if listing.rules:
        hasher.update(repr([(p.source, p.line, p.text) for p in listing.rules.patterns]).encode())
    names = sorted(listing.files)
    hasher.update("\0".join(names).encode("utf-8", "surrogateescape"))
    files = listing.files
    hasher.update(array("q", [field for name in names for field in files[name]]).tobytes())
    hasher.update(repr(sorted((name, level.oid) for name, level in levels.items())).encode())
    return hasher.hexdigest()


def level_entries(files: dict[str, FileStat], oids: dict[str, str]) -> list[TreeEntry]:
    """The file lines of a level: every file that has an oid (vanished ones are left out)."""
    return [
        TreeEntry(name, oids[name], st.st_size, bool(st.st_mode & statmod.S_IXUSR))
        for name, st in files.items()
        if name in oids
    ]


def level_of(
    entries: list[TreeEntry], folders: list[FolderEntry], store: Callable[[bytes], str]
) -> Level:
    """Encode a level and hand its bytes to ``store`` (which returns its oid)."""
    data = encode_level(entries, folders)
    size = sum(entry.size for entry in entries) + sum(folder.size for folder in folders)
    nfiles = len(entries) + sum(folder.nfiles for folder in folders)
    return Level(store(data), size, nfiles)


class HashingMaker:
    """Levels as the workspace holds them: file oids through the stat cache, hashing what it
    cannot vouch for; nothing is stored."""

    def __init__(self, reader: WorkspaceReader):
        self.reader = reader

    def reuse(self, level: Level) -> bool:
        return True

    def make(self, folder: Folder, folders: list[FolderEntry]) -> Level:
        files = folder.listing.files
        oids = self.reader.oids_of(folder.repo_rel, folder.path, files)
        return level_of(level_entries(files, oids), folders, hash_bytes)
