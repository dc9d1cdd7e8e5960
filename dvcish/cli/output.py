"""Printing for the CLI: messages, numbers, and tqdm progress bars (only on a terminal).

``-q``/``-v`` live in an ``Output`` object on the click context (``ctx.obj``), set by the
top-level callback and by a command's own ``-q``; nothing here is a mutable module global.
``-v`` also sends the core's ``logging`` records (logger ``dvcish``) to stderr for the life of
the command: the debug log.
"""

import logging
import sys
import time
from dataclasses import dataclass

import typer

from dvcish.fsutil import human_bytes  # noqa: F401 - the CLI's size format lives with no_space


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


class _DebugFormatter(logging.Formatter):
    """``debug +0.123s: message``: seconds since the command started."""

    def __init__(self, started: float):
        super().__init__()
        self.started = started

    def format(self, record: logging.LogRecord) -> str:
        elapsed = record.created - self.started
        return f"debug +{elapsed:.3f}s: {record.getMessage()}"


def start_debug_log(ctx) -> None:
    """Log the core's debug records to stderr until the command ends (``-v``)."""
    from dvcish import __version__
    from dvcish.lock import command_line

    started = time.time()
    logger = logging.getLogger("dvcish")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_DebugFormatter(started))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.debug("dvcish %s, Python %s, %s", __version__, sys.version.split()[0], command_line())

    def stop() -> None:
        logger.debug("finished in %.3f s", time.time() - started)
        logger.removeHandler(handler)
        logger.setLevel(previous)

    ctx.call_on_close(stop)


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


def plural(number: int, word: str) -> str:
    return f"{count(number)} {word}{'' if number == 1 else 's'}"
