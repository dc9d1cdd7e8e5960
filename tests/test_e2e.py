"""End-to-end scenarios with real git and (mostly) real dvcish processes.

1. Versions: a folder of 1,000 files through add / change / git commit / git checkout /
   dvcish checkout, both ways, byte for byte.
2. A local-folder remote: push, git clone, pull; a missing or corrupted remote object; a push
   killed with SIGKILL and run again.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xxhash

from dvcish.pointer import load_pointer
from dvcish.storage.base import object_key
from tests import helpers
from tests.helpers import (
    age,
    corrupt_object,
    git,
    git_init,
    make_dataset,
    read_tree,
    run_cli,
    run_dvcish,
    write_files,
)

git_env = helpers.git_env  # fixture

pytestmark = pytest.mark.usefixtures("git_env")


def dvcish_ok(args: list[str], cwd: Path) -> str:
    result = run_dvcish(args, cwd)
    assert result.returncode == 0, f"dvcish {args}: {result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def cli_ok(args: list[str], cwd: Path) -> str:
    result = run_cli(args, cwd=cwd)
    assert result.exit_code == 0, result.output
    return result.stdout


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def executables(root: Path) -> set[str]:
    return {rel for rel in read_tree(root) if os.stat(root / rel).st_mode & stat.S_IXUSR}


def remote_objects(remote: Path) -> dict[str, bytes]:
    """Every file under a final (non-temp) name in a local remote: ``oid -> bytes``."""
    found = {}
    for rel, data in read_tree(remote).items():
        prefix, _, name = rel.partition("/")
        if name.startswith(".tmp-"):
            continue
        found[prefix + name] = data
    return found


def count_files(folder: Path) -> int:
    """How many files (objects or temp files) the fan-out folders below ``folder`` hold (cheap
    enough to poll)."""
    try:
        prefixes = os.listdir(folder)
    except FileNotFoundError:
        return 0
    return sum(len(os.listdir(folder / prefix)) for prefix in prefixes)


def assert_remote_sound(remote: Path) -> dict[str, bytes]:
    """Every object under a final name hashes to its name; leftovers only have temp names."""
    objects = remote_objects(remote)
    for oid, data in objects.items():
        assert len(oid) == 32, oid
        assert xxhash.xxh3_128_hexdigest(data) == oid, f"partial or corrupt object {oid}"
    for rel in read_tree(remote):
        name = rel.rpartition("/")[2]
        assert name.startswith(".tmp-") or len(rel) == 33, rel
    return objects


# ----------------------------------------------------------------------------- versions


def test_versions_round_trip_through_git(tmp_path, monkeypatch):
    root = git_init(tmp_path / "repo")
    monkeypatch.chdir(root)
    assert "Initialized dvcish" in dvcish_ok(["init"], root)
    v1 = make_dataset(root / "data", 1000, seed="e2e-v1", max_size=400, per_folder=100)
    os.chmod(root / "data" / sorted(v1)[0], 0o755)
    age(root / "data")
    out = cli_ok(["add", "data"], root)
    assert "Added data (1,000 files" in out
    commit_all(root, "v1")

    names = sorted(v1)
    modified = names[10:20]
    deleted = names[500:505]
    added = [f"new/extra{n}.txt" for n in range(7)]
    write_files(root / "data", {rel: b"changed " + rel.encode() for rel in modified})
    write_files(root / "data", {rel: b"added " + rel.encode() for rel in added})
    for rel in deleted:
        (root / "data" / rel).unlink()
    os.chmod(root / "data" / names[900], 0o755)

    status = json.loads(run_cli(["status", "--json"], cwd=root).stdout)[0]
    assert status["state"] == "modified"
    assert status["added"] == [f"data/{rel}" for rel in added]
    assert status["modified"] == [f"data/{rel}" for rel in sorted(modified + [names[900]])]
    assert status["deleted"] == [f"data/{rel}" for rel in deleted]

    out = cli_ok(["add", "data"], root)
    assert "Added data (1,002 files" in out
    assert "; 17 hashed)" in out  # only the added and modified files were read
    v2 = read_tree(root / "data")
    v2_exec = executables(root / "data")
    commit_all(root, "v2")

    git(root, "checkout", "-q", "HEAD~1")
    out = dvcish_ok(["checkout"], root)
    # written: 10 modified + 5 deleted + 1 chmod; deleted: the 7 added; the rest untouched
    assert "data: 16 written, 7 deleted, 984 unchanged" in out
    assert read_tree(root / "data") == v1
    assert executables(root / "data") == {names[0]}
    assert not (root / "data/new").exists()
    assert run_cli(["status", "-q"], cwd=root).exit_code == 0

    git(root, "checkout", "-q", "main")
    dvcish_ok(["checkout"], root)
    assert read_tree(root / "data") == v2
    assert executables(root / "data") == v2_exec == {names[0], names[900]}
    assert run_cli(["status", "-q"], cwd=root).exit_code == 0


# ----------------------------------------------------------------------------- remotes


@pytest.fixture
def pushed(tmp_path, monkeypatch):
    """A repo with data + a file, committed, and pushed to a local-folder remote."""
    root = git_init(tmp_path / "repo")
    monkeypatch.chdir(root)
    cli_ok(["init"], root)
    files = make_dataset(root / "data", 120, seed="remote", max_size=3000, per_folder=40)
    write_files(root, {"model.bin": b"weights" * 1000})
    cli_ok(["add", "data", "model.bin"], root)
    remote = tmp_path / "remote"
    cli_ok(["remote", "add", "-d", "store", str(remote)], root)
    cli_ok(["remote", "modify", "store", "packs", "false"], root)  # loose: tests/test_packs.py
    commit_all(root, "data")
    out = cli_ok(["push"], root)
    assert "125 pushed" in out  # 121 files; the root level of data/ and 3 subfolders
    return root, remote, files


def clone(root: Path, tmp_path: Path, name: str = "clone") -> Path:
    target = tmp_path / name
    git(tmp_path, "clone", "-q", str(root), str(target))
    return target


def test_push_clone_pull(pushed, tmp_path):
    root, remote, files = pushed
    assert run_dvcish(["status", "--cloud"], root).returncode == 0
    objects = assert_remote_sound(remote)
    assert len(objects) == 125

    copy = clone(root, tmp_path)
    assert not (copy / "data").exists()
    assert "125 fetched" in cli_ok(["fetch"], copy)
    assert not (copy / "data").exists()  # fetch fills the cache only
    assert {e["state"] for e in json.loads(run_cli(["status", "--json"], cwd=copy).stdout)} == {
        "missing_from_workspace"
    }
    assert "0 fetched, 125 already in cache" in dvcish_ok(["pull"], copy)
    assert read_tree(copy / "data") == files
    assert (copy / "model.bin").read_bytes() == b"weights" * 1000
    assert run_cli(["status", "-q"], cwd=copy).exit_code == 0
    assert run_cli(["fsck"], cwd=copy).exit_code == 0
    assert "0 pushed, 125 already on remote" in cli_ok(["push"], root)


def test_pull_lists_objects_missing_from_the_remote(pushed, tmp_path):
    root, remote, files = pushed
    lost = sorted(files)[7]
    oid = xxhash.xxh3_128_hexdigest(files[lost])
    os.unlink(remote / object_key(oid))
    copy = clone(root, tmp_path)
    result = run_dvcish(["pull"], copy)
    assert result.returncode == 1
    assert f"data/{lost}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (copy / "data" / lost).exists()
    others = {rel: data for rel, data in files.items() if rel != lost}
    assert {rel: (copy / "data" / rel).read_bytes() for rel in others} == others


def test_corrupted_remote_object_fails_the_pull(pushed, tmp_path):
    root, remote, files = pushed
    victim = sorted(files)[3]
    oid = xxhash.xxh3_128_hexdigest(files[victim])
    remote_path = remote / object_key(oid)
    corrupt_object(remote_path, b"rotten bits")

    copy = clone(root, tmp_path)
    result = run_dvcish(["pull"], copy)
    assert result.returncode == 1
    assert "remote 'store'" in result.stderr
    assert object_key(oid) in result.stderr
    assert "Traceback" not in result.stderr
    assert remote_path.read_bytes() == b"rotten bits"  # still there for the user to inspect
    assert not (copy / ".dvcish/cache" / object_key(oid)).exists()
    assert not (copy / "data" / victim).exists()


def test_push_killed_then_run_again_leaves_a_complete_remote(tmp_path, monkeypatch):
    root = git_init(tmp_path / "repo")
    monkeypatch.chdir(root)
    cli_ok(["init"], root)
    files = make_dataset(root / "data", 3000, seed="kill", max_size=4000, per_folder=100)
    cli_ok(["add", "data"], root)
    remote = tmp_path / "remote"
    cli_ok(["remote", "add", "-d", "store", str(remote)], root)
    cli_ok(["remote", "modify", "store", "packs", "false"], root)  # packs: tests/test_packs.py
    needed = {xxhash.xxh3_128_hexdigest(data) for data in files.values()}

    push = subprocess.Popen(
        [sys.executable, "-m", "dvcish", "push", "-j", "2"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and push.poll() is None:
            if count_files(remote) >= 20:  # objects or, before a batch commits, temp files
                break
            time.sleep(0.002)
        os.kill(push.pid, signal.SIGKILL)
    finally:
        push.wait(timeout=30)
    assert push.returncode == -signal.SIGKILL, "push finished before it could be killed"

    interrupted = set(assert_remote_sound(remote))  # temp files at most, never partial objects
    assert count_files(remote) >= 20, "the push was killed before it wrote anything"
    assert not needed <= interrupted, "the push completed before the kill"
    assert run_cli(["status", "--cloud", "-q"], cwd=root).exit_code == 1

    dvcish_ok(["push"], root)
    assert run_cli(["status", "--cloud"], cwd=root).exit_code == 0
    complete = assert_remote_sound(remote)
    assert needed <= set(complete)
    assert len(complete) == len(needed) + 31  # plus the levels: root and 30 folders


def test_push_never_uploads_a_corrupt_cache_object(pushed, tmp_path):
    root, _remote, files = pushed
    victim = sorted(files)[5]
    oid = xxhash.xxh3_128_hexdigest(files[victim])
    corrupt_object(root / ".dvcish/cache" / object_key(oid), b"bit rot")
    other = tmp_path / "other-remote"
    cli_ok(["remote", "add", "other", str(other)], root)
    cli_ok(["remote", "modify", "other", "packs", "false"], root)
    result = run_cli(["push", "-r", "other"], cwd=root)
    assert result.exit_code == 1
    assert oid in result.stderr
    objects = assert_remote_sound(other)
    assert oid not in objects
    tree_oid = load_pointer(str(root / "data.dvcish")).oid
    assert tree_oid not in objects  # a tree goes up only after all its members
    # the other 119 members, model.bin, and the levels of the two folders without the victim
    assert len(objects) == 122
