"""``dvcish unprotect``: parse, call commands/unprotect.py, print."""

import typer

from dvcish.cli.app import app
from dvcish.cli.context import repo_session
from dvcish.cli.output import plural, say, warn
from dvcish.tree import printable


@app.command()
def unprotect(
    targets: list[str] = typer.Argument(..., help="Tracked data, or paths inside it."),
) -> None:
    """Replace links into the cache with copies, so the files can be edited.

    Only needed with cache.type hardlink or symlink, where a workspace file is the cache
    object itself.  Example: dvcish unprotect data/labels.csv
    """
    from dvcish.commands.unprotect import unprotect as do_unprotect

    with repo_session(write=True) as repo:
        results = do_unprotect(repo, targets)
    for result in results:
        say(f"{printable(result.rel)}: {plural(result.copied, 'link')} replaced by copies")
        for path in result.damaged:
            shown = printable(path)
            warn(
                f"warning: {shown}: its cache object had been changed through the link; the copy "
                f"keeps these bytes and the object was set aside (`dvcish add` records them, "
                f"`dvcish pull --force {shown}` restores the old ones)"
            )
