"""Printing for the CLI: messages, numbers, and tqdm progress bars (only on a terminal).

``-q``/``-v`` live in an ``Output`` object on the click context (``ctx.obj``), set by the
top-level callback and by a command's own ``-q``; nothing here is a mutable module global.
"""

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import typer

from dvcish.progress import Progress


@dataclass
class Output:
    quiet: bool = False
    verbose: bool = False


def current() -> Output:
    """The Output of the running command (a default one outside any command)."""
    ctx = _click_context()
    found = ctx.find_object(Output) if ctx is not None else None
    return found if found is not None else Output()


def _click_context():
    """The running click context: typer 0.2x vendors click as typer._click, older ones use
    click itself."""
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - depends on the typer release
        from click import get_current_context
    return get_current_context(silent=True)


def quiet_too(quiet: bool) -> None:
    """A command's own ``-q`` adds to the global one."""
    if quiet:
        current().quiet = True


def say(message: str) -> None:
    if not current().quiet:
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


def _bars_wanted() -> bool:
    return not current().quiet and sys.stderr.isatty()


@contextmanager
def progress(description: str, unit: str = "file") -> Iterator[Callable[[int], None]]:
    """A callback advancing a tqdm bar on stderr, or a no-op when not on a terminal."""
    if not _bars_wanted():
        yield _ignore
        return
    from tqdm import tqdm

    with tqdm(desc=description, unit=unit, leave=False, file=sys.stderr, position=0) as bar:
        yield bar.update


@contextmanager
def transfer_progress(description: str, bytes_description: str) -> Iterator[Progress]:
    """An objects bar and a bytes bar under it, as a core ``Progress``; no-ops off a terminal."""
    if not _bars_wanted():
        yield Progress()
        return
    from tqdm import tqdm

    with ExitStack() as stack:
        items = stack.enter_context(
            tqdm(desc=description, unit="file", leave=False, file=sys.stderr, position=0)
        )
        moved = stack.enter_context(
            tqdm(
                desc=bytes_description,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                leave=False,
                file=sys.stderr,
                position=1,
            )
        )

        def totals(files: int | None, size: int | None) -> None:
            items.set_description_str(description)
            for bar, total in ((items, files), (moved, size)):
                if total is not None:
                    bar.total = total
                    bar.refresh()

        def phase(text: str) -> None:
            items.set_description_str(f"{description}: {text}")

        yield Progress(items=items.update, bytes=moved.update, totals=totals, phase=phase)


def _ignore(_amount: int = 1) -> None:
    return None
