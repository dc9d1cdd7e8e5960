"""Keeping tracked data out of git: one ``/name`` line per target in its folder's .gitignore,
added by ``add`` and ``move``, dropped by ``move`` and ``remove``."""

from __future__ import annotations

import os
import re

from dvcish import fsutil


def ignore_entry(name: str) -> str:
    """``/name`` with gitignore's special characters escaped, so it matches only ``name``."""
    escaped = re.sub(r"([\\*?\[ !#])", r"\\\1", name)
    return "/" + escaped


def drop_ignored(folder: str, name: str) -> str | None:
    """Remove the ``/name`` line (as ``ensure_ignored`` writes it) from ``folder/.gitignore``;
    return the file's path if it changed. Other lines are kept as they are; a file left empty
    is deleted."""
    path = os.path.join(folder, ".gitignore")
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines(keepends=True)
    except FileNotFoundError:
        return None
    entry = ignore_entry(name)
    kept = [line for line in lines if line.rstrip("\r\n") not in (entry, entry + "/")]
    if len(kept) == len(lines):
        return None
    text = "".join(kept)
    if text.strip():
        fsutil.atomic_write_bytes(path, text.encode("utf-8"))
    else:
        os.unlink(path)
    return path


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
