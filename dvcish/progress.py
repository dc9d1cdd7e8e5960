"""Progress callbacks: how the core reports work as it goes, without printing anything.

The CLI passes callbacks that move bars or print lines (cli/bars.py); the Python API and tests
pass nothing (``Progress()`` does nothing). Every ``Progress`` callback runs on the calling
(main) thread. Work is reported as *steps*:

- ``phase(text)`` starts a step and says what it does ("asking the remote what it holds");
- ``totals(items, bytes)`` says how much work the current step has, once planning knows, and
  restarts its counts from zero (None: unknown). A step with totals shows as a bar;
- ``items(n)`` and ``bytes(n)`` count what is done.

Worker threads never call a ``Progress``: a store reports the bytes of an object as they move
(``ByteCallback``, from any thread) into a ``Tally``, which the main thread drains into
``Progress.bytes`` while it waits (``transfer.bounded_map``'s ``on_wait``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

# Called with a number of bytes just moved; may run on any thread.
ByteCallback = Callable[[int], None]


def ignore(*_args: object) -> None:
    """A callback that does nothing (no progress wanted)."""
    return None


@dataclass
class Progress:
    #: ``items(n)``: n more files or objects are done
    items: Callable[[int], None] = ignore
    #: ``bytes(n)``: n more bytes moved or read
    bytes: Callable[[int], None] = ignore
    #: ``totals(items, bytes)``: how much work this step has (None: unknown); counts restart
    totals: Callable[[int | None, int | None], None] = ignore
    #: ``phase(text)``: a step starts ("hashing 19,712 files"); shown until the next phase
    phase: Callable[[str], None] = ignore


class Tally:
    """A count kept by worker threads (bytes, files), handed to the main thread by ``drain``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending = 0

    def add(self, count: int) -> None:
        with self._lock:
            self._pending += count

    def drain(self) -> int:
        with self._lock:
            count, self._pending = self._pending, 0
        return count

    def pass_to(self, callback: Callable[[int], None]) -> None:
        """Hand what was counted since the last call to ``callback`` (a ``Progress`` member,
        on the main thread)."""
        count = self.drain()
        if count:
            callback(count)
