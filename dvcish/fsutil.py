"""Small filesystem primitives: atomic writes, temp names, durability barriers, read-only modes."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import itertools
import os
import re
import stat as statmod

TEMP_PREFIX = ".tmp-"
# Every temp file dvcish creates is named like this (see temp_name); nothing else is.
_TEMP_NAME = re.compile(r"\.tmp-[0-9]+-[0-9]+")
READ_ONLY_MODE = 0o444
_counter = itertools.count()
_libc = None


def temp_name(folder: str) -> str:
    """A fresh temp file name inside ``folder`` (same filesystem, so rename is atomic)."""
    return f"{folder}/{TEMP_PREFIX}{os.getpid()}-{next(_counter)}"


def create_temp(folder: str, mode: int, readable: bool = False) -> tuple[str, int]:
    """Create a fresh temp file in ``folder`` (made if missing); return (path, open fd)."""
    path = temp_name(folder)
    flags = (os.O_RDWR if readable else os.O_WRONLY) | os.O_CREAT | os.O_EXCL
    try:
        return path, os.open(path, flags, mode)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        return path, os.open(path, flags, mode)


def is_temp_name(name: str) -> bool:
    """True for the names ``temp_name`` makes (``.tmp-<pid>-<n>``): a file by that name is a
    dvcish temp file, complete or not, and never anyone's data."""
    return name[:5] == ".tmp-" and _TEMP_NAME.fullmatch(name) is not None


def temp_files_in(folder: str) -> list[str]:
    """The paths of the temp files (and temp links) directly inside ``folder``."""
    try:
        with os.scandir(folder) as entries:
            return [
                entry.path
                for entry in entries
                if is_temp_name(entry.name) and not entry.is_dir(follow_symlinks=False)
            ]
    except (FileNotFoundError, NotADirectoryError):
        return []


NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def is_out_of_space(exc: BaseException) -> bool:
    """A full disk or an exhausted quota: no single file is at fault, and nothing will fit."""
    return isinstance(exc, OSError) and exc.errno in NO_SPACE


def no_space_message(where: str, needed: int, hint: str) -> str:
    """One line for a full disk, naming where dvcish was writing (a path as printed, or a
    remote's description) and what would help."""
    more = f" (needs about {human_bytes(needed)} more)" if needed > 0 else ""
    return f"no space left on device while writing to {where}{more}; free space or {hint}"


def fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_path(path: str) -> None:
    """Make one file's bytes durable (it must exist)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` via temp file + fsync + rename; never leaves a partial file."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = temp_name(folder)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    fsync_dir(folder)


def write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def display_path(path: str, start: str | None = None) -> str:
    """How a path is printed: relative to the current folder (or ``start``), "/"-separated,
    as git prints paths (``../data`` from a sibling folder, ``.`` for the folder itself)."""
    return os.path.relpath(path, start).replace(os.sep, "/")


def join_display(base: str, rest: str) -> str:
    """``base/rest`` for a displayed base (``rest`` alone when the base is ``.``)."""
    if not rest:
        return base
    return rest if base == "." else f"{base}/{rest}"


AT_FDCWD = -100
RENAME_EXCHANGE = 2


def replace_file(tmp: str, dest: str) -> None:
    """Rename ``tmp`` over ``dest`` as ``os.replace`` does, without the write-out that ext4
    (``auto_da_alloc``) and btrfs start when a rename replaces a regular file: that flush, of
    a file nobody asked to make durable, cost 0.15-0.3 s per 512 MiB here. An existing
    regular file and ``tmp`` swap names in one atomic step (``renameat2(RENAME_EXCHANGE)``),
    then the old file, now under the temp name, is removed; a kill between the two leaves a
    temp file, which the next checkout removes. Anything else is an ``os.replace``."""
    try:
        is_file = statmod.S_ISREG(os.lstat(dest).st_mode)
    except FileNotFoundError:
        is_file = False
    rename = getattr(_load_libc(), "renameat2", None) if is_file else None
    if rename is not None:
        done = rename(AT_FDCWD, os.fsencode(tmp), AT_FDCWD, os.fsencode(dest), RENAME_EXCHANGE)
        if done == 0:
            remove_quietly(tmp)
            return
    os.replace(tmp, dest)


def remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _load_libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    return _libc


SYNC_FILE_RANGE_WRITE = 2
WRITEBACK_STEP = 64 << 20


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing this range to disk now, without waiting for it.

    Large files call this as they are written, so the disk works while dvcish copies and
    hashes the rest, and the final barrier has little left to wait for.
    """
    function = getattr(_load_libc(), "sync_file_range", None)
    if function is not None:
        function(
            ctypes.c_int(fd),
            ctypes.c_longlong(offset),
            ctypes.c_longlong(length),
            ctypes.c_uint(SYNC_FILE_RANGE_WRITE),
        )


def sync_filesystem(path: str) -> None:
    """Flush every dirty page of the filesystem holding ``path`` (one barrier for many files).

    One ``syncfs`` costs about as much as a single ``fsync`` but covers thousands of small
    files written since the last barrier, which is what makes many-small-file adds fast.
    """
    syncfs = getattr(_load_libc(), "syncfs", None)
    if syncfs is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)
