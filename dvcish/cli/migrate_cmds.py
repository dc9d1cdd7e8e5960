"""``dvcish import-dvc``: convert a DVC project's ``.dvc`` data into dvcish pointers."""

import os
import shlex

import typer

from dvcish.cli.app import app
from dvcish.cli.context import repo_session
from dvcish.cli.output import plural, say, warn
from dvcish.cli.render import exit_if

SHOW_MISSING = 5


@app.command("import-dvc")
def import_dvc(
    dry: bool = typer.Option(False, "--dry", help="Only show the plan; change nothing."),
) -> None:
    """Convert this DVC project's data to dvcish pointers.  Example: dvcish import-dvc --dry

    Each .dvc file's data is taken from the workspace or DVC's cache (checked against DVC's
    md5), added to dvcish's cache, and given a .dvcish pointer and .gitignore line. Data found
    in neither place is named, not guessed. The .dvc files stay: `git rm` them afterwards.
    """
    from dvcish.commands import import_dvc as core

    with repo_session(write=not dry) as repo:
        root = repo.root
        planned = core.plan(repo)
        if not dry:
            core.apply(repo, planned)
    for item in planned.outs:
        _report(item, dry)
    convertible = [item for item in planned.outs if item.convertible]
    verb = "Would convert" if dry else "Converted"
    say(f"{verb} {len(convertible)} of {plural(len(planned.outs), 'DVC out')}.")
    if not dry and convertible:
        _git_hint(root, planned)
    exit_if(bool(planned.failed))


def _report(item, dry: bool) -> None:
    where = f"{item.dvc_file}: {item.path}" if item.path else item.dvc_file
    if item.problem is not None:
        warn(f"error: {item.dvc_file}: {item.problem.removeprefix(item.dvc_file + ': ')}")
    elif item.missing:
        total = len(item.missing) + len(item.sources)
        shown = ", ".join(item.missing[:SHOW_MISSING])
        if len(item.missing) > SHOW_MISSING:
            shown += f" and {len(item.missing) - SHOW_MISSING} more"
        warn(
            f"error: {where}: {len(item.missing)} of {plural(total, 'file')} in neither the "
            f"workspace nor DVC's cache ({shown}); not converted; run `dvc pull {item.dvc_file}`"
            " first"
        )
    elif item.skipped is not None:
        say(f"{where}: {item.skipped}")
    else:
        say(f"{where}: {'would convert' if dry else 'converted'} {_origin(item)}")
        if item.workspace_changed:
            say("    the workspace holds changes DVC had not recorded: kept (see dvcish status)")
        elif item.checked_out or (dry and _needs_checkout(item)):
            say(f"    {'would check' if dry else 'checked'} the data out into the workspace")


def _needs_checkout(item) -> bool:
    from dvcish.commands.import_dvc import WORKSPACE

    return bool(item.dvc_links) or item.count(WORKSPACE) < len(item.sources)


def _origin(item) -> str:
    from dvcish.commands.import_dvc import DVC_CACHE, WORKSPACE

    parts = []
    for where, label in ((WORKSPACE, "the workspace"), (DVC_CACHE, "DVC's cache")):
        number = item.count(where)
        if number and item.kind == "dir":
            parts.append(f"{plural(number, 'file')} from {label}")
        elif number:
            parts.append(f"from {label}")
    return " and ".join(parts) if parts else "(an empty folder)"


def _git_hint(root: str, planned) -> None:
    """The git commands that record the conversion: add the pointers and .gitignore files,
    remove the .dvc files whose every out is converted."""
    added: list[str] = []
    complete: dict[str, bool] = {}
    for item in planned.outs:
        done = item.converted or item.skipped is not None
        complete[item.dvc_file] = complete.get(item.dvc_file, True) and done
        if item.converted:
            added.append(os.path.join(root, item.path + ".dvcish"))
            if item.gitignore:
                added.append(item.gitignore)
    removable = [os.path.join(root, name) for name, done in complete.items() if done]
    lines = [shlex.join(["git", "add", *dict.fromkeys(os.path.relpath(p) for p in added)])]
    if removable:
        lines.append(shlex.join(["git", "rm", "-q", *(os.path.relpath(p) for p in removable)]))
    say("\nTo record the change in git, run:\n\n    " + "\n    ".join(lines))
