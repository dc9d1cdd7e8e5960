"""``dvcish push``, ``fetch``, ``pull`` and ``status --cloud``."""

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
REVS = typer.Option(
    None, "--rev", metavar="REV", help="Also the data at this git revision (repeatable)."
)
ALL_BRANCHES = typer.Option(False, "-a", "--all-branches", help="Also every local branch's data.")
ALL_TAGS = typer.Option(False, "-T", "--all-tags", help="Also every tag's data.")
ALL_COMMITS = typer.Option(False, "-A", "--all-commits", help="Also every commit's data.")
QUIET = typer.Option(False, "-q", "--quiet", help="Print nothing but errors.")


def selection(revs, all_branches: bool, all_tags: bool, all_commits: bool, workspace: bool = True):
    """The revision flags as a history.Selection (the workspace's pointers always count)."""
    from dvcish.history import Selection

    return Selection(tuple(revs or ()), all_branches, all_tags, all_commits, workspace)


def revision_selection(revs, all_branches: bool, all_tags: bool, all_commits: bool):
    """A Selection when any revision flag is given, else None: the common case, in which git
    history is never read, does not even import the modules that read it."""
    if not (revs or all_branches or all_tags or all_commits):
        return None
    return selection(revs, all_branches, all_tags, all_commits)


def _tracked(repo, targets, chosen):
    """Without revision flags: the workspace's pointers, as always. With them: all, once each."""
    from dvcish import history
    from dvcish import targets as tg

    if chosen is None:
        tracked = tg.resolve(repo, targets or [], allow_inside=True)
        return tracked, tracked
    found = history.collect(repo, chosen, targets or [])
    return found.unique(), found.workspace


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
def push(
    targets: list[str] = TARGETS,
    remote: str = REMOTE,
    jobs: int = JOBS,
    revs: list[str] = REVS,
    all_branches: bool = ALL_BRANCHES,
    all_tags: bool = ALL_TAGS,
    all_commits: bool = ALL_COMMITS,
    quiet: bool = QUIET,
) -> None:
    """Upload what the pointers need to a remote.  Example: dvcish push -r storage --all-tags"""
    from dvcish import remotes, transfer

    output.QUIET = output.QUIET or quiet
    chosen = revision_selection(revs, all_branches, all_tags, all_commits)
    with repo_session(write=True) as repo:
        tracked, _ = _tracked(repo, targets, chosen)
        tracked = [item for item in tracked if item.pointer.source is None]  # imports: at source
        store = remotes.open_remote(repo, remote)
        try:
            with (
                output.progress(None, "Pushing") as advance,
                output.byte_progress(None, "Uploaded") as moved,
            ):
                summary = transfer.push(
                    repo, store, tracked, _jobs(repo, jobs, store), advance, moved
                )
        finally:
            store.close()
    _report(summary, "pushed", "already on remote")


def _fetch(repo, targets, remote, jobs, chosen=None):
    """Fetch what the selection needs; return the workspace's items (to check out) and a summary."""
    from dvcish import history, remotes, transfer

    tracked, in_workspace = _tracked(repo, targets, chosen)
    imported = [item for item in tracked if item.pointer.source is not None]
    tracked = [item for item in tracked if item.pointer.source is None]
    summary = transfer.TransferSummary()
    if tracked:
        store = remotes.open_remote(repo, remote)
        try:
            if chosen is not None:

                def get_tree(oid: str) -> None:
                    transfer.download_verified(repo.cache, store, oid)

                tracked = history.drop_absent_parts(repo, tracked, get_tree)
            with (
                output.progress(None, "Fetching") as advance,
                output.byte_progress(None, "Downloaded") as moved,
            ):
                summary = transfer.fetch(
                    repo, store, tracked, _jobs(repo, jobs, store), advance, moved
                )
        finally:
            store.close()
    if imported:
        from dvcish import external

        with output.progress(None, "Fetching imports") as advance:
            extra = external.fetch_imports(repo, imported, jobs, advance)
        summary.transferred += extra.transferred
        summary.present += extra.present
        summary.failed.extend(extra.failed)
    return in_workspace, summary


@app.command()
def fetch(
    targets: list[str] = TARGETS,
    remote: str = REMOTE,
    jobs: int = JOBS,
    revs: list[str] = REVS,
    all_branches: bool = ALL_BRANCHES,
    all_tags: bool = ALL_TAGS,
    all_commits: bool = ALL_COMMITS,
    quiet: bool = QUIET,
) -> None:
    """Download what the pointers need into the cache.  Example: dvcish fetch data --rev v1"""
    output.QUIET = output.QUIET or quiet
    chosen = revision_selection(revs, all_branches, all_tags, all_commits)
    with repo_session(write=True) as repo:
        _, summary = _fetch(repo, targets, remote, jobs, chosen)
    _report(summary, "fetched", "already in cache")


@app.command()
def pull(
    targets: list[str] = TARGETS,
    remote: str = REMOTE,
    jobs: int = JOBS,
    force: bool = typer.Option(False, "-f", "--force", help="Discard changes not in the cache."),
    revs: list[str] = REVS,
    all_branches: bool = ALL_BRANCHES,
    all_tags: bool = ALL_TAGS,
    all_commits: bool = ALL_COMMITS,
    quiet: bool = QUIET,
) -> None:
    """Fetch, then check out the workspace's data.  Example: git clone URL && cd repo && dvcish pull

    With --rev/--all-* the data of those revisions is fetched too (for a later `git checkout`),
    but only the workspace's pointers are checked out.
    """
    from dvcish.checkout import checkout
    from dvcish.cli.core import report_checkout

    output.QUIET = output.QUIET or quiet
    chosen = revision_selection(revs, all_branches, all_tags, all_commits)
    with repo_session(write=True) as repo:
        tracked, summary = _fetch(repo, targets, remote, jobs, chosen)
        with output.progress(None, "Checking out") as advance:
            results = checkout(repo, [], force=force, progress=advance, tracked_list=tracked)
    try:
        _report(summary, "fetched", "already in cache")
    finally:
        report_checkout(results, hint="it could not be fetched (see above)")


def cloud_status(
    targets: list[str], remote: str | None, as_json: bool, quiet: bool, chosen=None
) -> None:
    from dvcish import remotes, transfer

    with repo_session(write=False) as repo:
        tracked, _ = _tracked(repo, targets, chosen)
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
