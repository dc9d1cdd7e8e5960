"""``dvcish init``: create ``.dvcish/`` with its config, .gitignore and cache, and a default
``.dvcishignore`` beside it."""

from __future__ import annotations

import os
import subprocess

from dvcish import fsutil
from dvcish.errors import DvcishError
from dvcish.ignore import DEFAULT_IGNORE, IGNORE_FILE
from dvcish.repo import DVCISH_DIR, Repo, open_repo

DVCISH_GITIGNORE = "/cache\n/tmp\n/config.local\n"


def inside_git_work_tree(path: str) -> bool:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"],
            cwd=path,
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError:
        return False
    return result.returncode == 0 and result.stdout.strip() == b"true"


def init(path: str, no_scm: bool = False) -> Repo:
    root = os.path.abspath(path)
    dvcish_dir = os.path.join(root, DVCISH_DIR)
    if os.path.exists(dvcish_dir):
        raise DvcishError(f"{dvcish_dir}: already exists; this folder is already a dvcish repo")
    if not no_scm and not inside_git_work_tree(root):
        raise DvcishError(
            f"{root}: not inside a git work tree; "
            "run `git init` first or use `dvcish init --no-scm`"
        )
    os.mkdir(dvcish_dir)
    config = b"core:\n  no_scm: true\n" if no_scm else b""
    fsutil.atomic_write_bytes(os.path.join(dvcish_dir, "config"), config)
    if not no_scm:  # without git nothing reads a .gitignore
        fsutil.atomic_write_bytes(os.path.join(dvcish_dir, ".gitignore"), DVCISH_GITIGNORE.encode())
    os.makedirs(os.path.join(dvcish_dir, "tmp"), exist_ok=True)
    ignore_file = os.path.join(root, IGNORE_FILE)
    if not os.path.lexists(ignore_file):  # a project's own rules (after a re-init) are kept
        fsutil.atomic_write_bytes(ignore_file, DEFAULT_IGNORE.encode())
    repo = open_repo(root)
    repo.cache.create_layout()
    return repo
