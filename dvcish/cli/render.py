"""Renderers shared by several commands: checkout results and transfer summaries."""

import json

import typer

from dvcish.cli.output import count, plural, say, warn

SHOW_AT_MOST = 20


def report_transfer(summary, done: str, present: str) -> bool:
    """Print a transfer summary and its failures; True when something failed."""
    say(f"{count(summary.transferred)} {done}, {count(summary.present)} {present}")
    for failure in summary.failed[:SHOW_AT_MOST]:
        warn(f"error: {failure.message}")
    if len(summary.failed) > SHOW_AT_MOST:
        warn(f"error: ... and {count(len(summary.failed) - SHOW_AT_MOST)} more")
    if summary.failed:
        warn(f"error: {count(len(summary.failed))} objects could not be transferred")
    return bool(summary.failed)


def report_checkout(results, hint: str = "run `dvcish pull`") -> bool:
    """Print what checkout did and what it could not deliver; True when something failed."""
    failed = False
    for result in results:
        if result.written or result.deleted:
            say(
                f"{result.path}: {count(result.written)} written, {count(result.deleted)} deleted, "
                f"{count(result.unchanged)} unchanged"
            )
        for path in result.missing[:SHOW_AT_MOST]:
            warn(f"error: {path}: missing from the cache; {hint}")
        for path in result.corrupt[:SHOW_AT_MOST]:
            warn(f"error: {path}: cache object corrupt (quarantined); {hint}")
        hidden = len(result.missing) + len(result.corrupt) - 2 * SHOW_AT_MOST
        if hidden > 0:
            warn(f"error: ... and {count(hidden)} more missing or corrupt")
        failed = failed or bool(result.missing or result.corrupt)
    report_leftovers(sum(result.leftovers for result in results))
    if not failed and not any(result.written or result.deleted for result in results):
        say("Workspace already matches the pointers.")
    return failed


def print_json(data: object) -> None:
    """``--json``: the one document on stdout (progress and errors go to stderr)."""
    typer.echo(json.dumps(data, indent=2))


def report_leftovers(removed: int) -> None:
    """Say that temp files of an interrupted run were found (and removed), if any were."""
    if removed:
        say(f"Removed {plural(removed, 'temp file')} left by an interrupted dvcish run.")


def exit_if(failed: bool) -> None:
    if failed:
        raise typer.Exit(1)
