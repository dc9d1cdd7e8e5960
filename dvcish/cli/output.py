"""Printing for the CLI: messages, numbers, and tqdm progress bars (only on a terminal)."""

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer

QUIET = False
VERBOSE = False


def say(message: str) -> None:
    if not QUIET:
        typer.echo(message)


def warn(message: str) -> None:
    typer.echo(message, err=True)


def count(number: int) -> str:
    return f"{number:,}"


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def plural(number: int, word: str) -> str:
    return f"{count(number)} {word}{'' if number == 1 else 's'}"


@contextmanager
def progress(total: int | None, description: str, unit: str = "file") -> Iterator[Callable]:
    """A callback advancing a tqdm bar on stderr, or a no-op when not on a terminal."""
    if QUIET or not sys.stderr.isatty():
        yield _ignore
        return
    from tqdm import tqdm

    with tqdm(
        total=total, desc=description, unit=unit, leave=False, file=sys.stderr, position=0
    ) as bar:
        yield bar.update


@contextmanager
def byte_progress(total: int | None, description: str) -> Iterator[Callable]:
    """A second bar, for bytes, under ``progress``'s bar; a no-op when not on a terminal."""
    if QUIET or not sys.stderr.isatty():
        yield _ignore
        return
    from tqdm import tqdm

    with tqdm(
        total=total,
        desc=description,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        leave=False,
        file=sys.stderr,
        position=1,
    ) as bar:
        yield bar.update


def _ignore(_amount: int = 1) -> None:
    return None
