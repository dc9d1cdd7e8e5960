"""push, fetch and pull of a part of a tracked folder (a file or a subfolder, from any folder),
and pulls and fetches that meet a corrupt cache object."""

from __future__ import annotations

import os

import xxhash

from tests import helpers
from tests.helpers import (
    corrupt_object,
    git,
    make_dataset,
    object_path,
    read_tree,
    run_cli,
)

git_repo = helpers.git_repo  # fixture
ok = helpers.cli_ok


def origin_and_clone(root, tmp_path):
    files = make_dataset(root / "data", 12, seed="targets", per_folder=4)
    ok("add", "data")
    ok("remote", "add", "-d", "store", str(tmp_path / "remote"))
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "v1")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(root), str(clone))
    return files, clone


def test_push_a_subfolder_from_inside_the_tracked_folder(git_repo, tmp_path):
    files, _clone = origin_and_clone(git_repo, tmp_path)
    inner = sorted(files)[0].split("/")[0]
    pushed = ok("push", inner, cwd=git_repo / "data")
    assert pushed.startswith("4 pushed, 0 already on remote")  # only that subfolder's files
    assert ok("push").startswith("12 pushed, 4 already")  # the rest and the 4 tree levels


def test_fetch_and_pull_a_subfolder_of_a_clone(git_repo, tmp_path):
    files, clone = origin_and_clone(git_repo, tmp_path)
    ok("push")
    inner = sorted(files)[0].split("/")[0]
    # the root level, the subfolder's level and its 4 files
    assert ok("fetch", f"data/{inner}", cwd=clone).startswith("6 fetched")
    pulled = ok("pull", f"data/{inner}", cwd=clone)
    assert "0 fetched" in pulled
    expected = {rel: data for rel, data in files.items() if rel.startswith(f"{inner}/")}
    assert read_tree(clone / "data") == expected
    checkout = ok("status", "--json", f"data/{inner}", cwd=clone)
    assert '"state": "up_to_date"' in checkout


def clone_with_a_corrupt_object(root, tmp_path):
    """A pushed origin and a fetched clone whose cache holds one corrupt object."""
    files, clone = origin_and_clone(root, tmp_path)
    ok("push")
    ok("fetch", cwd=clone)
    victim = sorted(files)[0]
    oid = xxhash.xxh3_128_hexdigest(files[victim])
    corrupt_object(object_path(clone, oid))
    return files, clone, victim, oid


def test_pull_after_a_corrupt_cache_object_repairs_it(git_repo, tmp_path):
    files, clone, victim, oid = clone_with_a_corrupt_object(git_repo, tmp_path)
    result = run_cli(["pull"], cwd=clone)
    assert result.exit_code == 0, result.output
    assert "see above" not in result.output
    assert read_tree(clone / "data") == files
    assert object_path(clone, oid).read_bytes() == files[victim]
    assert (clone / ".dvcish/cache/.quarantine" / oid).exists()


def test_fetch_replaces_a_corrupt_cache_object(git_repo, tmp_path):
    files, clone, victim, oid = clone_with_a_corrupt_object(git_repo, tmp_path)
    fetched = ok("fetch", cwd=clone)
    assert fetched.startswith("1 fetched, 15 already in cache")  # 12 files, 4 levels
    assert object_path(clone, oid).read_bytes() == files[victim]
    assert ok("fetch", cwd=clone).startswith("0 fetched, 16 already in cache")


def test_a_partial_pull_checks_out_what_arrived_and_names_the_rest(git_repo, tmp_path):
    files, clone = origin_and_clone(git_repo, tmp_path)
    victim = sorted(files)[2]
    oid = xxhash.xxh3_128_hexdigest(files[victim])
    ok("remote", "modify", "store", "packs", "false")  # loose objects: one file each
    ok("push")
    remote_object = tmp_path / "remote" / oid[:2] / oid[2:]
    remote_object.chmod(0o644)
    remote_object.unlink()
    result = run_cli(["pull"], cwd=clone)
    assert result.exit_code == 1
    assert f"data/{victim}" in result.stderr and "see above" in result.stderr
    assert read_tree(clone / "data") == {k: v for k, v in files.items() if k != victim}
    ok("push")  # the object is on the remote again: running pull again finishes the job
    ok("pull", cwd=clone)
    assert read_tree(clone / "data") == files


def test_fetch_reads_only_objects_the_stat_cache_cannot_vouch_for(git_repo, tmp_path):
    """A second fetch proves cached objects by their stat alone: bytes changed behind the stat
    cache's back (same inode, size and mtime) are not read, as the design says; any change
    that shows in the stat is read and caught (see the corrupt-object tests)."""
    files, clone = origin_and_clone(git_repo, tmp_path)
    ok("push")
    ok("fetch", cwd=clone)  # downloads: verified on the way in, recorded
    ok("fetch", cwd=clone)  # freshens every object: still verified under the new mtime
    victim = sorted(files)[5]
    path = object_path(clone, xxhash.xxh3_128_hexdigest(files[victim]))
    before = path.stat()
    corrupt_object(path, b"X" * len(files[victim]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert ok("fetch", cwd=clone).startswith("0 fetched, 16 already in cache")
    path.chmod(0o644)
    path.write_bytes(files[victim][::-1])  # a new mtime: read again, quarantined, fetched
    assert ok("fetch", cwd=clone).startswith("1 fetched, 15 already in cache")
    assert path.read_bytes() == files[victim]
