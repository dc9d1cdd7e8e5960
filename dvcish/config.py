"""Settings in three files, each a YAML mapping of sections, read lowest first:

- the *user* config ``$XDG_CONFIG_HOME/dvcish/config`` (default ``~/.config/dvcish/config``),
  for one person's defaults in every repository (jobs, a shared cache folder);
- the *repo* config ``.dvcish/config`` (committed);
- the *local* config ``.dvcish/config.local`` (git-ignored, for secrets and this machine).

A later file overrides an earlier one key by key (local over repo over user), and ``${VAR}`` in
any string value is expanded from the environment when the value is read. Keys are dotted:
``cache.type``, ``cache.dir``, ``core.remote``, ``gc.grace``, ``remote.<name>.<key>``. Every
known key is validated when it is written (``check_value``) and again when it is used.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import yaml

from dvcish import fsutil
from dvcish.errors import DvcishError, UsageError
from dvcish.storage import s3_options

CONFIG_NAME = "config"
LOCAL_CONFIG_NAME = "config.local"
USER = "user"
REPO = "repo"
LOCAL = "local"
LEVELS = (USER, REPO, LOCAL)  # lowest precedence first
LINK_TYPES = ("reflink", "hardlink", "symlink", "copy")
DEFAULT_LINK_TYPES = ("reflink", "copy")
SECRET_KEYS = ("secret_access_key", "session_token")
REMOTE_KEYS = (
    "url",
    "endpointurl",
    "region",
    "profile",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "use_ssl",
    "ssl_verify",
    "addressing_style",
    "sse",
    "jobs",
    "connect_timeout",
    "read_timeout",
    "packs",
)
SIMPLE_KEYS = {
    "cache.type": "list of link types",
    "cache.dir": "folder",
    "core.remote": "remote name",
    "core.lock_timeout": "seconds",
    "core.no_scm": "true or false",
    "gc.grace": "duration (30m, 2h, 1d or seconds)",
    "pack.threshold": "bytes",
    "pack.size": "bytes",
}
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"(-?(?:\d+(?:\.\d*)?|\.\d+))\s*([smhdw]?)")  # "-" to say why
_SIZE_RE = re.compile(r"\s*([0-9]+)\s*([KMGT]?)(i?B)?\s*", re.IGNORECASE)
DEFAULT_LOCK_TIMEOUT = 10.0
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class ConfigFile:
    path: str
    data: dict

    @classmethod
    def load(cls, path: str) -> ConfigFile:
        try:
            with open(path, "rb") as handle:
                raw = yaml.safe_load(handle)
        except FileNotFoundError:
            return cls(path, {})
        except yaml.YAMLError:
            raise DvcishError(f"{path}: not valid YAML; fix or restore the file") from None
        if raw is None:
            raw = {}
        if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
            raise DvcishError(f"{path}: expected a mapping of sections; fix or restore the file")
        return cls(path, raw)

    def save(self) -> None:
        text = yaml.safe_dump(self.data, sort_keys=True) if self.data else ""
        os.makedirs(os.path.dirname(self.path), exist_ok=True)  # the user config's folder
        fsutil.atomic_write_bytes(self.path, text.encode())


def user_config_path() -> str:
    """``$XDG_CONFIG_HOME/dvcish/config``, else ``~/.config/dvcish/config``."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "dvcish", CONFIG_NAME)


@dataclass(frozen=True)
class Setting:
    """One effective value and the file it comes from (for ``config -l --show-origin``)."""

    key: str
    value: object
    origin: str


@dataclass
class Config:
    """The merged view of the three files (local over repo over user), with raw access for
    writing. ``project`` is the repo config."""

    project: ConfigFile
    local: ConfigFile
    user: ConfigFile = field(default_factory=lambda: ConfigFile("", {}))

    @classmethod
    def load(cls, dvcish_dir: str, with_user: bool = True) -> Config:
        """A repository's config; ``with_user`` adds this person's user config beneath it."""
        return cls(
            ConfigFile.load(os.path.join(dvcish_dir, CONFIG_NAME)),
            ConfigFile.load(os.path.join(dvcish_dir, LOCAL_CONFIG_NAME)),
            ConfigFile.load(user_config_path()) if with_user else ConfigFile("", {}),
        )

    @classmethod
    def user_only(cls) -> Config:
        """The user config alone (``config --user`` outside any repository)."""
        empty = ConfigFile("", {})
        return cls(empty, ConfigFile("", {}), ConfigFile.load(user_config_path()))

    def files(self) -> list[ConfigFile]:
        """The files, lowest precedence first."""
        return [self.user, self.project, self.local]

    def file(self, level: str) -> ConfigFile:
        return {USER: self.user, REPO: self.project, LOCAL: self.local}[level]

    def get(self, key: str) -> object:
        """The expanded value of a dotted key, or None when unset."""
        for source in reversed(self.files()):
            value = _lookup(source.data, key)
            if value is not None:
                return expand(value)
        return None

    def origin(self, key: str) -> str | None:
        """The path of the file the effective value of ``key`` comes from."""
        for source in reversed(self.files()):
            if _lookup(source.data, key) is not None:
                return source.path
        return None

    def section(self, dotted: str) -> dict:
        """A merged, expanded section such as ``remote.origin``."""
        merged: dict = {}
        for source in self.files():
            found = _lookup(source.data, dotted)
            if isinstance(found, dict):
                merged.update(found)
        return {key: expand(value) for key, value in merged.items()}

    def remote_names(self) -> list[str]:
        names: set[str] = set()
        for source in self.files():
            remotes = source.data.get("remote")
            if isinstance(remotes, dict):
                names.update(str(name) for name in remotes)
        return sorted(names)

    def settings(self) -> list[Setting]:
        """Every effective value (as written, not expanded), sorted by key."""
        found: dict[str, Setting] = {}
        for source in self.files():
            for key, value in _flatten(source.data):
                found[key] = Setting(key, value, source.path)
        return [found[key] for key in sorted(found)]

    def link_types(self) -> list[str]:
        return parse_link_types(self.get("cache.type"), self.label("cache.type"))

    def lock_timeout(self, lenient: bool = False) -> float:
        """``core.lock_timeout``; ``lenient`` falls back to the default on a bad value."""
        key = "core.lock_timeout"
        try:
            return parse_seconds(self.get(key), self.label(key), DEFAULT_LOCK_TIMEOUT)
        except DvcishError:
            if lenient:
                return DEFAULT_LOCK_TIMEOUT
            raise

    def label(self, key: str) -> str:
        """``key`` and where it is set, for messages about a bad value."""
        origin = self.origin(key)
        return f"{key} (set in {origin})" if origin else key


def as_text(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def redacted_text(key: str, value: object) -> str:
    """A value as text for output and logs; secrets (unless a ``${VAR}`` reference) hidden."""
    if key.rsplit(".", 1)[-1] in SECRET_KEYS and "${" not in str(value):
        return "***"
    return as_text(value)


def _flatten(data: dict) -> list[tuple[str, object]]:
    """(dotted key, value) for every leaf; ``remote.<name>.<key>`` keeps the name whole."""
    found = []
    for section, body in data.items():
        if not isinstance(body, dict):
            continue
        for name, value in body.items():
            if section == "remote" and isinstance(value, dict):
                found.extend((f"remote.{name}.{key}", item) for key, item in value.items())
            else:
                found.append((f"{section}.{name}", value))
    return found


def expand(value: object) -> object:
    if isinstance(value, str):
        return _ENV_RE.sub(lambda match: os.environ.get(match.group(1), ""), value)
    if isinstance(value, list):
        return [expand(item) for item in value]
    return value


def parse_link_types(value: object, origin: str) -> list[str]:
    if value is None:
        return list(DEFAULT_LINK_TYPES)
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise DvcishError(f"{origin}: expected a list of {', '.join(LINK_TYPES)}")
    types = [str(item).strip() for item in items]
    for link_type in types:
        if link_type not in LINK_TYPES:
            raise DvcishError(
                f"{origin}: unknown link type {link_type!r}; use any of {', '.join(LINK_TYPES)}"
            )
    return types


def parse_seconds(value: object, origin: str, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise DvcishError(f"{origin}: expected a number of seconds, not {value!r}") from None
    if seconds < 0:
        raise DvcishError(f"{origin}: expected a non-negative number of seconds")
    return seconds


def parse_size(value: object, origin: str, default: int) -> int:
    """A size in bytes: ``4096``, ``512KiB``, ``16M``, ``1GiB`` (K, M, G, T are powers of 1024)."""
    if value is None or value == "":
        return default
    match = _SIZE_RE.fullmatch(str(value))
    if match is None or isinstance(value, bool):
        raise DvcishError(
            f"{origin}: expected a size such as 1048576, 512KiB or 16MiB, not {value!r}"
        )
    power = " KMGT".index(match[2].upper() or " ")
    return int(match[1]) * 1024**power


def parse_bool(value: object, origin: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise DvcishError(f"{origin}: expected true or false, not {value!r}")


def parse_duration(value: object, origin: str, default: float) -> float:
    """Seconds from a duration: a number of seconds, or a number with a unit s, m, h, d or w
    (``90``, ``30m``, ``2h``, ``1.5d``). Negative or malformed values are refused."""
    if value is None or value == "":
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number, unit = float(value), ""
    else:
        match = _DURATION_RE.fullmatch(str(value).strip().lower())
        if match is None:
            raise DvcishError(
                f"{origin}: expected a duration such as 30m, 2h, 1d or a number of seconds, "
                f"not {value!r}"
            )
        number, unit = float(match.group(1)), match.group(2)
    if number < 0:
        raise DvcishError(f"{origin}: expected a non-negative duration, not {value!r}")
    return number * DURATION_UNITS.get(unit, 1)


def split_key(key: str) -> list[str]:
    parts = key.split(".")
    if len(parts) >= 3 and parts[0] == "remote":
        parts = ["remote", ".".join(parts[1:-1]), parts[-1]]
    if any(not part for part in parts):
        raise UsageError(f"bad config key {key!r}; use section.name, e.g. cache.type")
    return parts


def check_key(key: str) -> None:
    """Refuse keys dvcish does not know (typos would otherwise be silently ignored)."""
    if key in SIMPLE_KEYS:
        return
    parts = split_key(key)
    if len(parts) == 3 and parts[0] == "remote" and parts[2] in REMOTE_KEYS:
        return
    known = ", ".join(sorted(SIMPLE_KEYS))
    raise UsageError(f"unknown config key {key!r}; known keys: {known}, remote.<name>.<key>")


def check_value(key: str, value: str) -> object:
    """The value to store for ``key`` (a known key), or one error line saying what is wrong.

    Values that ask for ``${VAR}`` are checked when they are used instead.
    """
    if "${" in value:
        return value
    if key == "cache.type":
        return parse_link_types(value, key)
    if key == "core.lock_timeout":
        parse_seconds(value, key, 0.0)
        return value
    if key == "gc.grace":
        parse_duration(value, key, 0.0)
        return value
    if key == "core.no_scm":
        return parse_bool(value, key, False)
    if key in ("pack.threshold", "pack.size"):
        parse_size(value, key, 0)
        return value
    if key == "core.remote":
        check_remote_name(value)
        return value
    if key == "cache.dir":
        if not value.strip():
            raise DvcishError("cache.dir: expected a folder path")
        return value
    parts = split_key(key)
    if parts[0] == "remote" and parts[2] == "packs":
        return parse_bool(value, f"remote '{parts[1]}': setting 'packs'", True)
    if parts[0] == "remote" and parts[2] != "url":
        s3_options.check_setting(parts[1], parts[2], value)
    return value


def check_remote_name(name: str) -> None:
    if not name or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise UsageError(f"bad remote name {name!r}; use letters, digits, - and _")


def set_value(config_file: ConfigFile, key: str, value: object) -> None:
    parts = split_key(key)
    node = config_file.data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def unset_value(config_file: ConfigFile, key: str) -> bool:
    parts = split_key(key)
    chain = [config_file.data]
    for part in parts[:-1]:
        child = chain[-1].get(part)
        if not isinstance(child, dict):
            return False
        chain.append(child)
    if parts[-1] not in chain[-1]:
        return False
    del chain[-1][parts[-1]]
    for depth in range(len(chain) - 1, 0, -1):
        if not chain[depth]:
            del chain[depth - 1][parts[depth - 1]]
    return True


def _lookup(data: dict, key: str) -> object:
    node: object = data
    for part in split_key(key):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def check_not_secret(key: str, local: bool) -> None:
    last = key.rsplit(".", 1)[-1]
    if not local and last in SECRET_KEYS:
        raise DvcishError(
            f"refusing to write {last} to the committed .dvcish/config; use "
            f"`dvcish remote modify --local NAME {last} VALUE` or the environment instead"
        )
