"""``dvcish version`` (and its alias ``doctor``): versions, the cache and the remotes, for a
bug report."""

import typer

from dvcish.cli.app import app
from dvcish.cli.options import JSON
from dvcish.cli.render import print_json


def version(
    as_json: bool = JSON,
    no_remotes: bool = typer.Option(
        False, "--no-remotes", help="Do not contact the remotes (they are listed anyway)."
    ),
) -> None:
    """Versions, cache and remotes, for a bug report.  Example: dvcish version

    Works outside a repository too (versions only). Remotes are shown without secrets.
    """
    from dvcish.commands import doctor
    from dvcish.errors import DvcishError
    from dvcish.repo import open_repo

    try:
        repo = open_repo()
    except DvcishError:
        repo = None
    try:
        found = doctor.report(repo, check_remotes=not no_remotes)
    finally:
        if repo is not None:
            repo.close()
    if as_json:
        print_json(found.to_dict())
        return
    for line in _lines(found):
        typer.echo(line)


def _lines(found) -> list[str]:
    lines = [
        f"dvcish {found.dvcish}",
        f"Python {found.python}",
        f"Platform: {found.platform}",
        "Dependencies: " + ", ".join(f"{k} {v}" for k, v in found.dependencies.items()),
        f"git {found.git}",
    ]
    if found.repository is None:
        return [*lines, "Repository: none here"]
    cache = found.cache
    lines += [
        f"Repository: {found.repository} ({cache.workspace_filesystem})",
        f"Cache: {cache.folder} ({cache.filesystem})",
        f"Cache types: {','.join(cache.link_types)} (working here: "
        f"{', '.join(cache.links_that_work) or 'none'})",
    ]
    if not found.remotes:
        return [*lines, "Remotes: none"]
    lines.append("Remotes:")
    for check in found.remotes:
        mark = "*" if check.default else " "
        state = {True: "reachable", False: f"NOT reachable: {check.problem}", None: "not checked"}
        lines.append(f"  {mark} {check.name}\t{check.url}\t{state[check.reachable]}")
    return lines


app.command("version")(version)
app.command("doctor", help=version.__doc__.replace("dvcish version", "dvcish doctor"))(version)
