"""Progress callbacks: how the core reports work as it goes, without printing anything.

The CLI passes callbacks that move bars; the Python API and tests pass nothing (``Progress()``
does nothing). Every callback runs on the calling (main) thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def _ignore(*_args: object) -> None:
    return None


@dataclass
class Progress:
    #: ``items(n)``: n more files or objects are done
    items: Callable[[int], None] = _ignore
    #: ``bytes(n)``: n more bytes moved
    bytes: Callable[[int], None] = _ignore
    #: ``totals(items, bytes)``: how much work there is, once planning knows (None: unknown)
    totals: Callable[[int | None, int | None], None] = _ignore
    #: ``phase(text)``: a step without a count is starting ("listing remote")
    phase: Callable[[str], None] = _ignore
