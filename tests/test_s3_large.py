"""Large objects on S3 move in parallel both ways (docs/remotes.md, "Large objects").

Real moto and ``rclone serve s3`` servers over HTTP, through tests/fault_proxy.py where a test
counts requests in flight or cuts downloads short. Part sizes are made small (5 MiB, the S3
minimum for an upload part) so a 21 MiB object has five parts.
"""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from dvcish.errors import DvcishError
from dvcish.fsutil import is_temp_name
from dvcish.hashing import hash_bytes
from dvcish.storage import s3
from dvcish.storage.cache import Cache
from dvcish.storage.s3 import S3Options, S3Store
from tests.fault_proxy import FaultProxy, Faults
from tests.helpers import cli_ok, git_repo, make_dataset, read_tree, run_cli
from tests.test_s3_faults import forget_local_data, use_remote

__all__ = ["git_repo"]
PART = 5 << 20
SIZE = 4 * PART + 12345  # five parts, the last one short


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3, "MULTIPART_THRESHOLD", PART)
    monkeypatch.setattr(s3, "PART_SIZE", PART)


def store_at(settings: dict[str, str], endpoint: str, jobs: int = 4) -> S3Store:
    options = S3Options.from_config({**settings, "endpointurl": endpoint}, "origin")
    store = S3Store(settings["url"], options, "remote 'origin'")
    store.bound_requests(jobs)
    return store


def large_file(tmp_path: Path, seed: int = 0) -> tuple[str, Path]:
    data = os.urandom(SIZE) if seed == 0 else bytes([seed]) * SIZE
    path = tmp_path / f"large-{seed}.bin"
    path.write_bytes(data)
    return hash_bytes(data), path


def cache_temp_files(cache: Cache) -> list[str]:
    return [name for _, _, names in os.walk(cache.root) for name in names if is_temp_name(name)]


@pytest.mark.parametrize("server_fixture", ["moto_server", "rclone_server"])
def test_a_large_object_comes_down_in_ranged_gets_at_once_and_verified_whole(
    request: pytest.FixtureRequest, tmp_path: Path, server_fixture: str
) -> None:
    server = request.getfixturevalue(server_fixture)
    settings = server.new_bucket()
    oid, source = large_file(tmp_path)
    store_at(settings, server.endpoint_url).put(oid, str(source))
    cache = Cache(str(tmp_path / "cache"))
    with FaultProxy(server.endpoint_url, Faults(delay_every=1, delay=0.2)) as proxy:
        assert cache.receive(store_at(settings, proxy.url), oid) == SIZE
        cache.flush()
    assert Path(cache.path_of(oid)).read_bytes() == source.read_bytes()
    # -j 4: four ranges of 5.25 MiB; the first GET keeps the first, three ranged GETs bring the
    # others, and all four were in flight together (each request waited 0.2 s)
    assert proxy.ranged == 3
    assert proxy.peak >= 3


def test_a_large_object_that_does_not_hash_to_its_name_is_never_renamed(
    moto_server, moto_remote, tmp_path: Path
) -> None:
    oid, source = large_file(tmp_path)
    store = store_at(moto_remote, moto_server.endpoint_url)
    _, other = large_file(tmp_path, seed=7)
    with open(other, "rb") as handle:  # the right size, the wrong bytes, under oid's key
        moto_server.client.put_object(Bucket=store.bucket, Key=store.key_of(oid), Body=handle)
    cache = Cache(str(tmp_path / "cache"))
    with pytest.raises(DvcishError, match=oid):
        cache.receive(store, oid)
    cache.flush()
    assert not cache.exists(oid)
    assert cache_temp_files(cache) == []


def test_jobs_bound_every_request_in_flight_parts_included(
    git_repo: Path, moto_server, tmp_path: Path
) -> None:
    files = make_dataset(git_repo / "data", 6, max_size=3000)
    for seed in (1, 2):
        _, path = large_file(tmp_path, seed)
        files[f"large-{seed}.bin"] = path.read_bytes()
        (git_repo / "data" / f"large-{seed}.bin").write_bytes(path.read_bytes())
    cli_ok("add", "data")
    cli_ok("config", "pack.threshold", "0")  # every object alone: one request each
    peaks = {}
    for jobs in (2, 5):
        with FaultProxy(moto_server.endpoint_url, Faults(delay_every=1, delay=0.05)) as proxy:
            use_remote(moto_server.new_bucket(), proxy.url)  # an empty bucket each time
            assert run_cli(["push", "-j", str(jobs)]).exit_code == 0
            forget_local_data(git_repo)
            pulled = run_cli(["pull", "-j", str(jobs)])
            assert pulled.exit_code == 0, pulled.output
        cli_ok("remote", "remove", "s3")
        assert read_tree(git_repo / "data") == files
        assert proxy.peak <= jobs, (jobs, proxy.peak)
        assert proxy.ranged >= 2  # both large objects came down in ranges
        peaks[jobs] = proxy.peak
    assert peaks[5] > peaks[2]  # more jobs, more in flight: parts travel alongside objects


def test_memory_stays_at_a_few_part_buffers(rclone_server, rclone_remote, tmp_path: Path) -> None:
    # rclone runs in a process of its own (moto runs in this one: its memory would count)
    data = os.urandom(12 * PART)
    oid = hash_bytes(data)
    (tmp_path / "big").write_bytes(data)
    del data
    store = store_at(rclone_remote, rclone_server.endpoint_url, jobs=2)
    cache = Cache(str(tmp_path / "cache"))
    store.check_readable()  # botocore's service model: ~20 MiB while it loads, once
    tracemalloc.start()
    try:
        store.put(oid, str(tmp_path / "big"))
        _, uploading = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        cache.receive(store, oid)
        _, downloading = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    cache.flush()
    assert cache.exists(oid)
    print(f"peak memory: upload {uploading >> 20} MiB, download {downloading >> 20} MiB")
    # -j 2: two parts in flight and the one being read; never the 60 MiB object
    assert uploading < 4 * PART, uploading
    # parts stream to their offsets: a 1 MiB chunk per GET and the hasher's 4 MiB read-back
    assert downloading < 2 * PART, downloading


def test_an_interrupted_large_download_restarts_cleanly(
    git_repo: Path, moto_server, moto_remote, tmp_path: Path
) -> None:
    oid, path = large_file(tmp_path)
    (git_repo / "data").mkdir()
    (git_repo / "data" / "large.bin").write_bytes(path.read_bytes())
    cli_ok("add", "data")
    use_remote(moto_remote, moto_server.endpoint_url)
    cli_ok("push")
    forget_local_data(git_repo)
    cache = Cache(str(git_repo / ".dvcish" / "cache"))
    # Cut short: the ranged GETs of the parts break off half-way, and are tried again.
    with FaultProxy(moto_server.endpoint_url, Faults(cut_ranged=4)) as proxy:
        cli_ok("remote", "modify", "--local", "s3", "endpointurl", proxy.url)
        pulled = run_cli(["pull", "-j", "3"])
    assert pulled.exit_code == 0, pulled.output
    assert proxy.injected["cut"] == 4
    assert (git_repo / "data" / "large.bin").read_bytes() == path.read_bytes()
    # Cut off for good: the endpoint dies part-way; nothing of the object stays behind ...
    forget_local_data(git_repo)
    with FaultProxy(moto_server.endpoint_url, Faults(dead_after=4)) as proxy:
        cli_ok("remote", "modify", "--local", "s3", "endpointurl", proxy.url)
        failed = run_cli(["pull", "-j", "3"])
    assert failed.exit_code == 1 and proxy.injected["dead"]
    assert cache_temp_files(cache) == [] and not cache.exists(oid)
    assert not (git_repo / "data" / "large.bin").exists()
    # ... and the next run downloads it from its first byte.
    cli_ok("remote", "modify", "--local", "s3", "endpointurl", moto_server.endpoint_url)
    cli_ok("pull")
    assert (git_repo / "data" / "large.bin").read_bytes() == path.read_bytes()
