"""``dvcish config``: pick the mode (read, list, set, unset), open what it needs, print."""

import os
from contextlib import contextmanager

import typer

from dvcish.cli.context import repo_session
from dvcish.errors import UsageError


def run_config(
    key: str | None,
    value: str | None,
    local: bool,
    user: bool,
    unset: bool,
    list_all: bool,
    show_origin: bool,
) -> None:
    from dvcish.commands import settings

    level = settings.check_level_flags(local, user)
    _check_mode(key, value, unset, list_all)
    writes = value is not None or unset
    with _config_session(user, writes) as (repo, config):
        if list_all:
            chosen = level if (local or user) else None
            for item in settings.list_settings(config, chosen):
                where = f"{_origin(item.origin)}\t" if show_origin else ""
                typer.echo(f"{where}{item.key}={item.value}")
        elif unset:
            settings.unset_setting(config, level, key)
        elif value is not None:
            settings.set_setting(repo, config, level, key, value)
        else:
            shown = settings.get_setting(config, key)
            where = f"{_origin(shown.origin)}\t" if show_origin else ""
            typer.echo(f"{where}{shown.value}")


def _check_mode(key, value, unset: bool, list_all: bool) -> None:
    if list_all and (key is not None or unset):
        raise UsageError("-l/--list takes no key and no --unset")
    if not list_all and key is None:
        raise UsageError("give a KEY (e.g. cache.type), or -l to list every setting")
    if unset and value is not None:
        raise UsageError("--unset takes no value")


@contextmanager
def _config_session(user: bool, writes: bool):
    """(repo or None, config): the user config alone needs no repository and no lock."""
    from dvcish.config import Config

    if user:
        yield None, Config.user_only()
        return
    with repo_session(write=writes, settings=True) as repo:
        yield repo, repo.config


def _origin(path: str) -> str:
    """Repo files relative to the cwd; the user config as an absolute path, as git does."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
