"""Reading a DVC project, for ``dvcish import-dvc``: ``.dvc`` files, DVC's cache and its hashes.

Nouns (DVC's): a ``.dvc`` file lists *outs*, each a ``path`` (relative to the file's folder and
its ``wdir``) with an ``md5``. A file's md5 is that of its bytes; a folder's md5 ends in ``.dir``
and names a *listing* object: JSON ``[{"md5": …, "relpath": …}, …]`` sorted by relpath, whose
own md5 is that of its bytes. DVC 3 marks its outs ``hash: md5`` and keeps objects in
``<cache>/files/md5/ab/cdef…``; DVC 2 (no ``hash`` field, still read by DVC 3) keeps them in
``<cache>/ab/cdef…`` and hashed text files after turning CRLF into LF (``md5-dos2unix``, decided
per 1 MiB chunk by DVC's text heuristic). The cache folder is ``.dvc/cache`` unless
``[cache] dir`` in ``.dvc/config`` or ``.dvc/config.local`` says otherwise.

Everything read here is untrusted: ``.dvc`` files and listings are validated, and every byte
taken from DVC's cache or the workspace is checked against its md5 before it is used.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
import re
from dataclasses import dataclass

import yaml

from dvcish.errors import DvcishError
from dvcish.tree import path_problem

DVC_DIR = ".dvc"
DVC_SUFFIX = ".dvc"
_MD5_RE = re.compile(r"[0-9a-f]{32}(\.dir)?")
_CHUNK = 1 << 20  # DVC hashes (and decides text or binary) per chunk of this size
_TEXT_CHARS = bytes(range(32, 127)) + b"\n\r\t\f\b"
_READ_LIMIT = 1 << 20  # a .dvc file is small


@dataclass(frozen=True)
class DvcOut:
    """One out of a ``.dvc`` file: the data it names and the md5 DVC recorded."""

    dvc_file: str  # repo-relative path of the .dvc file
    path: str  # repo-relative path of the data ("/"-separated, normalised)
    md5: str  # 32 hex, with ".dir" for a folder
    legacy: bool  # DVC 2 hashing (no "hash: md5")

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")


@dataclass(frozen=True)
class ListingEntry:
    relpath: str  # "/"-separated, relative to the folder
    md5: str


class DvcProject:
    """The DVC project at ``root`` (the folder holding ``.dvc/``)."""

    def __init__(self, root: str):
        self.root = root
        if not os.path.isdir(os.path.join(root, DVC_DIR)):
            raise DvcishError(f"{root}: no DVC project here (no {DVC_DIR}/ folder)")
        self.cache_dir = self._cache_dir()

    def _cache_dir(self) -> str:
        folder = os.path.join(self.root, DVC_DIR)
        configured = None
        for name in ("config", "config.local"):
            path = os.path.join(folder, name)
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            try:
                parser.read(path, encoding="utf-8")
            except (configparser.Error, UnicodeDecodeError):
                raise DvcishError(f"{path}: cannot parse DVC's config; fix it first") from None
            if parser.has_option("cache", "dir"):
                configured = parser.get("cache", "dir").strip()
        if not configured:
            return os.path.join(folder, "cache")
        return os.path.normpath(os.path.join(folder, os.path.expanduser(configured)))

    def object_paths(self, md5: str, legacy: bool) -> list[str]:
        """Where DVC's cache may hold ``md5``, the layout of its hashing first."""
        modern = os.path.join(self.cache_dir, "files", "md5", md5[:2], md5[2:])
        old = os.path.join(self.cache_dir, md5[:2], md5[2:])
        return [old, modern] if legacy else [modern, old]

    def read_outs(self, dvc_rel: str) -> list[DvcOut]:
        """The outs of the ``.dvc`` file at repo-relative ``dvc_rel``, validated."""

        def bad(why: str) -> DvcishError:
            return DvcishError(f"{dvc_rel}: {why}")

        try:
            with open(os.path.join(self.root, dvc_rel), "rb") as handle:
                raw = yaml.safe_load(handle.read(_READ_LIMIT))
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            raise bad("cannot read it as a .dvc file (YAML)") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("outs"), list):
            raise bad("not a .dvc file with outs (a pipeline stage? only `dvc add` data converts)")
        wdir = raw.get("wdir", ".")
        if not isinstance(wdir, str):
            raise bad("wdir must be a path")
        base = os.path.join(os.path.dirname(dvc_rel), wdir)
        return [self._out(dvc_rel, base, item, bad) for item in raw["outs"]]

    def _out(self, dvc_rel: str, base: str, item: object, bad) -> DvcOut:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise bad("an out without a path")
        path = item["path"]
        if "://" in path or path.startswith("remote:"):
            raise bad(f"{path} is outside the workspace (an external output); not converted")
        md5 = item.get("md5")
        if not isinstance(md5, str) or not _MD5_RE.fullmatch(md5):
            raise bad(f"{path}: no md5 recorded (run `dvc commit {dvc_rel}` first)")
        if item.get("hash", "md5") != "md5":
            raise bad(f"{path}: unknown hash {item.get('hash')!r}")
        rel = os.path.normpath(os.path.join(base, path)).replace(os.sep, "/")
        if os.path.isabs(path) or rel == "." or rel.startswith("../") or rel == "..":
            raise bad(f"{path}: outside the repository")
        return DvcOut(dvc_rel, rel, md5, legacy="hash" not in item)

    def read_listing(self, out: DvcOut) -> list[ListingEntry] | None:
        """The folder listing ``out`` names, from DVC's cache and verified; None when the
        cache does not hold it (a listing that fails its md5 counts as not held)."""
        for path in self.object_paths(out.md5, out.legacy):
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except (FileNotFoundError, NotADirectoryError):
                continue
            if hashlib.md5(data, usedforsecurity=False).hexdigest() + ".dir" == out.md5:
                return parse_listing(data, f"{out.dvc_file}: listing {out.md5}")
        return None


def parse_listing(data: bytes, origin: str) -> list[ListingEntry]:
    """A folder listing's entries, each path checked as a tree path would be."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise DvcishError(f"{origin}: not a DVC folder listing (JSON)") from None
    if not isinstance(raw, list):
        raise DvcishError(f"{origin}: not a DVC folder listing (a JSON list)")
    entries = []
    for item in raw:
        relpath = item.get("relpath") if isinstance(item, dict) else None
        md5 = item.get("md5") if isinstance(item, dict) else None
        if not isinstance(relpath, str) or not isinstance(md5, str) or len(md5) != 32:
            raise DvcishError(f"{origin}: an entry without relpath and md5")
        if _MD5_RE.fullmatch(md5) is None:
            raise DvcishError(f"{origin}: {relpath}: md5 must be 32 hex characters")
        problem = path_problem(relpath)
        if problem is not None:
            raise DvcishError(f"{origin}: {relpath!r}: {problem}")
        entries.append(ListingEntry(relpath, md5))
    return entries


def listing_md5(entries: list[ListingEntry]) -> str:
    """The md5 DVC gives a folder with these entries (with its ``.dir`` suffix)."""
    rows = sorted(
        ({"md5": e.md5, "relpath": e.relpath} for e in entries), key=lambda r: r["relpath"]
    )
    data = json.dumps(rows, sort_keys=True).encode("utf-8")
    return hashlib.md5(data, usedforsecurity=False).hexdigest() + ".dir"


def file_md5s(path: str, legacy: bool) -> tuple[str, ...]:
    """The md5s DVC may have recorded for the file, in one read: of its bytes (DVC 3) and,
    with ``legacy``, DVC 2's "CRLF as LF for text" as DVC 2 computed it (text or not decided
    once, from the first 512 bytes) and as DVC 3 recomputes it (decided per chunk)."""
    plain = hashlib.md5(usedforsecurity=False)
    if not legacy:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                plain.update(chunk)
        return (plain.hexdigest(),)
    whole, per_chunk = hashlib.md5(usedforsecurity=False), hashlib.md5(usedforsecurity=False)
    text_file: bool | None = None
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            plain.update(chunk)
            unix = chunk.replace(b"\r\n", b"\n")
            if text_file is None:
                text_file = _is_text(chunk[:512])
            whole.update(unix if text_file else chunk)
            per_chunk.update(unix if _is_text(chunk[:512]) else chunk)
    return plain.hexdigest(), whole.hexdigest(), per_chunk.hexdigest()


def _is_text(block: bytes) -> bool:
    """DVC's guess whether a block is text (no NUL, at most 30% non-text bytes)."""
    if not block:
        return True
    if b"\x00" in block:
        return False
    return len(block.translate(None, _TEXT_CHARS)) / len(block) <= 0.30
