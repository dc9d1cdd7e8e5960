"""Reflinks on a filesystem that has them: a small XFS image, loop-mounted for this module.

``add`` and ``checkout`` share extents with the cache instead of copying (``filefrag -v``
shows the same physical blocks, flagged ``shared``, and the free space barely moves), and
editing the workspace file never changes the cached object (XFS copies a shared block on
write). ``make test`` installs xfsprogs when it runs as root; where the image cannot be made
or mounted, every test here is skipped with the reason (``-ra`` prints it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dvcish.hashing import hash_bytes
from dvcish.pointer import load_pointer
from tests.helpers import cli_ok, git

IMAGE_SIZE = 320 << 20  # XFS wants at least 300 MiB
BIG = 24 << 20  # well above SMALL_FILE: added and checked out by reflink


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _why_not(image: Path, mount_point: Path) -> str | None:
    """Make and mount the XFS image; None when it worked, else why it could not."""
    if os.geteuid() != 0:
        return "mounting an XFS image needs root (run the tests as root, as CI does)"
    if shutil.which("mkfs.xfs") is None:
        return "mkfs.xfs is missing (`make test` installs it as root: apt-get install xfsprogs)"
    with open(image, "wb") as handle:
        handle.truncate(IMAGE_SIZE)
    made = _run("mkfs.xfs", "-q", "-m", "reflink=1", str(image))
    if made.returncode != 0:
        return f"mkfs.xfs failed: {made.stderr.strip()}"
    mount_point.mkdir()
    mounted = _run("mount", "-o", "loop", str(image), str(mount_point))
    if mounted.returncode != 0:
        return f"cannot loop-mount the XFS image here: {mounted.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def xfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The root of a freshly made XFS filesystem with reflink support."""
    base = tmp_path_factory.mktemp("xfs")
    image, mount_point = base / "xfs.img", base / f"mnt-{uuid.uuid4().hex[:8]}"
    problem = _why_not(image, mount_point)
    if problem is not None:
        image.unlink(missing_ok=True)
        pytest.skip(f"no XFS to test reflinks on: {problem}")
    try:
        yield mount_point
    finally:
        _run("umount", str(mount_point))
        image.unlink(missing_ok=True)


@pytest.fixture
def repo(xfs: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with a dvcish cache, on the XFS filesystem, as the cwd."""
    root = xfs / uuid.uuid4().hex[:8]
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.delenv("DVCISH_CACHE_DIR", raising=False)
    git(root, "init", "-q")
    cli_ok("init")
    return root


def physical_extents(path: Path) -> list[tuple[int, int, bool]]:
    """(first physical block, length, shared) of each extent, from ``filefrag -v``."""
    listing = _run("filefrag", "-v", str(path))
    assert listing.returncode == 0, listing.stderr
    extents = []
    for line in listing.stdout.splitlines():
        found = re.match(r"\s*\d+:\s+\d+\.\.\s*\d+:\s+(\d+)\.\.\s*\d+:\s+(\d+):.*?(\S*)$", line)
        if found:
            extents.append((int(found[1]), int(found[2]), "shared" in found[3]))
    assert extents, listing.stdout
    return extents


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def assert_shares_extents(first: Path, second: Path) -> None:
    ours, theirs = physical_extents(first), physical_extents(second)
    assert ours == theirs, (ours, theirs)  # the very same blocks on the disk
    assert all(shared for _, _, shared in ours)


def cached_object(repo: Path, pointer: str) -> Path:
    oid = load_pointer(str(repo / pointer)).oid
    return repo / ".dvcish" / "cache" / oid[:2] / oid[2:]


def test_add_and_checkout_share_extents_and_edits_never_reach_the_cache(repo: Path) -> None:
    data = os.urandom(BIG)
    (repo / "big.bin").write_bytes(data)
    os.sync()
    before = free_bytes(repo)
    cli_ok("add", "big.bin")
    os.sync()
    cached = cached_object(repo, "big.bin.dvcish")
    assert_shares_extents(repo / "big.bin", cached)
    assert before - free_bytes(repo) < BIG // 4  # a copy would have taken 24 MiB more

    (repo / "big.bin").unlink()
    cli_ok("checkout")
    os.sync()
    assert_shares_extents(repo / "big.bin", cached)
    assert (repo / "big.bin").read_bytes() == data

    with open(repo / "big.bin", "r+b") as handle:  # an edit in the middle of the file
        handle.seek(BIG // 2)
        handle.write(b"edited in the workspace")
    assert cached.read_bytes() == data  # XFS copied the block on write: the cache is intact
    assert hash_bytes(cached.read_bytes()) == load_pointer(str(repo / "big.bin.dvcish")).oid
    assert "modified" in cli_ok("status")
    cli_ok("fsck")


def test_push_to_a_folder_remote_on_the_same_filesystem_shares_extents(
    repo: Path, xfs: Path
) -> None:
    (repo / "big.bin").write_bytes(os.urandom(BIG))
    cli_ok("add", "big.bin")
    remote = xfs / f"remote-{uuid.uuid4().hex[:8]}"
    remote.mkdir()
    cli_ok("remote", "add", "-d", "here", str(remote))
    cli_ok("push")
    cached = cached_object(repo, "big.bin.dvcish")
    os.sync()
    assert_shares_extents(remote / cached.parent.name / cached.name, cached)
