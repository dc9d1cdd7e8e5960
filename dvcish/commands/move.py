"""``dvcish move``: rename tracked data together with its pointer and ``.gitignore`` lines.

Nothing is staged in git: the result names the paths a ``git add`` should take. Order: the
new pointer is written first, then the data is renamed (on failure the new pointer is removed
again), then the old pointer goes and the ``.gitignore`` lines follow.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from dvcish import fsutil
from dvcish.errors import DvcishError
from dvcish.gitignore import drop_ignored, ensure_ignored
from dvcish.pointer import is_pointer_name, pointer_path_for, write_pointer
from dvcish.repo import Repo
from dvcish.targets import Tracked, check_inside_repo, enclosing_tracked_folder, whole_target
from dvcish.tree import name_problem


@dataclass
class MoveResult:
    old_rel: str  # repo-relative data paths
    new_rel: str
    old_pointer: str  # absolute paths
    new_pointer: str
    data_moved: bool  # False when the data was not in the workspace (only the pointer moved)
    gitignores: list[str]  # .gitignore files changed (absolute)


def move(repo: Repo, source: str, destination: str) -> MoveResult:
    """Move the data ``source`` names (a data path or its pointer) to ``destination`` (a new
    path, or an existing folder to move it into)."""
    tracked = whole_target(
        repo, source, "move the whole folder, or move the file and `dvcish add` the folder again"
    )
    dest = destination_path(repo, tracked, destination)
    new_pointer = pointer_path_for(dest)
    pointer = dataclasses.replace(tracked.pointer, path=os.path.basename(dest))
    write_pointer(new_pointer, pointer)
    data_moved = os.path.lexists(tracked.target)
    if data_moved:
        try:
            os.rename(tracked.target, dest)
        except BaseException:
            fsutil.remove_quietly(new_pointer)
            raise
    os.unlink(tracked.pointer_file)
    new_rel = repo.relpath(dest)
    changed = [
        drop_ignored(os.path.dirname(tracked.target), os.path.basename(tracked.target)),
        ensure_ignored(os.path.dirname(dest), os.path.basename(dest)),
    ]
    if data_moved:
        repo.state.move_files(tracked.rel, new_rel)
    return MoveResult(
        tracked.rel,
        new_rel,
        tracked.pointer_file,
        new_pointer,
        data_moved,
        [path for path in dict.fromkeys(changed) if path is not None],
    )


def destination_path(repo: Repo, tracked: Tracked, destination: str) -> str:
    """The absolute new data path, after every check; nothing is changed."""
    dest = os.path.abspath(destination)
    if os.path.isdir(dest) and not os.path.islink(dest) and dest != tracked.target:
        dest = os.path.join(dest, os.path.basename(tracked.target))
    check_inside_repo(repo, dest, "destination")
    name = os.path.basename(dest)
    problem = name_problem(name)
    if problem is not None or is_pointer_name(name) or name == ".dvcish":
        why = problem or "a pointer file name"
        raise DvcishError(f"{destination}: {why}; choose another name")
    if dest == tracked.target or dest.startswith(tracked.target + os.sep):
        raise DvcishError(f"{destination}: is {tracked.rel} itself or inside it")
    for path in (dest, pointer_path_for(dest)):
        if os.path.lexists(path):
            raise DvcishError(f"{repo.relpath(path)}: already exists; move it away first")
    parent = os.path.dirname(dest)
    if not os.path.isdir(parent):
        raise DvcishError(f"{repo.relpath(parent)}: no such folder; create it first")
    enclosing = enclosing_tracked_folder(repo, dest)
    if enclosing is not None:
        raise DvcishError(
            f"{destination}: is inside the tracked folder {repo.relpath(enclosing)}; "
            "dvcish does not nest tracked data"
        )
    return dest
