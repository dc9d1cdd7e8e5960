"""Delivering cache objects into the workspace by the configured link types.

Every delivery goes to a temp file in the destination folder and is renamed over the final name,
so checkout replaces files and never writes into an existing one (or through a symlink). A copy
is hashed while it is written; a link is only made to an object verified against its oid (or
proven verified by the stat cache). A corrupt object is quarantined and never delivered.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from dvcish import fsutil
from dvcish.hashing import hash_fd
from dvcish.progress import ByteCallback
from dvcish.state import NullState, StateDB, stat_key
from dvcish.storage.cache import Cache
from dvcish.storage.verified import copy_hashing, try_reflink

DELIVERED = "delivered"
MISSING = "missing"
CORRUPT = "corrupt"


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
        """Copy while hashing. A new file is created in place (O_EXCL: never through a symlink,
        never into an existing file) and removed if anything goes wrong; an existing file is
        replaced by renaming a temp file over it. Creating in place halves the kernel work of a
        fresh checkout of many small files compared with temp + rename."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        mode = self._mode(executable)
        try:
            written, dst_fd = dest, os.open(dest, flags, mode)
        except FileExistsError:
            written = fsutil.temp_name(os.path.dirname(dest))
            dst_fd = os.open(written, flags, mode)
        try:
            try:
                src_fd = os.open(source, os.O_RDONLY)
                try:
                    src_key = stat_key(os.fstat(src_fd))
                    actual, _ = copy_hashing(
                        src_fd, dst_fd, size_hint=src_key.size, on_bytes=self.on_bytes
                    )
                finally:
                    os.close(src_fd)
                dest_key = stat_key(os.fstat(dst_fd))
            finally:
                os.close(dst_fd)
        except BaseException:
            fsutil.remove_quietly(written)
            raise
        if actual != oid:
            fsutil.remove_quietly(written)
            self.cache.quarantine(oid)
            self.state.forget_verified(oid)
            return CORRUPT
        if written != dest:
            os.replace(written, dest)
        self.state.record_verified(oid, src_key)
        self.state.record_file(state_rel, dest_key, oid)
        return DELIVERED

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

    def _reflink(
        self, oid: str, source: str, dest: str, executable: bool, state_rel: str
    ) -> str | None:
        """Clone, then hash the clone; None when the filesystem cannot clone."""
        tmp = fsutil.temp_name(os.path.dirname(dest))
        src_fd = os.open(source, os.O_RDONLY)
        try:
            dst_fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, self._mode(executable))
            try:
                if not try_reflink(src_fd, dst_fd):
                    os.close(dst_fd)
                    fsutil.remove_quietly(tmp)
                    return None
                actual, _ = hash_fd(dst_fd, self.on_bytes)
                dest_key = stat_key(os.fstat(dst_fd))
            except BaseException:
                os.close(dst_fd)
                fsutil.remove_quietly(tmp)
                raise
            os.close(dst_fd)
        finally:
            os.close(src_fd)
        if actual != oid:
            fsutil.remove_quietly(tmp)
            self.cache.quarantine(oid)
            self.state.forget_verified(oid)
            return CORRUPT
        os.replace(tmp, dest)
        self.state.record_file(state_rel, dest_key, oid)
        return DELIVERED
