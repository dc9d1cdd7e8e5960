"""Keeping tracked data out of git: one ``/name`` line per target in its folder's .gitignore."""

from __future__ import annotations

import os
import re

from dvcish import fsutil


def ignore_entry(name: str) -> str:
    """``/name`` with gitignore's special characters escaped, so it matches only ``name``."""
    escaped = re.sub(r"([\\*?\[ !#])", r"\\\1", name)
    return "/" + escaped


def ensure_ignored(folder: str, name: str) -> str | None:
    """Add ``/name`` to ``folder/.gitignore``; return the file's path if it changed."""
    path = os.path.join(folder, ".gitignore")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        text = ""
    entry = ignore_entry(name)
    existing = set(text.splitlines())
    if entry in existing or entry + "/" in existing:
        return None
    if text and not text.endswith("\n"):
        text += "\n"
    fsutil.atomic_write_bytes(path, (text + entry + "\n").encode("utf-8"))
    return path
