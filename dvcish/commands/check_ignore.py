"""``dvcish check-ignore``: which ``.dvcishignore`` rule decides each path, and where it is."""

from __future__ import annotations

import os
from dataclasses import dataclass

from dvcish.ignore import Ignore, Pattern
from dvcish.repo import Repo
from dvcish.targets import check_inside_repo


@dataclass(frozen=True)
class IgnoreCheck:
    path: str  # as the user gave it
    rule: Pattern | None  # the deciding pattern (a negated one re-includes), or None

    @property
    def ignored(self) -> bool:
        return self.rule is not None and not self.rule.negated


def check_ignore(repo: Repo, paths: list[str]) -> list[IgnoreCheck]:
    """The deciding rule for each path (relative to the current folder). A path that does not
    exist is taken as a file, unless it ends with "/" (as git does)."""
    ignore = Ignore(repo.root)
    results = []
    for path in paths:
        full = os.path.abspath(path)
        check_inside_repo(repo, full, "path")
        is_dir = path.endswith("/") or os.path.isdir(full)
        results.append(IgnoreCheck(path, ignore.match(repo.relpath(full), is_dir)))
    return results
