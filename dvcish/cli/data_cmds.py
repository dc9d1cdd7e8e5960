"""Commands on tracked data in the workspace: ``move``/``mv``, ``remove``/``rm`` and
``check-ignore``."""

import typer

from dvcish.cli.app import app
from dvcish.cli.context import repo_session
from dvcish.cli.render import exit_if


@app.command("check-ignore")
def check_ignore(
    paths: list[str] = typer.Argument(..., help="Paths to check (need not exist)."),
    non_matching: bool = typer.Option(
        False, "-n", "--non-matching", help="Also list paths no rule matches (as ::<TAB>PATH)."
    ),
) -> None:
    """Show which .dvcishignore rule decides each path.  Example: dvcish check-ignore data/.DS_Store

    Prints FILE:LINE:PATTERN<TAB>PATH per matched path, like `git check-ignore -v`; a pattern
    starting with ! re-includes the path. Exit 0 when any path is ignored, else 1.
    """
    from dvcish.commands.check_ignore import check_ignore as do_check

    with repo_session(write=False) as repo:
        results = do_check(repo, paths)
    for result in results:
        if result.rule is not None:
            typer.echo(f"{result.rule.describe()}\t{result.path}")
        elif non_matching:
            typer.echo(f"::\t{result.path}")
    exit_if(not any(result.ignored for result in results))
