"""``dvcish remove``: stop tracking data: delete its pointer and its ``.gitignore`` line.

The data stays in the workspace unless ``data`` is asked for; then it is deleted too, but only
when every byte of it is in the cache (or ``force``), checked for all targets before anything
changes. The cache keeps the objects (``gc`` decides about them). Nothing is staged in git.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dvcish.commands.checkout import contents_at_risk, refuse_to_lose, remove_tree
from dvcish.gitignore import drop_ignored
from dvcish.repo import Repo
from dvcish.targets import Tracked, whole_target
from dvcish.workspace import reader_for


@dataclass
class RemoveResult:
    rel: str  # repo-relative data path
    pointer_file: str  # absolute, now deleted
    gitignore: str | None  # the .gitignore that changed, if any
    data_deleted: bool
    data_left: bool  # the data is still in the workspace (and no longer git-ignored)


def remove(
    repo: Repo, targets: list[str], data: bool = False, force: bool = False
) -> list[RemoveResult]:
    hint = "remove the file from the folder and `dvcish add` it again"
    tracked_list = [whole_target(repo, target, hint) for target in targets]
    seen_targets = {item.pointer_file: item for item in tracked_list}
    if data and not force:
        reader = reader_for(repo)
        at_risk: dict[str, str] = {}
        for tracked in seen_targets.values():
            seen = reader.observe(tracked.rel, tracked.target)
            at_risk.update(contents_at_risk(tracked.rel, seen))
        refuse_to_lose(repo, at_risk, "remove --data", "remove --data --force")
    return [_remove_one(tracked, data) for tracked in seen_targets.values()]


def _remove_one(tracked: Tracked, data: bool) -> RemoveResult:
    present = os.path.lexists(tracked.target)
    if data and present:
        if os.path.isdir(tracked.target) and not os.path.islink(tracked.target):
            remove_tree(tracked.target)
        else:
            os.unlink(tracked.target)
    os.unlink(tracked.pointer_file)
    folder, name = os.path.split(tracked.target)
    gitignore = drop_ignored(folder, name)
    return RemoveResult(
        tracked.rel,
        tracked.pointer_file,
        gitignore,
        data_deleted=data and present,
        data_left=present and not data,
    )
