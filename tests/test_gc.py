"""``dvcish gc``: scope, references through trees, the grace period, --dry, --cloud."""

from __future__ import annotations

import os
import time

import pytest

from dvcish import config as cfg
from dvcish.commands import gc
from dvcish.errors import DvcishError
from dvcish.history import Selection
from dvcish.lock import RepoLock
from dvcish.repo import open_repo
from tests.helpers import (
    assert_one_error,
    assert_refused,
    object_path,
    run_cli,
    run_dvcish,
    snapshot,
)
from tests.test_history import Versions, make_versions, ok


@pytest.fixture
def versions(tmp_path, monkeypatch) -> Versions:
    return make_versions(tmp_path, monkeypatch)


def cached(versions, oids) -> set[str]:
    return {oid for oid in oids if object_path(versions.root, oid).is_file()}


# v1's own objects: data/a.txt and data/sub/b.txt at v1, the sub/ level and v1's root level
def old_only(versions) -> set[str]:
    return versions.objects("v1") - versions.objects("main")


def test_a_scope_is_required(versions):
    result = run_cli(["gc"])
    assert result.exit_code == 2
    assert_one_error(result.stderr, "gc needs a scope", "--workspace")


def test_workspace_scope_removes_an_old_version_and_keeps_the_current_data(versions):
    old = old_only(versions)
    current = versions.objects("main")
    assert cached(versions, old | current) == old | current
    ok("config", "gc.grace", "0")
    out = ok("gc", "--workspace")
    assert "Removed 4 objects" in out
    assert cached(versions, old) == set()
    assert cached(versions, current) == current
    ok("status")
    assert "0 problems" in ok("fsck")


def test_all_commits_all_tags_and_rev_keep_the_old_version(versions):
    ok("config", "gc.grace", "0")
    old = old_only(versions)
    for scope in (["--all-commits"], ["--all-tags"], ["-w", "--rev", "v1"]):
        out = ok("gc", *scope)
        assert "Removed 0 objects" in out, scope
        assert cached(versions, old) == old, scope
    ok("gc", "--all-branches")  # main only: v1's objects go
    assert cached(versions, old) == set()


def test_dry_lists_objects_and_bytes_and_changes_nothing(versions):
    ok("config", "gc.grace", "0")
    before = snapshot(versions.root)
    out = ok("gc", "-w", "--dry")
    for oid in old_only(versions):
        assert f"would remove {oid}" in out
    freed = sum(os.path.getsize(object_path(versions.root, oid)) for oid in old_only(versions))
    assert (
        f"Would remove 4 objects from the cache and 0 temp files left by interrupted runs, "
        f"freeing {freed} B" in out
    )
    assert snapshot(versions.root) == before


def test_objects_younger_than_the_grace_period_are_never_removed(versions):
    old = old_only(versions)
    out = ok("gc", "--workspace")  # default grace: one hour, and these were just written
    assert "Removed 0 objects" in out
    assert "4 younger than gc.grace" in out
    assert cached(versions, old) == old
    repo = open_repo(str(versions.root))
    plan = gc.plan(repo, Selection(workspace=True), now=time.time() + 3601)
    assert set(plan.objects) == old  # an hour later they would go
    repo.close()
    ok("config", "gc.grace", "120")
    assert "Removed 0 objects" in ok("gc", "-w")


def test_stale_temp_files_go_and_fresh_ones_stay(versions):
    cache = versions.root / ".dvcish" / "cache"
    fresh = cache / "ab" / ".tmp-1-0"
    fresh.parent.mkdir(exist_ok=True)
    fresh.write_bytes(b"being written")
    ok("gc", "-w")
    assert fresh.exists()
    ok("config", "gc.grace", "0")
    out = ok("gc", "-w")
    assert "1 temp file" in out
    assert not fresh.exists()


def test_leftover_temp_files_go_from_dvcish_dir_and_a_folder_remote(versions):
    ok("push")
    beside_config = versions.root / ".dvcish" / ".tmp-7-1"
    on_remote = [versions.remote / ".tmp-7-2", versions.remote / "ab" / ".tmp-7-3"]
    not_ours = versions.remote / "ab" / ".tmp-notes"  # not a dvcish temp name
    for path in [beside_config, *on_remote, not_ours]:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"half an object")
    ok("gc", "-w", "-c", "-f")
    assert all(path.exists() for path in [beside_config, *on_remote])  # young: may be in use
    ok("config", "gc.grace", "0")
    out = ok("gc", "-w", "-c", "-f")
    assert "3 temp files left by interrupted runs" in out
    assert not any(path.exists() for path in [beside_config, *on_remote])
    assert not_ours.exists()


def test_a_tree_that_cannot_be_read_stops_gc_before_any_deletion(versions):
    ok("config", "gc.grace", "0")
    os.unlink(object_path(versions.root, versions.v1_data))
    before = snapshot(versions.root)
    result = run_cli(["gc", "--all-tags"])
    assert result.exit_code == 1
    assert_one_error(
        result.stderr, f"data.dvcish@v1: tree {versions.v1_data} is not in the cache", "nothing"
    )
    assert snapshot(versions.root) == before


def test_the_repository_lock_is_held(versions):
    ok("config", "core.lock_timeout", "0.2")
    repo = open_repo(str(versions.root))
    with RepoLock(os.path.join(repo.tmp_dir, "lock"), 0):
        result = run_cli(["gc", "-w"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "locked")


def test_cloud_needs_force_without_a_terminal(versions):
    ok("config", "gc.grace", "0")
    ok("push", "--all-tags")
    old = old_only(versions)
    remote_before = snapshot(versions.remote)
    result = run_cli(["gc", "-w", "--cloud"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "--force")
    assert snapshot(versions.remote) == remote_before
    assert cached(versions, old) == old  # the local cache was not touched either

    out = ok("gc", "-w", "--cloud", "--dry")
    assert out.count("from remote 'storage'") == 4  # a line per object
    assert "on remote 'storage'" in out and "it would remove 4 objects" in out  # the summary
    assert snapshot(versions.remote) == remote_before

    ok("gc", "-w", "--cloud", "--force")
    assert not any(versions.remote_has(oid) for oid in old)
    assert all(versions.remote_has(oid) for oid in versions.objects("main"))
    assert cached(versions, old) == set()


def test_cloud_spares_young_remote_objects(versions):
    ok("push", "--all-tags")
    out = ok("gc", "-w", "--cloud", "-f")
    assert "kept 4 younger than gc.grace" in out
    assert all(versions.remote_has(oid) for oid in old_only(versions))


def test_cloud_refusal_as_a_real_process(versions):
    ok("push")
    done = run_dvcish(["gc", "--workspace", "--cloud"], cwd=versions.root)
    assert done.returncode == 1
    assert_one_error(done.stderr, "no terminal", "--force")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("90", 90),
        ("2.5", 2.5),
        ("45s", 45),
        ("30m", 1800),
        ("2h", 7200),
        ("1.5h", 5400),
        ("1d", 86400),
        ("1w", 604800),
        (" 2H ", 7200),
        (120, 120),
    ],
)
def test_durations_take_a_unit(text, seconds):
    assert cfg.parse_duration(text, "gc.grace", 3600) == seconds


@pytest.mark.parametrize("text", ["abc", "-1", "-5m", "1x", "1 h 2m", "h", "1e3"])
def test_bad_durations_are_refused(text):
    with pytest.raises(DvcishError, match="gc.grace: expected a"):
        cfg.parse_duration(text, "gc.grace", 3600)


def test_grace_on_the_command_line_overrides_the_config(versions):
    old = old_only(versions)
    ok("config", "gc.grace", "0")
    out = ok("gc", "-w", "--grace", "1d")  # the objects are seconds old
    assert "Removed 0 objects" in out and "4 younger than gc.grace" in out
    assert cached(versions, old) == old
    ok("config", "gc.grace", "2h")  # a duration in the config too
    assert "Removed 0 objects" in ok("gc", "-w")
    assert "Removed 4 objects" in ok("gc", "-w", "--grace", "0")
    assert cached(versions, old) == set()


def test_a_bad_grace_is_a_usage_error_and_changes_nothing(versions):
    assert_refused(versions.root, ["gc", "-w", "--grace", "soon"], "--grace", "'soon'", code=2)


def test_grace_on_the_command_line_applies_to_an_s3_remote(versions, moto_server, moto_remote):
    ok("remote", "modify", "storage", "url", moto_remote["url"])
    ok("remote", "modify", "storage", "endpointurl", moto_remote["endpointurl"])
    for key in ("access_key_id", "secret_access_key"):
        ok("remote", "modify", "--local", "storage", key, moto_remote[key])
    ok("push", "--all-tags")
    bucket, _, prefix = moto_remote["url"].removeprefix("s3://").partition("/")

    def remote_keys() -> set[str]:
        listing = moto_server.client.list_objects_v2(Bucket=bucket, Prefix=prefix + "/")
        return {item["Key"] for item in listing.get("Contents", ())}

    pushed, old = remote_keys(), old_only(versions)
    out = ok("gc", "-w", "--cloud", "--force", "--grace", "1d")  # everything is seconds old
    assert "kept 4 younger than gc.grace" in out
    assert remote_keys() == pushed
    out = ok("gc", "-w", "--cloud", "--force", "--grace", "0")
    assert "remove 4 objects; kept 0 younger than gc.grace" in out
    gone = pushed - remote_keys()
    assert {key.split("/", 1)[1].replace("/", "") for key in gone} == old
