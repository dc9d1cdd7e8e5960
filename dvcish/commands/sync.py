"""``push``, ``fetch``, ``pull`` and ``status --cloud``: the use cases behind the CLI and
``dvcish.api``. They pick the pointers (the workspace's, or those of chosen git revisions),
open the remote, move objects with transfer.py and, for pull, check out the workspace.
Imports (pointers with ``source``) are fetched from their source repository instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dvcish import transfer, wanted
from dvcish.commands.checkout import CheckoutResult, checkout
from dvcish.errors import DvcishError
from dvcish.failures import TransferSummary
from dvcish.history import Selection
from dvcish.progress import Progress
from dvcish.remotes import open_remote
from dvcish.repo import Repo
from dvcish.sources import store_jobs
from dvcish.targets import Tracked, resolve
from dvcish.wanted import CloudStatus


@dataclass
class Request:
    """What to move: ``targets`` (default: every pointer of the workspace), on ``remote``
    (default: core.remote), with ``jobs`` transfers at once (default: the remote's ``jobs``
    setting, else 4 per CPU), plus the pointers of the revisions ``selection`` names."""

    targets: list[str] = field(default_factory=list)
    remote: str | None = None
    jobs: int | None = None
    selection: Selection | None = None


@dataclass
class PullResult:
    fetched: TransferSummary
    checkout: list[CheckoutResult] = field(default_factory=list)
    # Why the checkout after the fetch failed as a whole (the fetch's failures still count).
    checkout_error: DvcishError | OSError | None = None

    @property
    def failed(self) -> bool:
        return bool(self.fetched.failed) or any(r.missing or r.corrupt for r in self.checkout)

    def to_dict(self) -> dict:
        return {
            "fetch": self.fetched.to_dict(),
            "checkout": [result.to_dict() for result in self.checkout],
        }


def choose(repo: Repo, request: Request) -> tuple[list[Tracked], list[Tracked]]:
    """(every pointer to move, once each; the workspace's own pointers among them).

    Without a selection: the workspace's pointers, which may name paths inside tracked folders.
    The common case never imports the modules that read git history.
    """
    if request.selection is None:
        tracked = resolve(repo, request.targets, allow_inside=True)
        return tracked, tracked
    from dvcish import history

    found = history.collect(repo, request.selection, request.targets)
    return found.unique(), found.workspace


def push(repo: Repo, request: Request, progress: Progress | None = None) -> TransferSummary:
    """Upload what the chosen pointers need (imports are left at their source)."""
    tracked, _ = choose(repo, request)
    tracked = [item for item in tracked if item.pointer.source is None]
    store = open_remote(repo, request.remote)
    try:
        store.check_writable()  # a wrong bucket is one line, not one error per object
        jobs = store_jobs(store, request.jobs)
        return transfer.push(repo.cache, store, tracked, jobs, progress, repo.state)
    finally:
        store.close()


def fetch(repo: Repo, request: Request, progress: Progress | None = None) -> TransferSummary:
    """Download what the chosen pointers need into the cache; objects the cache holds already
    are verified (a corrupt one is downloaded again)."""
    try:
        summary, _ = _fetch(repo, request, progress, verify=True)
    finally:
        repo.state.commit()
    return summary


def pull(
    repo: Repo, request: Request, force: bool = False, progress: Progress | None = None
) -> PullResult:
    """Fetch, then check out the workspace's pointers (revisions are only fetched).

    Checkout verifies what it delivers; an object it finds corrupt is quarantined, so one more
    fetch downloads it again and a second checkout delivers it. When the checkout fails as a
    whole, the fetch's failures are still reported (``checkout_error``).
    """
    summary, in_workspace = _fetch(repo, request, progress, verify=False)
    try:
        results = checkout(repo, [], force=force, progress=progress, tracked_list=in_workspace)
        if any(result.corrupt for result in results):
            again, _ = _fetch(repo, request, progress, verify=False)
            summary.transferred += again.transferred
            summary.failed.extend(again.failed)
            results = checkout(repo, [], force=force, progress=progress, tracked_list=in_workspace)
    except (DvcishError, OSError) as exc:
        return PullResult(summary, checkout_error=exc)
    return PullResult(summary, results)


def cloud_status(repo: Repo, request: Request) -> tuple[CloudStatus, str]:
    """What the remote lacks of what the pointers need, and the remote's description."""
    tracked, _ = choose(repo, request)
    store = open_remote(repo, request.remote)
    try:
        store.check_writable()  # a wrong bucket is one line; a folder not created yet is empty
        return wanted.cloud_status(repo.cache, store, tracked), store.description
    finally:
        store.close()


def _fetch(
    repo: Repo, request: Request, progress: Progress | None, verify: bool
) -> tuple[TransferSummary, list[Tracked]]:
    tracked, in_workspace = choose(repo, request)
    imported = [item for item in tracked if item.pointer.source is not None]
    tracked = [item for item in tracked if item.pointer.source is None]
    summary = TransferSummary()
    if tracked:
        store = open_remote(repo, request.remote)
        try:
            if request.selection is not None:
                from dvcish import history

                def get_levels(oid: str, subpath: str) -> None:
                    jobs = store_jobs(store, request.jobs)
                    transfer.fetch_levels(repo.cache, store, oid, subpath, jobs, TransferSummary())

                tracked = history.drop_absent_parts(repo, tracked, get_levels)
            jobs = store_jobs(store, request.jobs)
            summary = transfer.fetch(
                repo.cache, store, tracked, jobs, progress, repo.state, verify_present=verify
            )
        finally:
            store.close()
    if imported:
        from dvcish.commands import external

        summary.merge(external.fetch_imports(repo, imported, request.jobs, progress))
    return summary, in_workspace
