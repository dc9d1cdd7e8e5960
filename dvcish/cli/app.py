"""The typer application object and its error handling (one line, exit code, no traceback)."""

import traceback

import typer
from typer.core import TyperGroup

from dvcish import __version__
from dvcish.cli import output
from dvcish.errors import DvcishError

# Short names DVC users type; each runs the command it names (help lists the long name only).
ALIASES = {"mv": "move", "rm": "remove"}


class DvcishGroup(TyperGroup):
    """Turns DvcishError into one line on stderr and its exit code; -v adds the traceback.
    Also resolves the command aliases."""

    def get_command(self, ctx, cmd_name):
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DvcishError as exc:
            if _verbose(ctx):
                traceback.print_exc()
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("error: interrupted; run the command again to finish", err=True)
            raise typer.Exit(130) from None
        except OSError as exc:
            if _verbose(ctx):
                traceback.print_exc()
            where = f"{exc.filename}: " if exc.filename else ""
            typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
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
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Show tracebacks on errors."),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Print nothing but errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    ctx.obj = output.Output(quiet=quiet, verbose=verbose)
