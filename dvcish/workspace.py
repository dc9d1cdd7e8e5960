"""Reading the workspace: the one reader that status, checkout, diff and add share.

``WorkspaceReader.observe`` tells what is at a tracked path: nothing, a file (with its oid), a
folder (its files with their stat and oid), or something else. Oids come from the stat cache
when it can vouch for a file and are hashed otherwise. A symlink into the cache (made by
checkout with ``cache.type symlink``) stands for the cache object it points to, everywhere.

The scan of a folder leaves out what ``.dvcishignore`` files exclude (ignore.py) and nested
git repositories (``.git``, listed in ``Scan.nested_git`` so commands can warn). As in git,
ignore rules apply to untracked files only: ``include_tracked`` puts back the files a pointer's
tree tracks although a pattern matches them.
A dvcish temp file (``.tmp-<pid>-<n>``, left by an interrupted run) is never data: a scan
lists it apart, as a leftover, which commands holding the repo lock remove.
"""

from __future__ import annotations

import os
import stat as statmod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from dvcish import fsutil
from dvcish.errors import DvcishError
from dvcish.hashing import hash_bytes, hash_file
from dvcish.ignore import IGNORE_FILE, Ignore, Rules
from dvcish.progress import Progress
from dvcish.state import StateDB, stat_key, trusted
from dvcish.storage.base import oid_from_key
from dvcish.tree import Tree, TreeEntry, build_tree, name_problem, printable, write_tree

if TYPE_CHECKING:
    from dvcish.repo import Repo

# Called with how many files were just processed.
FileProgress = Callable[[int], None]
LARGE_FILE = 64 << 20  # hashing a single file this large is a step of its own (progress)

ABSENT = "absent"
FILE = "file"
DIR = "dir"
OTHER = "other"  # a symlink, device, socket or FIFO where data belongs


class FileStat(NamedTuple):
    """The four stat fields dvcish uses, under os.stat_result's names; a scan of 200,000 files
    keeps one per file, at a fraction of an os.stat_result's memory."""

    st_ino: int
    st_mtime_ns: int
    st_size: int
    st_mode: int


def file_stat(st: os.stat_result | FileStat) -> FileStat:
    return FileStat(st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode)


@dataclass
class Scan:
    """What a folder holds: regular files with their stat, and anything dvcish cannot track."""

    files: dict[str, FileStat] = field(default_factory=dict)
    symlinks: list[str] = field(default_factory=list)
    special: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)  # excluded by .dvcishignore
    ignored_dirs: list[str] = field(default_factory=list)  # not read at all
    nested_git: list[str] = field(default_factory=list)  # ".git" entries, skipped
    leftovers: list[str] = field(default_factory=list)  # dvcish temp files: never data

    @property
    def untrackable(self) -> list[str]:
        return sorted(self.symlinks + self.special + self.unsafe)


@dataclass
class Listing:
    """One folder's direct entries as a scan sorts them, by name (see ``Scan``)."""

    rules: Rules | None  # the ignore rules in force inside this folder
    files: dict[str, FileStat] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)  # subfolders to read
    symlinks: list[str] = field(default_factory=list)
    special: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    ignored_dirs: list[str] = field(default_factory=list)
    nested_git: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)

    @property
    def plain(self) -> bool:
        """Nothing but trackable files and subfolders: nothing skipped, refused or left over."""
        return not (
            self.symlinks
            or self.special
            or self.unsafe
            or self.ignored_files
            or self.ignored_dirs
            or self.nested_git
            or self.leftovers
        )

    def add_to(self, scan: Scan, prefix: str, with_files: bool = True) -> None:
        """Add this folder's entries to ``scan`` under ``prefix`` ("" or "sub/dir/"); without
        ``with_files``, only what a scan leaves out or refuses."""
        if with_files:
            scan.files.update((prefix + name, st) for name, st in self.files.items())
        for mine, theirs in (
            (self.symlinks, scan.symlinks),
            (self.special, scan.special),
            (self.unsafe, scan.unsafe),
            (self.ignored_files, scan.ignored_files),
            (self.ignored_dirs, scan.ignored_dirs),
            (self.nested_git, scan.nested_git),
            (self.leftovers, scan.leftovers),
        ):
            theirs.extend(prefix + name for name in mine)


@dataclass
class Observed:
    """What the workspace holds at one tracked path."""

    kind: str  # ABSENT, FILE, DIR or OTHER
    oid: str | None = None  # FILE: its oid
    scan: Scan | None = None  # DIR: what the folder holds
    oids: dict[str, str] = field(default_factory=dict)  # DIR: folder-relative path -> oid

    def tree_oid(self) -> str:
        """DIR: the oid of the tree these files would make (no validation: scanned names are
        safe; UTF-8 preserves code point order, so sorting str paths sorts their bytes)."""
        assert self.scan is not None
        entries = [
            TreeEntry(rel, self.oids[rel], st.st_size, bool(st.st_mode & statmod.S_IXUSR))
            for rel, st in sorted(self.scan.files.items())
            if rel in self.oids
        ]
        return write_tree(entries, hash_bytes)[0]


@dataclass
class Changes:
    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.deleted)


class WorkspaceReader:
    """Reads tracked data through the stat cache; ``state`` learns every oid it hashes.
    ``ignore`` (the workspace's ``.dvcishignore`` rules) leaves paths out of folder scans."""

    def __init__(
        self,
        state: StateDB,
        cache_root: str,
        progress: Progress | None = None,
        ignore: Ignore | None = None,
    ):
        self.state = state
        self.link_prefix = os.path.join(cache_root, "")
        self.progress = progress
        self.ignore = ignore

    def lstat(self, path: str) -> os.stat_result | FileStat | None:
        """``os.lstat``, except that a symlink into the cache gives the object's stat; None when
        nothing is there."""
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if statmod.S_ISLNK(st.st_mode):
            return self._cache_link_target(path) or st
        return st

    def observe(self, rel: str, path: str) -> Observed:
        """What is at ``path`` (repo-relative ``rel``), hashing only what the stat cache cannot
        vouch for."""
        st = self.lstat(path)
        if st is None:
            return Observed(ABSENT)
        if statmod.S_ISREG(st.st_mode):
            return Observed(FILE, oid=self.file_oid(rel, path, st))
        if statmod.S_ISDIR(st.st_mode):
            scan = self.scan(path, rel)
            return Observed(DIR, scan=scan, oids=self.folder_oids(rel, path, scan.files))
        return Observed(OTHER)

    def include_tracked(self, seen: Observed, rel: str, path: str, tree: Tree) -> None:
        """Put back into ``seen`` the files of ``tree`` that the scan left out as ignored:
        a tracked file stays tracked when a pattern matches it (as in git)."""
        scan = seen.scan
        if scan is None or not (scan.ignored_files or scan.ignored_dirs):
            return
        ignored = set(scan.ignored_files)
        folders = tuple(f"{name}/" for name in scan.ignored_dirs)
        found: dict[str, FileStat] = {}
        for entry in tree.entries:
            if entry.path in scan.files:
                continue
            if entry.path in ignored or entry.path.startswith(folders):
                st = self.lstat(os.path.join(path, entry.path))
                if st is not None and statmod.S_ISREG(st.st_mode):
                    found[entry.path] = file_stat(st)
        if found:
            scan.files.update(found)
            seen.oids.update(self.folder_oids(rel, path, found))

    def file_oid(self, rel: str, path: str, st: os.stat_result | FileStat) -> str:
        oids, unknown = self.known_oids(rel, {"": st})
        if unknown:
            progress = self.progress or Progress()
            if st.st_size >= LARGE_FILE:
                progress.phase(f"hashing {rel}")
                progress.totals(1, st.st_size)
            oid, _ = hash_file(path, progress.bytes)
            self.state.record_file(rel, stat_key(st), oid)
            return oid
        return oids[""]

    def folder_oids(self, rel: str, folder: str, files: dict[str, FileStat]) -> dict[str, str]:
        """The oid of every file (files that vanish meanwhile are left out); what needs hashing
        is reported to ``progress`` as a step of its own."""
        oids, unknown = self.known_oids(rel, files)
        progress = self.progress or Progress()
        if unknown:
            progress.phase(f"hashing {len(unknown):,} files in {rel}")
            progress.totals(len(unknown), sum(files[name].st_size for name in unknown))
        hashed = self.hash_files(rel, folder, files, unknown)
        progress.items(len(hashed))
        oids.update(hashed)
        return oids

    def oids_of(self, rel: str, folder: str, files: dict[str, FileStat]) -> dict[str, str]:
        """The oid of each of one folder's files (repo-relative ``rel``): through the stat
        cache, hashing the rest (files that vanish meanwhile are left out)."""
        oids, unknown = self.known_oids(rel, files, exact=True)
        oids.update(self.hash_files(rel, folder, files, unknown))
        return oids

    def hash_files(
        self, rel: str, folder: str, files: dict[str, FileStat], names: list[str]
    ) -> dict[str, str]:
        """Hash these files of ``folder`` (repo-relative ``rel``) and teach the stat cache
        their oids; files that vanish meanwhile are left out. Bytes read go to ``progress``."""
        progress = self.progress or Progress()
        oids: dict[str, str] = {}
        for name in names:
            try:
                oid, _ = hash_file(os.path.join(folder, name), progress.bytes)
            except FileNotFoundError:
                continue
            oids[name] = oid
            self.state.record_file(f"{rel}/{name}", stat_key(files[name]), oid)
        return oids

    def known_oids(
        self,
        rel: str,
        files: dict[str, FileStat] | dict[str, os.stat_result],
        exact: bool = False,
    ) -> tuple[dict[str, str], list[str]]:
        """Split files into (oids the stat cache vouches for, names that need hashing). The
        records are read for everything below ``rel`` (one query), or, when ``exact``, for
        these files only (a few queries: for one folder of a large tree)."""
        prefix = f"{rel}/"
        if exact:
            records = self.state.file_records([prefix + name for name in files])
        else:
            records = self.state.files_under(rel)
        known: dict[str, str] = {}
        unknown: list[str] = []
        for name, st in files.items():
            record = records.get(prefix + name if name else rel)
            if record is not None and trusted(record, st):
                known[name] = record[3]
            else:
                unknown.append(name)
        return known, unknown

    def scan(self, folder: str, rel: str | None = None) -> Scan:
        """Walk ``folder`` (repo-relative ``rel``) with ``os.scandir``, never following
        symlinks (except into the cache, see the module docstring), leaving out what the
        ignore rules exclude (when the reader has them and ``rel`` is given)."""
        scan = Scan()
        stack: list[tuple[str, str, Rules | None]] = [("", folder, self.rules_for(rel))]
        while stack:
            prefix, path, rules = stack.pop()
            folder_rel = f"{rel}/{prefix[:-1]}" if prefix else rel
            listing = self.list_folder(path, folder_rel, rules, top=not prefix)
            listing.add_to(scan, prefix)
            stack.extend(
                (f"{prefix}{name}/", f"{path}/{name}", listing.rules) for name in listing.folders
            )
        return scan

    def rules_for(self, rel: str | None) -> Rules | None:
        """The ignore rules inside tracked folder ``rel`` (None: the reader has none)."""
        return self.ignore.rules_for(rel) if self.ignore is not None and rel else None

    def list_folder(
        self, path: str, rel: str | None, rules: Rules | None, top: bool = False
    ) -> Listing:
        """One folder's direct entries, sorted the way every scan sorts them. ``rules`` are the
        ignore rules in force in its parent, or, for the ``top`` folder of a scan, in itself
        (``Ignore.rules_for`` read its ignore file already); a subfolder's is added here."""
        with os.scandir(path) as entries_iter:
            entries = list(entries_iter)
        if rules is not None and not top and any(entry.name == IGNORE_FILE for entry in entries):
            rules = rules.child(path, rel or "")
        listing = Listing(rules=rules)
        for entry in entries:
            name = entry.name
            if rules and rules.may_match(name) and self._excluded(listing, rules, rel, entry):
                continue
            self._list_entry(listing, name, entry)
        return listing

    @staticmethod
    def _excluded(listing: Listing, rules: Rules, rel: str | None, entry: os.DirEntry) -> bool:
        is_dir = entry.is_dir(follow_symlinks=False)
        if not rules.excludes(f"{rel}/{entry.name}", entry.name, is_dir):
            return False
        (listing.ignored_dirs if is_dir else listing.ignored_files).append(entry.name)
        return True

    def _list_entry(self, listing: Listing, name: str, entry: os.DirEntry) -> None:
        if name[:1] == "." and name.lower() == ".git":
            listing.nested_git.append(name)  # another repository's metadata: never data
            return
        if entry.is_dir(follow_symlinks=False):
            if name_problem(name) is not None:
                listing.unsafe.append(name)
            else:
                listing.folders.append(name)
            return
        if fsutil.is_temp_name(name):
            listing.leftovers.append(name)  # a dvcish temp file: never data
            return
        st = entry.stat(follow_symlinks=False)
        if statmod.S_ISREG(st.st_mode):
            if name_problem(name) is not None:
                listing.unsafe.append(name)
            else:
                listing.files[name] = FileStat(st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode)
        elif statmod.S_ISLNK(st.st_mode):
            target = self._cache_link_target(entry.path)
            if target is not None:
                listing.files[name] = file_stat(target)
            else:
                listing.symlinks.append(name)
        else:
            listing.special.append(name)

    def _cache_link_target(self, path: str) -> os.stat_result | None:
        target = os.readlink(path)
        if not target.startswith(self.link_prefix):
            return None
        if oid_from_key(target[len(self.link_prefix) :]) is None:
            return None
        try:
            st = os.stat(target)
        except OSError:
            return None
        return st if statmod.S_ISREG(st.st_mode) else None


def reader_for(repo: Repo, progress: Progress | None = None) -> WorkspaceReader:
    """The reader every command uses: the repo's stat cache, cache and ignore rules."""
    return WorkspaceReader(repo.state, repo.cache.root, progress, Ignore(repo.root))


def is_link_to(path: str, object_path: str) -> bool:
    """True when the workspace file at ``path`` *is* the cache object at ``object_path``: a
    hard link to it, or a symlink to it (``cache.type`` hardlink or symlink). Writing into such
    a file writes into the cache."""
    try:
        st = os.lstat(path)
        if statmod.S_ISLNK(st.st_mode):
            return os.readlink(path) == object_path
        target = os.lstat(object_path)
    except OSError:
        return False
    return (st.st_ino, st.st_dev) == (target.st_ino, target.st_dev)


def leftovers_inside(folder: str, scan: Scan | None) -> list[str]:
    """The temp files a scan of a tracked folder found (left by an interrupted run)."""
    return [os.path.join(folder, rel) for rel in scan.leftovers] if scan is not None else []


def leftovers_beside(target: str, folders_done: set[str]) -> list[str]:
    """The temp files beside a target, in its parent folder, where pointer files and file
    targets are written; each folder is listed once per command (``folders_done``)."""
    parent = os.path.dirname(target)
    if parent in folders_done:
        return []
    folders_done.add(parent)
    return fsutil.temp_files_in(parent)


def remove_leftovers(paths: list[str]) -> int:
    """Remove leftover temp files; the caller holds the repo lock, so no running command owns
    them. Returns how many there were."""
    for path in paths:
        fsutil.remove_quietly(path)
    return len(paths)


def require_trackable(scan: Scan, folder_label: str) -> None:
    """Refuse folders holding symlinks, devices or unsafe names, naming the first offender
    (escaped, so the message stays one line whatever the name holds)."""
    not_a_file = "remove it or add files one by one"
    for items, what, advice in (
        (scan.symlinks, "is a symlink; dvcish does not track symlinks inside folders", not_a_file),
        (scan.special, "is not a regular file", not_a_file),
        (scan.unsafe, "", "rename it or move it out of the folder"),
    ):
        if items:
            first = sorted(items)[0]
            more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
            problem = what or name_problem(first.rpartition("/")[2])
            where = f"{printable(folder_label)}/{printable(first)}"
            raise DvcishError(f"{where}: {problem}{more}; {advice}")


def tree_from_files(files: dict[str, FileStat], oids: dict[str, str]) -> Tree:
    return build_tree(
        TreeEntry(rel, oids[rel], st.st_size, bool(st.st_mode & statmod.S_IXUSR))
        for rel, st in files.items()
        if rel in oids
    )


def compare(tree: Tree, files: dict[str, FileStat], oids: dict[str, str]) -> Changes:
    """What the workspace changed relative to ``tree`` (modified includes the executable bit)."""
    changes = Changes()
    expected = tree.by_path()
    for rel in sorted(files):
        entry = expected.get(rel)
        if entry is None:
            changes.added.append(rel)
        elif oids.get(rel) != entry.oid or entry.executable != bool(
            files[rel].st_mode & statmod.S_IXUSR
        ):
            changes.modified.append(rel)
    changes.deleted = sorted(rel for rel in expected if rel not in files)
    return changes
