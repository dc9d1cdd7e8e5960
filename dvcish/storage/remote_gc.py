"""Garbage collection on a remote with packs, in two phases and without locks.

Given the oids that must stay (``needed``) and a grace period, a run:

1. **deletes** what an earlier run condemned at least ``grace`` seconds ago: packs that no live
   index names (condemned by a superseding index, or never indexed at all: an upload whose
   push died) and that hold nothing needed, then the superseded index files; and loose objects
   that nothing needs, older than ``grace``;
2. **condemns and repacks**: a live pack with no needed member is left out of a new index; a
   pack whose dead bytes pass ``REPACK_DEAD_SHARE`` has its needed members copied into new packs
   (each member verified by its hash on the way); a condemned pack that holds a needed member
   (a push deduplicated against it meanwhile) is rescued the same way. The new index lists
   every pack that stays plus the new ones, and supersedes every index it read (and those they
   superseded, so deleting an index never brings an older one back to life).

A pusher only deduplicates against live indexes, so after phase 2 it uploads again what it needs
from a condemned pack; a push that started before phase 2 has the grace period to finish. The
age of a pack or index is its store listing's mtime (S3 LastModified); a condemned pack's age
is that of the oldest index superseding the index that named it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dvcish.errors import CorruptObjectError
from dvcish.hashing import hash_bytes
from dvcish.storage.base import BlobInfo, oid_from_key
from dvcish.storage.pack_index import INDEX_PREFIX, IndexFile, index_key
from dvcish.storage.packed import PackedStore
from dvcish.storage.packs import Member, PackBuilder, pack_key, packid_from_key

REPACK_DEAD_SHARE = 0.5  # repack a pack once more than half of its bytes are dead


@dataclass
class RemotePlan:
    """What gc does to a remote (or did, after ``apply``)."""

    loose: list[str] = field(default_factory=list)  # unneeded loose objects, old enough
    loose_young: int = 0
    packs: list[str] = field(default_factory=list)  # condemned long enough ago: deleted
    indexes: list[str] = field(default_factory=list)  # superseded long enough ago: deleted
    condemn: list[str] = field(default_factory=list)  # live packs left out of the new index
    repack: list[str] = field(default_factory=list)  # packs whose needed members move
    rescue: list[str] = field(default_factory=list)  # condemned packs holding needed members
    keep: list[str] = field(default_factory=list)  # live packs the new index lists again
    waiting: int = 0  # condemned packs and superseded indexes younger than the grace period
    read_indexes: list[str] = field(default_factory=list)  # live and superseded ones present

    @property
    def rewrites_index(self) -> bool:
        return bool(self.condemn or self.repack or self.rescue)

    def to_dict(self) -> dict:
        return {
            "loose_objects": sorted(self.loose),
            "loose_young": self.loose_young,
            "packs_deleted": sorted(self.packs),
            "indexes_deleted": sorted(self.indexes),
            "packs_condemned": sorted(self.condemn),
            "packs_repacked": sorted(self.repack + self.rescue),
            "waiting": self.waiting,
        }


def plan(store: PackedStore, needed: set[str], grace: float, now: float) -> RemotePlan:
    """Work out what to delete, condemn and repack; changes nothing."""
    result = RemotePlan()
    index = store.index()
    listed = {info.key: info for info in store.list_blobs("")}
    _plan_loose(listed, needed, grace, now, result)
    index_times = {
        key[len(INDEX_PREFIX) :]: info.mtime
        for key, info in listed.items()
        if key.startswith(INDEX_PREFIX)
    }
    superseded_at = _superseded_at(index.files, index_times)
    live_packs = index.packs()
    entries = {entry.packid: entry for entry in index.pack_entries()}
    for packid, size in live_packs.items():
        members = list(entries[packid].members())
        live_bytes = sum(m.length for m in members if m.oid in needed)
        if live_bytes == 0:
            result.condemn.append(packid)
        elif size - live_bytes > REPACK_DEAD_SHARE * size:
            result.repack.append(packid)
        else:
            result.keep.append(packid)
    available = index.all_oids() | {oid for key in listed if (oid := oid_from_key(key))}
    rescuable = needed - available
    _plan_condemned(store, listed, live_packs, superseded_at, rescuable, grace, now, result)
    for indexid, when in superseded_at.items():
        if now - when >= grace:
            result.indexes.append(indexid)
        else:
            result.waiting += 1
    result.read_indexes = sorted(set(index.files) - set(result.indexes))
    return result


def _plan_loose(
    listed: dict[str, BlobInfo],
    needed: set[str],
    grace: float,
    now: float,
    result: RemotePlan,
) -> None:
    for key, info in listed.items():
        oid = oid_from_key(key)
        if oid is None or oid in needed:
            continue
        if now - info.mtime < grace:
            result.loose_young += 1
        else:
            result.loose.append(oid)


def _superseded_at(files: dict[str, IndexFile], index_times: dict[str, float]) -> dict[str, float]:
    """indexid -> when it was first superseded, for every superseded index still present."""
    result: dict[str, float] = {}
    for item in files.values():
        when = index_times.get(item.indexid)
        if when is None:
            continue
        for old in item.supersedes:
            if old in files:
                result[old] = min(result.get(old, when), when)
    return result


def _plan_condemned(
    store: PackedStore,
    listed: dict[str, BlobInfo],
    live_packs: dict[str, int],
    superseded_at: dict[str, float],
    rescuable: set[str],
    grace: float,
    now: float,
    result: RemotePlan,
) -> None:
    """Packs no live index names: delete them once old enough; rescue ``rescuable`` members
    (needed, and held nowhere else)."""
    condemned_at: dict[str, float] = {}
    for indexid, when in superseded_at.items():
        for entry in store.index().files[indexid].packs:
            condemned_at[entry.packid] = min(condemned_at.get(entry.packid, when), when)
    old_members = _members_by_pack(store)
    for key, info in listed.items():
        packid = packid_from_key(key)
        if packid is None or packid in live_packs:
            continue
        members = old_members.get(packid, [])
        if any(member.oid in rescuable for member in members):
            result.rescue.append(packid)
            continue
        since = condemned_at.get(packid, info.mtime)  # never indexed: its own age
        if now - since >= grace:
            result.packs.append(packid)
        else:
            result.waiting += 1


def _members_by_pack(store: PackedStore) -> dict[str, list[Member]]:
    """The members of every pack any index file names, live or superseded."""
    found: dict[str, list[Member]] = {}
    for item in store.index().files.values():
        for entry in item.packs:
            found.setdefault(entry.packid, list(entry.members()))
    return found


def apply(store: PackedStore, planned: RemotePlan, needed: set[str]) -> RemotePlan:
    """Carry out a plan: deletions of phase 1, then the new packs and index of phase 2."""
    store.delete([oid for oid in planned.loose])
    store.delete_blobs(pack_key(packid) for packid in planned.packs)
    store.delete_blobs(index_key(indexid) for indexid in planned.indexes)
    if planned.rewrites_index:
        moved = _copy_needed(store, planned.repack + planned.rescue, needed)
        packs = [_pack_line(store, packid) for packid in planned.keep] + moved
        store.write_index(packs, planned.read_indexes)
    return planned


def _pack_line(store: PackedStore, packid: str) -> tuple[str, int, list[Member]]:
    for entry in store.index().pack_entries():
        if entry.packid == packid:
            return packid, entry.size, list(entry.members())
    raise KeyError(packid)


def _copy_needed(
    store: PackedStore, packids: list[str], needed: set[str]
) -> list[tuple[str, int, list[Member]]]:
    """Copy the needed members of these packs into new packs; return their index lines."""
    members = _members_by_pack(store)
    lines: list[tuple[str, int, list[Member]]] = []
    builder = PackBuilder()
    seen: set[str] = set()
    for packid in packids:
        for member in members.get(packid, []):
            if member.oid not in needed or member.oid in seen:
                continue
            data = _read_member(store, packid, member)
            seen.add(member.oid)
            builder.add(member.oid, data)
            if builder.size >= store.pack_options.pack_size:
                lines.append(_upload(store, builder))
                builder = PackBuilder()
    if len(builder):
        lines.append(_upload(store, builder))
    store.backend.flush()  # the new packs are durable before the index names them
    return lines


def _read_member(store: PackedStore, packid: str, member: Member) -> bytes:
    data = store.read_blob(pack_key(packid), member.offset, member.length)
    actual = hash_bytes(data)
    if actual != member.oid:
        raise CorruptObjectError(
            f"{store.description}: pack {packid}: object {member.oid} is corrupt (content "
            f"hashes to {actual}); nothing was deleted; push it again from a good copy",
            member.oid,
            actual,
        )
    return data


def _upload(store: PackedStore, builder: PackBuilder) -> tuple[str, int, list[Member]]:
    built = builder.finish()
    store.put_blob(pack_key(built.packid), built.data)
    return built.packid, len(built.data), built.members
