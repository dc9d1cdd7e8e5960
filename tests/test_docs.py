"""Every CLI command, subcommands included, has a section in docs/cli.md."""

from __future__ import annotations

import os

import typer

from dvcish.cli.main import app

DOCS = os.path.join(os.path.dirname(__file__), "..", "docs", "cli.md")


def command_names(group, prefix: str = "dvcish") -> list[str]:
    names = []
    for name, command in group.commands.items():
        full = f"{prefix} {name}"
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            names.extend(command_names(command, full))
        else:
            names.append(full)
    return names


def test_every_command_is_documented():
    with open(DOCS, encoding="utf-8") as handle:
        text = handle.read()
    names = command_names(typer.main.get_command(app))
    assert "dvcish add" in names and "dvcish remote add" in names
    undocumented = [name for name in names if f"## `{name}`" not in text]
    assert undocumented == []


def test_every_command_has_help_with_an_example():
    names = command_names(typer.main.get_command(app))
    root = typer.main.get_command(app)
    missing = []
    for name in names:
        command = root
        for part in name.split()[1:]:
            command = command.commands[part]
        if "Example:" not in (command.help or ""):
            missing.append(name)
    assert missing == []
