"""Remotes: named stores in a config (``remote.<name>.url`` and options), and opening them.

``remote_settings`` reads a remote's settings from this repository's config (trusted: ``${VAR}``
is expanded) or from another repository's committed config (untrusted: values as written, and
``${VAR}`` refused). ``open_remote`` turns them into a store through storage/factory.py.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from dvcish.config import Config, parse_bool, parse_size
from dvcish.errors import DvcishError, UsageError
from dvcish.repo import Repo
from dvcish.storage.base import ObjectStore
from dvcish.storage.factory import FILE_SCHEME, S3_SCHEME, open_store
from dvcish.storage.local import LocalStore
from dvcish.storage.packed import PackOptions

# "s3:/bucket", "s3:bucket", "file:/x", "https:/host": a word and a colon, then no "//"
_SCHEME_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


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
        raise DvcishError(no_default_message(repo.config))
    settings = require_remote(repo.config, name)
    packing = pack_options(repo.config, name, settings)
    index_cache = os.path.join(repo.tmp_dir, "index")
    store = open_store(name, settings, repo.root, packing, index_cache)
    if isinstance(store.backend, LocalStore):
        check_outside_repo(repo.root, store.backend.root, store.description)
    return store


def no_default_message(config: Config, for_transfer: bool = True) -> str:
    """What to do when no remote is named and none is the default."""
    names = config.remote_names()
    if not names:
        return (
            f"no remote is configured ({config.project.path} names none); add one with "
            "`dvcish remote add -d NAME URL` and commit .dvcish/config"
        )
    given = "no remote given and " if for_transfer else ""
    choose = "use -r NAME or " if for_transfer else "set one with "
    return (
        f"{given}no default remote (known: {', '.join(names)}); "
        f"{choose}`dvcish remote default NAME`"
    )


def check_outside_repo(root: str, folder: str, what: str) -> None:
    """A folder remote inside the repository would put objects into the work tree."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(folder)
    if real == real_root or real.startswith(real_root + os.sep):
        raise DvcishError(
            f"{what} is a folder inside the repository {root}; choose a folder "
            "outside it (a typo such as s3:/bucket for s3://bucket lands here too)"
        )


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


def normalize_url(repo: Repo | None, url: str) -> str:
    """s3:// URLs stay as given; a relative local path is made relative to the repo root.

    Refused: a mistyped scheme (``s3:/bucket`` would otherwise become a folder) and a folder
    inside the repository (its objects would land in the work tree). Outside a repository (the
    user config) a folder must be given as an absolute path.
    """
    if url.startswith(S3_SCHEME):
        if len(url) <= len(S3_SCHEME) or url[len(S3_SCHEME)] == "/":
            raise UsageError(f"bad S3 url {url!r}; use s3://bucket or s3://bucket/prefix")
        return url
    if "://" in url and not url.startswith(FILE_SCHEME):
        raise UsageError(f"unsupported remote url {url!r}; use a folder path, file:// or s3://")
    if _SCHEME_LIKE.match(url) and not url.startswith(FILE_SCHEME):
        raise UsageError(
            f"remote url {url!r} looks like a mistyped scheme; use s3://bucket/prefix, "
            "file:///folder, or ./NAME for a folder whose name has a colon"
        )
    path = url[len(FILE_SCHEME) :] if url.startswith(FILE_SCHEME) else url
    if not path:
        raise UsageError("empty remote url; give a folder path, file:// or s3://")
    if "${" in path:
        return path
    if repo is None:
        if not os.path.isabs(os.path.expanduser(path)):
            raise UsageError(f"remote url {url!r}: use an absolute folder path in the user config")
        return path
    check_outside_repo(repo.root, os.path.abspath(os.path.expanduser(path)), f"remote url {url!r}")
    if os.path.isabs(path) or path.startswith("~"):
        return path
    return os.path.relpath(os.path.abspath(path), repo.root)
