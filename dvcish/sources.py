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

from dvcish.cache import Cache
from dvcish.config import Config
from dvcish.errors import DvcishError
from dvcish.git import Git, clone
from dvcish.hashing import hash_bytes
from dvcish.pointer import POINTER_SUFFIX, Pointer, Source, parse_pointer, pointer_path_for
from dvcish.repo import DVCISH_DIR, Repo
from dvcish.storage.base import ObjectStore
from dvcish.targets import Tracked
from dvcish.transfer import ObjectProgress, TransferSummary, default_jobs, members
from dvcish.tree import Tree, TreeEntry, build_tree, encode_tree, path_problem

_SCP_LIKE = re.compile(r"^[^/]+:")  # git's rule: a colon before the first slash is host:path


@dataclass
class SourceRepo:
    """A source read at one commit; ``root`` is a clone that lives as long as the context."""

    url: str  # as the user gave it (for messages)
    root: str
    sha: str
    config: Config
    git: Git
    base_dir: str  # where a relative folder remote in the source's config is resolved

    def lookup(self, rel: str) -> Pointer | None:
        data = self.git.read_file_at(self.sha, rel)
        return None if data is None else parse_pointer(data, f"{rel}@{self.sha[:12]}")

    def where(self) -> str:
        return f"{self.url}@{self.sha[:12]}"


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

    def tracked(self, root: str, rel: str | None = None) -> Tracked:
        pointer_file = os.path.join(root, self.pointer_rel)
        target = os.path.join(root, self.data_rel)
        return Tracked(pointer_file, self.pointer, target, rel or self.data_rel, self.subpath)


@dataclass
class Content:
    """What a location holds once its objects are cached: one file, or a folder's entries."""

    kind: str  # "file" or "dir"
    tree: Tree  # for a file, one entry with path ""


# --- sources, locations, remotes ---------------------------------------------------------------


def is_local_path(url: str) -> bool:
    return "://" not in url and not _SCP_LIKE.match(url)


@contextlib.contextmanager
def open_source(url: str, rev: str | None, base: str | None = None) -> Iterator[SourceRepo]:
    """Shallow-clone ``url`` at ``rev`` into a temp folder; a relative local path is under base."""
    location = os.path.join(base, url) if base and is_local_path(url) else url
    with tempfile.TemporaryDirectory(prefix="dvcish-source-") as tmp:
        dest = os.path.join(tmp, "repo")
        sha = clone(location, dest, rev)
        if not os.path.isdir(os.path.join(dest, DVCISH_DIR)):
            raise DvcishError(f"{url}@{rev or 'HEAD'} is not a dvcish repository (no .dvcish/)")
        local = os.path.isdir(location) if is_local_path(url) else False
        with Git(dest) as git:
            config = Config.load(os.path.join(dest, DVCISH_DIR))
            yield SourceRepo(
                url, dest, sha, config, git, os.path.abspath(location if local else dest)
            )


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


def remote_settings(
    config: Config, name: str | None, where: str, trusted: bool = False
) -> tuple[str, dict]:
    """The remote's name and settings in a config; one-line errors naming ``where``.

    Another repository's config is untrusted: its values are taken as written, and one that
    asks for ``${VAR}`` is refused, so a source cannot send this machine's environment (its
    secrets included) to an endpoint of the source's choosing.
    """
    name = name or (str(config.get("core.remote") or "") or None)
    if name is None:
        raise DvcishError(f"{where} has no default remote (core.remote); pass -r NAME")
    if name not in config.remote_names():
        known = ", ".join(config.remote_names()) or "none configured"
        raise DvcishError(f"{where}: unknown remote {name!r} (known: {known})")
    if trusted:
        return name, config.section(f"remote.{name}")
    settings: dict = {}
    for data in (config.project.data, config.local.data):
        found = (data.get("remote") or {}).get(name)
        settings.update(found if isinstance(found, dict) else {})
    for key, value in settings.items():
        if isinstance(value, str) and "${" in value:
            raise DvcishError(
                f"{where}: remote {name!r} setting {key!r} asks for an environment variable; "
                "dvcish does not expand ${VAR} in another repository's config"
            )
    return name, settings


def open_store(
    config: Config, name: str | None, base_dir: str, where: str, trusted: bool = False
) -> ObjectStore:
    from dvcish.remotes import store_for_url

    name, settings = remote_settings(config, name, where, trusted)
    return store_for_url(settings, name, base_dir)


def store_jobs(store: ObjectStore, jobs: int | None) -> int:
    configured = getattr(getattr(store, "options", None), "jobs", None)
    return jobs or (int(configured) if configured else default_jobs())


def source_view(source: SourceRepo, cache: Cache) -> Repo:
    """The source clone as a Repo whose cache is ours, for transfer.fetch."""
    return Repo(root=source.root, config=source.config, _cache=cache)


# --- objects -----------------------------------------------------------------------------------


def cached_count(cache: Cache, tracked: Tracked) -> int | None:
    """How many objects the pointer needs when the cache holds them all, else None."""
    pointer = tracked.pointer
    if pointer.kind == "file":
        return 1 if cache.exists(pointer.oid) else None
    if not cache.exists(pointer.oid):
        return None
    try:
        selected = members(cache.load_tree(pointer.oid), tracked.subpath)
    except DvcishError:  # corrupt (now quarantined) or invalid: fetch it again
        return None
    if cache.missing({entry.oid for entry in selected}):
        return None
    return len(selected) + 1


def fetch_location(
    source: SourceRepo,
    cache: Cache,
    tracked: Tracked,
    remote: str | None,
    jobs: int | None,
    progress: ObjectProgress | None,
) -> TransferSummary:
    """Bring the objects ``tracked`` (a pointer of the source) needs into ``cache``."""
    from dvcish import transfer

    where = source.where()
    remote_settings(source.config, remote, where)  # a source without a remote is an error
    present = cached_count(cache, tracked)
    if present is not None:  # a warm cache: no request to the remote at all
        return TransferSummary(present=present)
    os.makedirs(cache.root, exist_ok=True)
    store = open_store(source.config, remote, source.base_dir, where)
    try:
        pointer, subpath = tracked.pointer, tracked.subpath
        early = subpath is not None and not cache.exists(pointer.oid)
        if early:  # the tree first, to refuse a subpath it does not hold before any download
            transfer.download_verified(cache, store, pointer.oid)
        if subpath is not None and not members(cache.load_tree(pointer.oid), subpath):
            raise DvcishError(
                f"{tracked.rel}/{subpath}: not tracked by dvcish in {where}; check the path"
            )
        view = source_view(source, cache)
        summary = transfer.fetch(view, store, [tracked], store_jobs(store, jobs), progress)
        if early:
            summary.transferred, summary.present = summary.transferred + 1, summary.present - 1
        return summary
    finally:
        store.close()


def content_of(cache: Cache, location: Location, origin: str) -> Content:
    """The file or folder a location selects, read from (verified) cache trees."""
    pointer = location.pointer
    if pointer.kind == "file":
        return Content("file", Tree([TreeEntry("", pointer.oid, pointer.size, False)]))
    tree = cache.load_tree(pointer.oid)
    if location.subpath is None:
        return Content("dir", tree)
    selected = members(tree, location.subpath)
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
    data = encode_tree(content.tree)
    os.makedirs(os.path.join(cache.root, hash_bytes(data)[:2]), exist_ok=True)  # a fresh cache
    writer = cache.writer()
    try:
        oid = writer.add_bytes(data)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    nfiles = len(content.tree.entries)
    return Pointer(name, "dir", oid, content.tree.size, nfiles, source)
