"""Checking packs against their name, their members and their index, and rebuilding a lost or
damaged index from the packs themselves (their ZIP central directories)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dvcish.errors import DvcishError
from dvcish.hashing import hash_bytes
from dvcish.storage.pack_index import INDEX_PREFIX
from dvcish.storage.packed import PackedStore
from dvcish.storage.packs import Member, pack_key, packid_from_key, read_members


def check_pack(store: PackedStore, packid: str, indexed: list[Member]) -> list[str]:
    """Problems with one pack: its name is the hash of its bytes, every member hashes to its
    oid, and the index lists exactly what its central directory does."""
    where = f"{store.description}: {pack_key(packid)}"
    data = store.read_blob(pack_key(packid))
    actual = hash_bytes(data)
    problems = []
    if actual != packid:
        problems.append(f"{where}: corrupt pack (content hashes to {actual}); push again")
    try:
        members = read_members(data, len(data), where)
    except DvcishError as exc:
        return [*problems, str(exc)]
    for member in members:
        got = hash_bytes(data[member.offset : member.offset + member.length])
        if got != member.oid:
            problems.append(f"{where}: member {member.oid} is corrupt (content hashes to {got})")
    if sorted(members, key=_key) != sorted(indexed, key=_key):
        problems.append(
            f"{where}: the index disagrees with the pack's central directory; "
            "run `dvcish remote reindex` to rebuild it"
        )
    return problems


def _key(member: Member) -> tuple[str, int, int]:
    return (member.oid, member.offset, member.length)


@dataclass
class Reindexed:
    indexid: str | None = None
    packs: int = 0
    objects: int = 0
    skipped: list[str] = field(default_factory=list)  # packs that failed their checks
    superseded: int = 0


def rebuild_index(store: PackedStore) -> Reindexed:
    """One new index listing every pack that checks out, superseding every index file there is
    (damaged ones included). Each pack is downloaded whole and verified by its name."""
    report = Reindexed()
    lines: list[tuple[str, int, list[Member]]] = []
    for info in store.list_blobs("packs/"):
        packid = packid_from_key(info.key)
        if packid is None:
            continue
        data = store.read_blob(info.key)
        where = f"{store.description}: {info.key}"
        if hash_bytes(data) != packid:
            report.skipped.append(f"{where}: content does not hash to its name")
            continue
        try:
            members = read_members(data, len(data), where)
        except DvcishError as exc:
            report.skipped.append(str(exc))
            continue
        lines.append((packid, len(data), members))
        report.packs += 1
        report.objects += len(members)
    existing = [info.key[len(INDEX_PREFIX) :] for info in store.list_blobs(INDEX_PREFIX)]
    report.superseded = len(existing)
    if lines or existing:
        report.indexid = store.write_index(lines, existing)
    return report
