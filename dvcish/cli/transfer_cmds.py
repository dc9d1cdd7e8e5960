"""``dvcish push``, ``fetch``, ``pull`` and ``status --cloud``."""

from __future__ import annotations

import json

import typer

from dvcish.cli import output
from dvcish.cli.app import app
from dvcish.cli.context import repo_session
from dvcish.cli.output import count, say, warn

SHOW_FAILURES = 20
TARGETS = typer.Argument(None, help="Pointers, data paths, or files inside tracked folders.")
REMOTE = typer.Option(None, "-r", "--remote", help="Remote name (default: core.remote).")
JOBS = typer.Option(None, "-j", "--jobs", min=1, help="Parallel transfers (default 4x CPUs).")


def _jobs(repo, jobs: int | None, store) -> int:
    from dvcish.transfer import default_jobs

    if jobs:
        return jobs
    configured = getattr(getattr(store, "options", None), "jobs", None)
    return int(configured) if configured else default_jobs()


def _report(summary, done: str, present: str) -> None:
    say(f"{count(summary.transferred)} {done}, {count(summary.present)} {present}")
    for line in summary.failed[:SHOW_FAILURES]:
        warn(f"error: {line}")
    if len(summary.failed) > SHOW_FAILURES:
        warn(f"error: ... and {count(len(summary.failed) - SHOW_FAILURES)} more")
    if summary.failed:
        warn(f"error: {count(len(summary.failed))} objects could not be transferred")
        raise typer.Exit(1)


@app.command()
def push(targets: list[str] = TARGETS, remote: str = REMOTE, jobs: int = JOBS) -> None:
    """Upload what the pointers need to a remote.  Example: dvcish push -r storage"""
    from dvcish import remotes, transfer
    from dvcish import targets as tg

    with repo_session(write=True) as repo:
        tracked = tg.resolve(repo, targets or [], allow_inside=True)
        store = remotes.open_remote(repo, remote)
        try:
            with output.progress(None, "Pushing") as advance:
                summary = transfer.push(repo, store, tracked, _jobs(repo, jobs, store), advance)
        finally:
            store.close()
    _report(summary, "pushed", "already on remote")


def _fetch(repo, targets, remote, jobs):
    from dvcish import remotes, transfer
    from dvcish import targets as tg

    tracked = tg.resolve(repo, targets or [], allow_inside=True)
    store = remotes.open_remote(repo, remote)
    try:
        with output.progress(None, "Fetching") as advance:
            summary = transfer.fetch(repo, store, tracked, _jobs(repo, jobs, store), advance)
    finally:
        store.close()
    return tracked, summary


@app.command()
def fetch(targets: list[str] = TARGETS, remote: str = REMOTE, jobs: int = JOBS) -> None:
    """Download what the pointers need into the cache.  Example: dvcish fetch data"""
    with repo_session(write=True) as repo:
        _, summary = _fetch(repo, targets, remote, jobs)
    _report(summary, "fetched", "already in cache")


@app.command()
def pull(
    targets: list[str] = TARGETS,
    remote: str = REMOTE,
    jobs: int = JOBS,
    force: bool = typer.Option(False, "-f", "--force", help="Discard changes not in the cache."),
) -> None:
    """Fetch, then check out.  Example: git clone URL && cd repo && dvcish pull"""
    from dvcish.checkout import checkout
    from dvcish.cli.core import report_checkout

    with repo_session(write=True) as repo:
        tracked, summary = _fetch(repo, targets, remote, jobs)
        with output.progress(None, "Checking out") as advance:
            results = checkout(repo, [], force=force, progress=advance, tracked_list=tracked)
    try:
        report_checkout(results)
    finally:
        _report(summary, "fetched", "already in cache")


def cloud_status(targets: list[str], remote: str | None, as_json: bool, quiet: bool) -> None:
    from dvcish import remotes, transfer
    from dvcish import targets as tg

    with repo_session(write=False) as repo:
        tracked = tg.resolve(repo, targets, allow_inside=True)
        store = remotes.open_remote(repo, remote)
        try:
            report = transfer.cloud_status(repo, store, tracked)
        finally:
            store.close()
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    elif not quiet:
        for path, oid in report.missing_on_remote[:SHOW_FAILURES]:
            say(f"missing on remote: {path} ({oid})")
        for path, oid in report.missing_everywhere[:SHOW_FAILURES]:
            say(f"missing everywhere: {path} ({oid})")
        say(
            f"{store.description}: {count(len(report.missing_on_remote))} to push, "
            f"{count(report.present)} already there"
        )
    if report.missing_on_remote or report.missing_everywhere:
        raise typer.Exit(1)
