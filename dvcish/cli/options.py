"""Options shared by several commands: targets, remote, jobs, revision flags, quiet, JSON."""

import typer

TARGETS = typer.Argument(
    None, help="Pointers, data paths, or paths inside tracked folders (default: all)."
)


def complete_remote(incomplete: str) -> list[str]:
    """Shell completion for remote names: the remotes of the repository here, if any."""
    from dvcish.errors import DvcishError
    from dvcish.repo import open_repo

    try:
        names = open_repo().config.remote_names()
    except (DvcishError, OSError):
        return []
    return [name for name in names if name.startswith(incomplete)]


REMOTE = typer.Option(
    None,
    "-r",
    "--remote",
    help="Remote name (default: core.remote).",
    autocompletion=complete_remote,
)
JOBS = typer.Option(
    None,
    "-j",
    "--jobs",
    min=1,
    help="Parallel transfers, and S3 requests in flight, parts included (default 4x CPUs).",
)
REVS = typer.Option(
    None, "--rev", metavar="REV", help="Also the data at this git revision (repeatable)."
)
ALL_BRANCHES = typer.Option(False, "-a", "--all-branches", help="Also every local branch's data.")
ALL_TAGS = typer.Option(False, "-T", "--all-tags", help="Also every tag's data.")
ALL_COMMITS = typer.Option(False, "-A", "--all-commits", help="Also every commit's data.")
QUIET = typer.Option(False, "-q", "--quiet", help="Print nothing but errors.")
JSON = typer.Option(False, "--json", help="Print machine-readable JSON.")


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
