"""Transient S3 failures are retried per object; a dead endpoint stops the command early.

Every test talks real HTTP to moto through tests/fault_proxy.py, which answers 500/503 on a
schedule, cuts GET bodies short, stalls bodies past the read timeout, delays requests, or
resets every connection from some request on.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from dvcish.errors import DvcishError, RemoteUnavailableError
from dvcish.hashing import hash_bytes
from dvcish.storage.s3 import DEAD_AFTER, RETRY_ATTEMPTS, S3Options, S3Store
from tests.fault_proxy import FaultProxy, Faults
from tests.helpers import assert_one_error, cli_ok, git_repo, make_dataset, read_tree, run_cli

__all__ = ["git_repo"]


def use_remote(settings: dict[str, str], endpoint: str, *extra: tuple[str, str]) -> None:
    """Make the repo in the cwd push to and pull from ``settings``'s bucket through ``endpoint``."""
    cli_ok("remote", "add", "-d", "s3", settings["url"])
    values = [("endpointurl", endpoint), ("region", settings["region"]), *extra]
    values += [(key, settings[key]) for key in ("access_key_id", "secret_access_key")]
    for key, value in values:
        cli_ok("remote", "modify", "--local", "s3", key, value)


def forget_local_data(repo: Path) -> None:
    """Drop the workspace copy and the cache, as a fresh clone would have neither."""
    for folder, _dirs, names in os.walk(repo / ".dvcish" / "cache"):
        for name in names:
            os.unlink(os.path.join(folder, name))
    for folder, _dirs, names in os.walk(repo / "data"):
        for name in names:
            os.chmod(os.path.join(folder, name), 0o644)
            os.unlink(os.path.join(folder, name))


def test_push_and_pull_each_succeed_in_one_run_through_a_flaky_endpoint(
    git_repo: Path, moto_server, moto_remote
) -> None:
    files = make_dataset(git_repo / "data", 30, max_size=3000, per_folder=10)
    cli_ok("add", "data")
    faults = Faults(error_every=6, cut_every=3, delay_every=5, delay=0.05)
    with FaultProxy(moto_server.endpoint_url, faults) as proxy:
        use_remote(moto_remote, proxy.url, ("packs", "false"))  # one request per object
        pushed = run_cli(["push", "-j", "4"])
        assert pushed.exit_code == 0, pushed.output
        forget_local_data(git_repo)
        pulled = run_cli(["pull", "-j", "4"])
        assert pulled.exit_code == 0, pulled.output
    assert read_tree(git_repo / "data") == files
    assert proxy.injected["error"] and proxy.injected["cut"] and proxy.injected["delay"]
    assert cli_ok("fsck").strip()


def test_a_body_stalled_past_the_read_timeout_is_resumed(
    git_repo: Path, moto_server, moto_remote
) -> None:
    files = make_dataset(git_repo / "data", 6, max_size=5000)
    cli_ok("add", "data")
    faults = Faults(stall_every=2, delay=1.5)
    with FaultProxy(moto_server.endpoint_url, faults) as proxy:
        use_remote(moto_remote, proxy.url, ("read_timeout", "0.5"), ("packs", "false"))
        cli_ok("push")
        forget_local_data(git_repo)
        pulled = run_cli(["pull", "-j", "2"])
        assert pulled.exit_code == 0, pulled.output
    assert proxy.injected["stall"] >= 2
    assert read_tree(git_repo / "data") == files


def _store(settings: dict[str, str], endpoint: str) -> S3Store:
    options = S3Options.from_config({**settings, "endpointurl": endpoint}, "origin")
    return S3Store(settings["url"], options, "remote 'origin'")


def _put(settings: dict[str, str], endpoint: str, tmp_path: Path, data: bytes) -> str:
    oid = hash_bytes(data)
    source = tmp_path / oid
    source.write_bytes(data)
    _store(settings, endpoint).put(oid, str(source))
    return oid


def test_a_cut_body_resumes_where_it_stopped(moto_server, moto_remote, tmp_path: Path) -> None:
    data = os.urandom(200_000)
    oid = _put(moto_remote, moto_server.endpoint_url, tmp_path, data)
    with FaultProxy(moto_server.endpoint_url, Faults(cut_first=RETRY_ATTEMPTS - 1)) as proxy:
        sink = io.BytesIO()
        assert _store(moto_remote, proxy.url).get(oid, sink) == len(data)
    assert sink.getvalue() == data
    assert proxy.injected["cut"] == RETRY_ATTEMPTS - 1


def test_retries_run_out_with_one_clear_error(moto_server, moto_remote, tmp_path: Path) -> None:
    oid = _put(moto_remote, moto_server.endpoint_url, tmp_path, b"x" * 5000)
    proxy = FaultProxy(moto_server.endpoint_url, Faults(cut_first=100))
    with proxy, pytest.raises(DvcishError) as raised:
        _store(moto_remote, proxy.url).get(oid, io.BytesIO())
    message = str(raised.value)
    assert not isinstance(raised.value, RemoteUnavailableError)
    assert message.startswith("remote 'origin': ") and f"downloading object {oid}" in message
    assert "the connection to" in message and "broke off" in message and "\n" not in message
    assert proxy.injected["cut"] == RETRY_ATTEMPTS


def test_pack_reads_cut_short_resume_where_they_stopped(
    git_repo: Path, moto_server, moto_remote
) -> None:
    files = make_dataset(git_repo / "data", 120, max_size=3000, per_folder=40)
    cli_ok("add", "data")
    cli_ok("config", "pack.size", "64KiB")  # several packs, each read with a ranged GET
    with FaultProxy(moto_server.endpoint_url, Faults()) as proxy:
        use_remote(moto_remote, proxy.url)
        assert run_cli(["push", "-j", "4"]).exit_code == 0
    forget_local_data(git_repo)
    with FaultProxy(moto_server.endpoint_url, Faults(cut_first=3, error_every=7)) as proxy:
        cli_ok("remote", "modify", "--local", "s3", "endpointurl", proxy.url)
        pulled = run_cli(["pull", "-j", "4"])
        assert pulled.exit_code == 0, pulled.output
    assert read_tree(git_repo / "data") == files
    assert proxy.injected["cut"] == 3 and proxy.injected["error"]


def test_a_dead_endpoint_stops_the_command_after_a_few_failures(
    git_repo: Path, moto_server, moto_remote
) -> None:
    make_dataset(git_repo / "data", 80, max_size=500)
    cli_ok("add", "data")
    with FaultProxy(moto_server.endpoint_url, Faults()) as counter:
        use_remote(moto_remote, counter.url, ("packs", "false"))  # one upload per object
        run_cli(["status", "--cloud"])  # how many requests come before the uploads
        before_uploads = counter.requests
    with FaultProxy(moto_server.endpoint_url, Faults(dead_after=before_uploads + 1)) as proxy:
        cli_ok("remote", "modify", "--local", "s3", "endpointurl", proxy.url)
        result = run_cli(["push", "-j", "2"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "remote 's3'", f"stopped after {DEAD_AFTER} failed requests")
    # botocore tries each request 3 times; far fewer than one attempt per object happened
    assert proxy.injected["dead"] <= 3 * (DEAD_AFTER + 2)
