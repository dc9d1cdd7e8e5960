"""``dvcish get``, ``import`` and ``update``, and fetching imports for ``pull``/``fetch``.

An *import* is a pointer in this repo whose ``source`` records the URL, the PATH, the rev asked
for and the commit it resolved to (``rev_lock``); ``fetch_imports`` fetches its objects again
from the source's remote at that commit, so a fresh clone of this repo reproduces it. Sources,
locations and remotes are defined in sources.py. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from dvcish.errors import CorruptObjectError, DvcishError
from dvcish.failures import ERROR, Failure, TransferSummary
from dvcish.fsutil import display_path
from dvcish.materialize import CORRUPT, MISSING, Materializer, current_umask
from dvcish.pointer import Pointer, Source, pointer_path_for
from dvcish.progress import Progress
from dvcish.repo import CACHE_ENV, Repo, find_root, open_repo
from dvcish.sources import (
    Content,
    Location,
    SourceRepo,
    cached_count,
    content_of,
    fetch_location,
    is_local_path,
    normalize_path,
    open_source,
    pointer_for,
)
from dvcish.state import NullState
from dvcish.storage.cache import QUARANTINE, Cache
from dvcish.targets import Tracked
from dvcish.tree import TreeEntry


@dataclass
class Delivered:
    """What get, import or update brought: the source commit, the data, the transfer counts."""

    sha: str
    kind: str  # "file" or "dir"
    nfiles: int
    size: int
    fetched: int
    present: int

    @classmethod
    def of(cls, sha: str, pointer: Pointer, summary: TransferSummary) -> Delivered:
        nfiles = pointer.nfiles or 1
        return cls(sha, pointer.kind, nfiles, pointer.size, summary.transferred, summary.present)


@dataclass
class GetResult:
    out: str
    delivered: Delivered


@dataclass
class ImportResult:
    path: str  # the data path as printed (relative to the current folder)
    pointer_file: str
    gitignore: str | None
    delivered: Delivered
    changed: bool = True  # update: False when the pointer was already at this commit


def _deliver(materializer: Materializer, entry: TreeEntry, dest: str) -> None:
    outcome = materializer.deliver(entry.oid, dest, entry.executable, "")
    if outcome == MISSING:
        raise DvcishError(f"object {entry.oid} vanished from the cache; run again")
    if outcome == CORRUPT:
        where = os.path.join(materializer.cache.root, QUARANTINE, entry.oid)
        raise CorruptObjectError(
            f"cache object {entry.oid} is corrupt; moved to {where}; run again to download it",
            entry.oid,
        )


def write_out(cache: Cache, content: Content, out: str) -> None:
    """Write ``content`` at ``out`` (which must not exist) through a temp folder beside it."""
    parent = os.path.dirname(out)
    if not os.path.isdir(parent):
        raise DvcishError(f"{out}: its folder does not exist; create it first")
    materializer = Materializer(cache, NullState(), ["copy"], current_umask())
    staging = tempfile.mkdtemp(prefix=".dvcish-get-", dir=parent)
    try:
        built = os.path.join(staging, "out")
        if content.kind == "dir":
            os.mkdir(built)
        for entry in content.tree.entries:
            dest = os.path.join(built, entry.path) if entry.path else built
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            _deliver(materializer, entry, dest)
        if os.path.lexists(out):
            raise DvcishError(f"{out}: already exists; remove it or pass -o NEW_PATH")
        os.rename(built, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _raise_failures(summary: TransferSummary, where: str) -> None:
    if summary.failed:
        more = f" (and {len(summary.failed) - 1} more)" if len(summary.failed) > 1 else ""
        raise DvcishError(f"cannot download from {where}: {summary.failed[0].message}{more}")


# --- get ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def _get_cache() -> Iterator[Cache]:
    """This repo's cache, else $DVCISH_CACHE_DIR, else a temp cache removed afterwards."""
    try:
        root = find_root()
    except DvcishError:
        root = None
    if root is not None:
        repo = open_repo(root)
        try:
            yield repo.cache
        finally:
            repo.close()
    elif os.environ.get(CACHE_ENV):
        yield Cache(os.path.expanduser(os.environ[CACHE_ENV]))
    else:
        with tempfile.TemporaryDirectory(prefix="dvcish-cache-") as tmp:
            yield Cache(tmp)


def get(
    url: str,
    path: str,
    out: str | None = None,
    rev: str | None = None,
    remote: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> GetResult:
    """Download PATH of the source at ``rev`` to ``out`` (default: its name in the cwd)."""
    if out is not None and os.path.lexists(out):
        raise DvcishError(f"{out}: already exists; remove it or pass -o NEW_PATH")
    with _get_cache() as cache, open_source(url, rev, path=path) as source:
        location = source.locate(path)
        target = os.path.abspath(out or location.name)
        if os.path.lexists(target):
            raise DvcishError(f"{target}: already exists; remove it or pass -o NEW_PATH")
        tracked = location.tracked(source.root)
        summary = fetch_location(source, cache, tracked, remote, jobs, progress)
        _raise_failures(summary, source.where())
        content = content_of(cache, location, f"{path}@{source.sha[:12]}")
        write_out(cache, content, target)
    nfiles = len(content.tree.entries)
    size = content.tree.size
    delivered = Delivered(
        source.sha, content.kind, nfiles, size, summary.transferred, summary.present
    )
    return GetResult(target, delivered)


# --- import and update -------------------------------------------------------------------------


def _stored_url(repo: Repo, url: str) -> str:
    """How a pointer records the source: URLs as given, relative local paths from the repo root."""
    if is_local_path(url) and not os.path.isabs(url) and os.path.isdir(url):
        return os.path.relpath(os.path.abspath(url), repo.root)
    return url


def _materialize(repo: Repo, tracked: Tracked, existed: bool) -> None:
    """Check out one import; a target that did not exist before is removed again on failure."""
    from dvcish.commands.checkout import checkout

    try:
        (result,) = checkout(repo, [], tracked_list=[tracked])
        if result.missing or result.corrupt:
            bad = (result.missing + result.corrupt)[0]
            raise DvcishError(f"{bad}: object missing or corrupt in the cache; run again")
    except BaseException:
        if not existed:
            if os.path.isdir(tracked.target) and not os.path.islink(tracked.target):
                shutil.rmtree(tracked.target, ignore_errors=True)
            elif os.path.lexists(tracked.target):
                os.unlink(tracked.target)
        raise


def _pin(
    repo: Repo,
    source: SourceRepo,
    location: Location,
    src: Source,
    name: str,
    jobs: int | None,
    progress: Progress | None,
) -> tuple[Pointer, TransferSummary]:
    """Fetch a location's objects into this repo's cache; return the import pointer for it."""
    tracked = location.tracked(source.root)
    summary = fetch_location(source, repo.cache, tracked, None, jobs, progress)
    _raise_failures(summary, source.where())
    content = content_of(repo.cache, location, f"{src.path}@{source.sha[:12]}")
    return pointer_for(content, repo.cache, name, src), summary


def _refuse_existing(*paths: str) -> None:
    for path in paths:
        if os.path.lexists(path):
            raise DvcishError(f"{path}: already exists; remove it or pass -o NEW_PATH")


def import_(
    repo: Repo,
    url: str,
    path: str,
    out: str | None = None,
    rev: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Bring PATH of the source into this repo as OUT, with a pointer that records its origin."""
    from dvcish.gitignore import ensure_ignored
    from dvcish.pointer import write_pointer
    from dvcish.targets import check_inside_repo, enclosing_tracked_folder

    if out is not None:
        _refuse_existing(out, pointer_path_for(out))
    stored = _stored_url(repo, url)
    with open_source(stored, rev, base=repo.root, path=path) as source:
        location = source.locate(path)
        target = os.path.abspath(out or location.name).rstrip(os.sep)
        check_inside_repo(repo, target, "output")
        pointer_file = pointer_path_for(target)
        _refuse_existing(target, pointer_file)
        enclosing = enclosing_tracked_folder(repo, target)
        if enclosing is not None:
            raise DvcishError(f"{target}: is inside the tracked folder {display_path(enclosing)}")
        src = Source(url=stored, path=normalize_path(path), rev=rev, rev_lock=source.sha)
        name = os.path.basename(target)
        pointer, summary = _pin(repo, source, location, src, name, jobs, progress)
    tracked = Tracked(pointer_file, pointer, target, repo.relpath(target))
    _materialize(repo, tracked, existed=False)
    write_pointer(pointer_file, pointer)
    gitignore = ensure_ignored(os.path.dirname(target), os.path.basename(target))
    delivered = Delivered.of(source.sha, pointer, summary)
    return ImportResult(tracked.shown, pointer_file, gitignore, delivered)


def update(
    repo: Repo,
    target: str,
    rev: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Move an import to ``rev`` (default: the rev it follows), then check it out."""
    from dvcish.pointer import write_pointer
    from dvcish.targets import resolve

    (tracked,) = resolve(repo, [target])
    old = tracked.pointer
    if old.source is None:
        raise DvcishError(f"{tracked.shown}: not an import; `dvcish update` moves `dvcish import`s")
    wanted = rev if rev is not None else old.source.rev
    with open_source(old.source.url, wanted, base=repo.root, path=old.source.path) as source:
        location = source.locate(old.source.path)
        src = Source(old.source.url, old.source.path, wanted, source.sha)
        pointer, summary = _pin(repo, source, location, src, old.path, jobs, progress)
    changed = pointer != old
    if changed:
        moved = Tracked(
            tracked.pointer_file, pointer, tracked.target, tracked.rel, label=tracked.label
        )
        _materialize(repo, moved, existed=os.path.lexists(tracked.target))
        write_pointer(tracked.pointer_file, pointer)
    delivered = Delivered.of(source.sha, pointer, summary)
    return ImportResult(tracked.shown, tracked.pointer_file, None, delivered, changed)


# --- fetching imports (pull / fetch) -----------------------------------------------------------


def fetch_imports(
    repo: Repo,
    tracked_list: list[Tracked],
    jobs: int | None = None,
    progress: Progress | None = None,
) -> TransferSummary:
    """Fetch the objects of imported pointers from their source's remote at ``rev_lock``.

    Pointers without ``source`` are ignored. Imports the cache already holds cost nothing; the
    rest are grouped by (url, rev_lock) and each group is one shallow clone. Failures are
    reported in the summary, one line per import, like ``transfer.fetch`` does.
    """
    summary = TransferSummary()
    groups: dict[tuple[str, str], list[Tracked]] = {}
    for tracked in tracked_list:
        source = tracked.pointer.source
        if source is None:
            continue
        present = cached_count(repo.cache, tracked)
        if present is not None:
            summary.present += present
        else:
            groups.setdefault((source.url, source.rev_lock), []).append(tracked)
    for (url, sha), items in groups.items():
        try:
            hint = items[0].pointer.source.path if items[0].pointer.source else None
            with open_source(url, sha, base=repo.root, path=hint) as src:
                for tracked in items:
                    _fetch_one_import(repo, src, tracked, jobs, progress, summary)
        except DvcishError as exc:
            summary.failed.extend(_failure(tracked, exc) for tracked in items)
    return summary


def _fetch_one_import(
    repo: Repo,
    source: SourceRepo,
    tracked: Tracked,
    jobs: int | None,
    progress: Progress | None,
    summary: TransferSummary,
) -> None:
    imported = tracked.pointer
    assert imported.source is not None
    try:
        location = source.locate(imported.source.path)
        inner = location.subpath
        if tracked.subpath is not None:  # a file inside an imported folder (granular pull)
            inner = f"{inner}/{tracked.subpath}" if inner else tracked.subpath
        wanted = Location(location.pointer_rel, location.pointer, inner)
        part = fetch_location(
            source,
            repo.cache,
            wanted.tracked(source.root, tracked.rel, tracked.shown),
            None,
            jobs,
            progress,
        )
        summary.merge(part)
        if part.failed:
            return
        if imported.oid == location.pointer.oid:
            return
        if imported.kind == "dir":
            _rebuild_subtree(repo.cache, location, imported, source)
        elif imported.oid != _selected_oid(repo.cache, location):
            raise DvcishError(f"{source.where()} does not hold {imported.source.path} as pinned")
    except DvcishError as exc:
        summary.failed.append(_failure(tracked, exc))


def _failure(tracked: Tracked, exc: DvcishError) -> Failure:
    return Failure(tracked.pointer.oid, tracked.shown, ERROR, f"{tracked.shown}: {exc}")


def _selected_oid(cache: Cache, location: Location) -> str | None:
    content = content_of(cache, location, location.data_rel)
    return content.tree.entries[0].oid if content.kind == "file" else None


def _rebuild_subtree(
    cache: Cache, location: Location, imported: Pointer, source: SourceRepo
) -> None:
    """An imported subfolder's tree object exists only here: derive it again from the source's."""
    if cache.exists(imported.oid):
        return
    content = content_of(cache, location, location.data_rel)
    assert imported.source is not None
    rebuilt = pointer_for(content, cache, imported.path, imported.source)
    if rebuilt.oid != imported.oid:
        raise DvcishError(
            f"{imported.source.path} at {source.where()} does not match the pinned tree "
            f"{imported.oid}; run `dvcish update` to re-pin it"
        )
