"""Printing for the CLI: messages, numbers, and tqdm progress bars (only on a terminal).

``-q``/``-v`` live in an ``Output`` object on the click context (``ctx.obj``), set by the
top-level callback and by a command's own ``-q``; nothing here is a mutable module global.
"""

from dataclasses import dataclass

import typer


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
