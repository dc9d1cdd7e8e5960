"""Two repositories share one cache (``DVCISH_CACHE_DIR``): gc in one never deletes what the
other is reusing right now, because reuse freshens an object's mtime and gc checks each
object's age again just before deleting it."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from dvcish.commands import gc
from dvcish.hashing import hash_bytes
from dvcish.history import Selection
from dvcish.repo import open_repo
from tests.helpers import cli_ok, git, git_env, git_init, write_files  # noqa: F401

GRACE = 1.0
V1 = {"a.txt": b"alpha v1", "b.txt": b"bravo v1"}
V2 = {"a.txt": b"alpha v2", "b.txt": b"bravo v2"}


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git_env: None):  # noqa: F811
    cache = tmp_path / "shared-cache"
    monkeypatch.setenv("DVCISH_CACHE_DIR", str(cache))
    repos = []
    for name in ("one", "two"):
        root = git_init(tmp_path / name)
        cli_ok("init", cwd=root)
        cli_ok("config", "gc.grace", str(GRACE), cwd=root)
        repos.append(root)
    return cache, repos


def old_enough() -> None:
    time.sleep(GRACE + 0.2)


def v1_objects(cache: Path) -> list[Path]:
    return [cache / hash_bytes(data)[:2] / hash_bytes(data)[2:] for data in V1.values()]


def test_gc_in_one_repo_spares_what_the_other_re_adds(shared):
    cache, (one, two) = shared
    write_files(one / "data", V1)
    cli_ok("add", "data", cwd=one)
    write_files(one / "data", V2)
    cli_ok("add", "data", cwd=one)  # v1's objects are now referenced by nothing
    old_enough()

    repo_two = open_repo(str(two))
    with repo_two.lock():
        planned = gc.plan(repo_two, Selection(workspace=True))
        assert {path.name for path in v1_objects(cache)} <= {o[2:] for o in planned.objects}
        # meanwhile repo one goes back to v1: every object is already in the shared cache
        shutil.rmtree(one / "data")
        write_files(one / "data", V1)
        out = cli_ok("add", "data", cwd=one)
        assert "2 files" in out
        done = gc.apply(repo_two, planned)
    repo_two.close()

    assert all(path.exists() for path in v1_objects(cache)), "gc deleted objects in use"
    assert done.young >= len(V1)
    assert "0 problems" in cli_ok("fsck", cwd=one)


def test_without_reuse_the_same_objects_would_go(shared):
    """The control: nothing reuses v1, so the same plan deletes its objects."""
    cache, (one, two) = shared
    write_files(one / "data", V1)
    cli_ok("add", "data", cwd=one)
    write_files(one / "data", V2)
    cli_ok("add", "data", cwd=one)
    old_enough()
    repo_two = open_repo(str(two))
    with repo_two.lock():
        gc.apply(repo_two, gc.plan(repo_two, Selection(workspace=True)))
    repo_two.close()
    assert not any(path.exists() for path in v1_objects(cache))


def test_fetch_freshens_objects_it_finds_in_the_shared_cache(shared, tmp_path):
    cache, (one, _two) = shared
    write_files(one / "data", V1)
    cli_ok("add", "data", cwd=one)
    cli_ok("remote", "add", "-d", "store", str(tmp_path / "remote"), cwd=one)
    cli_ok("push", cwd=one)
    old_enough()
    before = [os.stat(path).st_mtime for path in v1_objects(cache)]
    out = cli_ok("fetch", cwd=one)
    assert "0 fetched" in out
    after = [os.stat(path).st_mtime for path in v1_objects(cache)]
    assert all(new > old for new, old in zip(after, before, strict=True))
