"""Commands for the local workflow: init, add, status, checkout, fsck, config."""

import os
import shlex

import typer

from dvcish.cli import bars, output
from dvcish.cli.app import ValuesMayLookNegative, app
from dvcish.cli.context import repo_session
from dvcish.cli.options import (
    ALL_BRANCHES,
    ALL_COMMITS,
    ALL_TAGS,
    JSON,
    REVS,
    TARGETS,
    revision_selection,
)
from dvcish.cli.output import count, human_bytes, plural, say, warn
from dvcish.cli.render import exit_if, print_json, report_checkout, report_leftovers
from dvcish.errors import UsageError
from dvcish.tree import printable

SHOW_FILES = 20


@app.command()
def init(
    no_scm: bool = typer.Option(False, "--no-scm", help="Allow a folder that is not in git."),
) -> None:
    """Create .dvcish/ here (config, cache).  Example: git init && dvcish init"""
    from dvcish.commands.init import init as do_init

    repo = do_init(os.getcwd(), no_scm=no_scm)
    say(f"Initialized dvcish in {repo.dvcish_dir}")
    if not no_scm:
        say(
            "Commit it with:\n\n"
            "    git add .dvcish .dvcishignore && git commit -m 'Initialize dvcish'"
        )


@app.command()
def add(
    targets: list[str] = typer.Argument(..., help="Files or folders to track."),
    as_json: bool = JSON,
) -> None:
    """Put files or folders under dvcish control.  Example: dvcish add data"""
    from dvcish.commands.add import add as do_add

    with repo_session(write=True) as repo, bars.progress("Adding") as progress:
        results = do_add(repo, targets, progress)
    if as_json:
        print_json([result.to_dict() for result in results])
        return
    to_git = []
    for result in results:
        what = plural(result.nfiles, "file") + ", " if result.kind == "dir" else ""
        size = human_bytes(result.size)
        ignored = f"; {count(result.ignored)} ignored" if result.ignored else ""
        say(f"Added {result.path} ({what}{size}; {count(result.hashed)} hashed{ignored})")
        for path in result.nested_git:
            warn(f"warning: {path}: another git repository's metadata inside the data; skipped")
        report_leftovers(result.leftovers)
        to_git.append(os.path.relpath(result.pointer_file))
        if result.gitignore:
            to_git.append(os.path.relpath(result.gitignore))
    if repo.no_scm:
        return
    command = shlex.join(["git", "add", *dict.fromkeys(to_git)])
    say(f"\nTo track the changes with git, run:\n\n    {command}")


@app.command()
def status(
    targets: list[str] = TARGETS,
    as_json: bool = JSON,
    quiet: bool = typer.Option(False, "-q", "--quiet", help="No output; exit 1 if not clean."),
    cloud: bool = typer.Option(False, "-c", "--cloud", help="Compare with a remote instead."),
    remote: str = typer.Option(None, "-r", "--remote", help="Remote name (with --cloud)."),
    revs: list[str] = REVS,
    all_branches: bool = ALL_BRANCHES,
    all_tags: bool = ALL_TAGS,
    all_commits: bool = ALL_COMMITS,
) -> None:
    """Show which tracked data differs from its pointer.  Example: dvcish status data

    With --cloud, compare with a remote instead; --rev/--all-* add those revisions' data.
    """
    quiet = quiet or output.current().quiet
    chosen = revision_selection(revs, all_branches, all_tags, all_commits)
    if cloud:
        from dvcish.cli.transfer_cmds import cloud_status

        cloud_status(targets or [], remote, as_json, quiet, chosen)
        return
    if chosen is not None:
        raise UsageError("--rev and --all-* need --cloud (the workspace has one version)")
    from dvcish.commands.status import UP_TO_DATE
    from dvcish.commands.status import status as do_status

    with repo_session(write=False) as repo, bars.progress("Status", enabled=not quiet) as progress:
        results = do_status(repo, targets or [], progress)
    dirty = [result for result in results if result.state != UP_TO_DATE]
    if as_json:
        print_json([result.to_dict() for result in results])
    elif not quiet:
        _print_status(results, dirty)
    if dirty and quiet:
        raise typer.Exit(1)


def _print_status(results, dirty) -> None:
    if not results:
        say("No data is tracked yet; use `dvcish add`.")
        return
    if not dirty:
        say("Data and pointers are up to date.")
    for result in dirty:
        changes = result.changes
        detail = ""
        if changes:
            parts = [
                f"{len(changes.added)} added" if changes.added else "",
                f"{len(changes.modified)} modified" if changes.modified else "",
                f"{len(changes.deleted)} deleted" if changes.deleted else "",
            ]
            detail = " (" + ", ".join(part for part in parts if part) + ")"
        elif result.missing_objects:
            detail = f" ({plural(result.missing_objects, 'object')}; run `dvcish fetch`)"
        if result.damaged:
            changed = plural(len(result.damaged), "linked cache object")
            detail += f" ({changed} changed through the workspace; see `dvcish fsck`)"
        say(f"{result.path}: {result.state}{detail}")
        shown = 0
        for label, paths in (
            ("added", changes.added),
            ("modified", changes.modified),
            ("deleted", changes.deleted),
            ("damaged", result.damaged),
        ):
            for path in paths:
                if shown < SHOW_FILES:
                    say(f"    {label}: {printable(path)}")
                shown += 1
        if shown > SHOW_FILES:
            say(f"    ... and {count(shown - SHOW_FILES)} more (use --json for all)")
    for result in results:
        if result.hint:
            say(f"hint: {result.hint}")


@app.command()
def checkout(
    targets: list[str] = TARGETS,
    force: bool = typer.Option(False, "-f", "--force", help="Discard changes not in the cache."),
    as_json: bool = JSON,
) -> None:
    """Make the workspace match the pointers.  Example: git checkout v1 && dvcish checkout"""
    from dvcish.commands.checkout import checkout as do_checkout

    with repo_session(write=True) as repo, bars.progress("Checking out") as progress:
        results = do_checkout(repo, targets or [], force=force, progress=progress)
    if as_json:
        print_json([result.to_dict() for result in results])
        exit_if(any(result.missing or result.corrupt for result in results))
        return
    exit_if(report_checkout(results))


@app.command()
def fsck(
    remote: str = typer.Option(None, "--remote", help="Check this remote instead of the cache."),
    jobs: int = typer.Option(None, "-j", "--jobs", min=1, help="Parallel downloads (--remote)."),
    as_json: bool = JSON,
) -> None:
    """Rehash every cache object and check every pointer's links.  Example: dvcish fsck"""
    from dvcish.commands import fsck as fsck_mod

    with repo_session(write=False) as repo, bars.progress("Checking", "object") as progress:
        advance = progress.items
        if remote is None:
            report = fsck_mod.fsck(repo, advance)
        else:
            report = fsck_mod.fsck_remote(repo, remote, jobs, advance)
    if as_json:
        print_json(report.to_dict())
        exit_if(bool(report.problems))
        return
    for problem in report.problems:
        typer.echo(problem)
    say(
        f"checked {plural(report.objects_checked, 'object')} and "
        f"{plural(report.pointers_checked, 'pointer')}: {plural(len(report.problems), 'problem')}"
    )
    if report.problems:
        raise typer.Exit(1)


@app.command("config", cls=ValuesMayLookNegative)
def config_cmd(
    key: str = typer.Argument(None, help="Dotted key, e.g. cache.type or core.remote."),
    value: str = typer.Argument(None, help="New value (omit to print the current one)."),
    local: bool = typer.Option(False, "--local", help="Use .dvcish/config.local (git-ignored)."),
    user: bool = typer.Option(False, "--user", help="Use the user config (all your repos)."),
    unset: bool = typer.Option(False, "--unset", help="Remove the key."),
    list_all: bool = typer.Option(False, "-l", "--list", help="List every setting."),
    show_origin: bool = typer.Option(False, "--show-origin", help="Name each value's file."),
) -> None:
    """Read, list or write settings.  Example: dvcish config cache.type hardlink,copy

    Precedence: .dvcish/config.local over .dvcish/config over the user config
    (~/.config/dvcish/config, or $XDG_CONFIG_HOME/dvcish/config).
    """
    from dvcish.cli.config_view import run_config

    run_config(key, value, local, user, unset, list_all, show_origin)
