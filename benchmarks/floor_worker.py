"""Floor programs, each run as its own measured process by the harness.

    floor_worker.py read DIR
        read every file under DIR once (what any tool must do to hash it)
    floor_worker.py put ENDPOINT BUCKET DIR JOBS
        PUT every file under DIR as an object keyed by its relative path
    floor_worker.py get ENDPOINT BUCKET DIR OUT JOBS
        GET the objects named by the files under DIR and write them under OUT
    floor_worker.py tm_put ... / tm_get ...
        the same with boto3's TransferManager (upload_file / download_file): multipart uploads
        and ranged GETs, JOBS requests at once, 16 MiB parts from 64 MiB

The S3 floors use one boto3 client with a connection pool as large as the thread pool, and
take their credentials from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

CHUNK = 1 << 20


def walk(root: str) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            found.append(os.path.relpath(os.path.join(folder, name), root))
    return found


def read_all(root: str) -> None:
    total = 0
    for rel in walk(root):
        with open(os.path.join(root, rel), "rb", buffering=0) as src:
            while chunk := src.read(CHUNK):
                total += len(chunk)
    print(f"read {total} bytes")


def s3_client(endpoint: str, jobs: int):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=endpoint, config=Config(max_pool_connections=max(10, jobs))
    )


def put_all(endpoint: str, bucket: str, root: str, jobs: int) -> None:
    client = s3_client(endpoint, jobs)

    def put(rel: str) -> None:
        with open(os.path.join(root, rel), "rb") as body:
            client.put_object(Bucket=bucket, Key=rel, Body=body)

    keys = walk(root)
    with ThreadPoolExecutor(jobs) as pool:
        for _ in pool.map(put, keys):
            pass
    print(f"put {len(keys)} objects")


def get_all(endpoint: str, bucket: str, root: str, out: str, jobs: int) -> None:
    client = s3_client(endpoint, jobs)

    def get(rel: str) -> None:
        body = client.get_object(Bucket=bucket, Key=rel)["Body"]
        dest = os.path.join(out, rel)
        with open(dest, "wb") as sink:
            while chunk := body.read(CHUNK):
                sink.write(chunk)

    keys = walk(root)
    for folder in sorted({os.path.dirname(k) for k in keys}):
        os.makedirs(os.path.join(out, folder), exist_ok=True)
    with ThreadPoolExecutor(jobs) as pool:
        for _ in pool.map(get, keys):
            pass
    print(f"got {len(keys)} objects")


def transfer_config(jobs: int):
    from boto3.s3.transfer import TransferConfig

    mib = 1 << 20
    return TransferConfig(
        multipart_threshold=64 * mib, multipart_chunksize=16 * mib, max_concurrency=jobs
    )


def tm_put_all(endpoint: str, bucket: str, root: str, jobs: int) -> None:
    client, config = s3_client(endpoint, jobs), transfer_config(jobs)
    keys = walk(root)
    for rel in keys:
        client.upload_file(os.path.join(root, rel), bucket, rel, Config=config)
    print(f"uploaded {len(keys)} objects")


def tm_get_all(endpoint: str, bucket: str, root: str, out: str, jobs: int) -> None:
    client, config = s3_client(endpoint, jobs), transfer_config(jobs)
    keys = walk(root)
    for rel in keys:
        dest = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        client.download_file(bucket, rel, dest, Config=config)
    print(f"downloaded {len(keys)} objects")


def main(argv: list[str]) -> None:
    command, args = argv[0], argv[1:]
    if command == "read":
        read_all(args[0])
    elif command in ("put", "tm_put"):
        put = put_all if command == "put" else tm_put_all
        put(args[0], args[1], args[2], int(args[3]))
    elif command in ("get", "tm_get"):
        get = get_all if command == "get" else tm_get_all
        get(args[0], args[1], args[2], args[3], int(args[4]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
