"""Adding a folder one folder at a time (``folder_walk.py``), so memory stays flat whatever its
size: each folder's files are stored and its tree level written before the walk moves up.

A folder whose snapshot still stands, and whose level the cache holds whole (``presence.py``),
is reused without reading a file: only its objects are freshened, for gc's grace period.

A refusal (a symlink, a device, an unsafe name, a pointer file inside) is found when the walk
lists the folder that holds it, possibly after other folders were stored. The objects this add
created are then deleted again, so a refused add leaves the cache as it found it.
"""

from __future__ import annotations

import dataclasses
import os

from dvcish.errors import DvcishError
from dvcish.folder_walk import Folder, Level, level_entries, level_of, walk_folders
from dvcish.pointer import POINTER_SUFFIX, Pointer
from dvcish.presence import Presence
from dvcish.progress import Progress, Tally, ignore
from dvcish.repo import Repo
from dvcish.state import stat_key
from dvcish.storage.cache import CacheWriter
from dvcish.transfer import bounded_map
from dvcish.tree import FolderEntry, load_level
from dvcish.workspace import FileStat, Scan, WorkspaceReader, require_trackable

ADD_THREADS = 2
CHUNK = 256  # files a thread stores per task


class CreatedObjects:
    """The objects an add renamed into the cache (16 bytes each), to undo a refused add."""

    def __init__(self) -> None:
        self.digests = bytearray()

    def note(self, finals: list[str]) -> None:
        for final in finals:
            folder, name = final.rsplit("/", 2)[1:]
            self.digests += bytes.fromhex(folder + name)

    def oids(self) -> list[str]:
        return [self.digests[at : at + 16].hex() for at in range(0, len(self.digests), 16)]


class StoringMaker:
    """Levels as ``add`` makes them: every file and level stored in the cache."""

    def __init__(
        self,
        repo: Repo,
        reader: WorkspaceReader,
        writer: CacheWriter,
        progress: Progress,
        presence: Presence,
    ):
        self.repo = repo
        self.reader = reader
        self.writer = writer
        self.progress = progress
        self.presence = presence
        self.hashed = 0

    def reuse(self, level: Level) -> bool:
        if not self.presence.holds(level.oid):
            return False
        held = load_level(self.repo.cache, level.oid)
        self.repo.cache.freshen({level.oid, *(entry.oid for entry in held.entries)})
        return True

    def make(self, folder: Folder, folders: list[FolderEntry]) -> Level:
        files = folder.listing.files
        oids, unknown = self.reader.known_oids(folder.repo_rel, files, exact=True)
        absent = self.repo.cache.freshen(set(oids.values()))
        unknown.extend(name for name, oid in oids.items() if oid in absent)
        if unknown:
            quiet = dataclasses.replace(self.progress, items=ignore)  # counted when listed
            with self.repo.cache.room_for(sum(files[name].st_size for name in unknown)):
                stored = store_files(self.writer, folder.path, unknown, files, quiet)
            for name, oid in stored.items():
                self.repo.state.record_file(f"{folder.repo_rel}/{name}", stat_key(files[name]), oid)
            oids.update(stored)
            self.hashed += len(unknown)
        level = level_of(level_entries(files, oids), folders, self.writer.add_bytes)
        self.presence.record([level.oid])  # its subfolders' levels are complete already
        return level


def add_folder(
    repo: Repo,
    reader: WorkspaceReader,
    writer: CacheWriter,
    progress: Progress,
    path: str,
    rel: str,
) -> tuple[Pointer, int, Scan]:
    """Store the folder ``path`` (repo-relative ``rel``); returns its pointer, how many files
    were hashed, and what the walk left out. A refusal undoes what this add created."""
    presence = Presence(repo.cache, repo.state)
    maker = StoringMaker(repo, reader, writer, progress, presence)
    created = CreatedObjects()
    writer.cache.batch.on_renamed = created.note
    shown = repo.shown(rel)

    def check(folder: Folder) -> None:
        _refuse_untrackable(folder, shown)
        progress.items(len(folder.listing.files))

    progress.phase(f"adding {shown}")
    progress.totals(None, None)  # unknown until the walk is done: counts only
    try:
        walked = walk_folders(reader, maker, rel, path, check)
        writer.commit()
    except BaseException:
        writer.abort()
        writer.cache.batch.on_renamed = None
        writer.cache.delete(created.oids())
        raise
    writer.cache.batch.on_renamed = None
    root = walked.root
    pointer = Pointer(
        path=os.path.basename(path), kind="dir", oid=root.oid, size=root.size, nfiles=root.nfiles
    )
    presence.seal(wrote=True)
    return pointer, maker.hashed, walked.skipped


def _refuse_untrackable(folder: Folder, shown: str) -> None:
    """Refuse a folder holding what dvcish cannot track, naming the first such entry."""
    listing = folder.listing
    prefix = f"{folder.rel}/" if folder.rel else ""
    if listing.symlinks or listing.special or listing.unsafe:
        scan = Scan()
        listing.add_to(scan, prefix)
        require_trackable(scan, shown)
    # a bare ".dvcish" name never reaches the files (unsafe), so the suffix is the test
    nested = sorted(name for name in listing.files if name.endswith(POINTER_SUFFIX))
    if nested:
        raise DvcishError(
            f"{shown}/{prefix}{nested[0]}: a pointer file inside a folder being added; dvcish "
            "does not nest tracked data"
        )


def store_files(
    writer: CacheWriter,
    folder: str,
    names: list[str],
    files: dict[str, FileStat],
    progress: Progress,
) -> dict[str, str]:
    """Store many files in the cache, overlapping their I/O in a few threads (syscalls and
    hashing of large files release the GIL); chunks keep the per-task overhead small. The files
    and bytes done reach ``progress`` on this thread while it waits, a large file included."""
    chunks = [names[start : start + CHUNK] for start in range(0, len(names), CHUNK)]
    done_files, done_bytes = Tally(), Tally()
    writer.on_bytes = done_bytes.add

    def store_chunk(chunk: list[str]) -> list[str]:
        oids = []
        for name in chunk:
            oids.append(writer.add_file(f"{folder}/{name}", files[name]))
            done_files.add(1)
        return oids

    def on_wait() -> None:
        done_bytes.pass_to(progress.bytes)
        done_files.pass_to(progress.items)

    result: dict[str, str] = {}
    try:
        for chunk, oids in bounded_map(ADD_THREADS, store_chunk, chunks, on_wait):
            result.update(zip(chunk, oids, strict=True))
            on_wait()
    finally:
        writer.on_bytes = None
    return result
