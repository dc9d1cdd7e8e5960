"""The typer application object and its error handling (one line, exit code, no traceback)."""

import errno
import os
import re
import sys
import traceback

import typer
from typer.core import TyperCommand, TyperGroup

from dvcish import __version__
from dvcish.cli import output
from dvcish.errors import DvcishError
from dvcish.tree import printable

# What to do about an operating-system error no command explained better.
_NEXT_STEP = {
    errno.EACCES: "; check the permissions of that path",
    errno.EPERM: "; check the permissions of that path",
    errno.EROFS: "; the filesystem is read-only: use a writable location",
    errno.ENOSPC: "; free space on that disk",
    errno.EDQUOT: "; free space or raise the disk quota",
    errno.EMFILE: "; raise the open-file limit (ulimit -n) or lower --jobs",
    errno.ENAMETOOLONG: "; use a shorter path",
}

# Short names DVC users type; each runs the command it names (help lists the long name only).
ALIASES = {"mv": "move", "rm": "remove"}
GLOBAL_FLAGS = ("-v", "--verbose", "-q", "--quiet")
_NEGATIVE_NUMBER = re.compile(r"-\d+(\.\d*)?")


class DvcishGroup(TyperGroup):
    """Turns DvcishError into one line on stderr and its exit code; -v adds the traceback.
    Also resolves the command aliases. The top-level group also accepts ``-q``/``-v`` after
    the subcommand (``dvcish push -v``): they are moved in front of it, unless that command has
    an option of the same name.
    """

    def get_command(self, ctx, cmd_name):
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

    def parse_args(self, ctx, args):
        if ctx.parent is None:
            args = hoist_global_flags(self, ctx, list(args))
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DvcishError as exc:
            if _verbose(ctx):
                traceback.print_exc()
            typer.echo(f"error: {_one_line(str(exc))}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            _silence_stdout()  # the reader (`| head`) is gone: stop quietly, as git does
            raise typer.Exit(141) from None
        except KeyboardInterrupt:
            typer.echo("error: interrupted; run the command again to finish", err=True)
            raise typer.Exit(130) from None
        except OSError as exc:
            if _verbose(ctx):
                traceback.print_exc()
            where = f"{printable(str(exc.filename))}: " if exc.filename else ""
            step = _NEXT_STEP.get(exc.errno or 0, "")
            typer.echo(f"error: {where}{exc.strerror or exc}{step}", err=True)
            raise typer.Exit(1) from None
        except Exception as exc:
            if type(exc).__module__.split(".")[0] in ("typer", "click"):
                raise  # exits, usage errors and aborts are the framework's to report
            if _verbose(ctx):
                traceback.print_exc()
            typer.echo(
                f"error: internal error ({type(exc).__name__}: {exc}); rerun with -v and report it",
                err=True,
            )
            raise typer.Exit(1) from None


def hoist_global_flags(group, ctx, args: list[str]) -> list[str]:
    """``args`` with -q/-v that follow the subcommand moved in front of it."""
    position = 0
    command = group
    while hasattr(command, "commands"):  # walk down to the command that will run
        while position < len(args) and args[position].startswith("-"):
            position += 1
        if position >= len(args):
            return args
        command = command.get_command(ctx, args[position])
        position += 1
        if command is None:
            return args
    own = {name for param in command.params for name in _option_names(param)}
    takes_value = {
        name
        for param in command.params
        if _is_option(param) and not param.is_flag and not param.count
        for name in _option_names(param)
    }
    hoisted, rest = [], args[:position]
    tail = iter(args[position:])
    for arg in tail:
        if arg == "--":
            rest.append(arg)
            rest.extend(tail)
            break
        if arg in GLOBAL_FLAGS and arg not in own:
            hoisted.append(arg)
            continue
        rest.append(arg)
        if arg in takes_value:  # its value is next, even one that looks like -q
            following = next(tail, None)
            if following is not None:
                rest.append(following)
    return hoisted + rest


def _is_option(param) -> bool:
    return getattr(param, "param_type_name", "") == "option"


def _option_names(param) -> list[str]:
    return [*param.opts, *param.secondary_opts] if _is_option(param) else []


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (in-process tests)
        pass


class ValuesMayLookNegative(TyperCommand):
    """For commands whose options are all flags: an argument like ``-1`` is a value, not an
    unknown option, so ``dvcish config gc.grace -1`` reaches the check that explains it."""

    def parse_args(self, ctx, args):
        args = list(args)
        if "--" not in args and any(_NEGATIVE_NUMBER.fullmatch(arg) for arg in args):
            flags = [arg for arg in args if _is_flag_like(arg)]
            values = [arg for arg in args if not _is_flag_like(arg)]
            args = [*flags, "--", *values]
        return super().parse_args(ctx, args)


def _is_flag_like(arg: str) -> bool:
    return arg.startswith("-") and not _NEGATIVE_NUMBER.fullmatch(arg)


def _one_line(message: str) -> str:
    """A last guard for messages that name files: never a line break, never a byte the
    terminal cannot take (the core escapes names with ``tree.printable`` already)."""
    if message.isprintable():
        return message
    return printable(message).replace("\\\\", "\\")


def _verbose(ctx) -> bool:
    found = ctx.find_object(output.Output)
    return found is not None and found.verbose


def make_app(help_text: str, completion: bool = False) -> typer.Typer:
    """A typer app with dvcish's error handling; ``completion`` adds --install-completion and
    --show-completion (bash, zsh, fish), for the top-level app."""
    return typer.Typer(
        cls=DvcishGroup,
        help=help_text,
        no_args_is_help=True,
        add_completion=completion,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )


app = make_app("dvcish: version large files and folders beside git.", completion=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dvcish {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    verbose: bool = typer.Option(
        False, "-v", "--verbose", help="Write a debug log to stderr; tracebacks on errors."
    ),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing but errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    ctx.obj = output.Output(quiet=quiet, verbose=verbose)
    if verbose:
        output.start_debug_log(ctx)
