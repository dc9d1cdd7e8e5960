"""Remotes: named stores in a config (``remote.<name>.url`` and options), and opening them.

``remote_settings`` reads a remote's settings from this repository's config (trusted: ``${VAR}``
is expanded) or from another repository's committed config (untrusted: values as written, and
``${VAR}`` refused). ``open_remote`` turns them into a store through storage/factory.py.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dvcish.config import Config, parse_bool, parse_size
from dvcish.errors import DvcishError
from dvcish.repo import Repo
from dvcish.storage.base import ObjectStore
from dvcish.storage.factory import open_store
from dvcish.storage.packed import PackOptions


@dataclass
class RemoteInfo:
    name: str
    url: str
    is_default: bool


def default_remote(config: Config) -> str | None:
    value = config.get("core.remote")
    return str(value) if value else None


def list_remotes(config: Config) -> list[RemoteInfo]:
    default = default_remote(config)
    return [
        RemoteInfo(name, str(config.section(f"remote.{name}").get("url", "")), name == default)
        for name in config.remote_names()
    ]


def require_remote(config: Config, name: str) -> dict:
    """The merged, expanded settings of a remote of this repository."""
    if name not in config.remote_names():
        known = ", ".join(config.remote_names()) or "none configured"
        raise DvcishError(f"unknown remote {name!r} (known: {known}); see `dvcish remote list`")
    return config.section(f"remote.{name}")


def open_remote(repo: Repo, name: str | None) -> ObjectStore:
    """The store of remote ``name`` (default: ``core.remote``) of this repository, writing packs
    as the config says, keeping downloaded index files in ``.dvcish/tmp/index``."""
    name = name or default_remote(repo.config)
    if not name:
        raise DvcishError(
            "no remote given and no default remote; use -r NAME or `dvcish remote default NAME`"
        )
    settings = require_remote(repo.config, name)
    packing = pack_options(repo.config, name, settings)
    return open_store(name, settings, repo.root, packing, os.path.join(repo.tmp_dir, "index"))


def pack_options(config: Config, name: str, settings: dict) -> PackOptions:
    """``pack.threshold``, ``pack.size`` and the remote's ``packs`` switch."""
    defaults = PackOptions()
    threshold = parse_size(config.get("pack.threshold"), "pack.threshold", defaults.threshold)
    size = parse_size(config.get("pack.size"), "pack.size", defaults.pack_size)
    if not parse_bool(settings.get("packs"), f"remote '{name}': setting 'packs'", True):
        threshold = 0
    return PackOptions(threshold, size, defaults.loose_below)


def remote_settings(
    config: Config, name: str | None, where: str, trusted: bool = False
) -> tuple[str, dict]:
    """The remote's name and settings in a config; one-line errors naming ``where``.

    Another repository's config is untrusted: its values are taken as written, and one that
    asks for ``${VAR}`` is refused, so a source cannot send this machine's environment (its
    secrets included) to an endpoint of the source's choosing.
    """
    name = name or default_remote(config)
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


def open_configured(
    config: Config, name: str | None, base_dir: str, where: str, trusted: bool = False
) -> ObjectStore:
    """The store of remote ``name`` in any repository's config (see ``remote_settings``)."""
    name, settings = remote_settings(config, name, where, trusted)
    return open_store(name, settings, base_dir)
