"""``dvcish install``: git hooks that keep data in step with git.

Three hooks, in the folder git runs hooks from (``git rev-parse --git-path hooks``, which
honours ``core.hooksPath``):

- ``post-checkout``: ``dvcish checkout`` after a branch checkout (never with ``--force``);
- ``pre-push``: ``dvcish push``, so the data is on the remote before the pointers are;
- ``pre-commit``: ``dvcish status``, a warning on stderr only; it never blocks a commit.

Each hook file carries ``MARKER``; dvcish rewrites or removes only files that carry it and
refuses to touch any other hook. A hook runs the Python that installed it (``python -m dvcish``)
and falls back to ``dvcish`` on PATH when that Python is gone. Nothing here prints.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field

from dvcish import fsutil
from dvcish.errors import DvcishError

MARKER = "# dvcish-hook: written by `dvcish install`; `dvcish install --uninstall` removes it"
_RUNNER = """dvcish_run() {{
    if [ -x {python} ]; then
        {python} -m dvcish "$@"
    else
        dvcish "$@"
    fi
}}
"""
BODIES = {
    "post-checkout": (
        '[ "$3" = "1" ] || exit 0  # a file checkout (git checkout -- PATH): nothing to do\n'
        "dvcish_run checkout\n"
    ),
    "pre-push": "dvcish_run push\n",
    "pre-commit": (
        "if ! dvcish_run status -q >/dev/null 2>&1; then\n"
        '    echo "dvcish: tracked data differs from its pointers (commit goes ahead):" >&2\n'
        "    dvcish_run status >&2\n"
        "fi\n"
        "exit 0\n"
    ),
}


@dataclass
class HooksResult:
    folder: str
    changed: list[str] = field(default_factory=list)  # hook names written or removed
    foreign: list[str] = field(default_factory=list)  # uninstall: hooks left alone (not ours)


def hooks_folder(root: str) -> str:
    """The folder git runs hooks from for the work tree at ``root``."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--git-path", "hooks"],
            cwd=root,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        raise DvcishError("git not found on PATH; install git") from None
    if done.returncode != 0:
        raise DvcishError(f"{root}: not a git repository; hooks need git (run `git init`)")
    return os.path.normpath(os.path.join(root, done.stdout.decode().strip()))


def hook_script(name: str, python: str | None = None) -> str:
    runner = _RUNNER.format(python=shlex.quote(python or sys.executable))
    return f"#!/bin/sh\n{MARKER}\n{runner}{BODIES[name]}"


def is_ours(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        return False
    return MARKER.encode() in head


def install(root: str) -> HooksResult:
    """Write (or refresh) every dvcish hook; refuses, before writing any, if one is foreign."""
    result = HooksResult(hooks_folder(root))
    for name in BODIES:
        path = os.path.join(result.folder, name)
        if os.path.lexists(path) and not is_ours(path):
            raise DvcishError(
                f"{path}: a hook dvcish did not write is already there; "
                "move it away, or call dvcish from it yourself"
            )
    os.makedirs(result.folder, exist_ok=True)
    for name in BODIES:
        fsutil.atomic_write_bytes(
            os.path.join(result.folder, name), hook_script(name).encode(), mode=0o755
        )
        result.changed.append(name)
    return result


def uninstall(root: str) -> HooksResult:
    """Remove the hooks dvcish wrote; other hooks of the same names are left alone."""
    result = HooksResult(hooks_folder(root))
    for name in BODIES:
        path = os.path.join(result.folder, name)
        if is_ours(path):
            os.unlink(path)
            result.changed.append(name)
        elif os.path.lexists(path):
            result.foreign.append(name)
    return result
