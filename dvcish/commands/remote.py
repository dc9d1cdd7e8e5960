"""``dvcish remote add/modify/rename/remove/default``: change the remotes in config or
config.local."""

from __future__ import annotations

from dvcish import config as cfg
from dvcish.commands.settings import validated
from dvcish.errors import DvcishError, UsageError
from dvcish.remotes import normalize_url, open_remote, require_remote
from dvcish.repo import Repo
from dvcish.storage.pack_check import Reindexed, rebuild_index
from dvcish.storage.packed import PackedStore


def _level(local: bool) -> str:
    return cfg.LOCAL if local else cfg.REPO


def add_remote(
    repo: Repo, name: str, url: str, default: bool, local: bool, force: bool = False
) -> None:
    """Add a remote; ``force`` replaces one of the same name in that file (url and options)."""
    cfg.check_remote_name(name)
    target = repo.config.file(_level(local))
    if name in repo.config.remote_names():
        if not force:
            raise DvcishError(
                f"remote {name!r} already exists; use `dvcish remote add -f` to replace it or "
                "`dvcish remote modify` to change it"
            )
        cfg.unset_value(target, f"remote.{name}")
    cfg.set_value(target, f"remote.{name}.url", normalize_url(repo, url))
    if default:
        cfg.set_value(target, "core.remote", name)
    target.save()


def modify_remote(
    repo: Repo, name: str, key: str, value: str | None, local: bool, unset: bool
) -> None:
    """Set or unset one option; ``--unset`` works whatever the files' values hold."""
    if name not in repo.config.remote_names():
        require_remote(repo.config, name)
    dotted = f"remote.{name}.{key}"
    cfg.check_key(dotted)
    target = repo.config.file(_level(local))
    if unset:
        if value is not None:
            raise UsageError("--unset takes no value")
        if not cfg.unset_value(target, dotted):
            raise DvcishError(f"{target.path}: {dotted} is not set there")
    else:
        if value is None:
            raise UsageError(f"give a value for {key}, or use --unset")
        cfg.check_not_secret(dotted, local)
        cfg.set_value(target, dotted, validated(repo, repo.config, _level(local), dotted, value))
    target.save()


def rename_remote(repo: Repo, old: str, new: str) -> None:
    """Rename a remote in every repo config file that has it, and the default that names it."""
    require_remote(repo.config, old)
    cfg.check_remote_name(new)
    if new in repo.config.remote_names():
        raise DvcishError(f"remote {new!r} already exists; remove it first or pick another name")
    files = (repo.config.project, repo.config.local)
    if not any(isinstance((f.data.get("remote") or {}).get(old), dict) for f in files):
        raise DvcishError(
            f"remote {old!r} is defined in {repo.config.user.path}, not in this repository; "
            "edit that file to rename it"
        )
    for config_file in files:
        remotes = config_file.data.get("remote")
        changed = False
        if isinstance(remotes, dict) and old in remotes:
            remotes[new] = remotes.pop(old)
            changed = True
        core = config_file.data.get("core")
        if isinstance(core, dict) and core.get("remote") == old:
            core["remote"] = new
            changed = True
        if changed:
            config_file.save()


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
    target = repo.config.file(_level(local))
    cfg.set_value(target, "core.remote", name)
    target.save()


def unset_default(repo: Repo, local: bool) -> None:
    target = repo.config.file(_level(local))
    if not cfg.unset_value(target, "core.remote"):
        raise DvcishError(f"{target.path}: no default remote is set there")
    target.save()


def reindex(repo: Repo, name: str | None) -> Reindexed:
    """Rebuild a remote's index from its packs' central directories (``remote reindex``)."""
    store = open_remote(repo, name)
    try:
        assert isinstance(store, PackedStore)
        return rebuild_index(store)
    finally:
        store.close()
