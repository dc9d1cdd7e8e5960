"""``dvcish ls``: list the tracked data of this repository or another one, at any revision.

A *location* is this repo (its workspace's pointers, or those at ``--rev``) or another repo named
by a URL: a local path or anything ``git clone`` accepts. Another repo is cloned shallowly into a
temporary folder that is removed afterwards. Listing files inside tracked folders needs their
tree objects: from the local cache (for another local repo: its own cache), else from the
default remote configured in that repo's ``.dvcish/config`` at the listed revision. Only the
tree object is downloaded, into memory, and it is verified against its oid before use.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace

import yaml

from dvcish import history
from dvcish.config import Config, ConfigFile
from dvcish.errors import CorruptObjectError, DvcishError, ObjectNotFoundError
from dvcish.git import Git
from dvcish.pointer import Pointer
from dvcish.remotes import open_configured
from dvcish.repo import DVCISH_DIR, Repo, find_root
from dvcish.sources import clone_project
from dvcish.storage.base import ObjectStore
from dvcish.storage.local import LocalStore
from dvcish.targets import all_tracked
from dvcish.tree import Tree, load_tree

TreeReader = Callable[[str, str], Tree]  # (data path, tree oid) -> tree


@dataclass
class Entry:
    path: str  # this repo: as printed (relative to the cwd); another: relative to its root
    kind: str  # "file" or "dir"
    size: int
    oid: str
    nfiles: int | None = None  # dirs only

    def to_dict(self) -> dict:
        data: dict = {"path": self.path, "kind": self.kind, "size": self.size, "oid": self.oid}
        if self.nfiles is not None:
            data["nfiles"] = self.nfiles
        return data


def is_other_repo(arg: str, cwd: str | None = None) -> bool:
    """True when an ``ls`` argument names another repository rather than a path in this one.

    URLs (``scheme://``, ``user@host:path``) and local folders holding ``.git`` do, unless the
    folder is the dvcish repo we are in.
    """
    if "://" in arg or ("@" in arg and ":" in arg.split("/", 1)[0]):
        return True
    holds = (os.path.lexists(os.path.join(arg, name)) for name in (".git", DVCISH_DIR))
    if not any(holds):
        return False
    try:
        here = find_root(cwd)
    except DvcishError:
        return True
    return os.path.realpath(arg) != os.path.realpath(here)


def ls_here(repo: Repo, path: str | None, rev: str | None, recursive: bool) -> list[Entry]:
    """This repo: the workspace's pointers, or those at ``rev``; ``path`` is cwd-relative."""
    rel = history.target_rel(repo, path) if path else ""
    if rev is None:
        pointers = {t.rel: t.pointer for t in all_tracked(repo)}
        where = "the workspace"
    else:
        with Git(repo.root) as git:
            at_rev = history.pointers_at(repo, git, rev)
        pointers = _by_data_path(at_rev, rev)
        where = rev
    remote = _RemoteTrees(repo.config, repo.root)
    try:
        entries = _list(pointers, rel, recursive, _tree_reader([repo.cache], remote), where)
    finally:
        remote.close()
    return [replace(entry, path=repo.shown(entry.path)) for entry in entries]


def ls_url(
    url: str, path: str | None, rev: str | None, recursive: bool, tmp_parent: str | None = None
) -> list[Entry]:
    """Another repo: clone it shallowly at ``rev`` (default branch), list, remove the clone."""
    rel = (path or "").replace(os.sep, "/").strip("/")
    if rel.endswith(".dvcish"):
        rel = rel[: -len(".dvcish")]
    holder = tempfile.mkdtemp(prefix="dvcish-ls-", dir=tmp_parent)
    try:
        dest = os.path.join(holder, "repo")
        cloned = clone_project(url, dest, rev, rel)
        prefix = cloned.prefix
        if cloned.given_prefix and (rel + "/").startswith(cloned.given_prefix):
            rel = rel[len(cloned.given_prefix) :]
        with Git(dest) as git:
            found = git.pointers_at("HEAD")
            inside = {p[len(prefix) :]: ptr for p, ptr in found.items() if p.startswith(prefix)}
            pointers = _by_data_path(inside, rev or "HEAD")
            config_path = f"{prefix}{DVCISH_DIR}/config"
            raw_config = git.read_file_at("HEAD", config_path) if recursive else None
        local = os.path.isdir(url)
        other = _other_cache(url) if local else None
        config = _config_from_bytes(raw_config, f"{url}: {DVCISH_DIR}/config")
        remote = _RemoteTrees(config, url if local else os.path.join(dest, prefix))
        try:
            reader = _tree_reader([other] if other is not None else [], remote)
            return _list(pointers, rel, recursive, reader, f"{url} at {rev or 'HEAD'}")
        finally:
            remote.close()
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def _by_data_path(pointers: dict[str, Pointer], rev: str) -> dict[str, Pointer]:
    return {history.data_rel(p, pointer, f"{p}@{rev}"): pointer for p, pointer in pointers.items()}


def _list(
    pointers: dict[str, Pointer], rel: str, recursive: bool, read_tree: TreeReader, where: str
) -> list[Entry]:
    entries: list[Entry] = []
    for data_path in sorted(pointers):
        pointer = pointers[data_path]
        if history.covers(rel, data_path):
            if recursive and pointer.kind == "dir":
                entries.extend(_files(data_path, read_tree(data_path, pointer.oid), ""))
            else:
                entries.append(
                    Entry(data_path, pointer.kind, pointer.size, pointer.oid, pointer.nfiles)
                )
        elif pointer.kind == "dir" and rel.startswith(data_path + "/"):
            inside = rel[len(data_path) + 1 :]
            entries.extend(_files(data_path, read_tree(data_path, pointer.oid), inside))
    if rel and not entries:
        raise DvcishError(f"{rel}: no tracked data there in {where}; see `dvcish ls` for what is")
    return entries


def _files(data_path: str, tree: Tree, inside: str) -> list[Entry]:
    return [
        Entry(f"{data_path}/{entry.path}", "file", entry.size, entry.oid)
        for entry in tree.entries
        if history.covers(inside, entry.path)
    ]


def _tree_reader(caches: list[ObjectStore], remote: _RemoteTrees) -> TreeReader:
    """Read trees from the first cache holding them intact, else from the remote."""

    def read(data_path: str, oid: str) -> Tree:
        for cache in caches:
            try:
                return load_tree(cache, oid)
            except (ObjectNotFoundError, CorruptObjectError):
                continue
        return remote.read(data_path, oid)

    return read


class _RemoteTrees:
    """Tree objects from a repo's default remote, opened on first use."""

    def __init__(self, config: Config, base_dir: str):
        self.config = config
        self.base_dir = base_dir
        self.store: ObjectStore | None = None

    def read(self, data_path: str, oid: str) -> Tree:
        store = self._open(data_path, oid)
        try:
            return load_tree(store, oid)
        except ObjectNotFoundError:
            raise DvcishError(
                f"{data_path}: tree {oid} is neither in a cache nor on {store.description}; "
                "push it from a clone that has it"
            ) from None
        except CorruptObjectError as exc:
            raise DvcishError(
                f"{store.description}: tree {oid} of {data_path} is corrupt (content hashes to "
                f"{exc.actual}); push it again from a good copy"
            ) from None

    def _open(self, data_path: str, oid: str) -> ObjectStore:
        if self.store is None:
            if not self.config.get("core.remote"):
                raise DvcishError(
                    f"{data_path}: tree {oid} is not in the cache and no default remote is "
                    "configured; run `dvcish fetch` or set `core.remote`"
                )
            self.store = open_configured(self.config, None, self.base_dir, data_path, True)
        return self.store

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def _other_cache(url: str) -> ObjectStore | None:
    """The cache of another local dvcish repo, as a plain store: read, never changed."""
    dvcish_dir = os.path.join(url, DVCISH_DIR)
    if not os.path.isdir(dvcish_dir):
        return None
    try:
        root = Repo(os.path.abspath(url), Config.load(dvcish_dir)).cache_dir()
    except DvcishError:
        return None
    return LocalStore(root, f"cache of {url}")


def _config_from_bytes(data: bytes | None, origin: str) -> Config:
    raw: object = {}
    if data:
        try:
            raw = yaml.safe_load(data) or {}
        except yaml.YAMLError:
            raise DvcishError(f"{origin}: not valid YAML; cannot find its remote") from None
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise DvcishError(f"{origin}: expected a mapping of sections; cannot find its remote")
    return Config(ConfigFile(origin, raw), ConfigFile(origin, {}))
