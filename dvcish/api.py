"""The Python API: read tracked data of any dvcish repository at any revision, without a checkout.

::

    import dvcish.api

    with dvcish.api.open("data/train.csv", repo="https://host/org/repo.git", rev="v2") as f:
        header = f.readline()
    labels = dvcish.api.read("data/labels.txt", rev="v1")
    url = dvcish.api.get_url("models/model.pt")  # s3://bucket/prefix/ab/cdef... or a file path
    dvcish.api.pull(["data"], repo="/path/to/clone")  # as `dvcish pull data` there

``repo`` is a local repository path or a git URL (None: the repository containing the cwd).
``path`` is relative to that repository's root: tracked data, its pointer, or a file inside a
tracked folder. ``rev`` is any git revision; None reads a local repository's workspace pointers,
or a URL's default branch. ``remote`` names a remote (None: the default one); a local
repository's remotes come from its current config (``config.local`` included), a URL's from its
committed config at ``rev``, with credentials from the environment.

Bytes come from the cache when it holds the object (verified first: hashed, or vouched for by
the stat cache), else from the remote (verified before the first byte is handed out); a local
repository's cache keeps what was downloaded, a URL uses ``$DVCISH_CACHE_DIR`` when set. The
workspace is never written. Everything heavy is imported inside the functions, so
``import dvcish.api`` costs next to nothing.
"""

from __future__ import annotations

import builtins
import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dvcish.commands.sync import PullResult
    from dvcish.config import Config
    from dvcish.failures import TransferSummary
    from dvcish.sources import Location
    from dvcish.state import StateDB
    from dvcish.storage.base import ObjectStore
    from dvcish.storage.cache import Cache

__all__ = ["open", "read", "get_url", "pull", "fetch", "push"]
_MODES = ("rb", "r", "rt")


@dataclass
class _Source:
    """Where a path is looked up and its objects come from."""

    lookup: Callable[[str], Any]  # repo-relative pointer path -> Pointer | None
    where: str
    config: Config
    base_dir: str  # relative folder remotes are resolved here
    remote: str | None
    cache: Cache | None
    trusted: bool  # this machine's own repository: its config may use ${VAR}
    state: StateDB | None = None
    _store: ObjectStore | None = field(default=None, repr=False)

    def store(self) -> ObjectStore:
        if self._store is None:
            from dvcish.remotes import open_configured

            self._store = open_configured(
                self.config, self.remote, self.base_dir, self.where, self.trusted
            )
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


@contextlib.contextmanager
def open(
    path: str,
    repo: str | None = None,
    rev: str | None = None,
    remote: str | None = None,
    mode: str = "rb",
    encoding: str | None = None,
) -> Iterator[IO[Any]]:
    """Open a tracked file for reading, as bytes (``"rb"``) or text (``"r"``, with ``encoding``)."""
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(_MODES)}, not {mode!r}")
    with _source(repo, rev, remote) as source:
        oid = _file_oid(source, path, folder_ok=False)
        handle = _open_object(source, oid)
        try:
            if mode == "rb":
                yield handle
            else:
                import io

                yield io.TextIOWrapper(handle, encoding=encoding)
        finally:
            handle.close()


def read(
    path: str,
    repo: str | None = None,
    rev: str | None = None,
    remote: str | None = None,
    mode: str = "r",
    encoding: str | None = None,
) -> str | bytes:
    """The whole content of a tracked file: str for mode ``"r"``, bytes for ``"rb"``."""
    with open(path, repo=repo, rev=rev, remote=remote, mode=mode, encoding=encoding) as handle:
        return handle.read()


def get_url(
    path: str, repo: str | None = None, rev: str | None = None, remote: str | None = None
) -> str:
    """Where the remote keeps a tracked file: ``s3://bucket/prefix/ab/cdef...`` or a file path.

    For a whole tracked folder this is its tree object (the folder's manifest). Nothing is
    checked on the remote; a file inside a folder needs the folder's tree (cache or remote).
    """
    with _source(repo, rev, remote) as source:
        oid = _file_oid(source, path, folder_ok=True)
        return source.store().url_of(oid)


def pull(
    targets: list[str] | None = None,
    repo: str | None = None,
    remote: str | None = None,
    jobs: int | None = None,
    force: bool = False,
) -> PullResult:
    """``dvcish pull`` in a local repository (default: the one around the cwd): fetch what the
    workspace's pointers (or just ``targets``) need and check it out."""
    from dvcish.commands import sync

    with _locked_repo(repo) as opened:
        result = sync.pull(opened, sync.Request(list(targets or []), remote, jobs), force=force)
    if result.checkout_error is not None:
        raise result.checkout_error
    return result


def fetch(
    targets: list[str] | None = None,
    repo: str | None = None,
    remote: str | None = None,
    jobs: int | None = None,
) -> TransferSummary:
    """``dvcish fetch``: download what the pointers need into the cache only."""
    return _transfer("fetch", targets, repo, remote, jobs)


def push(
    targets: list[str] | None = None,
    repo: str | None = None,
    remote: str | None = None,
    jobs: int | None = None,
) -> TransferSummary:
    """``dvcish push``: upload what the pointers need to the remote."""
    return _transfer("push", targets, repo, remote, jobs)


# --- internals ---------------------------------------------------------------------------------


def _error(message: str) -> Exception:
    from dvcish.errors import DvcishError

    return DvcishError(message)


def _transfer(
    action: str,
    targets: list[str] | None,
    repo: str | None,
    remote: str | None,
    jobs: int | None,
) -> TransferSummary:
    from dvcish.commands import sync

    with _locked_repo(repo) as opened:
        request = sync.Request(list(targets or []), remote, jobs)
        return sync.push(opened, request) if action == "push" else sync.fetch(opened, request)


@contextlib.contextmanager
def _locked_repo(repo: str | None) -> Iterator[Any]:
    """A local repository opened and locked for writing, as a CLI command would."""
    from dvcish.repo import open_repo

    opened = open_repo(repo)
    opened.shown_from = opened.root  # paths in results: repo-relative
    try:
        with opened.lock():
            yield opened
    finally:
        opened.close()


@contextlib.contextmanager
def _source(repo: str | None, rev: str | None, remote: str | None) -> Iterator[_Source]:
    from dvcish.repo import DVCISH_DIR, find_root

    if repo is None:
        root: str | None = find_root()
    else:
        local = os.path.isdir(os.path.join(repo, DVCISH_DIR))
        root = os.path.abspath(repo) if local else None
    if root is not None:
        with _local_source(root, rev, remote) as source:
            yield source
        return
    assert repo is not None
    from dvcish.repo import CACHE_ENV
    from dvcish.sources import open_source
    from dvcish.storage.cache import Cache

    shared = os.environ.get(CACHE_ENV)
    cache = Cache(os.path.expanduser(shared)) if shared else None
    with open_source(repo, rev) as cloned:
        where = cloned.where()
        source = _Source(cloned.lookup, where, cloned.config, cloned.base_dir, remote, cache, False)
        try:
            yield source
        finally:
            source.close()


@contextlib.contextmanager
def _local_source(root: str, rev: str | None, remote: str | None) -> Iterator[_Source]:
    from dvcish.git import Git
    from dvcish.pointer import load_pointer, parse_pointer
    from dvcish.repo import open_repo

    repo = open_repo(root)
    repo.shown_from = repo.root  # paths in results: repo-relative
    git = None
    try:
        if rev is None:

            def lookup(rel: str):
                full = os.path.join(root, rel)
                return load_pointer(full) if os.path.isfile(full) else None

            where = root
        else:
            git = Git(root)
            sha = git.resolve(rev)
            where = f"{root}@{rev}"

            def lookup(rel: str):
                data = git.read_file_at(sha, rel)
                return None if data is None else parse_pointer(data, f"{rel}@{rev}")

        source = _Source(lookup, where, repo.config, root, remote, repo.cache, True, _state(repo))
        try:
            yield source
        finally:
            source.close()
    finally:
        if git is not None:
            git.close()
        repo.close()


def _state(repo) -> StateDB | None:
    """The stat cache when it can be opened (a read-only checkout still works without it)."""
    import sqlite3

    try:
        return repo.state
    except (OSError, sqlite3.Error):
        return None


def _file_oid(source: _Source, path: str, folder_ok: bool) -> str:
    """The oid of the file ``path`` names (or, with folder_ok, of a tracked folder's tree).
    Only the tree levels on the way to the file are read."""
    from dvcish.sources import locate
    from dvcish.tree import entries_below

    location = locate(path, source.lookup, source.where)
    pointer = location.pointer
    if pointer.kind == "file":
        return pointer.oid
    if location.subpath is None:
        if folder_ok:
            return pointer.oid
        raise _error(f"{path}: is a tracked folder in {source.where}; open a file inside it")
    selected = entries_below(_level_reader(source, location), pointer.oid, location.subpath)
    if len(selected) == 1 and selected[0].path == location.subpath:
        return selected[0].oid
    if selected:
        raise _error(f"{path}: is a folder in {source.where}; open a file inside it")
    raise _error(f"{path}: not in the tracked folder {location.data_rel} in {source.where}")


def _level_reader(source: _Source, location: Location):
    """Tree levels through the cache (or the remote), verified before they are parsed."""
    from dvcish.tree import parse_tree

    def read(oid: str):
        with _open_object(source, oid) as handle:
            return parse_tree(handle.read(), f"tree {oid} of {location.data_rel}")

    return read


def _open_object(source: _Source, oid: str) -> IO[bytes]:
    """A binary handle on the object's bytes, verified before it is returned: from the cache
    (a corrupt object is quarantined and downloaded again), else from the remote."""
    from dvcish.state import NullState

    cache = source.cache
    if cache is None:
        return _download_to_temp(source, oid)
    state = source.state if source.state is not None else NullState()
    handle = cache.open_verified(oid, state)
    if handle is None:
        cache.receive(source.store(), oid)
        cache.flush()
        handle = builtins.open(cache.path_of(oid), "rb")
    if source.state is not None:
        source.state.commit()
    return handle


def _download_to_temp(source: _Source, oid: str) -> IO[bytes]:
    """The object through a throwaway cache (verified on the way in), opened for reading; the
    open handle keeps the bytes after the folder is gone."""
    import tempfile

    from dvcish.storage.cache import Cache

    with tempfile.TemporaryDirectory(prefix="dvcish-object-") as folder:
        cache = Cache(folder)
        cache.receive(source.store(), oid)
        cache.flush()
        return builtins.open(cache.path_of(oid), "rb")
