"""Packs under stress: gc --cloud in two phases, gc racing a push, and a push killed between its
packs and its index (on moto, through a slowing proxy so the kill lands in that window)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dvcish.storage.pack_index import parse_index
from tests.fault_proxy import FaultProxy, Faults
from tests.helpers import (
    cli_ok,
    git,
    git_env,  # noqa: F401 (fixture)
    git_init,
    make_dataset,
    read_tree,
    run_cli,
    run_dvcish,
)
from tests.test_packs import indexes_of, packs_of


def commit(root: Path, message: str, tag: str | None = None) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)
    if tag:
        git(root, "tag", tag)


@pytest.fixture
def two_versions(tmp_path: Path, git_env: None):  # noqa: F811
    """v1 = data/a + data/b, v2 = data/b + data/c; both pushed to a local remote in small packs
    (data/a alone fills whole packs, so v2's gc can condemn them)."""
    root = git_init(tmp_path / "origin")
    cli_ok("init", cwd=root)
    cli_ok("config", "pack.size", "16KiB", cwd=root)
    cli_ok("remote", "add", "-d", "store", str(tmp_path / "remote"), cwd=root)
    a = make_dataset(root / "data" / "a", 40, seed="gc-a", max_size=3000)
    b = make_dataset(root / "data" / "b", 40, seed="gc-b", max_size=3000)
    cli_ok("add", "data", cwd=root)
    commit(root, "v1", "v1")
    cli_ok("push", cwd=root)
    shutil.rmtree(root / "data" / "a")
    c = make_dataset(root / "data" / "c", 40, seed="gc-c", max_size=3000)
    cli_ok("add", "data", cwd=root)
    commit(root, "v2", "v2")
    cli_ok("push", cwd=root)
    v1 = {**{f"a/{k}": v for k, v in a.items()}, **{f"b/{k}": v for k, v in b.items()}}
    v2 = {**{f"b/{k}": v for k, v in b.items()}, **{f"c/{k}": v for k, v in c.items()}}
    return root, tmp_path / "remote", v1, v2


def pull_at(origin: Path, target: Path, rev: str) -> subprocess.CompletedProcess:
    git(target.parent, "clone", "-q", "-b", rev, str(origin), str(target))
    return run_dvcish(["pull"], target)


def gc_cloud(root: Path, grace: str) -> str:
    cli_ok("config", "gc.grace", grace, cwd=root)
    return cli_ok("gc", "-w", "--cloud", "--force", cwd=root)


def test_gc_condemns_first_and_deletes_only_in_a_later_run(two_versions, tmp_path):
    root, remote, v1, v2 = two_versions
    packs_before = {p.name for p in packs_of(remote)}
    first = gc_cloud(root, "0")
    assert "condemn" in first
    assert {p.name for p in packs_of(remote)} >= packs_before  # no pack deleted yet
    assert pull_at(root, tmp_path / "v2-after-first", "v2").returncode == 0

    second = gc_cloud(root, "0")
    assert "delete" in second
    assert len(packs_of(remote)) < len(packs_before) + 1
    fresh = tmp_path / "v2-after-second"
    assert pull_at(root, fresh, "v2").returncode == 0
    assert read_tree(fresh / "data") == v2
    gone = pull_at(root, tmp_path / "v1-after-second", "v1")
    assert gone.returncode == 1  # v1 was outside the scope: its own objects are gone
    assert run_cli(["fsck", "--remote", "store"], cwd=fresh).exit_code == 0


def test_a_grace_period_keeps_condemned_packs_readable(two_versions, tmp_path):
    root, remote, v1, _v2 = two_versions
    gc_cloud(root, "3600")
    before = {p.name for p in packs_of(remote)}
    out = gc_cloud(root, "3600")
    assert {p.name for p in packs_of(remote)} == before  # condemned, but not deleted
    assert "younger than gc.grace" in out
    target = tmp_path / "v1"
    assert pull_at(root, target, "v1").returncode == 0
    assert read_tree(target / "data") == v1


@pytest.mark.parametrize("grace", ["0", "3600"])
def test_gc_racing_a_push_never_breaks_it_within_the_grace_period(two_versions, tmp_path, grace):
    """A pusher at v1 finds everything on the remote (it deduplicates against v1's packs) just
    before a gc whose scope is v2 condemns them. The v1 push must stay pullable for the grace
    period; with a grace of 0 a second gc may take it away."""
    root, _remote, v1, _v2 = two_versions
    pusher = tmp_path / "pusher"
    git(tmp_path, "clone", "-q", "-b", "v1", str(root), str(pusher))
    shutil.copytree(root / ".dvcish" / "cache", pusher / ".dvcish" / "cache")
    assert "0 pushed" in cli_ok("push", cwd=pusher)
    gc_cloud(root, grace)
    gc_cloud(root, grace)
    reader = tmp_path / "reader"
    pulled = pull_at(root, reader, "v1")
    if grace == "0":
        assert pulled.returncode == 1
        return
    assert pulled.returncode == 0, pulled.stderr
    assert read_tree(reader / "data") == v1
    # after gc condemned them, a pusher never deduplicates against those packs: it uploads again
    out = cli_ok("push", cwd=pusher)
    assert "0 pushed" not in out


def test_push_killed_between_packs_and_index_then_pushed_again(
    tmp_path: Path,
    git_env: None,  # noqa: F811
    moto_server,
    moto_remote,
):
    root = git_init(tmp_path / "origin")
    cli_ok("init", cwd=root)
    cli_ok("config", "pack.size", "8KiB", cwd=root)
    cli_ok("remote", "add", "-d", "s3", moto_remote["url"], cwd=root)
    for key in ("region", "access_key_id", "secret_access_key"):
        cli_ok("remote", "modify", "--local", "s3", key, moto_remote[key], cwd=root)
    v1 = make_dataset(root / "data", 30, seed="kill-v1", max_size=2000)
    cli_ok("add", "data", cwd=root)
    commit(root, "v1", "v1")
    with FaultProxy(moto_server.endpoint_url, Faults()) as plain:
        cli_ok("remote", "modify", "--local", "s3", "endpointurl", plain.url, cwd=root)
        cli_ok("push", cwd=root)
    make_dataset(root / "data" / "more", 150, seed="kill-v2", max_size=3000)
    cli_ok("add", "data", cwd=root)
    commit(root, "v2", "v2")

    bucket, _, prefix = moto_remote["url"][len("s3://") :].partition("/")
    client = moto_server.client

    def keys(folder: str) -> set[str]:
        listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/{folder}/")
        return {item["Key"] for item in listed.get("Contents", ())}

    packs_before, indexes_before = keys("packs"), keys("index")
    with FaultProxy(moto_server.endpoint_url, Faults(delay_every=1, delay=0.05)) as slow:
        cli_ok("remote", "modify", "--local", "s3", "endpointurl", slow.url, cwd=root)
        push = subprocess.Popen([sys.executable, "-m", "dvcish", "push", "-j", "1"], cwd=root)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(keys("packs") - packs_before) < 3:
                time.sleep(0.02)
            push.send_signal(signal.SIGKILL)
        finally:
            push.wait(timeout=30)
    assert push.returncode == -signal.SIGKILL, "the push finished before the kill"
    orphans = keys("packs") - packs_before
    assert orphans and keys("index") == indexes_before  # packs up, no index names them

    with FaultProxy(moto_server.endpoint_url, Faults()) as proxy:
        cli_ok("remote", "modify", "--local", "s3", "endpointurl", proxy.url, cwd=root)
        old = tmp_path / "old"
        git(tmp_path, "clone", "-q", "-b", "v1", str(root), str(old))
        shutil.copy(root / ".dvcish" / "config.local", old / ".dvcish" / "config.local")
        assert run_dvcish(["pull"], old).returncode == 0  # the earlier version still pulls
        assert read_tree(old / "data") == v1

        cli_ok("push", cwd=root)  # run again: it finishes the job
        assert run_cli(["fsck", "--remote", "s3"], cwd=root).exit_code == 0
        new = tmp_path / "new"
        git(tmp_path, "clone", "-q", "-b", "v2", str(root), str(new))
        shutil.copy(root / ".dvcish" / "config.local", new / ".dvcish" / "config.local")
        assert run_dvcish(["pull"], new).returncode == 0
        assert read_tree(new / "data") == read_tree(root / "data")

        cli_ok("config", "gc.grace", "0", cwd=root)
        cli_ok("gc", "--all-tags", "--cloud", "--force", cwd=root)
        named = set()  # every pack an index names (a re-push may have rebuilt an orphan)
        for key in keys("index"):
            data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            index = parse_index(data, key.rsplit("/", 1)[1], key)
            named |= {f"{prefix}/packs/{entry.packid}.zip" for entry in index.packs}
        assert keys("packs") <= named  # packs no index names are gone
        assert run_cli(["fsck", "--remote", "s3"], cwd=root).exit_code == 0


def test_fsck_remote_names_a_damaged_index(two_versions):
    root, remote, _v1, _v2 = two_versions
    shutil.rmtree(root / ".dvcish" / "tmp" / "index")
    victim = indexes_of(remote)[0]
    victim.chmod(0o644)
    victim.write_bytes(b"dvcish-index 1\nnot an index line\n")
    result = run_cli(["fsck", "--remote", "store"], cwd=root)
    assert result.exit_code == 1
    assert victim.name in result.stdout and "reindex" in result.stdout
