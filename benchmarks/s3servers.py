"""Local S3 servers for the `s3` workload: moto and `rclone serve s3`, both on 127.0.0.1.

Each server is started fresh for one run of the workload and stopped after it; the tools and the
boto3 floor use separate buckets on the same server.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

ACCESS_KEY = "AKIADVCISHBENCH00001"
SECRET_KEY = "dvcish-benchmark-secret-key-0000000000001"
REGION = "us-east-1"
SERVER_NAMES = ("moto", "rclone")


def aws_env(workdir: Path) -> dict[str, str]:
    """Credentials and settings for every S3 client: no profile, no instance metadata."""
    empty = workdir / "aws-empty-config"
    empty.write_text("")
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
    }


class S3Server:
    name = ""

    def __init__(self, bin_dir: Path, workdir: Path):
        self.bin_dir = bin_dir
        self.workdir = workdir
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def __enter__(self) -> S3Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / f"{self.name}.log", "ab")  # noqa: SIM115 - closed in __exit__
        self._log = log
        self.proc = subprocess.Popen(
            self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        self._wait_ready()
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def client(self, pool: int = 10):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(max_pool_connections=pool, retries={"max_attempts": 3}),
        )

    def create_bucket(self, bucket: str) -> None:
        self.client().create_bucket(Bucket=bucket)

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited early; see {self._log.name}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    self.client().list_buckets()
                    return
            except Exception:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} server did not answer on {self.endpoint}")


class MotoServer(S3Server):
    name = "moto"

    def command(self) -> list[str]:
        return [str(self.bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]


class RcloneServer(S3Server):
    name = "rclone"

    def command(self) -> list[str]:
        root = self.workdir / "rclone-root"
        root.mkdir(parents=True, exist_ok=True)
        return [
            str(self.bin_dir / "rclone"),
            "serve",
            "s3",
            "--addr",
            f"127.0.0.1:{self.port}",
            "--auth-key",
            f"{ACCESS_KEY},{SECRET_KEY}",
            "--config",
            "/dev/null",
            str(root),
        ]


def make_server(name: str, bin_dir: Path, workdir: Path) -> S3Server:
    return {"moto": MotoServer, "rclone": RcloneServer}[name](bin_dir, workdir)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
