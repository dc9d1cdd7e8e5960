"""Index files: which pack holds which object, at which offset, with which length.

An index file lives at ``index/<indexid>``, where ``indexid`` is the XXH3-128 of its bytes; it
is never changed, only added (and, after gc, deleted). Encoding: UTF-8 text, every line ending
in ``\\n``::

    dvcish-index 1
    pack <packid> <pack size>
    <oid> <data offset> <length>
    ...
    supersedes <indexid>

Member lines follow their ``pack`` line, in the order the members sit in the pack. ``supersedes``
lines (written by ``gc --cloud`` when it repacks) come last and name index files this one
replaces: readers take the union of every index they see, minus the superseded ones. Index files
are untrusted: ``parse_index`` checks every line, and a reader checks the name against the hash.

In memory a pack's members are kept compact (16 raw bytes per oid and two integer arrays), so a
million members cost tens of MiB, not hundreds.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from dvcish.errors import DvcishError
from dvcish.storage.packs import MAX_PACK_BYTES, Member

INDEX_PREFIX = "index/"
HEADER = b"dvcish-index 1\n"
_PACK = re.compile(rb"pack ([0-9a-f]{32}) (0|[1-9][0-9]{0,11})")
_MEMBER = re.compile(rb"([0-9a-f]{32}) (0|[1-9][0-9]{0,11}) (0|[1-9][0-9]{0,11})")
_SUPERSEDES = re.compile(rb"supersedes ([0-9a-f]{32})")


def index_key(indexid: str) -> str:
    return f"{INDEX_PREFIX}{indexid}"


@dataclass(frozen=True)
class Location:
    packid: str
    offset: int
    length: int


@dataclass
class PackEntry:
    """One pack as an index lists it."""

    packid: str
    size: int
    raw_oids: bytearray = field(default_factory=bytearray)  # 16 bytes per member
    offsets: array = field(default_factory=lambda: array("Q"))
    lengths: array = field(default_factory=lambda: array("Q"))

    def __len__(self) -> int:
        return len(self.offsets)

    def add(self, oid: str, offset: int, length: int) -> None:
        self.raw_oids += bytes.fromhex(oid)
        self.offsets.append(offset)
        self.lengths.append(length)

    def members(self) -> Iterator[Member]:
        for index in range(len(self)):
            oid = self.raw_oids[16 * index : 16 * index + 16].hex()
            yield Member(oid, self.offsets[index], self.lengths[index])


@dataclass
class IndexFile:
    indexid: str
    packs: list[PackEntry] = field(default_factory=list)
    supersedes: set[str] = field(default_factory=set)


def encode_index(packs: Iterable[tuple[str, int, list[Member]]], supersedes: Iterable[str] = ()):
    """The bytes of an index listing ``(packid, size, members)`` and the indexes it replaces."""
    lines = [HEADER]
    for packid, size, members in packs:
        lines.append(f"pack {packid} {size}\n".encode())
        lines.extend(f"{m.oid} {m.offset} {m.length}\n".encode() for m in members)
    lines.extend(f"supersedes {indexid}\n".encode() for indexid in sorted(set(supersedes)))
    return b"".join(lines)


def parse_index(data: bytes, indexid: str, origin: str) -> IndexFile:
    """Decode and validate an index file; ``origin`` names it in error messages."""

    def bad(number: int, why: str) -> DvcishError:
        return DvcishError(f"{origin}: invalid index file (line {number}: {why})")

    if not data.startswith(HEADER) or not data.endswith(b"\n"):
        raise bad(1, "missing 'dvcish-index 1' header or final newline")
    result = IndexFile(indexid)
    current: PackEntry | None = None
    for number, line in enumerate(data[len(HEADER) : -1].split(b"\n"), start=2):
        if match := _MEMBER.fullmatch(line):
            if current is None or result.supersedes:
                raise bad(number, "a member outside a pack")
            offset, length = int(match[2]), int(match[3])
            if offset + length > current.size:
                raise bad(number, "member runs past the end of its pack")
            current.add(match[1].decode(), offset, length)
        elif match := _PACK.fullmatch(line):
            if result.supersedes:
                raise bad(number, "a pack after the supersedes lines")
            size = int(match[2])
            if size > MAX_PACK_BYTES:
                raise bad(number, "pack too large")
            current = PackEntry(match[1].decode(), size)
            result.packs.append(current)
        elif match := _SUPERSEDES.fullmatch(line):
            result.supersedes.add(match[1].decode())
        else:
            raise bad(number, "not a pack, member or supersedes line")
    return result


class IndexSet:
    """Every index file of one store. The *live* ones (no other index supersedes them) say what
    the store holds for a writer; a reader also falls back on superseded ones, whose packs gc
    deletes only after the grace period."""

    def __init__(self, files: Iterable[IndexFile]):
        self.files = {item.indexid: item for item in files}
        superseded: set[str] = set()
        for item in self.files.values():
            superseded |= item.supersedes
        self.superseded = superseded & set(self.files)
        self.live = [item for key, item in self.files.items() if key not in superseded]

    def add(self, item: IndexFile) -> None:
        """A new index written by this process (it supersedes nothing the set holds)."""
        self.files[item.indexid] = item
        self.live.append(item)

    def pack_entries(self, live_only: bool = True) -> Iterator[PackEntry]:
        seen: set[str] = set()
        files = self.live + [self.files[i] for i in sorted(self.superseded)]
        for item in self.live if live_only else files:
            for entry in item.packs:
                if entry.packid not in seen:
                    seen.add(entry.packid)
                    yield entry

    def packs(self) -> dict[str, int]:
        """packid -> size of every pack a live index names."""
        return {entry.packid: entry.size for entry in self.pack_entries()}

    def locate(self, oids: Iterable[str], live_only: bool = True) -> dict[str, Location]:
        """Where each of ``oids`` an index lists can be read (live indexes first)."""
        wanted = {bytes.fromhex(oid) for oid in oids}
        found: dict[str, Location] = {}
        if not wanted:
            return found
        for entry in self.pack_entries(live_only):
            raw = entry.raw_oids
            for index in range(len(entry)):
                key = bytes(raw[16 * index : 16 * index + 16])
                if key in wanted:
                    wanted.discard(key)
                    found[key.hex()] = Location(
                        entry.packid, entry.offsets[index], entry.lengths[index]
                    )
            if not wanted:
                break
        return found

    def all_oids(self) -> set[str]:
        return {member.oid for entry in self.pack_entries() for member in entry.members()}

    def __len__(self) -> int:
        return sum(len(entry) for entry in self.pack_entries())
