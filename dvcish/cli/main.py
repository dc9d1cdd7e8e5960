"""Assemble the CLI: every command module registers itself on the shared app."""

from dvcish.cli import core, external_cmds, history_cmds, remote_cmds, transfer_cmds  # noqa: F401
from dvcish.cli.app import app


def run() -> None:
    app(prog_name="dvcish")
