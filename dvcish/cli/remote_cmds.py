"""``dvcish remote``: add, modify, list, rename, remove and choose the default remote."""

import typer

from dvcish.cli.app import ValuesMayLookNegative, app, make_app
from dvcish.cli.context import repo_session
from dvcish.cli.output import plural, say, warn

remote_app = make_app("Manage remotes (local folders, S3, MinIO).")
app.add_typer(remote_app, name="remote")


@remote_app.command("add")
def remote_add(
    name: str = typer.Argument(..., help="Remote name."),
    url: str = typer.Argument(..., help="Folder path, file:// or s3://bucket/prefix."),
    default: bool = typer.Option(False, "-d", "--default", help="Make it the default remote."),
    local: bool = typer.Option(False, "--local", help="Write config.local (not committed)."),
    force: bool = typer.Option(False, "-f", "--force", help="Replace a remote of that name."),
) -> None:
    """Add a remote.  Example: dvcish remote add -d storage s3://my-bucket/data"""
    from dvcish.commands import remote as remotes

    with repo_session(write=True, settings=True) as repo:
        remotes.add_remote(repo, name, url, default=default, local=local, force=force)
    say(f"Added remote {name!r}" + (" (default)" if default else ""))


@remote_app.command("modify", cls=ValuesMayLookNegative)
def remote_modify(
    name: str = typer.Argument(..., help="Remote name."),
    key: str = typer.Argument(..., help="Option, e.g. endpointurl or access_key_id."),
    value: str = typer.Argument(None, help="New value."),
    local: bool = typer.Option(False, "--local", help="Write config.local (for secrets)."),
    unset: bool = typer.Option(False, "--unset", help="Remove the option."),
) -> None:
    """Set an option.  Example: dvcish remote modify storage endpointurl http://127.0.0.1:9000"""
    from dvcish.commands import remote as remotes

    with repo_session(write=True, settings=True) as repo:
        remotes.modify_remote(repo, name, key, value, local=local, unset=unset)


@remote_app.command("list")
def remote_list() -> None:
    """List remotes by name, the default marked with *.  Example: dvcish remote list"""
    from dvcish import remotes

    with repo_session(write=False) as repo:
        infos = remotes.list_remotes(repo.config)
    for info in infos:
        typer.echo(f"{'*' if info.is_default else ' '} {info.name}\t{info.url}")


@remote_app.command("remove")
def remote_remove(name: str = typer.Argument(..., help="Remote name.")) -> None:
    """Remove a remote from both config files.  Example: dvcish remote remove old"""
    from dvcish.commands import remote as remotes

    with repo_session(write=True, settings=True) as repo:
        remotes.remove_remote(repo, name)
    say(f"Removed remote {name!r}")


@remote_app.command("rename")
def remote_rename(
    old: str = typer.Argument(..., help="Current name."),
    new: str = typer.Argument(..., help="New name."),
) -> None:
    """Rename a remote (and the default, if it is).  Example: dvcish remote rename storage s3"""
    from dvcish.commands import remote as remotes

    with repo_session(write=True, settings=True) as repo:
        remotes.rename_remote(repo, old, new)
    say(f"Renamed remote {old!r} to {new!r}")


@remote_app.command("default")
def remote_default(
    name: str = typer.Argument(None, help="Remote to make the default (omit to print it)."),
    local: bool = typer.Option(False, "--local", help="Write config.local."),
    unset: bool = typer.Option(False, "--unset", help="Remove the default (core.remote)."),
) -> None:
    """Print, set or unset the default remote.  Example: dvcish remote default storage"""
    from dvcish import remotes
    from dvcish.commands import remote as remote_commands
    from dvcish.errors import DvcishError, UsageError

    if unset and name is not None:
        raise UsageError("--unset takes no remote name")
    with repo_session(write=name is not None or unset, settings=True) as repo:
        if unset:
            remote_commands.unset_default(repo, local=local)
            say("The default remote is unset")
        elif name is None:
            current = remotes.default_remote(repo.config)
            if current is None:
                raise DvcishError(remotes.no_default_message(repo.config, for_transfer=False))
            typer.echo(current)
        else:
            remote_commands.set_default(repo, name, local=local)


@remote_app.command("reindex")
def remote_reindex(
    name: str = typer.Argument(None, help="Remote name (default: core.remote)."),
) -> None:
    """Rebuild a remote's pack index from the packs.  Example: dvcish remote reindex storage

    Every pack is downloaded and checked against its name; one new index lists them all and
    replaces every index file there was (damaged ones included).
    """
    from dvcish.commands import remote as remote_commands

    with repo_session(write=True) as repo:
        report = remote_commands.reindex(repo, name)
    for problem in report.skipped:
        warn(f"error: {problem} (left out of the index)")
    say(
        f"Indexed {plural(report.objects, 'object')} in {plural(report.packs, 'pack')}; "
        f"replaced {plural(report.superseded, 'index file')}"
    )
    if report.skipped:
        raise typer.Exit(1)
