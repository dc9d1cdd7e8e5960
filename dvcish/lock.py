"""One writer per repository: an advisory lock on ``.dvcish/tmp/lock``.

The lock is a ``flock`` held for the life of the command, so the kernel releases it when the
holder dies (even with ``kill -9``): a lock left by a dead process is simply taken over. The
file's content names the holder for the message a waiting process prints.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time

from dvcish.errors import LockError

POLL_SECONDS = 0.1


class RepoLock:
    def __init__(self, path: str, timeout: float):
        self.path = path
        self.timeout = timeout
        self._fd: int | None = None

    def __enter__(self) -> RepoLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    os.close(fd)
                    raise LockError(
                        f"{self.path}: repository is locked by {holder}; wait for it to finish"
                        " or stop that process"
                    ) from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        command = " ".join(os.path.basename(arg) for arg in sys.argv[:2])
        os.pwrite(fd, f"pid {os.getpid()} ({command})\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def _read_holder(fd: int) -> str:
    text = os.pread(fd, 200, 0).decode(errors="replace").strip()
    return text or "another process"
