"""Assemble the CLI: every command module registers itself on the shared app."""

from dvcish.cli import (  # noqa: F401
    core,
    data_cmds,
    external_cmds,
    history_cmds,
    info_cmds,
    migrate_cmds,
    remote_cmds,
    transfer_cmds,
    unprotect_cmd,
)
from dvcish.cli.app import app


def run() -> None:
    app(prog_name="dvcish")
