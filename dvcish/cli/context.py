"""The one context object per command: open the repo, hold the lock while writing, close."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from dvcish.cli import output

if TYPE_CHECKING:
    from dvcish.repo import Repo


@contextmanager
def repo_session(write: bool, settings: bool = False) -> Iterator["Repo"]:
    """The repo of the cwd, locked when the command writes. ``settings``: a config or remote
    command, which must work even when a setting such as core.lock_timeout is broken."""
    from dvcish.repo import open_repo

    repo = open_repo()
    try:
        if write:
            with repo.lock(on_wait=_say_waiting, lenient=settings):
                yield repo
        else:
            yield repo
    finally:
        repo.close()


def _say_waiting(holder: str) -> None:
    if not output.current().quiet:
        output.warn(f"waiting for the repository lock, held by {holder}…")
