"""The repository context: root, config, cache, stat cache and lock, resolved once per command."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from dvcish.config import Config
from dvcish.errors import DvcishError
from dvcish.lock import RepoLock
from dvcish.state import StateDB
from dvcish.storage.cache import Cache

DVCISH_DIR = ".dvcish"
CACHE_ENV = "DVCISH_CACHE_DIR"


@dataclass
class Repo:
    root: str
    config: Config
    _cache: Cache | None = field(default=None, repr=False)
    _state: StateDB | None = field(default=None, repr=False)

    @property
    def dvcish_dir(self) -> str:
        return os.path.join(self.root, DVCISH_DIR)

    @property
    def tmp_dir(self) -> str:
        return os.path.join(self.dvcish_dir, "tmp")

    @property
    def has_scm(self) -> bool:
        return os.path.exists(os.path.join(self.root, ".git"))

    @property
    def cache(self) -> Cache:
        if self._cache is None:
            self._cache = Cache(self.cache_dir())
        return self._cache

    @property
    def state(self) -> StateDB:
        if self._state is None:
            os.makedirs(self.tmp_dir, exist_ok=True)
            self._state = StateDB(os.path.join(self.tmp_dir, "state.db"))
        return self._state

    def cache_dir(self) -> str:
        configured = os.environ.get(CACHE_ENV) or self.config.get("cache.dir")
        if not configured:
            return os.path.join(self.dvcish_dir, "cache")
        if not isinstance(configured, str):
            raise DvcishError("cache.dir: expected a folder path")
        return os.path.join(self.dvcish_dir, os.path.expanduser(configured))

    def lock(self) -> RepoLock:
        os.makedirs(self.tmp_dir, exist_ok=True)
        return RepoLock(os.path.join(self.tmp_dir, "lock"), self.config.lock_timeout())

    def relpath(self, path: str) -> str:
        """A repo-relative, "/"-separated path for an absolute path inside the repo."""
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def close(self) -> None:
        if self._state is not None:
            self._state.close()
            self._state = None


def find_root(start: str | None = None) -> str:
    current = os.path.abspath(start or os.getcwd())
    while True:
        if os.path.isdir(os.path.join(current, DVCISH_DIR)):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            raise DvcishError("not inside a dvcish repository; run `dvcish init` first")
        current = parent


def open_repo(start: str | None = None) -> Repo:
    root = find_root(start)
    return Repo(root=root, config=Config.load(os.path.join(root, DVCISH_DIR)))
