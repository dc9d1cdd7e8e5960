"""``dvcish add``: put files and folders into the cache and write their pointer files."""

from __future__ import annotations

import os
import shlex
import stat as statmod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dvcish.errors import DvcishError
from dvcish.fsutil import display_path
from dvcish.git import files_in_git_index
from dvcish.gitignore import ensure_ignored
from dvcish.pointer import (
    POINTER_SUFFIX,
    Pointer,
    is_pointer_name,
    pointer_path_for,
    write_pointer,
)
from dvcish.repo import Repo
from dvcish.state import stat_key
from dvcish.storage.cache import CacheWriter
from dvcish.targets import check_inside_repo, enclosing_tracked_folder
from dvcish.tree import encode_tree, name_problem
from dvcish.workspace import (
    FileProgress,
    FileStat,
    WorkspaceReader,
    require_trackable,
    tree_from_files,
)

ADD_THREADS = 2
CHUNK = 256
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

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "pointer": display_path(self.pointer_file),
            "gitignore": display_path(self.gitignore) if self.gitignore else None,
            "kind": self.kind,
            "nfiles": self.nfiles,
            "size": self.size,
            "hashed": self.hashed,
        }


def add(repo: Repo, targets: list[str], progress: FileProgress | None = None) -> list[AddResult]:
    paths = [check_add_target(repo, target) for target in targets]
    if not repo.no_scm:
        refuse_git_tracked(repo, paths)
    results = []
    for path in paths:
        results.append(_add_one(repo, path, progress))
    return results


def check_add_target(repo: Repo, target: str) -> str:
    path = os.path.abspath(target).rstrip(os.sep)
    check_inside_repo(repo, path, "target")
    name = os.path.basename(path)
    problem = name_problem(name)
    if problem is not None:
        raise DvcishError(f"{target!r}: {problem}; rename it before adding")
    if is_pointer_name(name):
        raise DvcishError(f"{target}: is a pointer file; add the data it stands for instead")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise DvcishError(f"{target}: no such file or folder") from None
    if statmod.S_ISLNK(st.st_mode):
        raise DvcishError(f"{target}: is a symlink; add the file or folder it points to")
    if not (statmod.S_ISREG(st.st_mode) or statmod.S_ISDIR(st.st_mode)):
        raise DvcishError(f"{target}: is not a regular file or folder")
    enclosing = enclosing_tracked_folder(repo, path)
    if enclosing is not None:
        raise DvcishError(
            f"{target}: is inside the tracked folder {display_path(enclosing)}; add that folder"
        )
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


def _add_one(repo: Repo, path: str, progress: FileProgress | None) -> AddResult:
    rel = repo.relpath(path)
    writer = repo.cache.writer(repo.config.link_types())
    reader = WorkspaceReader(repo.state, repo.cache.root)
    try:
        if os.path.isdir(path):
            pointer, hashed = _add_folder(repo, reader, writer, path, rel, progress)
        else:
            pointer, hashed = _add_file(repo, reader, writer, path, rel)
        writer.commit()
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
        repo.shown(rel), pointer_file, gitignore, pointer.kind, nfiles or 0, pointer.size, hashed
    )


def _add_folder(
    repo: Repo,
    reader: WorkspaceReader,
    writer: CacheWriter,
    path: str,
    rel: str,
    progress: FileProgress | None,
) -> tuple[Pointer, int]:
    scan = reader.scan(path)
    require_trackable(scan, repo.shown(rel))
    # a bare ".dvcish" name never reaches scan.files (unsafe), so the suffix is the test
    nested = sorted(name for name in scan.files if name.endswith(POINTER_SUFFIX))
    if nested:
        raise DvcishError(
            f"{repo.shown(rel)}/{nested[0]}: a pointer file inside a folder being added; dvcish "
            "does not nest tracked data"
        )
    oids, unknown = reader.known_oids(rel, scan.files)
    absent = repo.cache.freshen(set(oids.values()))
    unknown.extend(name for name, oid in oids.items() if oid in absent)
    if progress is not None:
        progress(len(scan.files) - len(unknown))
    stored = store_files(writer, path, unknown, scan.files, progress)
    for name in unknown:
        oids[name] = stored[name]
        repo.state.record_file(f"{rel}/{name}", stat_key(scan.files[name]), stored[name])
    tree = tree_from_files(scan.files, oids)
    tree_oid = writer.add_bytes(encode_tree(tree))
    pointer = Pointer(
        path=os.path.basename(path),
        kind="dir",
        oid=tree_oid,
        size=tree.size,
        nfiles=len(tree.entries),
    )
    return pointer, len(unknown)


def store_files(
    writer: CacheWriter,
    folder: str,
    names: list[str],
    files: dict[str, FileStat],
    progress: FileProgress | None,
) -> dict[str, str]:
    """Store many files in the cache, overlapping their I/O in a few threads (syscalls and
    hashing of large files release the GIL); chunks keep the per-task overhead small."""
    chunks = [names[start : start + CHUNK] for start in range(0, len(names), CHUNK)]

    def store_chunk(chunk: list[str]) -> list[str]:
        oids = [writer.add_file(f"{folder}/{name}", files[name]) for name in chunk]
        if progress is not None:
            progress(len(chunk))
        return oids

    result: dict[str, str] = {}
    if len(chunks) <= 1:
        results = map(store_chunk, chunks)
        for chunk, oids in zip(chunks, results, strict=True):
            result.update(zip(chunk, oids, strict=True))
        return result
    with ThreadPoolExecutor(max_workers=ADD_THREADS) as pool:
        for chunk, oids in zip(chunks, pool.map(store_chunk, chunks), strict=True):
            result.update(zip(chunk, oids, strict=True))
    return result


def _add_file(
    repo: Repo, reader: WorkspaceReader, writer: CacheWriter, path: str, rel: str
) -> tuple[Pointer, int]:
    st = os.lstat(path)
    oids, unknown = reader.known_oids(rel, {"": st})
    hashed = 0
    if unknown or repo.cache.freshen({oids[""]}):
        oid = writer.add_file(path, st)
        repo.state.record_file(rel, stat_key(st), oid)
        hashed = 1
    else:
        oid = oids[""]
    return Pointer(path=os.path.basename(path), kind="file", oid=oid, size=st.st_size), hashed
