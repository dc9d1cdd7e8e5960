"""Which data a command acts on: find pointers, map CLI targets to them, refuse unsafe paths."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from dvcish.errors import DvcishError
from dvcish.fsutil import display_path, join_display
from dvcish.pointer import POINTER_SUFFIX, Pointer, is_pointer_name, load_pointer
from dvcish.repo import DVCISH_DIR, Repo

SKIP_DIRS = {".git", DVCISH_DIR}


@dataclass
class Tracked:
    """One pointer file and the data it stands for."""

    pointer_file: str  # absolute
    pointer: Pointer
    target: str  # absolute path of the data
    rel: str  # repo-relative path of the data, "/"-separated
    subpath: str | None = None  # a file or folder inside a tracked folder (granular pull)
    label: str | None = None  # how to print the data path, when not relative to the cwd

    @property
    def shown(self) -> str:
        """The data path as printed: relative to the current folder (or ``label``)."""
        return self.label if self.label is not None else display_path(self.target)

    def shown_member(self, path: str) -> str:
        """A path inside the tracked folder (tree-relative), as printed."""
        return join_display(self.shown, path)


def find_pointer_files(repo: Repo) -> list[str]:
    """Every pointer file in the workspace (git-ignored folders are skipped when git is here)."""
    if repo.has_scm:
        listed = git_listed(repo.root, POINTER_SUFFIX)
        if listed is not None:
            return listed
    found = []
    for folder, dirs, files in os.walk(repo.root):
        dirs[:] = [name for name in dirs if name not in SKIP_DIRS]
        pointers = [name for name in files if is_pointer_name(name)]
        tracked = {name[: -len(POINTER_SUFFIX)] for name in pointers}
        dirs[:] = [name for name in dirs if name not in tracked]
        found.extend(os.path.join(folder, name) for name in pointers)
    return sorted(found)


def git_listed(root: str, suffix: str) -> list[str] | None:
    """Absolute paths of the files ending in ``suffix`` that git tracks or would track (not
    ignored), outside .git and .dvcish; None when git cannot tell."""
    try:
        out = subprocess.run(
            [
                "git",
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
                "--",
                f"*{suffix}",
            ],
            cwd=root,
            capture_output=True,
            check=True,
            stdin=subprocess.DEVNULL,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    paths = {name for name in out.decode("utf-8", "surrogateescape").split("\0") if name}
    result = []
    for rel in sorted(paths):
        if rel.split("/")[0] in SKIP_DIRS:
            continue
        full = os.path.join(root, rel)
        if os.path.isfile(full):
            result.append(full)
    return result


def load_tracked(repo: Repo, pointer_file: str) -> Tracked:
    pointer_file = os.path.abspath(pointer_file)
    check_inside_repo(repo, pointer_file, "pointer file")
    pointer = load_pointer(pointer_file, repo.shown(repo.relpath(pointer_file)))
    target = os.path.join(os.path.dirname(pointer_file), pointer.path)
    rel = repo.relpath(target)
    return Tracked(pointer_file, pointer, target, rel, label=repo.shown(rel))


def all_tracked(repo: Repo) -> list[Tracked]:
    return [load_tracked(repo, path) for path in find_pointer_files(repo)]


def resolve(repo: Repo, targets: list[str], allow_inside: bool = False) -> list[Tracked]:
    """Map CLI targets (a pointer, its data path, or a file inside tracked data) to pointers."""
    if not targets:
        return all_tracked(repo)
    result = []
    for target in targets:
        result.append(_resolve_one(repo, target, allow_inside))
    return result


def _resolve_one(repo: Repo, target: str, allow_inside: bool) -> Tracked:
    path = os.path.abspath(target)
    if is_pointer_name(os.path.basename(path)) and os.path.isfile(path):
        return load_tracked(repo, path)
    candidate = path.rstrip(os.sep) + POINTER_SUFFIX
    if os.path.isfile(candidate):
        return load_tracked(repo, candidate)
    if allow_inside:
        parent = os.path.dirname(path)
        while len(parent) > len(repo.root):
            if os.path.isfile(parent + POINTER_SUFFIX):
                tracked = load_tracked(repo, parent + POINTER_SUFFIX)
                if tracked.pointer.kind == "dir" and tracked.target == parent:
                    tracked.subpath = os.path.relpath(path, parent).replace(os.sep, "/")
                    return tracked
            parent = os.path.dirname(parent)
    raise DvcishError(f"{target}: not tracked by dvcish (no {os.path.basename(candidate)})")


def whole_target(repo: Repo, target: str, inside_hint: str) -> Tracked:
    """The pointer ``target`` names (a pointer or its data path) for a command that acts on
    whole tracked data; a path inside a tracked folder is refused, with ``inside_hint``."""
    enclosing = enclosing_tracked_folder(repo, os.path.abspath(target))
    if enclosing is not None:
        raise DvcishError(
            f"{target}: is inside the tracked folder {repo.relpath(enclosing)}; {inside_hint}"
        )
    return _resolve_one(repo, target, allow_inside=False)


def check_inside_repo(repo: Repo, path: str, what: str) -> None:
    """Refuse paths outside the repo or inside .git/.dvcish, symlinked folders included."""
    real_root = os.path.realpath(repo.root)
    real_parent = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    real = os.path.join(real_parent, os.path.basename(path))
    if real == real_root or not real.startswith(real_root + os.sep):
        raise DvcishError(f"{path}: {what} is outside the repository {repo.root}")
    parts = os.path.relpath(real, real_root).split(os.sep)
    if any(part.lower() in SKIP_DIRS for part in parts):
        raise DvcishError(
            f"{path}: {what} is inside .git or .dvcish; choose a path in the workspace"
        )


def enclosing_tracked_folder(repo: Repo, path: str) -> str | None:
    """The tracked folder that contains ``path``, if any."""
    parent = os.path.dirname(os.path.abspath(path))
    while len(parent) > len(repo.root):
        if os.path.isfile(parent + POINTER_SUFFIX):
            return parent
        parent = os.path.dirname(parent)
    return None
