"""Real S3 servers for tests: moto (a thread in this process) and ``rclone serve s3`` (a child).

Both listen on free ports of 127.0.0.1 and live for the test session (each xdist worker starts
its own). Nothing here mocks boto3: tests talk HTTP to real servers. The autouse
``isolated_aws_env`` fixture clears every ``AWS_*`` variable, points the AWS config files at
nothing and disables instance metadata, so boto3 never reaches beyond 127.0.0.1.

Fixtures:
  moto_server, rclone_server   an S3Server (endpoint_url, access_key_id, secret_access_key,
                               region) for the session
  moto_remote, rclone_remote   the settings dict of a dvcish remote on a fresh bucket
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

REGION = "us-east-1"
START_TIMEOUT = 30.0
_RCLONE_LISTENING = re.compile(r"Starting s3 server on \[(http://127\.0\.0\.1:\d+)")


@dataclasses.dataclass
class S3Server:
    """A running S3 server and the credentials it accepts."""

    name: str
    endpoint_url: str
    access_key_id: str
    secret_access_key: str = dataclasses.field(repr=False)
    region: str = REGION

    @functools.cached_property
    def client(self) -> Any:
        """A raw boto3 client for test setup and inspection (bypasses dvcish entirely)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
            config=Config(
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def new_bucket(self, prefix: str = "store") -> dict[str, str]:
        """Create a fresh bucket; return the settings of a dvcish remote at ``bucket/prefix``."""
        bucket = f"dvcish-{uuid.uuid4().hex[:20]}"
        self.client.create_bucket(Bucket=bucket)
        return {
            "url": f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}",
            "endpointurl": self.endpoint_url,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
            "region": self.region,
        }


@pytest.fixture(scope="session", autouse=True)
def isolated_aws_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No AWS_* settings from the outside, no config files, no instance metadata."""
    nowhere = tmp_path_factory.mktemp("no-aws-config")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("AWS_") or name == "BOTO_CONFIG":
                mp.delenv(name)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("AWS_CONFIG_FILE", str(nowhere / "config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere / "credentials"))
        for name in ("NO_PROXY", "no_proxy"):
            mp.setenv(name, ",".join(filter(None, [os.environ.get(name), "127.0.0.1,localhost"])))
        yield


@pytest.fixture(scope="session")
def moto_server(isolated_aws_env: None) -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server("moto", f"http://{host}:{port}", "dvcish-moto-key", secrets.token_hex(16))
    finally:
        server.stop()


@pytest.fixture(scope="session")
def rclone_server(
    isolated_aws_env: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[S3Server]:
    binary = _find_rclone()
    root = tmp_path_factory.mktemp("rclone-root")
    log_path = tmp_path_factory.mktemp("rclone-log") / "rclone.log"
    # rclone refuses very short access keys (InvalidAccessKeyId), so use a long one.
    access_key, secret_key = "dvcishrclonekey", secrets.token_hex(16)
    command = [binary, "serve", "s3", "--addr", "127.0.0.1:0"]
    command += ["--auth-key", f"{access_key},{secret_key}", "--config", os.devnull, str(root)]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        endpoint = _wait_for_rclone(proc, log_path)
        yield S3Server("rclone", endpoint, access_key, secret_key)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def moto_remote(moto_server: S3Server) -> dict[str, str]:
    return moto_server.new_bucket()


@pytest.fixture
def rclone_remote(rclone_server: S3Server) -> dict[str, str]:
    return rclone_server.new_bucket()


def _find_rclone() -> str:
    beside_python = Path(sys.executable).with_name("rclone")
    found = str(beside_python) if beside_python.is_file() else shutil.which("rclone")
    if found is None:
        pytest.fail("rclone not found next to python or on PATH; install the test extras")
    return found


def _wait_for_rclone(proc: subprocess.Popen[bytes], log_path: Path) -> str:
    """The endpoint rclone printed once it accepts connections; fails with its log otherwise."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        log = log_path.read_text(errors="replace")
        if proc.poll() is not None:
            pytest.fail(f"rclone serve s3 exited with {proc.returncode}:\n{log}")
        match = _RCLONE_LISTENING.search(log)
        if match and _accepts_connections(match.group(1)):
            return match.group(1)
        time.sleep(0.05)
    pytest.fail(f"rclone serve s3 did not start within {START_TIMEOUT}s:\n{log}")


def _accepts_connections(endpoint: str) -> bool:
    host, port = endpoint.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False
