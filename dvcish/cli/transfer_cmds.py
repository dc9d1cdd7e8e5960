"""``dvcish push``, ``fetch``, ``pull`` and ``status --cloud``: parse, call commands/sync.py,
render."""

import typer

from dvcish.cli import bars, output
from dvcish.cli.app import app
from dvcish.cli.context import repo_session
from dvcish.cli.options import (
    ALL_BRANCHES,
    ALL_COMMITS,
    ALL_TAGS,
    JOBS,
    JSON,
    QUIET,
    REMOTE,
    REVS,
    TARGETS,
    revision_selection,
)
from dvcish.cli.output import count, say
from dvcish.cli.render import (
    SHOW_AT_MOST,
    exit_if,
    print_json,
    report_checkout,
    report_transfer,
)


def _transfer_command(name: str, title: str, words: tuple[str, str], doc: str):
    """Register ``push`` or ``fetch``: the same options, one core call, one summary."""

    def command(
        targets: list[str] = TARGETS,
        remote: str = REMOTE,
        jobs: int = JOBS,
        revs: list[str] = REVS,
        all_branches: bool = ALL_BRANCHES,
        all_tags: bool = ALL_TAGS,
        all_commits: bool = ALL_COMMITS,
        quiet: bool = QUIET,
        as_json: bool = JSON,
    ) -> None:
        from dvcish.commands import sync

        output.quiet_too(quiet)
        chosen = revision_selection(revs, all_branches, all_tags, all_commits)
        request = sync.Request(targets or [], remote, jobs, chosen)
        action = sync.push if name == "push" else sync.fetch
        with repo_session(write=True) as repo, bars.progress(title) as progress:
            summary = action(repo, request, progress)
        if as_json:
            print_json(summary.to_dict())
            exit_if(bool(summary.failed))
            return
        exit_if(report_transfer(summary, *words))

    command.__doc__ = doc
    command.__name__ = name
    app.command(name)(command)


_transfer_command(
    "push",
    "Pushing",
    ("pushed", "already on remote"),
    "Upload what the pointers need to a remote.  Example: dvcish push -r storage --all-tags",
)
_transfer_command(
    "fetch",
    "Fetching",
    ("fetched", "already in cache"),
    "Download what the pointers need into the cache.  Example: dvcish fetch data --rev v1",
)


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
    as_json: bool = JSON,
) -> None:
    """Fetch, then check out the workspace's data.  Example: git clone URL && cd repo && dvcish pull

    With --rev/--all-* the data of those revisions is fetched too (for a later `git checkout`),
    but only the workspace's pointers are checked out.
    """
    from dvcish.commands import sync

    output.quiet_too(quiet)
    chosen = revision_selection(revs, all_branches, all_tags, all_commits)
    request = sync.Request(targets or [], remote, jobs, chosen)
    with (
        repo_session(write=True) as repo,
        bars.progress("Pulling") as progress,
    ):
        result = sync.pull(repo, request, force, progress)
    if as_json:
        print_json(result.to_dict())
        if result.checkout_error is not None:
            raise result.checkout_error
        exit_if(result.failed)
        return
    fetch_failed = report_transfer(result.fetched, "fetched", "already in cache")
    if result.checkout_error is not None:
        raise result.checkout_error  # printed after the fetch's own failures
    hint = "it could not be fetched (see above)" if fetch_failed else "run `dvcish pull` again"
    checkout_failed = report_checkout(result.checkout, hint=hint)
    exit_if(fetch_failed or checkout_failed)


def cloud_status(targets: list[str], remote: str | None, as_json: bool, quiet: bool, chosen):
    """``status --cloud``: what the remote lacks of what the pointers need."""
    from dvcish.commands import sync

    with repo_session(write=False) as repo:
        report, description = sync.cloud_status(repo, sync.Request(targets, remote, None, chosen))
    if as_json:
        print_json(report.to_dict())
        return
    if not quiet:
        for path, oid in report.missing_on_remote[:SHOW_AT_MOST]:
            say(f"missing on remote: {path} ({oid})")
        for path, oid in report.missing_everywhere[:SHOW_AT_MOST]:
            say(f"missing everywhere: {path} ({oid})")
        say(
            f"{description}: {count(len(report.missing_on_remote))} to push, "
            f"{count(report.present)} already there"
        )
    exit_if(bool(report.missing_on_remote or report.missing_everywhere))
