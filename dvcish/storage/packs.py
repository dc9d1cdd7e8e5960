"""Pack files: many small objects in one standard ZIP file, so a remote moves them in a few large
requests instead of one request each.

Nouns: a *pack* is a ZIP archive whose *members* are objects, each named by its loose key
(``ab/cdef...``) and stored without compression (method 0), so a member's bytes sit unchanged at
a known *data offset* and a ranged read of ``[offset, offset + length)`` returns the object. The
archive is deterministic: fixed timestamps (1980-01-01 00:00), no extra fields, no comment, no
data descriptors, no ZIP64 (hence at most ``MAX_MEMBERS`` members and well under 4 GiB). Its
*packid* is the XXH3-128 of the whole file, and it lives at ``packs/<packid>.zip``. Any ZIP tool
reads it: ``unzip -t`` checks every member's CRC-32, ``unzip -p P.zip ab/cdef | xxh128sum`` prints
``abcdef``, ``unzip -d DIR P.zip`` rebuilds a loose store.

``PackBuilder`` writes one pack in memory; ``read_members`` reads the central directory back
(to rebuild a lost index and to check that an index agrees with its pack).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from dvcish.errors import DvcishError
from dvcish.hashing import hash_bytes, is_valid_oid

MAX_MEMBERS = 50_000
MAX_PACK_BYTES = 1 << 31  # far below ZIP's 4 GiB limit on offsets
PACKS_PREFIX = "packs/"
PACK_SUFFIX = ".zip"

_LOCAL = struct.Struct("<IHHHHHIIIHH")  # local file header, 30 bytes
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory header, 46 bytes
_END = struct.Struct("<IHHHHIIH")  # end of central directory record, 22 bytes
_LOCAL_SIG, _CENTRAL_SIG, _END_SIG = 0x04034B50, 0x02014B50, 0x06054B50
_VERSION = 10  # 1.0: stored members, no ZIP64
_DOS_TIME, _DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00
_NAME_LENGTH = 33  # "ab/" + 30 hex characters


def pack_key(packid: str) -> str:
    return f"{PACKS_PREFIX}{packid}{PACK_SUFFIX}"


def packid_from_key(key: str) -> str | None:
    """The packid of ``packs/<packid>.zip``, or None for any other key."""
    if not key.startswith(PACKS_PREFIX) or not key.endswith(PACK_SUFFIX):
        return None
    packid = key[len(PACKS_PREFIX) : -len(PACK_SUFFIX)]
    return packid if is_valid_oid(packid) else None


@dataclass(frozen=True)
class Member:
    oid: str
    offset: int  # where the object's bytes start in the pack
    length: int


@dataclass
class BuiltPack:
    packid: str
    data: bytes
    members: list[Member]


@dataclass
class PackBuilder:
    """Appends objects to a pack in memory; ``finish`` adds the central directory."""

    _parts: list[bytes] = field(default_factory=list)
    _central: list[bytes] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    size: int = 0

    def __len__(self) -> int:
        return len(self.members)

    def add(self, oid: str, data: bytes) -> None:
        name = f"{oid[:2]}/{oid[2:]}".encode("ascii")
        crc = zlib.crc32(data)
        header = _LOCAL.pack(
            _LOCAL_SIG, _VERSION, 0, 0, _DOS_TIME, _DOS_DATE, crc, len(data), len(data),
            len(name), 0,
        )  # fmt: skip
        header_offset = self.size
        self._parts += (header, name, data)
        self.members.append(Member(oid, header_offset + len(header) + len(name), len(data)))
        self._central.append(
            _CENTRAL.pack(
                _CENTRAL_SIG,
                _VERSION,
                _VERSION,
                0,
                0,
                _DOS_TIME,
                _DOS_DATE,
                crc,
                len(data),
                len(data),
                len(name),
                0,
                0,
                0,
                0,
                0,
                header_offset,
            )  # fmt: skip
            + name
        )
        self.size += len(header) + len(name) + len(data)

    def finish(self) -> BuiltPack:
        directory = b"".join(self._central)
        count = len(self.members)
        end = _END.pack(_END_SIG, 0, 0, count, count, len(directory), self.size, 0)
        data = b"".join([*self._parts, directory, end])
        return BuiltPack(hash_bytes(data), data, list(self.members))


def read_members(tail: bytes, pack_size: int, origin: str) -> list[Member]:
    """The members a pack's central directory lists, from the last bytes of the pack (enough to
    hold the directory and its end record: ``directory_span`` says how many)."""

    def bad(why: str) -> DvcishError:
        return DvcishError(f"{origin}: not a dvcish pack ({why})")

    if len(tail) < _END.size:
        raise bad("too short")
    sig, _disk, _cd_disk, _n_disk, count, cd_size, cd_offset, comment = _END.unpack(
        tail[-_END.size :]
    )
    if sig != _END_SIG:
        raise bad("no end of central directory record at the end")
    if comment or cd_offset + cd_size + _END.size != pack_size or cd_size > len(tail) - _END.size:
        raise bad("central directory out of place")
    directory = tail[len(tail) - _END.size - cd_size : len(tail) - _END.size]
    members: list[Member] = []
    position = 0
    for _ in range(count):
        fields = _CENTRAL.unpack_from(directory, position)
        name_length, extra_length, comment_length = fields[10], fields[11], fields[12]
        if fields[0] != _CENTRAL_SIG or fields[4] != 0 or name_length != _NAME_LENGTH:
            raise bad("a member that is not a stored object")
        name = directory[position + _CENTRAL.size : position + _CENTRAL.size + name_length]
        oid = name.decode("ascii", "replace").replace("/", "", 1)
        if not is_valid_oid(oid) or name[2:3] != b"/" or extra_length or comment_length:
            raise bad(f"member name {name!r} is not an object key")
        length, header_offset = fields[8], fields[16]
        data_offset = header_offset + _LOCAL.size + name_length
        if fields[9] != length or data_offset + length > cd_offset:
            raise bad(f"member {oid} has inconsistent sizes")
        members.append(Member(oid, data_offset, length))
        position += _CENTRAL.size + name_length
    return members


def directory_span(member_count: int) -> int:
    """How many bytes at the end of a pack hold its central directory and end record."""
    return member_count * (_CENTRAL.size + _NAME_LENGTH) + _END.size


def end_record_size() -> int:
    return _END.size


def parse_end_record(data: bytes, origin: str) -> int:
    """The member count recorded in a pack's last ``end_record_size()`` bytes."""
    if len(data) != _END.size:
        raise DvcishError(f"{origin}: not a dvcish pack (too short)")
    sig, _disk, _cd_disk, _n_disk, count, _size, _offset, _comment = _END.unpack(data)
    if sig != _END_SIG:
        raise DvcishError(f"{origin}: not a dvcish pack (no end of central directory record)")
    return count
