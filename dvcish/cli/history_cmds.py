"""``dvcish diff``, ``ls`` and ``gc``: data across git history."""

import os
import sys

import typer

from dvcish.cli import bars, output
from dvcish.cli.app import app
from dvcish.cli.context import repo_session
from dvcish.cli.options import ALL_BRANCHES, ALL_COMMITS, ALL_TAGS, JSON, REVS, selection
from dvcish.cli.output import count, human_bytes, plural, say
from dvcish.cli.render import print_json
from dvcish.errors import DvcishError, UsageError

SHOW_AT_MOST = 50


@app.command()
def diff(
    args: list[str] = typer.Argument(
        None,
        metavar="[A_REV] [B_REV] [TARGET]...",
        help="Old revision (default HEAD), new revision (default: the workspace), then paths.",
    ),
    as_json: bool = JSON,
) -> None:
    """Show data files added, modified or deleted.  Example: dvcish diff v1 main data"""
    from dvcish.commands import diff as core

    with repo_session(write=False) as repo:
        revs, targets = core.split_args(repo, args or [])
        with bars.progress("Comparing") as progress:
            result = core.diff(repo, *revs[:2], targets=targets, progress=progress)
    if as_json:
        print_json(result.to_dict())
        return
    for letter, changes in (("A", result.added), ("M", result.modified), ("D", result.deleted)):
        for change in changes:
            typer.echo(f"{letter}\t{change.path}")
    if not result:
        say(f"No data changed between {result.a} and {result.b}.")
        return
    say(
        f"{result.a} -> {result.b}: {count(len(result.added))} added, "
        f"{count(len(result.modified))} modified, {count(len(result.deleted))} deleted"
    )


@app.command("ls")
def ls_cmd(
    args: list[str] = typer.Argument(
        None,
        metavar="[URL] [PATH]",
        help="Another repo (local path or git URL; default: this one), then a path inside it.",
    ),
    rev: str = typer.Option(
        None,
        "--rev",
        metavar="REV",
        help="Git revision (default: this repo's workspace; another repo's default branch).",
    ),
    recursive: bool = typer.Option(
        False, "-R", "--recursive", help="List the files inside tracked folders."
    ),
    as_json: bool = JSON,
) -> None:
    """List tracked data: kind, size, oid, path.  Example: dvcish ls ../other-repo --rev v1 -R"""
    from dvcish.commands import ls

    args = args or []
    if len(args) > 2:
        raise UsageError("ls takes at most a URL and a path; see `dvcish ls --help`")
    if len(args) == 2 or (args and ls.is_other_repo(args[0])):
        path = args[1] if len(args) == 2 else None
        entries = ls.ls_url(args[0], path, rev, recursive)
    else:
        with repo_session(write=False) as repo:
            entries = ls.ls_here(repo, args[0] if args else None, rev, recursive)
    if as_json:
        print_json([entry.to_dict() for entry in entries])
        return
    for entry in entries:
        size = human_bytes(entry.size)
        typer.echo(f"{entry.kind:<4}  {size:>10}  {entry.oid}  {entry.path}")
    if not entries:
        say("No data is tracked there.")


@app.command()
def gc(
    workspace: bool = typer.Option(
        False, "-w", "--workspace", help="Keep what the workspace's pointers need."
    ),
    all_branches: bool = ALL_BRANCHES,
    all_tags: bool = ALL_TAGS,
    all_commits: bool = ALL_COMMITS,
    revs: list[str] = REVS,
    dry: bool = typer.Option(False, "--dry", help="Only list what would be removed."),
    cloud: bool = typer.Option(False, "-c", "--cloud", help="Also remove from a remote."),
    remote: str = typer.Option(None, "-r", "--remote", help="Remote name (with --cloud)."),
    force: bool = typer.Option(False, "-f", "--force", help="Do not ask before --cloud deletes."),
    grace: str = typer.Option(
        None,
        "--grace",
        metavar="DURATION",
        help="Spare objects younger than this: 30m, 2h, 1d or seconds (default: gc.grace, 1h).",
    ),
    as_json: bool = JSON,
) -> None:
    """Remove cache objects nothing in scope needs.  Example: dvcish gc --workspace --all-tags

    The workspace's data is always kept; the flags add revisions whose data is kept too.
    Objects younger than the grace period (--grace, else gc.grace, default 1h) are never
    removed.  Example: dvcish gc --workspace --cloud --grace 0 (no push running anywhere)
    """
    from dvcish import remotes
    from dvcish.commands import gc as core

    chosen = selection(revs, all_branches, all_tags, all_commits, workspace)
    if not chosen:
        raise UsageError(
            "gc needs a scope: --workspace, --all-branches, --all-tags, --all-commits or --rev"
        )
    if remote and not cloud:
        raise UsageError("--remote needs --cloud")
    grace_seconds = _parse_grace(grace)
    if as_json and cloud and not dry and not force:
        raise UsageError("gc --cloud --json cannot ask before deleting; pass --force or --dry")
    if cloud and not dry and not force and not sys.stdin.isatty():
        raise DvcishError(
            "gc --cloud deletes from the remote and there is no terminal to confirm on; "
            "pass --force, or --dry to see what would go"
        )
    with repo_session(write=True) as repo:
        store = remotes.open_remote(repo, remote) if cloud else None
        try:
            planned = core.plan(repo, chosen, store, grace=grace_seconds)
            if dry:
                if as_json:
                    print_json({"dry": True, **planned.to_dict()})
                else:
                    _show_plan(planned)
                return
            if store is not None and _changes_remote(planned) and not force:
                question = f"Change {planned.remote}: {_remote_summary(planned)}?"
                if not typer.confirm(question):
                    say("Nothing was deleted.")
                    raise typer.Exit(1)
            done = core.apply(repo, planned, store)
        finally:
            if store is not None:
                store.close()
    if as_json:
        print_json({"dry": False, **done.to_dict()})
        return
    say(
        f"Removed {plural(len(done.objects), 'object')} from the cache and "
        f"{plural(len(done.temp_files), 'temp file')} left by interrupted runs "
        f"({human_bytes(done.bytes_freed)} freed); kept {count(done.referenced)} in use and "
        f"{count(done.young)} younger than gc.grace"
    )
    if done.remote is not None:
        say(
            f"{done.remote}: {_remote_summary(done)}; "
            f"kept {count(done.remote_young)} younger than gc.grace"
        )


def _changes_remote(planned) -> bool:
    packs = planned.remote_plan
    return bool(planned.remote_objects or (packs and (packs.packs or packs.indexes)))


def _remote_summary(planned) -> str:
    """What gc does (or did) on the remote, in words."""
    parts = [f"remove {plural(len(planned.remote_objects), 'object')}"]
    packs = planned.remote_plan
    if packs is not None:
        if packs.packs or packs.indexes:
            parts.append(
                f"delete {plural(len(packs.packs), 'pack')} and "
                f"{plural(len(packs.indexes), 'index file')} condemned earlier"
            )
        if packs.condemn:
            parts.append(f"condemn {plural(len(packs.condemn), 'pack')}")
        if packs.repack or packs.rescue:
            parts.append(f"repack {plural(len(packs.repack) + len(packs.rescue), 'pack')}")
    return ", ".join(parts)


def _parse_grace(grace: str | None) -> float | None:
    if grace is None:
        return None
    from dvcish.config import parse_duration

    try:
        return parse_duration(grace, "--grace", 0.0)
    except DvcishError as exc:
        raise UsageError(str(exc)) from None


def _show_plan(planned) -> None:
    limit = None if output.current().verbose else SHOW_AT_MOST
    lines = [f"would remove {oid} ({human_bytes(size)})" for oid, size in planned.objects.items()]
    lines += [
        f"would remove temp file {os.path.relpath(path)} ({human_bytes(size)})"
        for path, size in planned.temp_files.items()
    ]
    lines += [f"would remove {oid} from {planned.remote}" for oid in planned.remote_objects]
    for line in sorted(lines)[:limit]:
        typer.echo(line)
    if limit is not None and len(lines) > limit:
        typer.echo(f"... and {count(len(lines) - limit)} more (use -v for all)")
    remote = ""
    if planned.remote is not None:
        remote = f"; on {planned.remote} it would {_remote_summary(planned)}"
    say(
        f"Would remove {plural(len(planned.objects), 'object')} from the cache and "
        f"{plural(len(planned.temp_files), 'temp file')} left by interrupted runs, freeing "
        f"{human_bytes(planned.bytes_freed)}{remote}; "
        f"{count(planned.young + planned.remote_young)} younger than gc.grace would stay"
    )
