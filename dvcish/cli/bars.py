"""Progress on stderr: tqdm bars on a terminal, plain lines elsewhere (CI logs), nothing with -q.

The core reports *steps* through ``dvcish.progress.Progress`` on the main thread: ``phase``
starts one and says what it does, ``totals`` gives it a count of files and bytes, ``items`` and
``bytes`` count what is done. ``progress(title)`` shows them:

- **On a terminal**: a files bar and, for a step with a byte total, a bytes bar under it, each
  with its total, percentage, elapsed time, ETA and rate, sizes in IEC units (KiB, MiB, GiB).
  A step without totals shows what it does and a running clock. A ticker thread redraws every
  ``REDRAW`` seconds, so the clock and ETA move while one large file is in flight or a remote
  is being listed.
- **Elsewhere** (CI, pipes): no bars. While work goes on, one plain line every
  ``DVCISH_PROGRESS_INTERVAL`` seconds (default 10) saying where it is; when a counted step
  that ran that long ends, its last state. Commands shorter than the interval print nothing.

State changes under one lock; the ticker only reads it. Nothing here reaches into the core.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import typer

from dvcish.cli import output
from dvcish.cli.output import count, human_bytes
from dvcish.progress import Progress

INTERVAL_ENV = "DVCISH_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 10.0
REDRAW = 0.5  # seconds between redraws (terminal) and interval checks (lines)
MIN_REDRAW = 0.1  # a callback redraws the bars at most this often
# tqdm bar formats; done, whole, noun and speed are ours (counts with commas, IEC sizes)
FILES_FORMAT = (
    "{desc}: {percentage:3.0f}%|{bar}| {done}/{whole} {noun} [{elapsed}<{remaining}{speed}]"
)
BYTES_FORMAT = "{percentage:3.0f}%|{bar}| {done}/{whole} [{elapsed}<{remaining}, {speed}]"


@contextmanager
def progress(title: str, unit: str = "file", enabled: bool = True) -> Iterator[Progress]:
    """A ``Progress`` for the core that shows on stderr as this module describes (not with -q,
    nor when ``enabled`` is false)."""
    if output.current().quiet or not enabled:
        yield Progress()
        return
    display: Display = Bars(title, unit) if sys.stderr.isatty() else Lines(title, unit)
    display.start()
    try:
        yield display.progress()
    finally:
        display.stop()


def interval() -> float:
    """Seconds between plain progress lines (``DVCISH_PROGRESS_INTERVAL``, default 10)."""
    try:
        return max(0.0, float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL)))
    except ValueError:
        return DEFAULT_INTERVAL


@dataclass
class Step:
    """One step of the work: what it does, and its counts once it has totals."""

    label: str | None
    started: float  # time.monotonic()
    counted: bool = False
    items: int = 0
    items_total: int | None = None
    nbytes: int = 0
    bytes_total: int | None = None

    def elapsed(self, now: float) -> float:
        return max(0.0, now - self.started)

    def rate(self, now: float) -> tuple[float, bool]:
        """(rate, in bytes): bytes per second when bytes are counted, else items per second."""
        seconds = max(self.elapsed(now), 1e-3)
        if self.bytes_total or self.nbytes:
            return self.nbytes / seconds, True
        return self.items / seconds, False

    def eta(self, now: float) -> float | None:
        """Seconds left, from the bytes when their total is known, else from the items."""
        done, total = (self.nbytes, self.bytes_total)
        if not total:
            done, total = self.items, self.items_total
        if not total or not done:
            return None
        return max(0.0, self.elapsed(now) * (total - done) / done)


def describe(title: str, unit: str, step: Step, now: float) -> str:
    """The plain line for a step: ``Pushing: uploading: 1,234/20,000 files (6%), 1.2 GiB/3.4
    GiB (35%), 12.3 MiB/s, ETA 3m 10s`` or ``Pushing: asking the remote what it holds… (12s)``."""
    head = _head(title, unit, step)
    if not step.counted:
        return f"{head}… ({duration(step.elapsed(now))})"
    parts = [_fraction(step.items, step.items_total, count, f" {unit}s")]
    if step.bytes_total or (step.items_total is None and step.nbytes):
        parts.append(_fraction(step.nbytes, step.bytes_total, human_bytes, ""))
    rate, in_bytes = step.rate(now)
    parts.append(f"{human_bytes(rate)}/s" if in_bytes else f"{rate:,.0f} {unit}s/s")
    eta = step.eta(now)
    parts.append(f"ETA {duration(eta)}" if eta is not None else f"{duration(step.elapsed(now))}")
    return f"{head}: " + ", ".join(parts)


def _head(title: str, unit: str, step: Step) -> str:
    """The title, what the step does, and for a step without totals what it counted so far."""
    head = f"{title}: {step.label}" if step.label else title
    if not step.counted and step.items:
        head += f"{',' if step.label else ':'} {count(step.items)} {unit}s"
    return head


def _fraction(done: int, total: int | None, fmt, suffix: str) -> str:
    if total is None:
        return f"{fmt(done)}{suffix}"
    percent = 100 * done / total if total else 100
    return f"{fmt(done)}/{fmt(total)}{suffix} ({percent:.0f}%)"


def duration(seconds: float | None) -> str:
    """``45s``, ``3m 10s``, ``2h 05m``."""
    whole = int(seconds or 0)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


class Display:
    """The state of the steps and the ticker thread; subclasses draw it."""

    def __init__(self, title: str, unit: str):
        self.title = title
        self.unit = unit
        self.lock = threading.Lock()
        self.step = Step(None, time.monotonic())
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="dvcish-progress", daemon=True)

    def progress(self) -> Progress:
        return Progress(items=self.items, bytes=self.bytes, totals=self.totals, phase=self.phase)

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        self._ticker.join()
        with self.lock:
            self.end_step(time.monotonic())
            self.close()

    # --- the core's callbacks (main thread) ---------------------------------------------------

    def items(self, number: int) -> None:
        with self.lock:
            self.step.items += number
            self.changed(time.monotonic(), force=False)

    def bytes(self, number: int) -> None:
        with self.lock:
            self.step.nbytes += number
            self.changed(time.monotonic(), force=False)

    def totals(self, items: int | None, nbytes: int | None) -> None:
        now = time.monotonic()
        with self.lock:
            self.end_step(now)
            self.step = Step(self.step.label, now, True, items_total=items, bytes_total=nbytes)
            self.changed(now, force=True)

    def phase(self, text: str) -> None:
        now = time.monotonic()
        with self.lock:
            self.end_step(now)
            self.step = Step(text, now)
            self.changed(now, force=True)

    tick_seconds = REDRAW

    def _tick(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            with self.lock:
                self.tick(time.monotonic())

    # --- drawing (under the lock) ---------------------------------------------------------------

    def changed(self, now: float, force: bool) -> None:
        """The state changed (``force``: a new step)."""

    def tick(self, now: float) -> None:
        """Called every REDRAW seconds."""

    def end_step(self, now: float) -> None:
        """The current step is over."""

    def close(self) -> None:
        """The command is over."""


class Lines(Display):
    """No bars: a line every ``interval()`` seconds while work goes on (CI logs)."""

    def __init__(self, title: str, unit: str):
        super().__init__(title, unit)
        self.every = interval()
        self.tick_seconds = min(REDRAW, max(self.every, 0.05))
        self.last_line = time.monotonic()
        self.printed_in_step = False

    def tick(self, now: float) -> None:
        if now - self.last_line >= self.every:
            self._line(now)

    def end_step(self, now: float) -> None:
        ran_long = self.step.elapsed(now) >= self.every
        if self.step.counted and (self.printed_in_step or ran_long):
            self._line(now)
        self.printed_in_step = False

    def _line(self, now: float) -> None:
        typer.echo(describe(self.title, self.unit, self.step, now), err=True)
        self.last_line = now
        self.printed_in_step = True


class Bars(Display):
    """tqdm bars on the terminal: files, and bytes for a step with a byte total."""

    def __init__(self, title: str, unit: str):
        super().__init__(title, unit)
        self.bars: list = []  # [files bar, bytes bar], made on the first draw
        self.drawn_step: Step | None = None
        self.last_draw = 0.0

    def changed(self, now: float, force: bool) -> None:
        if force or now - self.last_draw >= MIN_REDRAW:
            self._draw(now)

    def tick(self, now: float) -> None:
        self._draw(now)

    def close(self) -> None:
        for bar in reversed(self.bars):
            bar.close()

    def _draw(self, now: float) -> None:
        self.last_draw = now
        if not self.bars:
            self.bars = [_make_bar(0), _make_bar(1)]
        files, nbytes = self.bars
        step = self.step
        if step is not self.drawn_step:  # a new step: the bars' clocks start again
            files.reset(total=step.items_total if step.counted else None)
            nbytes.reset(total=step.bytes_total if step.counted else None)
            self.drawn_step = step
        head = _head(self.title, self.unit, step)
        if not step.counted:
            _show(files, head, "{desc}… [{elapsed}]", {})
            _show(nbytes, "", "{desc}", {})
            return
        rate, in_bytes = step.rate(now)
        speed = "" if in_bytes else f", {rate:,.0f} {self.unit}s/s"
        whole = count(step.items_total) if step.items_total is not None else "?"
        files.n = step.items
        _show(
            files,
            head,
            FILES_FORMAT,
            {"done": count(step.items), "whole": whole, "speed": speed, "noun": f"{self.unit}s"},
        )
        if not step.bytes_total:
            _show(nbytes, "", "{desc}", {})
            return
        nbytes.n = step.nbytes
        _show(
            nbytes,
            "",
            BYTES_FORMAT,
            {
                "done": human_bytes(step.nbytes),
                "whole": human_bytes(step.bytes_total),
                "speed": f"{human_bytes(rate)}/s",
            },
        )


def _show(bar, desc: str, bar_format: str, fields: dict[str, str]) -> None:
    bar.desc = desc
    bar.bar_format = bar_format
    bar.fields = fields
    bar.refresh()


def _make_bar(position: int):
    from tqdm import tqdm

    class FieldsBar(tqdm):
        """A tqdm bar whose ``bar_format`` may use our own fields (IEC sizes, counts)."""

        fields: dict[str, str] = {}  # noqa: RUF012 - replaced per bar, never mutated

        @property
        def format_dict(self):
            found = super().format_dict
            found.update(self.fields)
            return found

    return FieldsBar(
        total=None,
        leave=False,
        file=sys.stderr,
        position=position,
        dynamic_ncols=True,
        bar_format="{desc}",
        mininterval=0,
    )
