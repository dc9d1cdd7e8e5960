"""``dvcish add``: put files and folders into the cache and write their pointer files.

Temp files of an interrupted dvcish run (inside the folder, or beside the target where pointer
files are written) are never added: they are removed and counted.
"""

from __future__ import annotations

import os
import shlex
import stat as statmod
from dataclasses import dataclass, field

from dvcish.commands.add_folder import add_folder
from dvcish.errors import DvcishError
from dvcish.fsutil import display_path
from dvcish.git import files_in_git_index
from dvcish.gitignore import ensure_ignored
from dvcish.ignore import Ignore
from dvcish.pointer import (
    Pointer,
    is_pointer_name,
    pointer_path_for,
    write_pointer,
)
from dvcish.progress import Progress
from dvcish.repo import Repo
from dvcish.state import stat_key
from dvcish.storage.cache import CacheWriter
from dvcish.targets import check_inside_repo, enclosing_tracked_folder
from dvcish.tree import is_utf8, name_problem, printable
from dvcish.workspace import (
    WorkspaceReader,
    leftovers_beside,
    leftovers_inside,
    reader_for,
    remove_leftovers,
)

SHOW_AT_MOST = 3


@dataclass
class AddResult:
    path: str  # the data path as printed (relative to the current folder)
    pointer_file: str
    gitignore: str | None
    kind: str
    nfiles: int
    size: int
    hashed: int  # files read this time (the rest were vouched for by the stat cache)
    ignored: int = 0  # paths left out by .dvcishignore
    nested_git: list[str] = field(default_factory=list)  # repo-relative, skipped
    leftovers: int = 0  # temp files of an interrupted run, removed

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "pointer": display_path(self.pointer_file),
            "gitignore": display_path(self.gitignore) if self.gitignore else None,
            "kind": self.kind,
            "nfiles": self.nfiles,
            "size": self.size,
            "hashed": self.hashed,
            "ignored": self.ignored,
        }


def add(repo: Repo, targets: list[str], progress: Progress | None = None) -> list[AddResult]:
    """Add every target (all are checked first). Progress: per target, a step "scanning", then
    a counted step "hashing N files" for what the stat cache cannot vouch for, then "making
    the cache durable"."""
    paths = [check_add_target(repo, target) for target in targets]
    if not repo.no_scm:
        refuse_git_tracked(repo, paths)
    folders_done: set[str] = set()  # where temp files beside the targets were looked for
    return [_add_one(repo, path, progress or Progress(), folders_done) for path in paths]


def check_add_target(repo: Repo, target: str) -> str:
    path = os.path.abspath(target).rstrip(os.sep)
    check_inside_repo(repo, path, "target")
    name, shown = os.path.basename(path), printable(target)
    problem = name_problem(name) or (None if is_utf8(path) else "path is not valid UTF-8")
    if problem is not None:
        raise DvcishError(f"{shown}: {problem}; rename it before adding")
    if is_pointer_name(name):
        raise DvcishError(f"{shown}: is a pointer file; add the data it stands for instead")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise DvcishError(f"{shown}: no such file or folder") from None
    if statmod.S_ISLNK(st.st_mode):
        raise DvcishError(f"{shown}: is a symlink; add the file or folder it points to")
    if not (statmod.S_ISREG(st.st_mode) or statmod.S_ISDIR(st.st_mode)):
        raise DvcishError(f"{shown}: is not a regular file or folder")
    enclosing = enclosing_tracked_folder(repo, path)
    if enclosing is not None:
        raise DvcishError(
            f"{shown}: is inside the tracked folder {display_path(enclosing)}; add that folder"
        )
    rule = Ignore(repo.root).match(repo.relpath(path), statmod.S_ISDIR(st.st_mode))
    if rule is not None and not rule.negated:
        raise DvcishError(f"{shown}: is ignored by {rule.describe()}; change that rule to add it")
    return path


def refuse_git_tracked(repo: Repo, paths: list[str]) -> None:
    """Data that git already tracks would stay in git (a .gitignore line does not untrack it):
    refuse, naming the files and the command that untracks them."""
    in_git = [os.path.join(repo.root, rel) for rel in files_in_git_index(repo.root, paths)]
    if not in_git:
        return
    shown = [display_path(path) for path in in_git]
    more = f" and {len(shown) - SHOW_AT_MOST} more" if len(shown) > SHOW_AT_MOST else ""
    owners = [
        display_path(path)
        for path in paths
        if any(item == path or item.startswith(path + os.sep) for item in in_git)
    ]
    command = shlex.join(["git", "rm", "-r", "--cached", *owners])
    raise DvcishError(
        f"{', '.join(shown[:SHOW_AT_MOST])}{more}: already tracked by git, so the data would stay "
        f"in git; run `{command}` first (the files stay on disk), then add again"
    )


@dataclass
class Adding:
    """What adding one target works with."""

    repo: Repo
    reader: WorkspaceReader
    writer: CacheWriter
    progress: Progress


def _add_one(repo: Repo, path: str, progress: Progress, folders_done: set[str]) -> AddResult:
    rel = repo.relpath(path)
    writer = repo.cache.writer(repo.config.link_types())
    adding = Adding(repo, reader_for(repo), writer, progress)
    skipped = Skipped(leftovers=remove_leftovers(leftovers_beside(path, folders_done)))
    try:
        if os.path.isdir(path):
            pointer, hashed, left_out = add_folder(repo, adding.reader, writer, progress, path, rel)
            skipped.ignored = len(left_out.ignored_files) + len(left_out.ignored_dirs)
            skipped.nested_git = [f"{rel}/{name}" for name in sorted(left_out.nested_git)]
            skipped.leftovers += remove_leftovers(leftovers_inside(path, left_out))
        else:
            pointer, hashed = _add_file(adding, path, rel)
        progress.phase("making the cache durable")
        writer.commit(repo.state)
    except BaseException:
        writer.abort()
        raise
    pointer_file = pointer_path_for(path)
    write_pointer(pointer_file, pointer)
    gitignore = None
    if not repo.no_scm:
        gitignore = ensure_ignored(os.path.dirname(path), os.path.basename(path))
    repo.state.commit()
    nfiles = pointer.nfiles if pointer.kind == "dir" else 1
    return AddResult(
        repo.shown(rel),
        pointer_file,
        gitignore,
        pointer.kind,
        nfiles or 0,
        pointer.size,
        hashed,
        skipped.ignored,
        [repo.shown(path) for path in skipped.nested_git],
        skipped.leftovers,
    )


@dataclass
class Skipped:
    """What the scan of a folder being added left out."""

    ignored: int = 0
    nested_git: list[str] = field(default_factory=list)
    leftovers: int = 0  # temp files of an interrupted run (never data): removed


def _add_file(adding: Adding, path: str, rel: str) -> tuple[Pointer, int]:
    repo, reader, writer, progress = adding.repo, adding.reader, adding.writer, adding.progress
    st = os.lstat(path)
    oids, unknown = reader.known_oids(rel, {"": st})
    hashed = 0
    if unknown or repo.cache.freshen({oids[""]}):
        progress.phase(f"hashing {rel}")
        progress.totals(1, st.st_size)
        writer.on_bytes = progress.bytes  # this thread: the bar moves during a large file
        try:
            with repo.cache.room_for(st.st_size):
                oid = writer.add_file(path, st)
        finally:
            writer.on_bytes = None
        progress.items(1)
        repo.state.record_file(rel, stat_key(st), oid)
        hashed = 1
    else:
        oid = oids[""]
    return Pointer(path=os.path.basename(path), kind="file", oid=oid, size=st.st_size), hashed
