"""``dvcish config``: read, list and write dotted keys in the user, repo or local config."""

from __future__ import annotations

from dataclasses import dataclass

from dvcish import config as cfg
from dvcish.config import Config, Setting
from dvcish.errors import DvcishError, UsageError
from dvcish.remotes import normalize_url
from dvcish.repo import Repo


@dataclass(frozen=True)
class Shown:
    """A value to print and the file it comes from."""

    value: str
    origin: str


def get_setting(config: Config, key: str) -> Shown:
    """The effective value of ``key`` as text, and its file."""
    cfg.check_key(key)
    value = config.get(key)
    if value is None:
        raise DvcishError(f"{key} is not set")
    return Shown(cfg.as_text(value), config.origin(key) or "")


def list_settings(config: Config, level: str | None = None) -> list[Setting]:
    """Every effective value (secrets redacted), or only those written in one file."""
    found = config.settings()
    if level is not None:
        path = config.file(level).path
        found = [item for item in found if item.origin == path]
    return [
        Setting(item.key, cfg.redacted_text(item.key, item.value), item.origin) for item in found
    ]


def set_setting(repo: Repo | None, config: Config, level: str, key: str, value: str) -> None:
    """Validate ``value`` for ``key`` and write it to the file of ``level``."""
    cfg.check_key(key)
    cfg.check_not_secret(key, level != cfg.REPO)
    stored = validated(repo, config, level, key, value)
    target = config.file(level)
    cfg.set_value(target, key, stored)
    target.save()


def unset_setting(config: Config, level: str, key: str) -> None:
    """Remove ``key`` from the file of ``level``; works whatever the file's values hold."""
    cfg.check_key(key)
    target = config.file(level)
    if not cfg.unset_value(target, key):
        elsewhere = config.origin(key)
        hint = f" (it is set in {elsewhere})" if elsewhere else ""
        raise DvcishError(f"{target.path}: {key} is not set there{hint}")
    target.save()


def validated(repo: Repo | None, config: Config, level: str, key: str, value: str) -> object:
    """The value to store: checked for its key (a remote's url is normalized)."""
    parts = cfg.split_key(key)
    if parts[0] == "remote" and parts[2] == "url":
        return normalize_url(repo, value)
    if key == "core.remote" and level != cfg.USER and "${" not in value:
        cfg.check_remote_name(value)
        if value not in config.remote_names():
            known = ", ".join(config.remote_names()) or "none configured"
            raise DvcishError(
                f"core.remote: no remote named {value!r} (known: {known}); add it first with "
                "`dvcish remote add`"
            )
    return cfg.check_value(key, value)


def check_level_flags(local: bool, user: bool) -> str:
    if local and user:
        raise UsageError("--local and --user name different files; pass one of them")
    return cfg.LOCAL if local else cfg.USER if user else cfg.REPO
