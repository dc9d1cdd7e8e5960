"""The one context object per command: open the repo, hold the lock while writing, close."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dvcish.repo import Repo


@contextmanager
def repo_session(write: bool) -> Iterator["Repo"]:
    from dvcish.repo import open_repo

    repo = open_repo()
    try:
        if write:
            with repo.lock():
                yield repo
        else:
            yield repo
    finally:
        repo.close()
