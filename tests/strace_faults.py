"""Faults injected into a real dvcish process by strace (``-e inject=...``): a SIGKILL at one
system call (the crash sweep) or an error such as ENOSPC (a full disk).

strace counts the calls of each syscall per thread, and ``when=K`` picks the K-th. So a dry run
under strace first records every call (``Call``: thread, syscall, K, and the arguments with
file descriptors shown as paths); a test picks the calls it wants and injects there.

``STRACE_PROBLEM`` says why strace cannot be used here (not installed, or ptrace refused);
modules that need it skip with that reason (``make test`` installs strace when run as root).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

# The calls that write file data: in order, at an offset, and in the kernel (copy_file_range).
WRITES = ("write", "pwrite64", "copy_file_range")
_CALL = re.compile(r"^(\d+)\s+([a-z0-9_]+)\((.*)$")


class Call(NamedTuple):
    tid: str
    syscall: str
    number: int  # K: this call is the K-th of its syscall in its thread
    args: str  # with -y: file descriptors followed by <path>; AT_FDCWD's path removed


def strace_problem() -> str | None:
    """Why strace cannot inject faults here, or None when it can."""
    binary = shutil.which("strace")
    if binary is None:
        return "strace is not installed (`make test` installs it as root: apt-get install strace)"
    probe = [binary, "-f", "-qq", "-o", os.devnull, "-e", "trace=openat"]
    probe += ["-e", "inject=openat:signal=SIGKILL:when=1", sys.executable, "-c", "pass"]
    done = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    if done.returncode != -9:
        return f"strace cannot inject faults here (exit {done.returncode}): {done.stderr.strip()}"
    return None


STRACE_PROBLEM = strace_problem()
needs_strace = pytest.mark.skipif(STRACE_PROBLEM is not None, reason=str(STRACE_PROBLEM))


def run_dvcish_traced(
    cwd: Path, args: list[str], strace_args: list[str]
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("DVCISH_CACHE_DIR", None)
    command = ["strace", "-f", "-qq", *strace_args, sys.executable, "-m", "dvcish", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def record_calls(cwd: Path, args: list[str], syscalls: tuple[str, ...], log: Path) -> list[Call]:
    """Run ``dvcish ARGS`` in ``cwd`` under strace (it must succeed); every call of
    ``syscalls`` it made, in order."""
    done = run_dvcish_traced(cwd, args, ["-y", "-o", str(log), "-e", f"trace={','.join(syscalls)}"])
    assert done.returncode == 0, done.stderr
    counts: dict[tuple[str, str], int] = {}
    calls = []
    for line in log.read_text(errors="replace").splitlines():
        match = _CALL.match(line)
        if match is None:
            continue
        tid, syscall, rest = match.groups()
        counts[tid, syscall] = counts.get((tid, syscall), 0) + 1
        rest = re.sub(r"AT_FDCWD<[^>]*>", "AT_FDCWD", rest)
        calls.append(Call(tid, syscall, counts[tid, syscall], rest))
    return calls


def run_injected(
    cwd: Path, args: list[str], call: Call, fault: str
) -> subprocess.CompletedProcess[str]:
    """Run ``dvcish ARGS`` with ``fault`` (``signal=SIGKILL``, ``error=ENOSPC``) injected into
    the ``call.number``-th call of ``call.syscall`` of each thread."""
    syscall = call.syscall
    inject = f"inject={syscall}:{fault}:when={call.number}"
    return run_dvcish_traced(cwd, args, ["-o", os.devnull, "-e", f"trace={syscall}", "-e", inject])
