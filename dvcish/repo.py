"""The repository context: root, config, cache, stat cache and lock, resolved once per command."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from dvcish.config import Config, parse_bool, redacted_text
from dvcish.errors import DvcishError
from dvcish.fsutil import display_path
from dvcish.lock import RepoLock
from dvcish.state import StateDB
from dvcish.storage.cache import Cache

log = logging.getLogger(__name__)

DVCISH_DIR = ".dvcish"
CACHE_ENV = "DVCISH_CACHE_DIR"


@dataclass
class Repo:
    root: str
    config: Config
    # Paths in results and messages are relative to this folder; None: the current folder
    # (the CLI, as git prints paths). The Python API uses the repository root.
    shown_from: str | None = None
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
        return not self.no_scm and os.path.exists(os.path.join(self.root, ".git"))

    @property
    def no_scm(self) -> bool:
        """``core.no_scm``: a repository without git (no .gitignore lines, no git hints)."""
        value = self.config.get("core.no_scm")
        return parse_bool(value, self.config.label("core.no_scm"), False)

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

    def lock(self, on_wait: Callable[[str], None] | None = None, lenient: bool = False) -> RepoLock:
        """The repo lock. ``lenient`` (commands that fix settings) waits the default time when
        ``core.lock_timeout`` holds a bad value instead of refusing to start."""
        os.makedirs(self.tmp_dir, exist_ok=True)
        timeout = self.config.lock_timeout(lenient)
        return RepoLock(os.path.join(self.tmp_dir, "lock"), timeout, on_wait=on_wait)

    def relpath(self, path: str) -> str:
        """A repo-relative, "/"-separated path for an absolute path inside the repo."""
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    def shown(self, rel: str) -> str:
        """A repo-relative path as printed: relative to ``shown_from`` (default: the cwd)."""
        return display_path(os.path.join(self.root, rel), self.shown_from)

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
    config = Config.load(os.path.join(root, DVCISH_DIR))
    if log.isEnabledFor(logging.DEBUG):
        log.debug("repository %s", root)
        for setting in config.settings():
            shown = redacted_text(setting.key, setting.value)
            log.debug("config %s = %s (from %s)", setting.key, shown, setting.origin)
    return Repo(root=root, config=config)
