"""Commands on tracked data in the workspace: ``move``/``mv``, ``remove``/``rm`` and
``check-ignore``."""

import os
import shlex

import typer

from dvcish.cli.app import app
from dvcish.cli.context import repo_session
from dvcish.cli.output import say, warn
from dvcish.cli.render import exit_if
from dvcish.errors import UsageError


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


@app.command("move")
def move(
    source: str = typer.Argument(..., help="Tracked data (or its pointer file)."),
    destination: str = typer.Argument(..., help="New path, or an existing folder to move into."),
) -> None:
    """Rename tracked data with its pointer and .gitignore lines.  Example: dvcish move data raw

    Alias: mv. Nothing is staged in git: the command prints the `git add` to run.
    """
    from dvcish.commands.move import move as do_move

    with repo_session(write=True) as repo:
        result = do_move(repo, source, destination)
        indexed = _indexed(repo, [result.old_pointer])
    say(f"Moved {result.old_rel} to {result.new_rel}")
    if not result.data_moved:
        warn(f"warning: {result.old_rel} was not in the workspace; only its pointer moved")
    _git_hint([result.new_pointer, *result.gitignores, *indexed])


@app.command("remove")
def remove(
    targets: list[str] = typer.Argument(..., help="Tracked data (or pointer files)."),
    data: bool = typer.Option(
        False, "--data", "--outs", help="Also delete the data (only if the cache holds it)."
    ),
    force: bool = typer.Option(
        False, "-f", "--force", help="With --data: delete even what the cache lacks."
    ),
) -> None:
    """Stop tracking data: delete its pointer and .gitignore line.  Example: dvcish remove data

    Alias: rm. The data stays in the workspace unless --data; the cache keeps its objects
    (see `dvcish gc`). Nothing is staged in git: the command prints the `git add` to run.
    """
    from dvcish.commands.remove import remove as do_remove

    if force and not data:
        raise UsageError("--force only applies with --data")
    with repo_session(write=True) as repo:
        results = do_remove(repo, targets, data=data, force=force)
        indexed = _indexed(repo, [result.pointer_file for result in results])
    to_git = []
    for result in results:
        say(f"Removed {result.rel}" + (" and its data" if result.data_deleted else ""))
        if result.data_left:
            warn(
                f"warning: {result.rel} is still in the workspace and no longer ignored by git; "
                "delete it, or keep it out of `git add`"
            )
        if result.gitignore:
            to_git.append(result.gitignore)
    _git_hint([*to_git, *indexed])


def _indexed(repo, paths: list[str]) -> list[str]:
    """Those of ``paths`` (absolute) that git's index holds: their deletion is to be staged."""
    if not repo.has_scm:
        return []
    from dvcish.git import index_paths

    held = index_paths(repo.root, [repo.relpath(path) for path in paths])
    return [path for path in paths if repo.relpath(path) in held]


def _git_hint(paths: list[str]) -> None:
    if not paths:
        return
    command = shlex.join(["git", "add", *dict.fromkeys(os.path.relpath(p) for p in paths)])
    say(f"\nTo record the change in git, run:\n\n    {command}")
