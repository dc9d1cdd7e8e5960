"""Child processes: run a step as its own process and measure it.

A *measurement* is the wall time from spawn to reap and the peak resident set size that the
kernel reports for the child through `wait4` (the largest of the child and of every descendant
it reaped), so the number belongs to the tool's own process, not to this harness.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_mib: float
    returncode: int


class StepFailed(RuntimeError):
    """A measured or setup command exited with an unexpected code."""

    def __init__(self, cmd: list[str], returncode: int, log: Path | None):
        tail = _tail(log) if log else ""
        super().__init__(f"`{' '.join(cmd)}` exited with {returncode}")
        self.cmd = cmd
        self.returncode = returncode
        self.tail = tail


def measure(
    cmd: list[str],
    cwd: Path,
    env: dict[str, str],
    log: Path,
    ok_codes: tuple[int, ...] = (0,),
) -> Measurement:
    """Run `cmd` directly (no shell), append its output to `log`, time it and reap it.

    Dirty pages left by earlier setup are flushed first (not timed), so a step does not pay for
    writing back what the harness wrote before it.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    os.sync()
    with open(log, "ab") as out:
        out.write(f"\n$ (cd {cwd} && {' '.join(cmd)})\n".encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.write(f"# exit {proc.returncode} in {seconds:.3f}s\n".encode())
    if proc.returncode not in ok_codes:
        raise StepFailed(cmd, proc.returncode, log)
    return Measurement(seconds, usage.ru_maxrss / 1024.0, proc.returncode)


def run(
    cmd: list[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> str:
    """Run an unmeasured setup command; return its stdout, raise StepFailed on failure."""
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as out:
            out.write(f"\n$ (cd {cwd} && {' '.join(cmd)})\n{proc.stdout}{proc.stderr}")
            out.write(f"# exit {proc.returncode} in {seconds:.3f}s (not timed)\n")
    if proc.returncode != 0:
        if log is None:
            raise RuntimeError(f"command failed: {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
        raise StepFailed(cmd, proc.returncode, log)
    return proc.stdout


def remove_tree(path: Path) -> None:
    """`rm -rf`: far faster than shutil.rmtree for the 10^5-10^6 files a scenario leaves."""
    if path.exists() or path.is_symlink():
        subprocess.run(["rm", "-rf", "--", str(path)], check=True)


def _tail(log: Path, lines: int = 12) -> str:
    """The last lines of output of the last command in `log`."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return ""
    last = text.rsplit("\n$ ", 1)[-1].splitlines()[1:]
    return "\n".join(line for line in last[-lines:] if not line.startswith("# exit "))
