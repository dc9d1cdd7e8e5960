"""``dvcish import-dvc``: convert a DVC project in place, one ``.dvc`` out at a time.

For every out, planning (which changes nothing) finds each file's bytes: in the workspace when
they match the md5 DVC recorded, else in DVC's cache when an object there matches it. An out
with a file in neither place is not converted and the files are named; nothing is guessed. A
folder's file list comes from its listing in DVC's cache, else from the workspace when the
workspace's files give exactly the listing md5 DVC recorded.

Converting an out stores its files in dvcish's cache (checked against their md5 as they were
planned: a file that changed since is refused by the cache writer), writes the pointer and the
``.gitignore`` line, and, when the workspace lacks the data or holds DVC's symlinks into its
cache, checks the data out. Workspace changes that DVC had not recorded are left alone. The
``.dvc`` files stay: the user removes them with git.
"""

from __future__ import annotations

import os
import stat as statmod
from dataclasses import dataclass, field

from dvcish.commands.checkout import checkout
from dvcish.dvc_project import (
    DVC_DIR,
    DVC_SUFFIX,
    DvcOut,
    DvcProject,
    ListingEntry,
    file_md5s,
    listing_md5,
)
from dvcish.errors import DvcishError
from dvcish.gitignore import ensure_ignored
from dvcish.pointer import Pointer, pointer_path_for, write_pointer
from dvcish.repo import Repo
from dvcish.state import stat_key
from dvcish.targets import SKIP_DIRS, enclosing_tracked_folder, git_listed
from dvcish.tree import TreeEntry, build_tree, name_problem, write_tree

WORKSPACE = "workspace"
DVC_CACHE = "DVC cache"


@dataclass
class Source:
    """Where one file's verified bytes are, as planned."""

    path: str  # absolute
    where: str  # WORKSPACE or DVC_CACHE
    stat: os.stat_result


@dataclass
class OutPlan:
    """What converting one out does, or why it cannot be converted."""

    dvc_file: str  # repo-relative
    path: str  # repo-relative data path ("" when the .dvc file itself is unreadable)
    kind: str = "file"  # "file" or "dir"
    sources: dict[str, Source] = field(default_factory=dict)  # relpath ("" for a file) -> bytes
    missing: list[str] = field(default_factory=list)  # relpaths found nowhere
    problem: str | None = None  # not converted: why
    skipped: str | None = None  # nothing to do: why (already converted)
    dvc_links: list[str] = field(default_factory=list)  # workspace symlinks into DVC's cache
    workspace_changed: bool = False  # the workspace differs from what DVC recorded
    checked_out: bool = False  # set by apply
    converted: bool = False  # set by apply
    gitignore: str | None = None  # set by apply: the .gitignore it changed (absolute)

    @property
    def convertible(self) -> bool:
        return self.problem is None and self.skipped is None and not self.missing

    def count(self, where: str) -> int:
        return sum(1 for source in self.sources.values() if source.where == where)


@dataclass
class ImportPlan:
    outs: list[OutPlan] = field(default_factory=list)

    @property
    def failed(self) -> list[OutPlan]:
        return [out for out in self.outs if out.problem is not None or out.missing]


def plan(repo: Repo) -> ImportPlan:
    """Work out the conversion of every ``.dvc`` file; changes nothing."""
    project = DvcProject(repo.root)
    result = ImportPlan()
    for dvc_rel in dvc_files(repo):
        try:
            outs = project.read_outs(dvc_rel)
        except DvcishError as exc:
            result.outs.append(OutPlan(dvc_rel, "", problem=str(exc)))
            continue
        result.outs.extend(plan_out(repo, project, out) for out in outs)
    return result


def dvc_files(repo: Repo) -> list[str]:
    """Repo-relative paths of the ``.dvc`` files (git's view when there is git)."""
    found = git_listed(repo.root, DVC_SUFFIX) if repo.has_scm else None
    if found is None:
        found = []
        for folder, dirs, files in os.walk(repo.root):
            dirs[:] = [name for name in dirs if name not in SKIP_DIRS and name != DVC_DIR]
            found += [os.path.join(folder, n) for n in files if n.endswith(DVC_SUFFIX)]
    rels = (repo.relpath(path) for path in found)
    return sorted(rel for rel in rels if not rel.startswith(f"{DVC_DIR}/") and rel != DVC_SUFFIX)


def plan_out(repo: Repo, project: DvcProject, out: DvcOut) -> OutPlan:
    item = OutPlan(out.dvc_file, out.path, "dir" if out.is_dir else "file")
    target = os.path.join(repo.root, out.path)
    name = os.path.basename(target)
    problem = name_problem(name) or _placement_problem(repo, target)
    if problem is not None:
        item.problem = f"{out.path}: {problem}"
        return item
    if os.path.lexists(pointer_path_for(target)):
        item.skipped = f"already converted ({out.path}.dvcish exists)"
        return item
    try:
        entries = _entries(project, out, target)
    except DvcishError as exc:
        item.problem = str(exc)
        return item
    if entries is None:
        item.problem = (
            f"{out.path}: DVC's cache lacks the folder listing {out.md5} and the workspace "
            "differs from it; run `dvc pull` or `dvc checkout` first"
        )
        return item
    for entry in entries:
        path = os.path.join(target, entry.relpath) if entry.relpath else target
        source = _find(project, out, path, entry.md5, item)
        if source is None:
            item.missing.append(entry.relpath or out.path)
        else:
            item.sources[entry.relpath] = source
    if out.is_dir and os.path.isdir(target):
        listed = {entry.relpath for entry in entries}
        item.workspace_changed |= _has_extra_files(target, listed)
    return item


def _placement_problem(repo: Repo, target: str) -> str | None:
    real_root = os.path.realpath(repo.root)
    real = os.path.join(os.path.realpath(os.path.dirname(target)), os.path.basename(target))
    if not real.startswith(real_root + os.sep):
        return "outside the repository"
    if any(part.lower() in SKIP_DIRS for part in os.path.relpath(real, real_root).split(os.sep)):
        return "inside .git or .dvcish"
    if enclosing_tracked_folder(repo, target) is not None:
        return "inside a folder dvcish already tracks"
    return None


def _entries(project: DvcProject, out: DvcOut, target: str) -> list[ListingEntry] | None:
    """The files of the out: one for a file; a folder's from DVC's listing, else from the
    workspace when its files hash to the recorded listing md5; None when neither works."""
    if not out.is_dir:
        return [ListingEntry("", out.md5)]
    listing = project.read_listing(out)
    if listing is not None:
        return listing
    if not os.path.isdir(target):
        return None
    found = _workspace_listing(target, out.legacy)
    for variant in found:
        if listing_md5(variant) == out.md5:
            return variant
    return None


def _workspace_listing(target: str, legacy: bool) -> list[list[ListingEntry]]:
    """The listing of the folder's regular files under each md5 DVC may have used."""
    variants: list[list[ListingEntry]] = []
    for folder, dirs, files in os.walk(target):
        dirs[:] = [name for name in dirs if name != ".git"]
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.isfile(path) or os.path.islink(path):
                continue
            rel = os.path.relpath(path, target).replace(os.sep, "/")
            md5s = file_md5s(path, legacy)
            while len(variants) < len(md5s):
                variants.append([])
            for index, md5 in enumerate(md5s):
                variants[index].append(ListingEntry(rel, md5))
    return variants or [[]]


def _find(project: DvcProject, out: DvcOut, path: str, md5: str, item: OutPlan) -> Source | None:
    """The workspace file at ``path`` if it has ``md5``, else DVC's cache object if it has."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None
    if st is not None and statmod.S_ISLNK(st.st_mode) and _into(path, project.cache_dir):
        item.dvc_links.append(path)
    elif st is not None and statmod.S_ISREG(st.st_mode):
        if md5 in file_md5s(path, out.legacy):
            return Source(path, WORKSPACE, st)
        item.workspace_changed = True
    elif st is not None:
        item.workspace_changed = True
    for candidate in project.object_paths(md5, out.legacy):
        try:
            st = os.stat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if statmod.S_ISREG(st.st_mode) and md5 in file_md5s(candidate, out.legacy):
            return Source(candidate, DVC_CACHE, st)
    return None


def _into(link: str, folder: str) -> bool:
    return os.path.realpath(link).startswith(os.path.realpath(folder) + os.sep)


def _has_extra_files(target: str, listed: set[str]) -> bool:
    for folder, dirs, files in os.walk(target):
        dirs[:] = [name for name in dirs if name != ".git"]
        for name in files:
            rel = os.path.relpath(os.path.join(folder, name), target).replace(os.sep, "/")
            if rel not in listed:
                return True
    return False


def apply(repo: Repo, planned: ImportPlan) -> ImportPlan:
    """Convert every convertible out of ``planned``; returns it with ``checked_out`` set."""
    for item in planned.outs:
        if item.convertible:
            _convert(repo, item)
    return planned


def _convert(repo: Repo, item: OutPlan) -> None:
    target = os.path.join(repo.root, item.path)
    pointer = _store(repo, item, os.path.basename(target))
    write_pointer(pointer_path_for(target), pointer)
    item.gitignore = ensure_ignored(os.path.dirname(target), os.path.basename(target))
    item.converted = True
    repo.state.commit()
    if item.workspace_changed:
        return  # changes DVC had not recorded stay; `dvcish status` shows them
    if item.dvc_links or item.count(WORKSPACE) < len(item.sources):
        for link in item.dvc_links:
            os.unlink(link)
        checkout(repo, [item.path])
        item.checked_out = True


def _store(repo: Repo, item: OutPlan, name: str) -> Pointer:
    """Put the out's files (and tree) into dvcish's cache, durably; the pointer to write."""
    writer = repo.cache.writer(repo.config.link_types())
    try:
        oids = {rel: writer.add_file(src.path, src.stat) for rel, src in item.sources.items()}
        if item.kind == "dir":
            tree = build_tree(
                TreeEntry(rel, oids[rel], src.stat.st_size, _executable(src))
                for rel, src in item.sources.items()
            )
            tree_oid, size, nfiles = write_tree(tree.entries, writer.add_bytes)
            pointer = Pointer(name, "dir", tree_oid, size, nfiles)
        else:
            pointer = Pointer(name, "file", oids[""], item.sources[""].stat.st_size)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    for rel, src in item.sources.items():
        if src.where == WORKSPACE:  # the stat cache learns what was just hashed
            path = f"{item.path}/{rel}" if rel else item.path
            repo.state.record_file(path, stat_key(src.stat), oids[rel])
    return pointer


def _executable(source: Source) -> bool:
    return source.where == WORKSPACE and bool(source.stat.st_mode & statmod.S_IXUSR)
