"""End to end on real S3 servers (moto and rclone on 127.0.0.1): push, clone, pull, failures."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests import helpers

git_repo = helpers.git_repo  # fixture
SERVERS = ["moto_remote", "rclone_remote"]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def env_with(settings: dict | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(GIT_ENV)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/aws"
    if settings is not None:
        env["AWS_ACCESS_KEY_ID"] = settings["access_key_id"]
        env["AWS_SECRET_ACCESS_KEY"] = settings["secret_access_key"]
    return env


def sh(args: list[str], cwd, env: dict, ok: bool = True) -> subprocess.CompletedProcess:
    if args[0] == "dvcish":
        args = [sys.executable, "-m", "dvcish", *args[1:]]
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert result.returncode == 0, result.stderr + result.stdout
    return result


def write_dataset(folder) -> dict[str, bytes]:
    files = {}
    for index in range(40):
        rel = f"part{index % 3}/sample{index:03}.bin"
        data = os.urandom(100 + index * 37)
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[rel] = data
    return files


def read_dataset(folder) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


def make_origin(tmp_path, settings: dict) -> tuple:
    env = env_with(settings)
    repo = tmp_path / "origin"
    repo.mkdir()
    sh(["git", "-c", "init.defaultBranch=main", "init", "-q"], repo, env)
    sh(["dvcish", "init"], repo, env)
    sh(["dvcish", "remote", "add", "-d", "s3", settings["url"]], repo, env)
    sh(["dvcish", "remote", "modify", "s3", "endpointurl", settings["endpointurl"]], repo, env)
    sh(["dvcish", "remote", "modify", "s3", "region", "us-east-1"], repo, env)
    files = write_dataset(repo / "data")
    sh(["dvcish", "add", "data"], repo, env)
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-qm", "v1"], repo, env)
    return repo, files, env


@pytest.mark.parametrize("server", SERVERS)
def test_push_clone_pull_and_granular_pull(server, request, tmp_path):
    settings = request.getfixturevalue(server)
    repo, files, env = make_origin(tmp_path, settings)
    pushed = sh(["dvcish", "push", "-j", "8"], repo, env)
    assert "44 pushed, 0 already on remote" in pushed.stdout  # 40 files, 4 tree levels
    again = sh(["dvcish", "push"], repo, env)
    assert "0 pushed, 44 already on remote" in again.stdout
    assert sh(["dvcish", "status", "--cloud"], repo, env).returncode == 0

    clone = tmp_path / "clone"
    sh(["git", "clone", "-q", str(repo), str(clone)], tmp_path, env)
    sh(["dvcish", "pull"], clone, env)
    assert read_dataset(clone / "data") == files

    granular = tmp_path / "granular"
    sh(["git", "clone", "-q", str(repo), str(granular)], tmp_path, env)
    sh(["dvcish", "pull", "data/part1/sample001.bin"], granular, env)
    assert read_dataset(granular / "data") == {"part1/sample001.bin": files["part1/sample001.bin"]}
    cached = [p for p in (granular / ".dvcish" / "cache").rglob("*") if p.is_file()]
    assert len(cached) == 3  # the root level, the folder's level and that one file


@pytest.mark.parametrize("server", SERVERS)
def test_corrupt_remote_object_fails_pull_and_stays(server, request, tmp_path):
    settings = request.getfixturevalue(server)
    repo, files, env = make_origin(tmp_path, settings)
    sh(["dvcish", "remote", "modify", "s3", "packs", "false"], repo, env)  # a loose object
    sh(["dvcish", "push"], repo, env)
    import xxhash

    oid = xxhash.xxh3_128_hexdigest(files["part0/sample000.bin"])
    bucket, _, prefix = settings["url"][len("s3://") :].partition("/")
    key = f"{prefix}/{oid[:2]}/{oid[2:]}" if prefix else f"{oid[:2]}/{oid[2:]}"
    server_fixture = request.getfixturevalue(server.replace("_remote", "_server"))
    server_fixture.client.put_object(Bucket=bucket, Key=key, Body=b"tampered bytes")

    clone = tmp_path / "clone"
    sh(["git", "clone", "-q", str(repo), str(clone)], tmp_path, env)
    result = sh(["dvcish", "pull"], clone, env, ok=False)
    assert result.returncode == 1
    assert f"{oid[:2]}/{oid[2:]}" in result.stderr and "corrupt" in result.stderr
    assert "Traceback" not in result.stderr
    body = server_fixture.client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == b"tampered bytes"  # a read path never deletes or changes the remote
    assert not (clone / ".dvcish" / "cache" / oid[:2] / oid[2:]).exists()


def test_missing_credentials_fail_fast_with_one_line(moto_remote, tmp_path):
    repo, _files, _env = make_origin(tmp_path, moto_remote)
    started = time.monotonic()
    result = sh(["dvcish", "push"], repo, env_with(None), ok=False)
    assert time.monotonic() - started < 20  # hang guard for instance-metadata lookups
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "credentials" in lines[0].lower()


def test_secret_never_printed(rclone_remote, tmp_path):
    repo, _files, _env = make_origin(tmp_path, rclone_remote)
    sentinel = "SENTINEL-secret-9f8e7d6c5b4a"
    env = env_with(None)
    key_id = rclone_remote["access_key_id"]
    sh(["dvcish", "remote", "modify", "--local", "s3", "access_key_id", key_id], repo, env)
    sh(["dvcish", "remote", "modify", "--local", "s3", "secret_access_key", sentinel], repo, env)
    for args in (["dvcish", "push"], ["dvcish", "-v", "push"], ["dvcish", "status", "--cloud"]):
        result = sh(args, repo, env, ok=False)
        assert result.returncode == 1
        assert sentinel not in result.stdout + result.stderr
    refused = sh(
        ["dvcish", "remote", "modify", "s3", "secret_access_key", "x"], repo, env, ok=False
    )
    assert refused.returncode == 1 and "--local" in refused.stderr


# ----------------------------------------------------------------------------- in-process


def s3_remote(settings: dict, name: str = "s3", **extra: str) -> None:
    from tests.helpers import cli_ok

    cli_ok("remote", "add", "-d", name, settings["url"])
    for key, value in {"endpointurl": settings["endpointurl"], **extra}.items():
        cli_ok("remote", "modify", name, key, value)
    cli_ok("remote", "modify", "--local", name, "access_key_id", settings["access_key_id"])
    cli_ok("remote", "modify", "--local", name, "secret_access_key", settings["secret_access_key"])


@pytest.mark.parametrize(
    "args", [["push"], ["status", "--cloud"], ["fsck", "--remote", "s3"], ["fetch"]]
)
def test_a_wrong_bucket_is_one_line_naming_it(git_repo, moto_server, args):
    from tests.helpers import assert_one_error, cli_ok, run_cli, write_files

    settings = dict(moto_server.new_bucket(), url="s3://no-such-bucket-dvcish/prefix")
    write_files(git_repo, {f"data/f{i}": f"file {i}".encode() for i in range(5)})
    cli_ok("add", "data")
    s3_remote(settings)
    result = run_cli(args)
    assert result.exit_code == 1
    assert_one_error(result.stderr, "no-such-bucket-dvcish", "does not exist")
    assert result.stdout == ""


def test_an_endpoint_without_scheme_takes_it_from_use_ssl(git_repo, moto_server):
    from tests.helpers import cli_ok, write_files

    settings = moto_server.new_bucket()
    host = settings["endpointurl"].removeprefix("http://")
    s3_remote(dict(settings, endpointurl=host), use_ssl="false")
    write_files(git_repo, {"f": b"plain http"})
    cli_ok("add", "f")
    assert cli_ok("push").startswith("1 pushed")
    assert cli_ok("status", "--cloud").endswith("0 to push, 1 already there\n")
