"""Remotes: named stores in the config (``remote.<name>.url`` and options) and opening them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from dvcish import config as cfg
from dvcish.errors import DvcishError, UsageError
from dvcish.repo import Repo
from dvcish.settings import check_not_secret
from dvcish.storage.base import ObjectStore
from dvcish.storage.local import LocalStore


@dataclass
class RemoteInfo:
    name: str
    url: str
    is_default: bool


def default_remote(repo: Repo) -> str | None:
    value = repo.config.get("core.remote")
    return str(value) if value else None


def list_remotes(repo: Repo) -> list[RemoteInfo]:
    default = default_remote(repo)
    return [
        RemoteInfo(name, str(repo.config.section(f"remote.{name}").get("url", "")), name == default)
        for name in repo.config.remote_names()
    ]


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
    _require_remote(repo, name)
    dotted = f"remote.{name}.{key}"
    cfg.check_key(dotted)
    target = repo.config.local if local else repo.config.project
    if unset:
        if not cfg.unset_value(target, dotted):
            raise DvcishError(f"{target.path}: {dotted} is not set there")
    else:
        if value is None:
            raise UsageError(f"give a value for {key}, or use --unset")
        check_not_secret(dotted, local)
        if key == "url":
            value = normalize_url(repo, value)
        cfg.set_value(target, dotted, value)
    target.save()


def remove_remote(repo: Repo, name: str) -> None:
    _require_remote(repo, name)
    for config_file in (repo.config.project, repo.config.local):
        changed = cfg.unset_value(config_file, f"remote.{name}")
        core = config_file.data.get("core")
        if isinstance(core, dict) and core.get("remote") == name:
            cfg.unset_value(config_file, "core.remote")
            changed = True
        if changed:
            config_file.save()


def set_default(repo: Repo, name: str, local: bool) -> None:
    _require_remote(repo, name)
    target = repo.config.local if local else repo.config.project
    cfg.set_value(target, "core.remote", name)
    target.save()


def normalize_url(repo: Repo, url: str) -> str:
    """s3:// URLs stay as given; a relative local path is made relative to the repo root."""
    if url.startswith("s3://"):
        if len(url) <= len("s3://") or url[len("s3://")] == "/":
            raise UsageError(f"bad S3 url {url!r}; use s3://bucket or s3://bucket/prefix")
        return url
    if "://" in url and not url.startswith("file://"):
        raise UsageError(f"unsupported remote url {url!r}; use a folder path, file:// or s3://")
    path = url[len("file://") :] if url.startswith("file://") else url
    if os.path.isabs(path) or "${" in path:
        return path
    return os.path.relpath(os.path.abspath(path), repo.root)


def open_remote(repo: Repo, name: str | None) -> ObjectStore:
    name = name or default_remote(repo)
    if not name:
        raise DvcishError(
            "no remote given and no default remote; use -r NAME or `dvcish remote default NAME`"
        )
    settings = _require_remote(repo, name)
    return store_for_url(settings, name, repo.root)


def store_for_url(settings: dict, name: str, base_dir: str) -> ObjectStore:
    url = str(settings.get("url") or "")
    if not url:
        raise DvcishError(f"remote {name!r} has no url; run `dvcish remote modify {name} url URL`")
    description = f"remote {name!r} ({url})"
    if url.startswith("s3://"):
        from dvcish.storage.s3 import S3Options, S3Store

        return S3Store(url, S3Options.from_config(settings, name), description)
    path = url[len("file://") :] if url.startswith("file://") else url
    return LocalStore(os.path.join(base_dir, os.path.expanduser(path)), description)


def _require_remote(repo: Repo, name: str) -> dict:
    if name not in repo.config.remote_names():
        known = ", ".join(repo.config.remote_names()) or "none configured"
        raise DvcishError(f"unknown remote {name!r} (known: {known}); see `dvcish remote list`")
    return repo.config.section(f"remote.{name}")


def _check_name(name: str) -> None:
    if not name or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise UsageError(f"bad remote name {name!r}; use letters, digits, - and _")
