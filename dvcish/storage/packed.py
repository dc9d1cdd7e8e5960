"""A store with packs: small objects travel in pack files, found through index files.

``PackedStore`` wraps any store (the *backend*: a local folder, S3, memory) and keeps the object
interface, so transfers do not know packs exist. Remote layout, the same on every backend:

- ``<root>/ab/cdef...``: loose objects. Objects of ``threshold`` bytes or more stay loose, and so
  does everything pushed before packs (or to a remote with ``packs: false``).
- ``<root>/packs/<packid>.zip``: packs (storage/packs.py).
- ``<root>/index/<indexid>``: index files (storage/pack_index.py).

**Writing.** ``put`` of a small object appends it to the pack being built; a full pack (about
``pack_size`` bytes) is uploaded by the thread that filled it. ``flush`` uploads the last pack,
makes the packs durable, and only then writes one index file naming every pack uploaded since
the previous flush. A pack no index names is invisible (and gc removes it after the grace
period), so a crash at any moment leaves every earlier version readable, and running push again
finishes the job. A flush with fewer than ``loose_below`` small objects and no pack yet sends
them loose instead: one request each, as a pack and its index would cost two.

**Reading.** The live indexes (every index file, minus those another one supersedes) say which
pack holds what. Downloaded index files are kept by id in ``index_cache`` (they never change)
and are never fetched twice; each command lists ``index/`` once to find new ones. Any number of
writers may push at once without locks: every index file is new, and an object held twice is
harmless. ``plan_reads`` merges neighbouring members of a pack into one ranged read when the gap
is at most ``MERGE_GAP`` and the read at most ``MERGE_LIMIT``, and reads a whole pack when more
than half of it is wanted.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from dvcish import fsutil
from dvcish.errors import CorruptObjectError, DvcishError
from dvcish.hashing import hash_bytes
from dvcish.progress import ByteCallback
from dvcish.storage.base import BlobInfo, ObjectSink, ObjectStore, Piece, ReadGroup, loose_read
from dvcish.storage.pack_index import (
    INDEX_PREFIX,
    IndexFile,
    IndexSet,
    Location,
    encode_index,
    index_key,
    parse_index,
)
from dvcish.storage.packs import MAX_MEMBERS, Member, PackBuilder, pack_key

MERGE_GAP = 1 << 20
MERGE_LIMIT = 16 << 20
UPLOADS_IN_FLIGHT = 4  # full packs held in memory at once, at most


@dataclass(frozen=True)
class PackOptions:
    threshold: int = 1 << 20  # objects smaller than this go into packs
    pack_size: int = 16 << 20  # a pack is closed once it holds about this many bytes
    loose_below: int = 8  # a push of fewer small objects than this stays loose


class PackedStore(ObjectStore):
    def __init__(self, backend: ObjectStore, options: PackOptions, index_cache: str | None):
        self.backend = backend
        self.pack_options = options
        self.index_cache = index_cache
        self.description = backend.description
        self.damaged_indexes: list[str] = []  # index files that failed verification
        self._index: IndexSet | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(UPLOADS_IN_FLIGHT)
        self._uploader: ThreadPoolExecutor | None = None
        self._in_flight: list[Future] = []
        self._builder = PackBuilder()
        self._sources: dict[str, str] = {}  # oid -> source path, for the pack being built
        self._uploaded: list[tuple[str, int, list[Member]]] = []  # packs awaiting their index

    def preferred_jobs(self) -> int | None:
        return self.backend.preferred_jobs()

    def bound_requests(self, jobs: int) -> None:
        self.backend.bound_requests(jobs)

    def batches(self, size: int) -> bool:
        return size < self.pack_options.threshold

    # --- the index -----------------------------------------------------------------------------

    def index(self) -> IndexSet:
        """The live indexes, read once per store (list ``index/``, fetch what is new)."""
        if self._index is None:
            self._index = IndexSet(self._load_index_files())
        return self._index

    def _load_index_files(self) -> list[IndexFile]:
        files = []
        for info in self.backend.list_blobs(INDEX_PREFIX):
            indexid = info.key[len(INDEX_PREFIX) :]
            data = self._cached_index(indexid) or self._download_index(indexid)
            if data is None:
                continue
            try:
                files.append(parse_index(data, indexid, f"{self.description}: {info.key}"))
            except DvcishError:
                self.damaged_indexes.append(indexid)
        return files

    def _cached_index(self, indexid: str) -> bytes | None:
        if self.index_cache is None:
            return None
        try:
            with open(os.path.join(self.index_cache, indexid), "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        return data if hash_bytes(data) == indexid else None

    def _download_index(self, indexid: str) -> bytes | None:
        data = self.backend.read_blob(index_key(indexid))
        if hash_bytes(data) != indexid:
            self.damaged_indexes.append(indexid)
            return None
        self._keep_index(indexid, data)
        return data

    def _keep_index(self, indexid: str, data: bytes) -> None:
        if self.index_cache is not None:
            os.makedirs(self.index_cache, exist_ok=True)
            fsutil.atomic_write_bytes(os.path.join(self.index_cache, indexid), data)

    # --- objects -------------------------------------------------------------------------------

    def exists(self, oid: str) -> bool:
        return bool(self.index().locate([oid])) or self.backend.exists(oid)

    def _readable(self, oids: Iterable[str]) -> dict[str, Location]:
        """Where to read each packed object: live packs first, then condemned ones that gc has
        not deleted yet (a writer never relies on those: ``missing`` looks at live ones)."""
        return self.index().locate(oids, live_only=False)

    def missing(self, oids: Iterable[str]) -> set[str]:
        wanted = set(oids)
        rest = wanted - set(self.index().locate(wanted))
        return self.backend.missing(rest) if rest else set()

    def get(self, oid: str, dest: BinaryIO) -> int:
        found = self._readable([oid]).get(oid)
        if found is None:
            return self.backend.get(oid, dest)
        return self.backend.get_blob(pack_key(found.packid), dest, found.offset, found.length)

    def put(
        self,
        oid: str,
        source_path: str,
        on_bytes: ByteCallback | None = None,
        proven: bool = False,
    ) -> None:
        """A large object goes to the backend as it is; a small one into the pack being built
        (its bytes count as stored then: the pack goes up with a later put or ``flush``)."""
        if os.stat(source_path).st_size >= self.pack_options.threshold:
            self.backend.put(oid, source_path, on_bytes, proven)
            return
        with open(source_path, "rb") as handle:
            data = handle.read()
        if hash_bytes(data) != oid:
            raise CorruptObjectError(
                f"{source_path}: content does not hash to {oid}; nothing stored", oid
            )
        full = None
        with self._lock:
            if oid not in self._sources:  # a second put of the same object adds nothing
                self._builder.add(oid, data)
                self._sources[oid] = source_path
                if self._is_full(self._builder):
                    full, self._builder = self._builder, PackBuilder()
        if on_bytes is not None:
            on_bytes(len(data))
        if full is not None:
            self._upload_later(full)

    def _is_full(self, builder: PackBuilder) -> bool:
        return builder.size >= self.pack_options.pack_size or len(builder) >= MAX_MEMBERS

    def flush(self) -> None:
        self._wait_for_uploads()
        with self._lock:
            last, self._builder = self._builder, PackBuilder()
            sources, self._sources = self._sources, {}
            first_pack = not self._uploaded
        if len(last) and first_pack and len(last) < self.pack_options.loose_below:
            for member in last.members:  # a handful: loose, one request each
                self.backend.put(member.oid, sources[member.oid])
        elif len(last):
            self._upload(last)
        self.backend.flush()  # the packs are durable before the index names them
        with self._lock:
            done, self._uploaded = self._uploaded, []
        if done:
            self.write_index(done, ())

    def write_index(
        self, packs: list[tuple[str, int, list[Member]]], supersedes: Iterable[str]
    ) -> str:
        """Write one index file naming ``packs`` (packid, size, members); return its id."""
        supersedes = set(supersedes)
        data = encode_index(packs, supersedes)
        indexid = hash_bytes(data)
        self.backend.put_blob(index_key(indexid), data)
        self.backend.flush()
        self._keep_index(indexid, data)
        if supersedes:
            self._index = None  # read again: some indexes are no longer live
        elif self._index is not None:
            self._index.add(parse_index(data, indexid, index_key(indexid)))
        return indexid

    def _upload(self, builder: PackBuilder) -> None:
        built = builder.finish()
        self.backend.put_blob(pack_key(built.packid), built.data)
        with self._lock:
            self._uploaded.append((built.packid, len(built.data), built.members))

    def _upload_later(self, builder: PackBuilder) -> None:
        """Upload a full pack in the background; at most UPLOADS_IN_FLIGHT packs wait in memory
        (the caller blocks until one finishes)."""
        self._slots.acquire()
        if self._uploader is None:
            self._uploader = ThreadPoolExecutor(UPLOADS_IN_FLIGHT, "dvcish-pack-upload")

        def run() -> None:
            try:
                self._upload(builder)
            finally:
                self._slots.release()

        self._in_flight.append(self._uploader.submit(run))

    def _wait_for_uploads(self) -> None:
        """Every background upload done; the first failure is raised."""
        futures, self._in_flight = self._in_flight, []
        errors = [future.exception() for future in futures]
        for error in errors:
            if error is not None:
                raise error

    def list(self) -> Iterator[str]:
        packed = self.index().all_oids()
        yield from packed
        yield from (oid for oid in self.backend.list() if oid not in packed)

    def delete(self, oids: Iterable[str]) -> None:
        """Loose objects only: packed ones go when gc --cloud repacks or condemns their pack."""
        self.backend.delete(oids)

    def url_of(self, oid: str) -> str:
        found = self.index().locate([oid]).get(oid)
        if found is None:
            return self.backend.url_of(oid)
        raise DvcishError(
            f"{self.description}: object {oid} is packed in {pack_key(found.packid)} (bytes "
            f"{found.offset}-{found.offset + found.length - 1}), so it has no URL of its own; "
            "read it with dvcish.api.open, or set the remote's `packs` to false for URLs"
        )

    def check_readable(self) -> None:
        self.backend.check_readable()

    def check_writable(self) -> None:
        self.backend.check_writable()

    def close(self) -> None:
        if self._uploader is not None:
            self._uploader.shutdown(wait=True)
        self.backend.close()

    # --- blobs: passed through -----------------------------------------------------------------

    def put_blob(self, key: str, data: bytes) -> None:
        self.backend.put_blob(key, data)

    def get_blob(self, key: str, dest: BinaryIO, offset: int = 0, length: int | None = None) -> int:
        return self.backend.get_blob(key, dest, offset, length)

    def receive_blob(self, key: str, sink: ObjectSink) -> int:
        return self.backend.receive_blob(key, sink)

    def list_blobs(self, prefix: str) -> Iterator[BlobInfo]:
        return self.backend.list_blobs(prefix)

    def delete_blobs(self, keys: Iterable[str]) -> None:
        self.backend.delete_blobs(keys)

    # --- reading many objects ------------------------------------------------------------------

    def plan_reads(self, oids: Iterable[str]) -> list[ReadGroup]:
        wanted = list(oids)
        located = self._readable(wanted)
        groups = [loose_read(oid) for oid in wanted if oid not in located]
        by_pack: dict[str, list[tuple[str, Location]]] = {}
        for oid, where in located.items():
            by_pack.setdefault(where.packid, []).append((oid, where))
        sizes = {entry.packid: entry.size for entry in self.index().pack_entries(live_only=False)}
        for packid, members in by_pack.items():
            groups.extend(_merge_reads(packid, sizes[packid], members))
        return groups


def _merge_reads(
    packid: str, pack_size: int, members: list[tuple[str, Location]]
) -> list[ReadGroup]:
    """Ranged reads of one pack that bring ``members`` (oid, Location)."""
    members.sort(key=lambda item: item[1].offset)
    key, origin = pack_key(packid), f"pack {packid}"
    if sum(where.length for _oid, where in members) * 2 > pack_size:
        pieces = tuple(Piece(oid, where.offset, where.length) for oid, where in members)
        return [ReadGroup(key, 0, pack_size, pieces, origin)]
    groups = []
    run: list[tuple[str, Location]] = []
    for oid, where in members:
        if run:
            start = run[0][1].offset
            gap = where.offset - (run[-1][1].offset + run[-1][1].length)
            if gap > MERGE_GAP or where.offset + where.length - start > MERGE_LIMIT:
                groups.append(_group(key, origin, run))
                run = []
        run.append((oid, where))
    if run:
        groups.append(_group(key, origin, run))
    return groups


def _group(key: str, origin: str, run: list[tuple[str, Location]]) -> ReadGroup:
    start = run[0][1].offset
    end = run[-1][1].offset + run[-1][1].length
    pieces = tuple(Piece(oid, where.offset - start, where.length) for oid, where in run)
    return ReadGroup(key, start, end - start, pieces, origin)
