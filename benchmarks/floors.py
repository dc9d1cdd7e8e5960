"""Floors: what no tool can beat on this machine for the same data.

Local floors are `cp -r` of the dataset and one read of every file. S3 floors are plain boto3
PUTs and GETs of the same files with the same thread count, against the same server. Each floor
is one measured process, like a tool step.
"""

from __future__ import annotations

import sys
from pathlib import Path

from procs import Measurement, measure, remove_tree
from s3servers import S3Server

WORKER = Path(__file__).with_name("floor_worker.py")
FLOOR_LABELS = {
    "cp": "cp -r of the dataset",
    "read": "read every file once",
    "s3_put": "boto3 PUT of every file",
    "s3_get": "boto3 GET of every file (written to disk)",
}


def local_floors(master: Path, scratch: Path, env: dict[str, str]) -> dict[str, Measurement]:
    scratch.mkdir(parents=True, exist_ok=True)
    log = scratch / "floors.log"
    copy = scratch / "copy"
    results = {
        "cp": measure(["cp", "-r", str(master), str(copy)], scratch, env, log),
        "read": measure([sys.executable, str(WORKER), "read", str(master)], scratch, env, log),
    }
    remove_tree(copy)
    return results


def s3_floors(
    server: S3Server,
    bucket: str,
    master: Path,
    scratch: Path,
    env: dict[str, str],
    jobs: int,
    endpoint: str | None = None,
) -> dict[str, Measurement]:
    """boto3 PUT and GET of every file; ``endpoint`` (a proxy) instead of the server's own."""
    scratch.mkdir(parents=True, exist_ok=True)
    log = scratch / "floors.log"
    out = scratch / "s3-get"
    server.create_bucket(bucket)
    base = [sys.executable, str(WORKER)]
    url = endpoint or server.endpoint
    put = [*base, "put", url, bucket, str(master), str(jobs)]
    get = [*base, "get", url, bucket, str(master), str(out), str(jobs)]
    results = {
        "s3_put": measure(put, scratch, env, log),
        "s3_get": measure(get, scratch, env, log),
    }
    remove_tree(out)
    return results
