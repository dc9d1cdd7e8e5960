"""Assemble the CLI: every command module registers itself on the shared app."""

from __future__ import annotations

from dvcish.cli import core, remote_cmds, transfer_cmds  # noqa: F401  (registers commands)
from dvcish.cli.app import app


def run() -> None:
    app(prog_name="dvcish")
