"""``dvcish config``: read and write dotted keys in config or config.local."""

from __future__ import annotations

from dvcish import config as cfg
from dvcish.errors import DvcishError, UsageError
from dvcish.repo import Repo


def config_command(repo: Repo, key: str, value: str | None, local: bool, unset: bool) -> str | None:
    """Print (return) a value, or set/unset it. Returns the text to show, if any."""
    cfg.check_key(key)
    target = repo.config.local if local else repo.config.project
    if unset:
        if value is not None:
            raise UsageError("--unset takes no value")
        if not cfg.unset_value(target, key):
            raise DvcishError(f"{target.path}: {key} is not set there")
        target.save()
        return None
    if value is None:
        current = repo.config.get(key)
        if current is None:
            raise DvcishError(f"{key} is not set")
        return ",".join(map(str, current)) if isinstance(current, list) else str(current)
    cfg.check_not_secret(key, local)
    cfg.set_value(target, key, cfg.coerce_value(key, value))
    target.save()
    return None
