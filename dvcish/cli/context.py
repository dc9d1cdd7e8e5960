"""The one context object per command: open the repo, hold the lock while writing, close."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dvcish.repo import Repo, open_repo


@contextmanager
def repo_session(write: bool) -> Iterator[Repo]:
    repo = open_repo()
    try:
        if write:
            with repo.lock():
                yield repo
        else:
            yield repo
    finally:
        repo.close()
