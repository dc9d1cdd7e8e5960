"""A description of the machine and the software versions a benchmark ran with."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

from tools import package_versions


def describe(work: Path, repo: Path, dvc_python: Path, rclone: Path) -> dict[str, str]:
    ours = package_versions(Path(sys.executable), ["dvcish", "boto3", "moto"])
    theirs = package_versions(dvc_python, ["dvc", "dvc-s3", "dvc-data", "dvc-objects", "s3fs"])
    return {
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count()),
        "memory": _memory(),
        "filesystem": _filesystem(work),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "dvc": theirs.get("dvc", "-"),
        "dvc-s3": theirs.get("dvc-s3", "-"),
        "dvc-data / dvc-objects / s3fs": " / ".join(
            theirs.get(n, "-") for n in ("dvc-data", "dvc-objects", "s3fs")
        ),
        "dvcish": f"{ours.get('dvcish', '-')} at {_git_commit(repo)}",
        "boto3 / moto": f"{ours.get('boto3', '-')} / {ours.get('moto', '-')}",
        "rclone": _first_line([str(rclone), "version"]),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _filesystem(path: Path) -> str:
    """Filesystem type and device of the mount holding `path` (longest matching mount point)."""
    best = ("", "unknown", "unknown")
    target = str(path.resolve())
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "unknown"
    for line in mounts:
        device, point, fstype = line.split()[:3]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best[0]):
            best = (point, fstype, device)
    return f"{best[1]} ({best[2]} on {best[0]})"


def _git_commit(repo: Path) -> str:
    head = _first_line(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"])
    if not head or head == "unknown":
        return "no commit yet"
    dirty = subprocess.run(
        ["git", "-C", str(repo), "status", "--porcelain", "--", "dvcish"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head}{' (dvcish/ has uncommitted changes)' if dirty else ''}"


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if out.returncode != 0 or not out.stdout.strip():
        return "unknown"
    return out.stdout.splitlines()[0].strip()
