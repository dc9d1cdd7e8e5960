"""Sources: another dvcish repository read at one commit, and what a PATH names in it.

Nouns: a *source* is a git repository (a URL or a local path) read at one commit through a
shallow clone in a temp folder that is removed afterwards. Its *remote* is the one its committed
``.dvcish/config`` names at that commit (``-r`` or its default); credentials come from the
environment, since a source's ``config.local`` is never in git. A *location* is what a PATH names
in a repo: a pointer, plus a *subpath* when PATH is a file or folder inside a tracked folder; its
*content* is the one file or the folder entries it selects. ``dvcish get``/``import``/``update``
(external.py) and the Python API (api.py) are built on this. Objects are downloaded only when the
cache lacks them, and every object is verified before use. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from dvcish import transfer
from dvcish.config import Config
from dvcish.errors import DvcishError
from dvcish.failures import TransferSummary
from dvcish.git import Git, clone, work_tree_root
from dvcish.pointer import POINTER_SUFFIX, Pointer, Source, parse_pointer, pointer_path_for
from dvcish.progress import Progress
from dvcish.remotes import open_configured, remote_settings
from dvcish.repo import DVCISH_DIR
from dvcish.storage.base import ObjectStore
from dvcish.storage.cache import Cache
from dvcish.targets import Tracked
from dvcish.transfer import default_jobs
from dvcish.tree import (
    Tree,
    TreeEntry,
    build_tree,
    entries_below,
    level_reader,
    path_problem,
    write_tree,
)

_SCP_LIKE = re.compile(r"^[^/]+:")  # git's rule: a colon before the first slash is host:path


@dataclass
class SourceRepo:
    """A source read at one commit; ``root`` is the dvcish project inside a clone that lives as
    long as the context (the clone itself, or a folder of it: ``prefix``)."""

    url: str  # as the user gave it (for messages)
    root: str
    sha: str
    config: Config
    git: Git
    base_dir: str  # where a relative folder remote in the source's config is resolved
    prefix: str = ""  # the project's folder in the git repository, "" or ending in "/"
    given_prefix: str = ""  # the part of the user's PATH that named that folder (URL form)

    def lookup(self, rel: str) -> Pointer | None:
        """The pointer at project-relative ``rel``, or None."""
        data = self.git.read_file_at(self.sha, self.prefix + rel)
        return None if data is None else parse_pointer(data, f"{rel}@{self.sha[:12]}")

    def where(self) -> str:
        return f"{self.url}@{self.sha[:12]}"

    def locate(self, path: str) -> Location:
        """What PATH names: relative to the project, or, for a project in a folder of a git
        URL, to the git repository (``proj/data``)."""
        rel = normalize_path(path)
        if self.given_prefix and (rel + "/").startswith(self.given_prefix):
            rel = rel[len(self.given_prefix) :]
        return locate(rel, self.lookup, self.where())


@dataclass(frozen=True)
class Location:
    """What a PATH names: a pointer (repo-relative) and, inside a tracked folder, a subpath."""

    pointer_rel: str
    pointer: Pointer
    subpath: str | None

    @property
    def data_rel(self) -> str:
        return posixpath.join(posixpath.dirname(self.pointer_rel), self.pointer.path)

    @property
    def name(self) -> str:
        return posixpath.basename(self.subpath or self.data_rel)

    def tracked(self, root: str, rel: str | None = None, label: str | None = None) -> Tracked:
        """The pointer as a Tracked inside the clone at ``root``; printed as ``label`` (default:
        its path in the source)."""
        pointer_file = os.path.join(root, self.pointer_rel)
        target = os.path.join(root, self.data_rel)
        shown = label if label is not None else self.data_rel
        return Tracked(
            pointer_file, self.pointer, target, rel or self.data_rel, self.subpath, shown
        )


@dataclass
class Content:
    """What a location holds once its objects are cached: one file, or a folder's entries."""

    kind: str  # "file" or "dir"
    tree: Tree  # for a file, one entry with path ""


# --- sources, locations, remotes ---------------------------------------------------------------


def is_local_path(url: str) -> bool:
    return "://" not in url and not _SCP_LIKE.match(url)


@dataclass(frozen=True)
class Cloned:
    """A clone of a source and where its dvcish project is in it."""

    sha: str
    prefix: str  # the project's folder in the git repository, "" or ending in "/"
    given_prefix: str  # the part of the user's PATH that named that folder (URL form)


def clone_project(location: str, dest: str, rev: str | None, path: str | None) -> Cloned:
    """Clone the git repository of ``location`` (a URL, or a local folder that may be a folder
    of a git work tree) into ``dest`` at ``rev``; find the project in it (see open_source)."""
    prefix = ""
    if is_local_path(location) and os.path.isdir(location):
        top = work_tree_root(location)
        if top is not None and os.path.realpath(top) != os.path.realpath(location):
            prefix = os.path.relpath(os.path.realpath(location), os.path.realpath(top)) + "/"
            location = top
    sha = clone(location, dest, rev)
    given = "" if prefix else _project_on_path(dest, path)
    return Cloned(sha, prefix or given, given)


@contextlib.contextmanager
def open_source(
    url: str, rev: str | None, base: str | None = None, path: str | None = None
) -> Iterator[SourceRepo]:
    """Shallow-clone ``url`` at ``rev`` into a temp folder; a relative local path is under base.

    The dvcish project may be a folder of the git repository: a local ``url`` may name that
    folder (its git work tree is cloned), and for a git URL the project is the first folder on
    ``path`` that holds ``.dvcish/``.
    """
    location = os.path.join(base, url) if base and is_local_path(url) else url
    local = is_local_path(url) and os.path.isdir(location)
    with tempfile.TemporaryDirectory(prefix="dvcish-source-") as tmp:
        dest = os.path.join(tmp, "repo")
        cloned = clone_project(location, dest, rev, path)
        root = os.path.join(dest, cloned.prefix)
        if not os.path.isdir(os.path.join(root, DVCISH_DIR)):
            raise DvcishError(
                f"{url}@{rev or 'HEAD'} is not a dvcish repository (no .dvcish/); for a project "
                "in a folder of a git repository, start PATH with that folder"
            )
        with Git(dest) as git:
            config = Config.load(os.path.join(root, DVCISH_DIR), with_user=False)
            base_dir = os.path.abspath(location if local else root)
            yield SourceRepo(
                url, root, cloned.sha, config, git, base_dir, cloned.prefix, cloned.given_prefix
            )


def _project_on_path(clone_root: str, path: str | None) -> str:
    """The first folder on ``path`` (git-relative) that holds .dvcish/, as "dir/"; "" if none
    (or when the clone's root is the project)."""
    if os.path.isdir(os.path.join(clone_root, DVCISH_DIR)) or not path:
        return ""
    parts = normalize_path(path).split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        folder = "/".join(parts[:depth])
        if os.path.isdir(os.path.join(clone_root, folder, DVCISH_DIR)):
            return folder + "/"
    return ""


def normalize_path(path: str) -> str:
    """A repo-relative "/" path; refuses absolute paths, "..", and .git/.dvcish parts."""
    rel = posixpath.normpath(path.replace(os.sep, "/")).strip("/") if path else ""
    problem = "absolute path" if path.startswith("/") else path_problem(rel)
    if problem is not None:
        raise DvcishError(f"{path!r}: not a path inside the repository ({problem})")
    return rel


def locate(path: str, lookup: Callable[[str], Pointer | None], where: str) -> Location:
    """The pointer (and subpath) for PATH: the data path, its pointer, or a path inside a folder."""
    rel = normalize_path(path)
    if rel.endswith(POINTER_SUFFIX) and (pointer := lookup(rel)) is not None:
        return Location(rel, pointer, None)
    if (pointer := lookup(pointer_path_for(rel))) is not None:
        return Location(pointer_path_for(rel), pointer, None)
    parent = posixpath.dirname(rel)
    while parent:
        pointer = lookup(pointer_path_for(parent))
        if pointer is not None and pointer.kind == "dir":
            return Location(pointer_path_for(parent), pointer, rel[len(parent) + 1 :])
        parent = posixpath.dirname(parent)
    raise DvcishError(f"{path}: not tracked by dvcish in {where}; check the path and --rev")


def store_jobs(store: ObjectStore, jobs: int | None) -> int:
    """``-j`` when given, else the remote's own ``jobs`` setting, else the default."""
    return jobs or store.preferred_jobs() or default_jobs()


# --- objects -----------------------------------------------------------------------------------


def cached_count(cache: Cache, tracked: Tracked) -> int | None:
    """How many objects the pointer needs (files and tree levels) when the cache holds them
    all, else None."""
    pointer = tracked.pointer
    if pointer.kind == "file":
        return 1 if cache.exists(pointer.oid) else None
    levels: list[str] = []
    read = level_reader(cache)

    def counting(oid: str) -> Tree:
        levels.append(oid)
        return read(oid)

    try:
        selected = entries_below(counting, pointer.oid, tracked.subpath)
    except DvcishError:  # a level missing, or corrupt (now quarantined): fetch again
        return None
    if cache.freshen({entry.oid for entry in selected} | set(levels)):
        return None
    return len(selected) + len(set(levels))


def fetch_location(
    source: SourceRepo,
    cache: Cache,
    tracked: Tracked,
    remote: str | None,
    jobs: int | None,
    progress: Progress | None,
) -> TransferSummary:
    """Bring the objects ``tracked`` (a pointer of the source) needs into ``cache``."""
    where = source.where()
    remote_settings(source.config, remote, where)  # a source without a remote is an error
    present = cached_count(cache, tracked)
    if present is not None:  # a warm cache: no request to the remote at all
        return TransferSummary(present=present)
    os.makedirs(cache.root, exist_ok=True)
    store = open_configured(source.config, remote, source.base_dir, where)
    try:
        pointer, subpath = tracked.pointer, tracked.subpath
        jobs = store_jobs(store, jobs)
        if subpath is not None:  # the levels first, to refuse a subpath before any download
            early = TransferSummary()
            transfer.fetch_levels(cache, store, pointer.oid, subpath, jobs, early)
            if not entries_below(level_reader(cache), pointer.oid, subpath):
                raise DvcishError(
                    f"{tracked.shown_member(subpath)}: not tracked by dvcish in {where}; "
                    "check the path"
                )
        summary = transfer.fetch(cache, store, [tracked], jobs, progress)
        if subpath is not None:  # the levels read above: count them as fetched, not present
            summary.transferred += early.transferred
            summary.present -= early.transferred
        return summary
    finally:
        store.close()


def content_of(cache: Cache, location: Location, origin: str) -> Content:
    """The file or folder a location selects, read from (verified) cache trees."""
    pointer = location.pointer
    if pointer.kind == "file":
        return Content("file", Tree([TreeEntry("", pointer.oid, pointer.size, False)]))
    selected = entries_below(level_reader(cache), pointer.oid, location.subpath)
    if location.subpath is None:
        return Content("dir", Tree(selected))
    if len(selected) == 1 and selected[0].path == location.subpath:
        return Content("file", Tree([selected[0]._replace(path="")]))
    if not selected:
        raise DvcishError(f"{origin}: not in the tracked folder {location.data_rel}")
    cut = len(location.subpath) + 1
    return Content("dir", build_tree(entry._replace(path=entry.path[cut:]) for entry in selected))


def pointer_for(content: Content, cache: Cache, name: str, source: Source) -> Pointer:
    """The import pointer for ``content``; a subfolder's own tree object is added to the cache."""
    if content.kind == "file":
        entry = content.tree.entries[0]
        return Pointer(name, "file", entry.oid, entry.size, source=source)
    writer = cache.writer()
    try:
        oid, _size, _nfiles = write_tree(content.tree.entries, writer.add_bytes)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    nfiles = len(content.tree.entries)
    return Pointer(name, "dir", oid, content.tree.size, nfiles, source)
