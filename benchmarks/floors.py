"""Floors: what no tool can beat on this machine for the same data.

Local floors are `cp -r` of the dataset (the floor of workspace writes), `cp -r` and `sync`
(the floor of durable writes: the cache, a folder remote) and one read of every file. S3 floors
are plain boto3 PUTs and GETs of the same files with the same thread count, against the same
server; for large files (``transfer_manager``), boto3's TransferManager (``upload_file`` and
``download_file``: multipart uploads and ranged GETs in parallel, 16 MiB parts from 64 MiB, as
dvcish). Each floor is one measured process, like a tool step.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from procs import Measurement, measure, remove_tree
from s3servers import S3Server

WORKER = Path(__file__).with_name("floor_worker.py")
FLOOR_LABELS = {
    "cp": "cp -r of the dataset",
    "cp_sync": "cp -r of the dataset, then sync",
    "read": "read every file once",
    "s3_put": "boto3 PUT of every file",
    "s3_get": "boto3 GET of every file (written to disk)",
    "tm_put": "boto3 TransferManager upload_file of every file",
    "tm_get": "boto3 TransferManager download_file of every file",
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
    subprocess.run(["sync"], check=False)
    copy_sync = ["sh", "-c", 'cp -r "$0" "$1" && sync', str(master), str(copy)]
    results["cp_sync"] = measure(copy_sync, scratch, env, log)
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
    transfer_manager: bool = False,
) -> dict[str, Measurement]:
    """boto3 PUT and GET of every file; ``endpoint`` (a proxy) instead of the server's own;
    with ``transfer_manager``, TransferManager's multipart uploads and ranged downloads."""
    scratch.mkdir(parents=True, exist_ok=True)
    log = scratch / "floors.log"
    out = scratch / "s3-get"
    server.create_bucket(bucket)
    base = [sys.executable, str(WORKER)]
    url = endpoint or server.endpoint
    put_name, get_name = ("tm_put", "tm_get") if transfer_manager else ("s3_put", "s3_get")
    put = [*base, put_name, url, bucket, str(master), str(jobs)]
    get = [*base, get_name, url, bucket, str(master), str(out), str(jobs)]
    results = {
        put_name: measure(put, scratch, env, log),
        get_name: measure(get, scratch, env, log),
    }
    remove_tree(out)
    return results
