"""Delivering cache objects into the workspace by the configured link types.

Every delivery goes to a temp file in the destination folder and is renamed over the final name,
so checkout replaces files and never writes into an existing one (or through a symlink). An
object the stat cache proves (this very file was verified) is copied in the kernel, or cloned,
without being read; any other copy is hashed as it is written, and a link is only made to an
object verified against its oid. A corrupt object is quarantined and never delivered. Nothing
written here is fsynced: the cache keeps the verified bytes (see docs/design.md).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from dvcish import fsutil
from dvcish.progress import ByteCallback
from dvcish.state import NullState, StateDB, StatKey, stat_key
from dvcish.storage.cache import Cache
from dvcish.storage.verified import CopyHow, copy_file

DELIVERED = "delivered"
MISSING = "missing"
CORRUPT = "corrupt"
_CREATE = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW  # a fresh file, never through a symlink


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@dataclass
class Materializer:
    cache: Cache
    state: StateDB | NullState
    link_types: list[str]
    umask: int
    reflink_works: bool | None = None
    on_bytes: ByteCallback | None = None  # told of the bytes a copy moves (progress)

    def deliver(self, oid: str, dest: str, executable: bool, state_rel: str) -> str:
        """Put object ``oid`` at ``dest``; returns DELIVERED, MISSING or CORRUPT."""
        source = self.cache.path_of(oid)
        if not os.path.exists(source):
            return MISSING
        for link_type in self.link_types:
            if link_type == "copy":
                break
            if link_type == "reflink":
                if self.reflink_works is False:
                    continue
                outcome = self._reflink(oid, source, dest, executable, state_rel)
                if outcome is not None:
                    return outcome
                self.reflink_works = False
                continue
            if executable:
                continue  # a link shares the object's mode; only a copy can be executable
            if not self.cache.verify(oid, self.state):
                return CORRUPT
            if self._link(link_type, source, dest, oid, state_rel):
                return DELIVERED
        return self._copy(oid, source, dest, executable, state_rel)

    def _mode(self, executable: bool) -> int:
        return (0o777 if executable else 0o666) & ~self.umask

    def _copy(self, oid: str, source: str, dest: str, executable: bool, state_rel: str) -> str:
        """Copy into a temp file beside ``dest`` (hashing it unless the stat cache proves the
        object), then rename it over ``dest``: a kill at any moment leaves ``dest`` absent or
        as it was, never partly written (the temp file is a leftover the next checkout
        removes). The rename costs about a tenth of the create it follows, and nothing is
        fsynced (see docs/design.md)."""
        outcome = self._deliver_copy(oid, source, dest, executable, state_rel, False)
        assert outcome is not None  # only a clone can fail to happen
        return outcome

    def _reflink(
        self, oid: str, source: str, dest: str, executable: bool, state_rel: str
    ) -> str | None:
        """Clone (and hash the clone unless the stat cache proves the object); None when the
        filesystem cannot clone."""
        return self._deliver_copy(oid, source, dest, executable, state_rel, True)

    def _deliver_copy(
        self, oid: str, source: str, dest: str, executable: bool, state_rel: str, clone: bool
    ) -> str | None:
        mode = self._mode(executable)
        copy = _copy_beside(source, dest, mode, self.on_bytes, clone, self.state, oid)
        if copy is None:
            return None
        if copy.actual is not None and copy.actual != oid:
            fsutil.remove_quietly(copy.tmp)
            self._condemn(oid)
            return CORRUPT
        _rename_or_remove(copy.tmp, dest)
        if copy.actual is not None:
            self.state.record_verified(oid, copy.source_key)
        self.state.record_file(state_rel, copy.dest_key, oid)
        return DELIVERED

    def make_private(self, oid: str, dest: str, executable: bool, state_rel: str) -> bool:
        """Replace ``dest``, a link to cache object ``oid``, with a copy of the bytes it shows
        (``dvcish unprotect``), so editing it cannot change the cache. False when those bytes no
        longer hash to ``oid``: the object was changed through the link, and is quarantined."""
        copy = _copy_beside(dest, dest, self._mode(executable))
        assert copy is not None  # neither cloned nor proven: copied and hashed
        _rename_or_remove(copy.tmp, dest)
        if copy.actual != oid:
            self._condemn(oid)
            return False
        self.state.record_file(state_rel, copy.dest_key, oid)
        return True

    def _condemn(self, oid: str) -> None:
        """A cache object whose bytes do not match its name: never deliver it again."""
        self.cache.quarantine(oid)
        self.state.forget_verified(oid)

    def _link(self, link_type: str, source: str, dest: str, oid: str, state_rel: str) -> bool:
        tmp = fsutil.temp_name(os.path.dirname(dest))
        try:
            if link_type == "hardlink":
                os.link(source, tmp)
            else:
                os.symlink(source, tmp)
        except OSError as exc:
            fsutil.remove_quietly(tmp)
            if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP):
                return False
            raise
        os.replace(tmp, dest)
        if link_type == "hardlink":
            self.state.record_file(state_rel, stat_key(os.lstat(dest)), oid)
        return True


@dataclass
class _Copy:
    """A copy in a temp file beside its destination, waiting to be renamed over it."""

    tmp: str
    actual: str | None  # the oid of its bytes; None when the source was proven, not read
    source_key: StatKey
    dest_key: StatKey


def _copy_beside(
    source: str,
    dest: str,
    mode: int,
    on_bytes: ByteCallback | None = None,
    clone: bool = False,
    state: StateDB | NullState | None = None,
    oid: str = "",
) -> _Copy | None:
    """Copy ``source`` into a fresh temp file in ``dest``'s folder: a clone with ``clone``
    (None when the filesystem cannot clone), a plain copy otherwise. The bytes are hashed as
    they land unless ``state`` proves that ``source`` hashes to ``oid``. The caller renames
    the temp file or removes it."""
    tmp = fsutil.temp_name(os.path.dirname(dest))
    dst_fd = os.open(tmp, os.O_RDWR | _CREATE, mode)
    try:
        try:
            src_fd = os.open(source, os.O_RDONLY)
            try:
                src_key = stat_key(os.fstat(src_fd))
                proven = state is not None and state.is_verified(oid, src_key)
                how = CopyHow(reflink=clone, proven=proven, clone_only=clone)
                copied = copy_file(src_fd, dst_fd, how, on_bytes)
            finally:
                os.close(src_fd)
            dest_key = stat_key(os.fstat(dst_fd))
        finally:
            os.close(dst_fd)
        if clone and not copied.cloned:
            fsutil.remove_quietly(tmp)
            return None
    except BaseException:
        fsutil.remove_quietly(tmp)
        raise
    return _Copy(tmp, copied.oid, src_key, dest_key)


def _rename_or_remove(tmp: str, dest: str) -> None:
    try:
        fsutil.replace_file(tmp, dest)
    except BaseException:
        fsutil.remove_quietly(tmp)
        raise
