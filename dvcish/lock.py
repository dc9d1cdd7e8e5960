"""One writer per repository: an advisory lock on ``.dvcish/tmp/lock``.

The lock is a ``flock`` held for the life of the command, so the kernel releases it when the
holder dies (even with ``kill -9``): a lock left by a dead process is simply taken over. The
file's content names the holder for the message a waiting process prints.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import sys
import time
from collections.abc import Callable

from dvcish.errors import LockError

POLL_SECONDS = 0.1
NOTICE_AFTER = 1.0  # seconds of waiting before on_wait says so
COMMAND_LIMIT = 300  # characters of the holder's command line kept in the lock file


def command_line(argv: list[str] | None = None) -> str:
    """The running command as a person would type it (``dvcish push -r backup``)."""
    argv = list(sys.argv if argv is None else argv) or ["python"]
    program = os.path.basename(argv[0])
    if program == "__main__.py":  # python -m PACKAGE
        program = os.path.basename(os.path.dirname(argv[0]))
    argv[0] = program
    # bytes that are not UTF-8 (a file name) shown as \xNN: the line is written as UTF-8
    text = shlex.join(os.fsencode(arg).decode("utf-8", "backslashreplace") for arg in argv)
    return text if len(text) <= COMMAND_LIMIT else text[: COMMAND_LIMIT - 1] + "…"


class RepoLock:
    """``on_wait(holder)`` is called once when the lock has been busy for NOTICE_AFTER seconds
    and the wait goes on (so a person knows what the command waits for)."""

    def __init__(
        self,
        path: str,
        timeout: float,
        command: str | None = None,
        on_wait: Callable[[str], None] | None = None,
    ):
        self.path = path
        self.timeout = timeout
        self.command = command or command_line()
        self.on_wait = on_wait
        self._fd: int | None = None

    def __enter__(self) -> RepoLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        started = time.monotonic()
        deadline = started + self.timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                now = time.monotonic()
                if not told and self.on_wait is not None and now - started >= NOTICE_AFTER:
                    self.on_wait(_read_holder(fd))
                    told = True
                if now >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise LockError(
                        f"{self.path}: repository is locked by {holder}; wait for it to finish"
                        " or stop that process"
                    ) from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({self.command})\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    text = os.pread(fd, COMMAND_LIMIT * 4 + 40, 0).decode(errors="replace").strip()
    return text or "another process"
