"""The local cache: a LocalStore (every object once, read-only, at ``<cache>/ab/cdef...``) plus
what only the cache does:

- **verification through the stat cache**: an object is hashed before it is delivered or linked,
  unless the stat cache recorded that this very file (inode, mtime, size) was verified already;
- **quarantine**: an object whose bytes do not match its name is moved to ``.quarantine/`` and is
  never delivered;
- **freshening**: an object that a command reuses gets a new mtime, so ``gc``'s grace period
  protects it from a concurrent gc of another repo sharing the cache;
- **adding workspace files** (``CacheWriter``): by copy, reflink or hard link, refusing a file that
  changes while it is read.

Every write goes through the store's ``DurableBatch`` (the durability rule in batch.py).
"""

from __future__ import annotations

import contextlib
import os
import stat as statmod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from dvcish import fsutil
from dvcish.errors import CorruptObjectError, DvcishError, ObjectNotFoundError
from dvcish.hashing import hash_bytes, hash_fd
from dvcish.progress import ByteCallback
from dvcish.state import NullState, StateDB, StatKey, stat_key
from dvcish.storage.base import ObjectStore, Piece, ReadGroup
from dvcish.storage.hashed_io import SMALL_FILE
from dvcish.storage.local import LocalStore
from dvcish.storage.receiving import Received, receive_group
from dvcish.storage.verified import CopyHow, copy_file

QUARANTINE = ".quarantine"
StatCache = StateDB | NullState


class ChangedWhileAddingError(DvcishError):
    pass


class Cache(LocalStore):
    def __init__(self, root: str):
        super().__init__(root, description=f"cache {os.path.abspath(root)}")
        self.removals = 0  # objects this process removed (quarantine, delete): see presence.py

    def create_layout(self) -> None:
        os.makedirs(self.root, exist_ok=True)
        for number in range(256):
            os.makedirs(os.path.join(self.root, f"{number:02x}"), exist_ok=True)

    def delete(self, oids: Iterable[str]) -> None:
        self.removals += 1
        super().delete(oids)

    def fanout_mark(self) -> str:
        """A digest of the modification times of the 256 fan-out folders: it changes whenever
        an object is added to or removed from the cache (see presence.py)."""
        times = []
        for number in range(256):
            try:
                times.append(os.stat(os.path.join(self.root, f"{number:02x}")).st_mtime_ns)
            except OSError:
                times.append(-1)
        return hash_bytes(repr(times).encode())

    def writer(self, link_types: list[str] | None = None) -> CacheWriter:
        self.create_layout()  # the cache may be new (DVCISH_CACHE_DIR) or emptied by hand
        types = link_types or ["copy"]
        return CacheWriter(
            self, use_hardlink=types[0] == "hardlink", use_reflink="reflink" in types
        )

    # --- reading, verified ---------------------------------------------------------------------

    def read_verified(self, oid: str) -> bytes:
        """An object's bytes, checked against its oid (a corrupt object is quarantined)."""
        try:
            return super().read_verified(oid)
        except ObjectNotFoundError:
            raise ObjectNotFoundError(
                f"object {oid} is not in the cache; run `dvcish fetch`", oid
            ) from None
        except CorruptObjectError as exc:
            where = self.quarantine(oid)
            raise CorruptObjectError(
                f"cache object {oid} is corrupt; moved to {where}; run `dvcish fetch` to restore",
                oid,
                exc.actual,
            ) from None

    def open_verified(self, oid: str, state: StatCache) -> BinaryIO | None:
        """The object opened for reading once its bytes are proven (by the stat cache, or by
        hashing them now); None when it is absent, or corrupt (then it is quarantined)."""
        try:
            handle = open(self.path_of(oid), "rb")  # noqa: SIM115 - returned to the caller
        except FileNotFoundError:
            return None
        if self._check(handle.fileno(), oid, state):
            handle.seek(0)
            return handle
        handle.close()
        return None

    def verify(self, oid: str, state: StatCache) -> bool:
        """True when the object's bytes hash to its oid; a corrupt object is quarantined."""
        handle = self.open_verified(oid, state)
        if handle is None:
            return False
        handle.close()
        return True

    def _check(self, fd: int, oid: str, state: StatCache) -> bool:
        key = stat_key(os.fstat(fd))
        if state.is_verified(oid, key):
            return True
        actual, _ = hash_fd(fd)
        if actual != oid:
            self.quarantine(oid)
            state.forget_verified(oid)
            return False
        state.record_verified(oid, key)
        return True

    def quarantine(self, oid: str) -> str:
        folder = os.path.join(self.root, QUARANTINE)
        os.makedirs(folder, exist_ok=True)
        destination = os.path.join(folder, oid)
        self.removals += 1
        try:
            os.replace(self.path_of(oid), destination)
        except FileNotFoundError:
            pass
        return destination

    # --- writing -------------------------------------------------------------------------------

    def full(self, needed: int) -> DvcishError:
        """The error for a full disk under the cache, ``needed`` bytes short."""
        hint = "set cache.dir to a disk with room"
        return DvcishError(fsutil.no_space_message(fsutil.display_path(self.root), needed, hint))

    @contextlib.contextmanager
    def room_for(self, needed: int) -> Iterator[None]:
        """Turn a full disk inside the block into ``full(needed)``."""
        try:
            yield
        except OSError as exc:
            if fsutil.is_out_of_space(exc):
                raise self.full(needed) from None
            raise

    def receive(self, store: ObjectStore, oid: str) -> int:
        """Download one object (verified) and stage it; visible after ``flush``."""
        [(_oid, outcome)] = self.receive_group(store, store.plan_reads([oid])[0])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def receive_group(
        self, store: ObjectStore, group: ReadGroup, on_bytes: ByteCallback | None = None
    ) -> list[tuple[str, int | DvcishError]]:
        """Run one read of ``store`` and stage every object in it that verifies; a piece that
        does not is read again alone, once. Returns (oid, size or the error) for each piece.
        ``on_bytes`` is told of the bytes as they arrive (a piece read again counts again)."""
        outcomes: list[tuple[str, int | DvcishError]] = []
        received = receive_group(store, group, self._open_temp, on_bytes)
        arrived = {item.oid: item for item in received}
        for piece in group.pieces:
            item = arrived.get(piece.oid)
            if item is None or not item.verified:
                if item is not None:
                    fsutil.remove_quietly(item.path)
                item = self._read_again(store, group, piece, on_bytes)
            if isinstance(item, DvcishError):
                outcomes.append((piece.oid, item))
                continue
            self.batch.add(item.path, self.path_of(piece.oid))
            outcomes.append((piece.oid, item.size))
        return outcomes

    def _read_again(
        self, store: ObjectStore, group: ReadGroup, piece: Piece, on_bytes: ByteCallback | None
    ) -> Received | DvcishError:
        alone = ReadGroup(
            group.key,
            group.offset + piece.offset,
            piece.length,
            (Piece(piece.oid, 0, piece.length),),
            group.origin,
        )
        again = receive_group(store, alone, self._open_temp, on_bytes)
        if again and again[0].verified:
            return again[0]
        for item in again:
            fsutil.remove_quietly(item.path)
        actual = again[0].actual if again else None
        why = f"content hashes to {actual}" if actual else "it arrived cut short"
        return CorruptObjectError(
            f"{store.description}: {group.origin}: object {piece.oid} is corrupt ({why}); "
            "restore it from another copy with `dvcish push`",
            piece.oid,
            actual,
        )

    def _open_temp(self, oid: str) -> tuple[str, int]:
        return fsutil.create_temp(self.folder_of(oid), fsutil.READ_ONLY_MODE, readable=True)

    def freshen(self, oids: set[str]) -> set[str]:
        """Give every held object of ``oids`` a new mtime (so gc's grace period covers its
        reuse); return the oids the cache does not hold."""
        return {oid for oid in oids if not self.touch(oid)}

    def touch(self, oid: str) -> bool:
        """Freshen one object; False when the cache does not hold it."""
        try:
            os.utime(self.path_of(oid))
        except (FileNotFoundError, NotADirectoryError):
            return False
        except PermissionError:  # a shared cache written by another user: still there
            return self.exists(oid)
        return True

    def freshen_verified(self, oids: set[str], state: StatCache) -> tuple[set[str], set[str]]:
        """Freshen the held objects of ``oids`` after proving their bytes: by the stat cache
        (one stat each), else by hashing them. Returns (absent, corrupt); a corrupt object is
        quarantined. Each proven object stays recorded as verified under its new mtime."""
        known = state.verified_keys(oids)
        absent: set[str] = set()
        corrupt: set[str] = set()
        for oid in sorted(oids):
            path = self.path_of(oid)
            try:
                before = stat_key(os.stat(path))
            except (FileNotFoundError, NotADirectoryError):
                absent.add(oid)
                continue
            if known.get(oid) != before and not self.verify(oid, state):
                corrupt.add(oid)
                continue
            if self.touch(oid):
                state.record_verified(oid, stat_key(os.stat(path)))
        return absent, corrupt

    def proven(self, oids: set[str], state: StatCache) -> set[str]:
        """The oids whose object file the stat cache verified as it is now (one stat each)."""
        known = state.verified_keys(oids)
        found = set()
        for oid, key in known.items():
            try:
                if stat_key(os.stat(self.path_of(oid))) == key:
                    found.add(oid)
            except (FileNotFoundError, NotADirectoryError):
                continue
        return found

    def record_received(self, oids: set[str], state: StatCache) -> None:
        """Objects just downloaded were verified on the way in: tell the stat cache."""
        for oid in oids:
            try:
                state.record_verified(oid, stat_key(os.stat(self.path_of(oid))))
            except FileNotFoundError:
                continue

    def list(self) -> list[str]:  # type: ignore[override]
        return list(super().list())


@dataclass
class CacheWriter:
    """Adds workspace files to the cache; ``commit`` makes them durable and visible."""

    cache: Cache
    use_hardlink: bool = False
    use_reflink: bool = True
    on_bytes: ByteCallback | None = None  # told of the bytes read, from any thread (progress)
    # Large objects this writer stored, hashed as they were written: oid -> the stat of the
    # object file, for the stat cache (later copies of them need not hash them again).
    written: dict[str, StatKey] = field(default_factory=dict)

    def add_bytes(self, data: bytes) -> str:
        oid = hash_bytes(data)
        if self._known(oid):
            return oid
        tmp, fd = fsutil.create_temp(self.cache.folder_of(oid), fsutil.READ_ONLY_MODE)
        try:
            fsutil.write_all(fd, data)
        except BaseException:
            os.close(fd)
            fsutil.remove_quietly(tmp)
            raise
        os.close(fd)
        self.cache.batch.add(tmp, self.cache.path_of(oid))
        return oid

    def add_file(self, path: str, expected: os.stat_result) -> str:
        """Store a workspace file; fails if it changes while being read."""
        if self.use_hardlink:
            return self._add_by_hardlink(path, expected)
        return self.add_file_copy(path, expected)

    def add_file_copy(self, path: str, expected: os.stat_result) -> str:
        if expected.st_size <= SMALL_FILE:
            return self._add_small(path, expected)
        return self._add_large(path, expected)

    def commit(self, state: StatCache | None = None) -> None:
        """Make what was added durable and visible; tell ``state`` which large objects were
        verified on the way in (without it they wait for a later commit that has it)."""
        self.cache.flush()
        if state is not None:
            for oid, key in self.written.items():
                state.record_verified(oid, key)
            self.written.clear()

    def abort(self) -> None:
        self.cache.discard()
        self.written.clear()

    def _known(self, oid: str) -> bool:
        """Staged already, or in the cache (then freshened: this add reuses it)."""
        return self.cache.batch.holds(self.cache.path_of(oid)) or self.cache.touch(oid)

    def _add_small(self, path: str, expected: os.stat_result) -> str:
        fd = os.open(path, os.O_RDONLY)
        try:
            data = os.read(fd, expected.st_size + 1)
            _check_unchanged(path, expected, os.fstat(fd), len(data))
        finally:
            os.close(fd)
        if self.on_bytes is not None:
            self.on_bytes(len(data))
        return self.add_bytes(data)

    def _add_large(self, path: str, expected: os.stat_result) -> str:
        """Copy (or reflink) into a temp file in the cache root, hashing the copy, then stage
        it."""
        tmp, dst = fsutil.create_temp(self.cache.root, fsutil.READ_ONLY_MODE, readable=True)
        try:
            try:
                src = os.open(path, os.O_RDONLY)
                try:
                    how = CopyHow(reflink=self.use_reflink, durable=True)
                    copied = copy_file(src, dst, how, self.on_bytes)
                    _check_unchanged(path, expected, os.fstat(src), copied.size)
                finally:
                    os.close(src)
                key = stat_key(os.fstat(dst))
            finally:
                os.close(dst)
        except BaseException:
            fsutil.remove_quietly(tmp)
            raise
        self.use_reflink = copied.cloned
        oid = copied.oid
        assert oid is not None  # never proven: it is hashed
        if self._known(oid):
            fsutil.remove_quietly(tmp)
        else:
            self.cache.batch.add(tmp, self.cache.path_of(oid))
            self.written[oid] = key
        return oid

    def _add_by_hardlink(self, path: str, expected: os.stat_result) -> str:
        fd = os.open(path, os.O_RDONLY)
        try:
            oid, size = hash_fd(fd, self.on_bytes)
            _check_unchanged(path, expected, os.fstat(fd), size)
        finally:
            os.close(fd)
        if self._known(oid):
            return oid
        tmp = fsutil.temp_name(self.cache.folder_of(oid))
        try:
            os.link(path, tmp)
        except OSError:
            if self.on_bytes is not None:
                self.on_bytes(-size)  # read again by the copy: count those bytes once
            return self.add_file_copy(path, expected)
        os.chmod(tmp, 0o555 if expected.st_mode & statmod.S_IXUSR else fsutil.READ_ONLY_MODE)
        self.cache.batch.add(tmp, self.cache.path_of(oid))
        if size > SMALL_FILE:
            self.written[oid] = stat_key(os.stat(tmp))
        return oid


def _check_unchanged(path: str, before: os.stat_result, after: os.stat_result, read: int) -> None:
    if (
        read != before.st_size
        or after.st_size != before.st_size
        or after.st_mtime_ns != before.st_mtime_ns
    ):
        raise ChangedWhileAddingError(f"{path}: file changed while being added; add it again")
