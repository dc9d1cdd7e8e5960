"""``dvcish remote add/modify/remove/default``: change the remotes in config or config.local."""

from __future__ import annotations

import os

from dvcish import config as cfg
from dvcish.errors import DvcishError, UsageError
from dvcish.remotes import open_remote, require_remote
from dvcish.repo import Repo
from dvcish.storage.factory import FILE_SCHEME, S3_SCHEME
from dvcish.storage.pack_check import Reindexed, rebuild_index
from dvcish.storage.packed import PackedStore


def add_remote(repo: Repo, name: str, url: str, default: bool, local: bool) -> None:
    _check_name(name)
    if name in repo.config.remote_names():
        raise DvcishError(
            f"remote {name!r} already exists; use `dvcish remote modify` to change it"
        )
    target = repo.config.local if local else repo.config.project
    cfg.set_value(target, f"remote.{name}.url", normalize_url(repo, url))
    if default:
        cfg.set_value(target, "core.remote", name)
    target.save()


def modify_remote(
    repo: Repo, name: str, key: str, value: str | None, local: bool, unset: bool
) -> None:
    require_remote(repo.config, name)
    dotted = f"remote.{name}.{key}"
    cfg.check_key(dotted)
    target = repo.config.local if local else repo.config.project
    if unset:
        if not cfg.unset_value(target, dotted):
            raise DvcishError(f"{target.path}: {dotted} is not set there")
    else:
        if value is None:
            raise UsageError(f"give a value for {key}, or use --unset")
        cfg.check_not_secret(dotted, local)
        if key == "url":
            value = normalize_url(repo, value)
        cfg.set_value(target, dotted, value)
    target.save()


def remove_remote(repo: Repo, name: str) -> None:
    require_remote(repo.config, name)
    for config_file in (repo.config.project, repo.config.local):
        changed = cfg.unset_value(config_file, f"remote.{name}")
        core = config_file.data.get("core")
        if isinstance(core, dict) and core.get("remote") == name:
            cfg.unset_value(config_file, "core.remote")
            changed = True
        if changed:
            config_file.save()


def set_default(repo: Repo, name: str, local: bool) -> None:
    require_remote(repo.config, name)
    target = repo.config.local if local else repo.config.project
    cfg.set_value(target, "core.remote", name)
    target.save()


def normalize_url(repo: Repo, url: str) -> str:
    """s3:// URLs stay as given; a relative local path is made relative to the repo root."""
    if url.startswith(S3_SCHEME):
        if len(url) <= len(S3_SCHEME) or url[len(S3_SCHEME)] == "/":
            raise UsageError(f"bad S3 url {url!r}; use s3://bucket or s3://bucket/prefix")
        return url
    if "://" in url and not url.startswith(FILE_SCHEME):
        raise UsageError(f"unsupported remote url {url!r}; use a folder path, file:// or s3://")
    path = url[len(FILE_SCHEME) :] if url.startswith(FILE_SCHEME) else url
    if os.path.isabs(path) or "${" in path:
        return path
    return os.path.relpath(os.path.abspath(path), repo.root)


def reindex(repo: Repo, name: str | None) -> Reindexed:
    """Rebuild a remote's index from its packs' central directories (``remote reindex``)."""
    store = open_remote(repo, name)
    try:
        assert isinstance(store, PackedStore)
        return rebuild_index(store)
    finally:
        store.close()


def _check_name(name: str) -> None:
    if not name or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise UsageError(f"bad remote name {name!r}; use letters, digits, - and _")
