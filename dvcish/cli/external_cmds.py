"""``dvcish get``, ``import``, ``update`` (data from other repositories) and ``install`` (hooks)."""

import os

import typer

from dvcish.cli import bars
from dvcish.cli.app import app
from dvcish.cli.context import repo_session
from dvcish.cli.output import count, human_bytes, plural, say

URL = typer.Argument(..., help="Git URL or local path of the source repository.")
PATH = typer.Argument(..., help="Tracked data, its pointer, or a path inside a tracked folder.")
REV = typer.Option(None, "--rev", help="Branch, tag or commit of the source (default: HEAD).")
JOBS = typer.Option(None, "-j", "--jobs", min=1, help="Parallel downloads (default 4x CPUs).")


def _what(delivered) -> str:
    files = plural(delivered.nfiles, "file") + ", " if delivered.kind == "dir" else ""
    return f"{files}{human_bytes(delivered.size)}"


def _transfers(delivered) -> str:
    return f"{count(delivered.fetched)} fetched, {count(delivered.present)} already in cache"


@app.command()
def get(
    url: str = URL,
    path: str = PATH,
    rev: str = REV,
    out: str = typer.Option(None, "-o", "--out", help="Where to write (default: PATH's name)."),
    jobs: int = JOBS,
    remote: str = typer.Option(None, "-r", "--remote", help="The source's remote to read."),
) -> None:
    """Download tracked data of any dvcish repo.  Example: dvcish get ../repo data --rev v2 -o d2"""
    from dvcish.commands.external import get as do_get

    with bars.progress("Downloading") as progress:
        result = do_get(url, path, out=out, rev=rev, remote=remote, jobs=jobs, progress=progress)
    done = result.delivered
    say(f"Wrote {os.path.relpath(result.out)} ({_what(done)}) from {url} at {done.sha[:12]}")
    say(_transfers(done))


@app.command("import")
def import_cmd(
    url: str = URL,
    path: str = PATH,
    rev: str = REV,
    out: str = typer.Option(None, "-o", "--out", help="Where to put it (default: PATH's name)."),
    jobs: int = JOBS,
) -> None:
    """Bring in another repo's data, pinned.  Example: dvcish import ../ds images --rev v1"""
    from dvcish.commands.external import import_

    with (
        repo_session(write=True) as repo,
        bars.progress("Importing") as progress,
    ):
        result = import_(repo, url, path, out=out, rev=rev, jobs=jobs, progress=progress)
    done = result.delivered
    say(f"Imported {result.path} ({_what(done)}) from {url} at {done.sha[:12]}")
    say(_transfers(done))
    to_git = [os.path.relpath(result.pointer_file)]
    if result.gitignore:
        to_git.append(os.path.relpath(result.gitignore))
    say("\nTo track the changes with git, run:\n\n    git add " + " ".join(to_git))


@app.command()
def update(
    target: str = typer.Argument(..., help="An imported path or its pointer."),
    rev: str = typer.Option(None, "--rev", help="Move to this revision (default: the same rev)."),
    jobs: int = JOBS,
) -> None:
    """Move an import to a new commit of its source.  Example: dvcish update images --rev v2"""
    from dvcish.commands.external import update as do_update

    with (
        repo_session(write=True) as repo,
        bars.progress("Updating") as progress,
    ):
        result = do_update(repo, target, rev=rev, jobs=jobs, progress=progress)
    done = result.delivered
    if not result.changed:
        say(f"{result.path} is already at {done.sha[:12]}")
        return
    say(f"Updated {result.path} to {done.sha[:12]} ({_what(done)})")
    say(_transfers(done))
    pointer_file = os.path.relpath(result.pointer_file)
    say(f"\nTo track the change with git, run:\n\n    git add {pointer_file}")


@app.command()
def install(
    uninstall: bool = typer.Option(False, "--uninstall", help="Remove the hooks dvcish wrote."),
) -> None:
    """Add git hooks that run checkout, push and status.  Example: dvcish install"""
    from dvcish.commands import hooks

    with repo_session(write=False) as repo:
        result = hooks.uninstall(repo.root) if uninstall else hooks.install(repo.root)
    folder = os.path.relpath(result.folder)
    done = "Removed" if uninstall else "Installed"
    if result.changed:
        say(f"{done} {', '.join(result.changed)} in {folder}")
    elif uninstall:
        say(f"No dvcish hooks in {folder}")
    for name in result.foreign:
        say(f"Left {os.path.join(folder, name)} alone: dvcish did not write it")
