"""The pointer file ``<target>.dvcish``: a small YAML file committed to git beside its data.

Pointers are untrusted input (they arrive with ``git pull``): ``parse_pointer`` checks every
field and raises a one-line DvcishError naming the file for anything unexpected.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import yaml

from dvcish import fsutil
from dvcish.errors import DvcishError
from dvcish.hashing import HASH_NAME, is_valid_oid

# libyaml's safe loader when PyYAML was built with it (about 3x faster), else the pure one
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
POINTER_SUFFIX = ".dvcish"
POINTER_VERSION = 1
KINDS = ("file", "dir")
_FIELDS = {"version", "path", "kind", "hash", "oid", "size", "nfiles", "source"}
_SOURCE_FIELDS = {"url", "path", "rev", "rev_lock"}


@dataclass(frozen=True)
class Source:
    """Where an imported dataset came from (``dvcish import``)."""

    url: str
    path: str
    rev: str | None
    rev_lock: str


@dataclass(frozen=True)
class Pointer:
    path: str  # the target's name, relative to the pointer's folder
    kind: str  # "file" or "dir"
    oid: str  # the file's oid, or the tree object's oid for a dir
    size: int  # total bytes
    nfiles: int | None = None  # dirs only
    source: Source | None = field(default=None)

    def to_dict(self) -> dict:
        data: dict = {
            "version": POINTER_VERSION,
            "path": self.path,
            "kind": self.kind,
            "hash": HASH_NAME,
            "oid": self.oid,
            "size": self.size,
        }
        if self.kind == "dir":
            data["nfiles"] = self.nfiles
        if self.source is not None:
            data["source"] = {
                "url": self.source.url,
                "path": self.source.path,
                "rev": self.source.rev,
                "rev_lock": self.source.rev_lock,
            }
        return data


def pointer_path_for(target: str) -> str:
    return target.rstrip("/" + os.sep) + POINTER_SUFFIX


def is_pointer_name(name: str) -> bool:
    return name.endswith(POINTER_SUFFIX) and len(name) > len(POINTER_SUFFIX)


def dump_pointer(pointer: Pointer) -> bytes:
    return yaml.safe_dump(pointer.to_dict(), sort_keys=False).encode()


def write_pointer(pointer_file: str, pointer: Pointer) -> None:
    fsutil.atomic_write_bytes(pointer_file, dump_pointer(pointer))


def load_pointer(pointer_file: str, display: str | None = None) -> Pointer:
    """Load and validate a pointer; ``display`` is how messages name it (default: the path)."""
    name = display or pointer_file
    try:
        with open(pointer_file, "rb") as handle:
            data = handle.read(1 << 20)
    except FileNotFoundError:
        raise DvcishError(f"{name}: pointer file not found") from None
    except OSError as exc:
        raise DvcishError(f"{name}: cannot read pointer file ({exc.strerror})") from None
    return parse_pointer(data, name)


def parse_pointer(data: bytes, origin: str) -> Pointer:
    """Parse and validate pointer bytes; ``origin`` names the file in error messages."""

    def bad(why: str) -> DvcishError:
        return DvcishError(f"{origin}: invalid pointer file: {why}; restore it from git")

    try:
        raw = yaml.load(data, Loader=_SAFE_LOADER)
    except yaml.YAMLError:
        raise bad("not valid YAML") from None
    except UnicodeDecodeError:
        raise bad("not UTF-8 text") from None
    if not isinstance(raw, dict):
        raise bad("expected a YAML mapping")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise bad(f"unknown field {sorted(map(str, unknown))[0]!r}")
    if raw.get("version") != POINTER_VERSION or type(raw.get("version")) is not int:
        raise bad(f"unsupported version {raw.get('version')!r} (this dvcish reads version 1)")
    if raw.get("hash") != HASH_NAME:
        raise bad(f"unsupported hash {raw.get('hash')!r} (expected {HASH_NAME})")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise bad(f"kind must be 'file' or 'dir', not {kind!r}")
    oid = raw.get("oid")
    if not is_valid_oid(oid):
        raise bad("oid must be 32 lowercase hex characters")
    size = _non_negative_int(raw.get("size"))
    if size is None:
        raise bad("size must be a non-negative integer")
    nfiles = None
    if kind == "dir":
        nfiles = _non_negative_int(raw.get("nfiles"))
        if nfiles is None:
            raise bad("nfiles must be a non-negative integer")
    elif "nfiles" in raw:
        raise bad("nfiles is only allowed for kind: dir")
    path = raw.get("path")
    if not _is_plain_name(path):
        raise bad("path must be a plain file or folder name beside the pointer")
    source = _parse_source(raw.get("source"), bad) if "source" in raw else None
    return Pointer(path=path, kind=kind, oid=oid, size=size, nfiles=nfiles, source=source)


def _parse_source(raw: object, bad) -> Source:
    if not isinstance(raw, dict) or set(raw) - _SOURCE_FIELDS:
        raise bad("source must be a mapping of url, path, rev, rev_lock")
    url, path, rev, rev_lock = (raw.get(k) for k in ("url", "path", "rev", "rev_lock"))
    if not isinstance(url, str) or not url or not isinstance(path, str) or not path:
        raise bad("source.url and source.path must be non-empty strings")
    if rev is not None and not isinstance(rev, str):
        raise bad("source.rev must be a string")
    if not isinstance(rev_lock, str) or len(rev_lock) not in (40, 64):
        raise bad("source.rev_lock must be a full commit sha")
    if any(c not in "0123456789abcdef" for c in rev_lock):
        raise bad("source.rev_lock must be a full commit sha")
    return Source(url=url, path=path, rev=rev, rev_lock=rev_lock)


def _non_negative_int(value: object) -> int | None:
    if type(value) is int and value >= 0:
        return value
    return None


def _is_plain_name(value: object) -> bool:
    if not isinstance(value, str) or value in ("", ".", ".."):
        return False
    if "/" in value or "\\" in value or "\x00" in value:
        return False
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return False
    return value.lower() not in (".git", ".dvcish")
