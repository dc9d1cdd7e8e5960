"""Shared test helpers: a git repo with dvcish initialised, CLI runners, data and snapshots.

Fixtures are imported by the test modules that use them (``from tests.helpers import git_repo``)
rather than registered in conftest.py. Nothing here mocks git or the filesystem.

    git_env      git identity and no user/system git config (autouse it where git runs)
    git_repo     a fresh git repo (branch main) with ``dvcish init`` done; the cwd is its root
    run_cli      run dvcish in-process with typer's CliRunner (stdout and stderr apart)
    run_dvcish   run ``python -m dvcish`` as a real subprocess
    make_bytes / write_files / make_dataset   deterministic file contents
    age          push mtimes into the past so the stat cache may trust them
    snapshot     every file's bytes and mode under a folder, for "nothing changed" checks
"""

from __future__ import annotations

import os
import random
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from dvcish.cli.main import app

OLD_SECONDS = 100  # how far ``age`` moves mtimes into the past


# ----------------------------------------------------------------------------- git


def set_git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("DVCISH_CACHE_DIR", raising=False)


@pytest.fixture
def git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed git identity and no user or system git configuration."""
    set_git_env(monkeypatch)


def git(cwd: str | os.PathLike[str], *args: str) -> str:
    """Run git in ``cwd``; return its stripped stdout (raises on failure)."""
    done = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr.decode()}")
    return done.stdout.decode().strip()


def git_init(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    return path


_template: list[tuple[Path, list[tuple[str, list[str]]]]] = []  # (root, [(folder, files)])


def _repo_template(factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, list[str]]]]:
    """One initialised repo per test process (git init + dvcish init), listed for copying."""
    if not _template or not _template[0][0].is_dir():
        _template.clear()
        root = git_init(factory.mktemp("template") / "repo")
        result = run_cli(["init"], cwd=root)
        assert result.exit_code == 0, result.output
        listing = [(os.path.relpath(folder, root), names) for folder, _, names in os.walk(root)]
        _template.append((root, listing))
    return _template[0]


@pytest.fixture
def git_repo(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """``tmp_path/repo``: git init (branch main), ``dvcish init``, and the cwd set to it.

    Both inits run once per process; each test gets a plain copy (folders, files and modes),
    which costs a fraction of running them.
    """
    set_git_env(monkeypatch)
    template, listing = _repo_template(tmp_path_factory)
    root = tmp_path / "repo"
    for rel, names in listing:
        folder = root / rel
        folder.mkdir()
        for name in names:
            shutil.copy(template / rel / name, folder / name)
    monkeypatch.chdir(root)
    return root


# ----------------------------------------------------------------------------- running dvcish


@contextmanager
def _cwd(path: str | os.PathLike[str] | None) -> Iterator[None]:
    if path is None:
        yield
        return
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def run_cli(args: Sequence[str], cwd: str | os.PathLike[str] | None = None) -> Result:
    """Run dvcish in-process (exceptions other than exits surface); ``cwd`` defaults to the cwd."""
    with _cwd(cwd):
        return CliRunner().invoke(app, [str(arg) for arg in args], catch_exceptions=False)


def cli_ok(*args: str, cwd: str | os.PathLike[str] | None = None) -> str:
    """Run a command in-process, require exit 0, return its stdout."""
    result = run_cli(list(args), cwd=cwd)
    assert result.exit_code == 0, result.output
    return result.stdout


def run_dvcish(
    args: Sequence[str],
    cwd: str | os.PathLike[str],
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m dvcish ARGS`` in ``cwd`` as a real process; text output, no check."""
    return subprocess.run(
        [sys.executable, "-m", "dvcish", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def assert_one_error(stderr: str, *fragments: str) -> str:
    """stderr is exactly one ``error:`` line, holding every fragment, with no traceback."""
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- data


def make_bytes(seed: object, size: int) -> bytes:
    """``size`` pseudo-random bytes, always the same for the same seed."""
    return random.Random(str(seed)).randbytes(size)


def write_files(root: str | os.PathLike[str], files: dict[str, bytes]) -> None:
    """Write ``{relpath: bytes}`` below ``root``, creating folders."""
    for rel, data in files.items():
        path = Path(root, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not os.access(path, os.W_OK):
            path.unlink()
        path.write_bytes(data)


def make_dataset(
    folder: str | os.PathLike[str],
    count: int,
    seed: object = 0,
    max_size: int = 2000,
    per_folder: int = 50,
) -> dict[str, bytes]:
    """Write ``count`` files spread over subfolders; return ``{relpath: bytes}``."""
    rng = random.Random(str(seed))
    files = {}
    for number in range(count):
        rel = f"part{number // per_folder:03d}/file{number:05d}.bin"
        files[rel] = rng.randbytes(rng.randrange(max_size))
    write_files(folder, files)
    return files


def age(*paths: str | os.PathLike[str], seconds: float = OLD_SECONDS) -> None:
    """Move the mtime of these files (every file below, for folders) into the past.

    The stat cache does not trust a file whose mtime is close to when it was hashed (racily
    clean), so tests that expect "0 hashed" age their files first. The nanoseconds are kept
    non-zero so the fine-grained margin applies.
    """
    when = time.time_ns() - int(seconds * 1e9) + 123_456
    for path in paths:
        if os.path.isdir(path):
            for folder, _dirs, names in os.walk(path):
                for name in names:
                    os.utime(os.path.join(folder, name), ns=(when, when), follow_symlinks=False)
        else:
            os.utime(path, ns=(when, when), follow_symlinks=False)


def read_tree(root: str | os.PathLike[str]) -> dict[str, bytes]:
    """``{relpath: bytes}`` of every regular file below ``root``."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path) and not os.path.islink(path):
                found[os.path.relpath(path, root).replace(os.sep, "/")] = Path(path).read_bytes()
    return found


# ----------------------------------------------------------------------------- snapshots


def snapshot(root: str | os.PathLike[str], skip: Sequence[str] = (".git",)) -> dict[str, tuple]:
    """Every entry below ``root``: ``relpath -> (kind, mode, bytes or link target)``.

    ``skip`` names top-level entries to leave out (git's own folder by default). The stat
    cache and the lock file in any ``.dvcish/tmp`` are left out too: they may legitimately
    change.
    """
    root = os.fspath(root)
    result: dict[str, tuple] = {}
    for folder, dirs, names in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        if rel_folder == ".":
            dirs[:] = [name for name in dirs if name not in skip]
            names = [name for name in names if name not in skip]
        if rel_folder.replace(os.sep, "/").endswith(".dvcish/tmp"):
            dirs[:] = []
            continue
        for name in dirs + names:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            st = os.lstat(path)
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISLNK(st.st_mode):
                result[rel] = ("link", mode, os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                result[rel] = ("dir", mode, None)
            else:
                result[rel] = ("file", mode, Path(path).read_bytes())
    return result


def object_path(repo: str | os.PathLike[str], oid: str) -> Path:
    return Path(repo, ".dvcish", "cache", oid[:2], oid[2:])


def tree_in_cache(repo: str | os.PathLike[str], oid: str):
    """Every file of the tree ``oid`` (all its levels) in the repo's cache, as one flat Tree."""
    from dvcish.storage.cache import Cache
    from dvcish.tree import load_tree

    return load_tree(Cache(str(Path(repo, ".dvcish", "cache"))), oid)


def corrupt_object(path: str | os.PathLike[str], data: bytes = b"corrupted!") -> None:
    """Overwrite a read-only object and make it read-only again (its mode proves nothing)."""
    os.chmod(path, 0o644)
    Path(path).write_bytes(data)
    os.chmod(path, 0o444)


def assert_refused(
    root: str | os.PathLike[str], args: Sequence[str], *fragments: str, code: int = 1
) -> str:
    """``dvcish ARGS`` exits ``code`` with one error line holding ``fragments`` and changes
    nothing under ``root``; returns the line."""
    before = snapshot(root)
    result = run_cli(args)
    assert result.exit_code == code, result.output
    line = assert_one_error(result.stderr, *fragments)
    assert snapshot(root) == before
    return line


def assert_rejected(parse, data: bytes, origin: str, *fragments: str) -> str:
    """``parse(data, origin)`` must raise one line naming ``origin`` and holding ``fragments``."""
    from dvcish.errors import DvcishError

    with pytest.raises(DvcishError) as info:
        parse(data, origin)
    message = str(info.value)
    assert message.startswith(f"{origin}: "), message
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message
