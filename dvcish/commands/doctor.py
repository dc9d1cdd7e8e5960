"""``dvcish version`` / ``doctor``: what a bug report needs, gathered without changing anything.

Versions (dvcish, Python, the platform, the runtime dependencies, git); inside a repository also
the cache (its folder, the configured link types, which of them work between the cache and the
workspace, the filesystems of both) and every remote (its url, never a secret, and whether it
can be read). The probes write only short-lived temp files in ``.dvcish/tmp`` and the cache root.
"""

from __future__ import annotations

import os
import platform
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import metadata

from dvcish import __version__, fsutil
from dvcish.config import LINK_TYPES
from dvcish.errors import DvcishError
from dvcish.remotes import list_remotes, open_remote
from dvcish.repo import Repo
from dvcish.storage.verified import try_reflink

DEPENDENCIES = ("typer", "boto3", "botocore", "xxhash", "PyYAML", "tqdm")
UNKNOWN = "unknown"


@dataclass
class RemoteCheck:
    name: str
    url: str
    default: bool
    reachable: bool | None = None  # None: not checked
    problem: str | None = None


@dataclass
class CacheInfo:
    folder: str
    link_types: list[str]  # as configured (cache.type)
    links_that_work: list[str]  # between the cache and the workspace, probed
    filesystem: str
    workspace_filesystem: str


@dataclass
class Report:
    dvcish: str
    python: str
    platform: str
    dependencies: dict[str, str]
    git: str
    repository: str | None = None
    cache: CacheInfo | None = None
    remotes: list[RemoteCheck] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def report(repo: Repo | None, check_remotes: bool = True) -> Report:
    found = Report(
        dvcish=__version__,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        platform=platform.platform(),
        dependencies={name: _version_of(name) for name in DEPENDENCIES},
        git=_git_version(),
    )
    if repo is None:
        return found
    found.repository = repo.root
    found.cache = _cache_info(repo)
    found.remotes = [
        RemoteCheck(info.name, info.url, info.is_default) for info in list_remotes(repo.config)
    ]
    if check_remotes and found.remotes:
        with ThreadPoolExecutor(max_workers=len(found.remotes)) as pool:
            list(pool.map(lambda check: _check_remote(repo, check), found.remotes))
    return found


def _version_of(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_version() -> str:
    try:
        done = subprocess.run(["git", "--version"], capture_output=True, stdin=subprocess.DEVNULL)
    except OSError:
        return "not found on PATH"
    return done.stdout.decode(errors="replace").strip().removeprefix("git version ") or UNKNOWN


def _cache_info(repo: Repo) -> CacheInfo:
    try:
        configured = repo.config.link_types()
    except DvcishError as exc:
        configured = [f"invalid: {exc}"]
    folder = repo.cache.root
    return CacheInfo(
        folder=folder,
        link_types=configured,
        links_that_work=_working_links(folder, repo.tmp_dir),
        filesystem=filesystem_of(folder),
        workspace_filesystem=filesystem_of(repo.root),
    )


def _working_links(cache_root: str, workspace_dir: str) -> list[str]:
    """Which link types work from the cache to the workspace, tried on temp files."""
    if not os.path.isdir(cache_root):
        return []
    os.makedirs(workspace_dir, exist_ok=True)
    source, fd = fsutil.create_temp(cache_root, 0o444)
    targets: list[str] = []
    try:
        os.write(fd, b"dvcish doctor\n")
        os.close(fd)
        working = []
        for link_type in LINK_TYPES:
            target = fsutil.temp_name(workspace_dir)
            targets.append(target)
            if _try_link(link_type, source, target):
                working.append(link_type)
        return working
    finally:
        for path in [source, *targets]:
            fsutil.remove_quietly(path)


def _try_link(link_type: str, source: str, target: str) -> bool:
    try:
        if link_type == "hardlink":
            os.link(source, target)
        elif link_type == "symlink":
            os.symlink(source, target)
        elif link_type == "reflink":
            return _try_reflink(source, target)
    except OSError:
        return False
    return True  # "copy" always works


def _try_reflink(source: str, target: str) -> bool:
    src = os.open(source, os.O_RDONLY)
    try:
        dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            return try_reflink(src, dst)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def filesystem_of(path: str) -> str:
    """The filesystem type holding ``path`` (Linux: from /proc/self/mountinfo)."""
    real = os.path.realpath(path)
    best, kind = "", UNKNOWN
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
            lines = handle.readlines()
    except OSError:
        return UNKNOWN
    for line in lines:
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        mount = fields[4].replace("\\040", " ")
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, line.split(" - ", 1)[1].split()[0]
    return kind


def _check_remote(repo: Repo, check: RemoteCheck) -> None:
    try:
        store = open_remote(repo, check.name)
        try:
            store.check_readable()
        finally:
            store.close()
    except DvcishError as exc:
        check.reachable, check.problem = False, str(exc)
        return
    except OSError as exc:
        check.reachable, check.problem = False, f"{exc.filename or check.url}: {exc.strerror}"
        return
    check.reachable = True
