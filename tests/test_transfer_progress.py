"""push and fetch report progress in objects and in bytes (the CLI's two tqdm bars)."""

from __future__ import annotations

from dvcish import transfer
from dvcish.progress import Progress
from dvcish.repo import open_repo
from dvcish.storage.memory import MemoryStore
from dvcish.targets import all_tracked
from tests import helpers
from tests.helpers import make_dataset

git_repo = helpers.git_repo  # fixture


def test_push_and_fetch_count_objects_and_bytes(git_repo, monkeypatch):
    files = make_dataset(git_repo / "data", 12, seed="progress")
    helpers.cli_ok("add", "data")
    repo = open_repo(str(git_repo))
    store = MemoryStore()
    tracked = all_tracked(repo)
    objects: list[int] = []
    moved: list[int] = []
    summary = transfer.push(repo.cache, store, tracked, 4, Progress(objects.append, moved.append))
    tree_size = len(store.read_verified(tracked[0].pointer.oid))
    assert summary.transferred == len(files) + 1 and not summary.failed
    assert sum(objects) == len(files) + 1
    assert sum(moved) == sum(len(data) for data in files.values()) + tree_size

    for oid in list(repo.cache.list()):
        repo.cache.quarantine(oid)  # empty the cache: everything must come back
    objects.clear()
    moved.clear()
    summary = transfer.fetch(
        repo.cache, store, all_tracked(repo), 4, Progress(objects.append, moved.append)
    )
    assert summary.transferred == len(files) + 1 and not summary.failed  # the tree, then files
    assert sum(objects) == len(files)  # the bars follow the members, read after the tree
    assert sum(moved) == sum(len(data) for data in files.values())
    repo.close()
