"""Settings: ``.dvcish/config`` (committed) and ``.dvcish/config.local`` (git-ignored).

Both are YAML mappings of sections; ``config.local`` overrides ``config`` key by key, and
``${VAR}`` in any string value is expanded from the environment when the value is read.
Keys are dotted: ``cache.type``, ``cache.dir``, ``core.remote``, ``gc.grace``,
``remote.<name>.<key>``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import yaml

from dvcish import fsutil
from dvcish.errors import DvcishError, UsageError

CONFIG_NAME = "config"
LOCAL_CONFIG_NAME = "config.local"
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
    "gc.grace": "duration (30m, 2h, 1d or seconds)",
    "pack.threshold": "bytes",
    "pack.size": "bytes",
}
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smhdw]?)")
_SIZE_RE = re.compile(r"\s*([0-9]+)\s*([KMGT]?)(i?B)?\s*", re.IGNORECASE)
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
        fsutil.atomic_write_bytes(self.path, text.encode())


@dataclass
class Config:
    """The merged view of both files (local wins), with raw access for writing."""

    project: ConfigFile
    local: ConfigFile

    @classmethod
    def load(cls, dvcish_dir: str) -> Config:
        return cls(
            ConfigFile.load(os.path.join(dvcish_dir, CONFIG_NAME)),
            ConfigFile.load(os.path.join(dvcish_dir, LOCAL_CONFIG_NAME)),
        )

    def get(self, key: str) -> object:
        """The expanded value of a dotted key, or None when unset."""
        value = _lookup(self.local.data, key)
        if value is None:
            value = _lookup(self.project.data, key)
        return expand(value)

    def section(self, dotted: str) -> dict:
        """A merged, expanded section such as ``remote.origin``."""
        merged: dict = {}
        for source in (self.project.data, self.local.data):
            found = _lookup(source, dotted)
            if isinstance(found, dict):
                merged.update(found)
        return {key: expand(value) for key, value in merged.items()}

    def remote_names(self) -> list[str]:
        names: set[str] = set()
        for source in (self.project.data, self.local.data):
            remotes = source.get("remote")
            if isinstance(remotes, dict):
                names.update(str(name) for name in remotes)
        return sorted(names)

    def link_types(self) -> list[str]:
        return parse_link_types(self.get("cache.type"), "cache.type")

    def lock_timeout(self) -> float:
        return parse_seconds(self.get("core.lock_timeout"), "core.lock_timeout", 10.0)


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


def coerce_value(key: str, value: str) -> object:
    if key == "cache.type":
        return parse_link_types(value, key)
    return value


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
