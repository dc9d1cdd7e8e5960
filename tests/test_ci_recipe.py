"""The CI recipe of docs/ci.md, run for real: shallow clone + ``dvcish pull`` on an S3 remote.

An "origin" bare git repo has tags v1 and v2; its data lives on the moto S3 server. The
committed config names the bucket and endpoint; credentials come only from the environment
(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), as a CI job gets them from its secrets. Every step
is a real ``git``/``dvcish`` process, with ``DVCISH_CACHE_DIR`` on a cache shared between jobs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import read_tree

V1 = {"train.csv": b"x,y\n1,2\n", "images/cat.png": b"\x89PNG cat", "images/dog.png": b"dog"}
V2 = {"train.csv": b"x,y\n1,2\n3,4\n", "images/cat.png": b"\x89PNG cat", "images/emu.png": b"emu"}


def dvcish_command() -> list[str]:
    script = Path(sys.executable).with_name("dvcish")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "dvcish"]


def run(args: list[str], cwd: Path, env: dict[str, str], ok: bool = True):
    command = dvcish_command() + args[1:] if args[0] == "dvcish" else args
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if ok:
        assert done.returncode == 0, f"{args}: {done.stderr}{done.stdout}"
    return done


def write(folder: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)


@pytest.fixture
def ci(tmp_path: Path, moto_server):
    """(origin path, the environment of a CI job with credentials, the shared cache dir)."""
    bucket = moto_server.new_bucket(prefix="datasets")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DVCISH_"))}
    base.update(
        GIT_AUTHOR_NAME="CI",
        GIT_AUTHOR_EMAIL="ci@example.invalid",
        GIT_COMMITTER_NAME="CI",
        GIT_COMMITTER_EMAIL="ci@example.invalid",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env = dict(base)
    env["AWS_ACCESS_KEY_ID"] = bucket["access_key_id"]
    env["AWS_SECRET_ACCESS_KEY"] = bucket["secret_access_key"]

    work = tmp_path / "work"
    work.mkdir()
    run(["git", "-c", "init.defaultBranch=main", "init", "-q"], work, env)
    run(["dvcish", "init"], work, env)
    run(["dvcish", "remote", "add", "-d", "storage", bucket["url"]], work, env)
    run(["dvcish", "remote", "modify", "storage", "endpointurl", bucket["endpointurl"]], work, env)
    run(["dvcish", "remote", "modify", "storage", "region", bucket["region"]], work, env)
    config = (work / ".dvcish" / "config").read_text()
    assert bucket["secret_access_key"] not in config and "access_key_id" not in config
    for tag, files in (("v1", V1), ("v2", V2)):
        if (work / "data").exists():
            run(["rm", "-rf", "data"], work, env)
        write(work / "data", files)
        run(["dvcish", "add", "data"], work, env)
        run(["git", "add", "-A"], work, env)
        run(["git", "commit", "-qm", f"data {tag}"], work, env)
        run(["git", "tag", tag], work, env)
        run(["dvcish", "push"], work, env)
    origin = tmp_path / "origin.git"
    run(["git", "clone", "-q", "--bare", str(work), str(origin)], tmp_path, env)
    shared = tmp_path / "ci-cache"
    return origin, env, base, shared


def ci_job(origin: Path, job: Path, env: dict[str, str], shared: Path):
    """One CI job: a shallow clone at v1 and `dvcish pull` with the shared cache."""
    clone = ["git", "clone", "-q", "--depth", "1", "--branch", "v1"]
    run([*clone, origin.as_uri(), str(job)], job.parent, env)
    return run(["dvcish", "pull"], job, {**env, "DVCISH_CACHE_DIR": str(shared)})


def test_ci_recipe_pull_get_and_warm_cache(ci, tmp_path):
    origin, env, _, shared = ci
    first = ci_job(origin, tmp_path / "job1", env, shared)
    assert read_tree(tmp_path / "job1" / "data") == V1
    assert "5 fetched, 0 already in cache" in first.stdout  # 2 tree levels + 3 files

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    run(["dvcish", "get", str(origin), "data", "--rev", "v2", "-o", "out"], empty, env)
    assert os.listdir(empty) == ["out"]
    assert read_tree(empty / "out") == V2

    second = ci_job(origin, tmp_path / "job2", env, shared)
    assert read_tree(tmp_path / "job2" / "data") == V1
    assert "0 fetched, 5 already in cache" in second.stdout


def test_ci_pull_without_credentials_fails_loudly(ci, tmp_path):
    origin, _, no_credentials, shared = ci
    job = tmp_path / "job"
    run(["git", "clone", "-q", "--depth", "1", origin.as_uri(), str(job)], tmp_path, no_credentials)
    done = run(["dvcish", "pull"], job, {**no_credentials, "DVCISH_CACHE_DIR": str(shared)}, False)
    assert done.returncode == 1
    assert "credentials" in done.stderr
    assert not (job / "data").exists()
