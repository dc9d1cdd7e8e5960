"""The crash-point sweep: kill a command at one of its filesystem calls, run it again, check.

This is the proof behind the crash guarantees in docs/design.md ("Crash safety").

**How a command is killed.** strace's fault injection kills the real process
(``python -m dvcish ARGS``) with SIGKILL at the K-th ``openat``, write (``write``,
``pwrite64``, ``copy_file_range``), ``rename``, ``renameat2`` or ``unlink`` of one of its
threads (``-e inject=SYSCALL:signal=SIGKILL:when=K``; strace counts
per syscall and per thread). A dry run under strace first records every such call in order;
the sweep keeps the calls that touch the test's folders (not Python's own imports) and kills
the command at POINTS of them spread evenly over its run, or at every one of them with
``DVCISH_CRASH_SWEEP=full`` (``DVCISH_CRASH_SWEEP=N`` picks N points per command). strace is
installed by ``make test`` when it runs as root; without a usable strace the sweep is skipped
with the reason in the test summary.

**What must hold after every kill**, once the same command has run again (in-process, never
with ``--force``) and succeeded: the workspace holds exactly the version asked for, with no
temp file left in it or beside it; ``status`` calls it up to date (no leftover is taken for a
change); ``fsck`` is clean; every file in the cache and in the remote folder is either an
object whose bytes hash to its name or a temp file (``.tmp-<pid>-<n>``, never listed as an
object, removed by ``gc``); and the command's own result is there (the pointer of ``add``, the
objects of ``push``, the cache of ``gc``).

**The repository**: 20 files (one executable; none empty, as an empty object in the cache
would make a 0-byte leftover look safe to discard) in 3 folders, in two versions (v2
changes 5 files, deletes 3 and adds 5, one in a new folder), with a folder remote. Each command
starts from its own saved state, copied afresh for every kill.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from dvcish import fsutil
from dvcish.hashing import hash_bytes
from dvcish.pointer import load_pointer
from dvcish.storage.cache import Cache
from dvcish.tree import level_reader, tree_oids
from tests.helpers import cli_ok, make_bytes, read_tree, run_cli, write_files
from tests.strace_faults import WRITES, Call, needs_strace, record_calls, run_injected

SYSCALLS = ("openat", *WRITES, "rename", "renameat2", "unlink")
POINTS = 14  # kill points per command in `make test`
SWEEP = os.environ.get("DVCISH_CRASH_SWEEP", "")
pytestmark = needs_strace


# ----------------------------------------------------------------------------- kill points


def kill_points(
    workdir: Path, args: list[str], log: Path, inside: Path | None = None
) -> list[Call]:
    """The calls of SYSCALLS that touch ``inside`` (default: anything in ``workdir``), in the
    order a dry run in ``workdir`` made them."""
    calls = record_calls(workdir / "repo", args, SYSCALLS, log)
    return [call for call in calls if str(inside or workdir) in call.args]


def chosen(points: list[Call]) -> list[Call]:
    """Every point for a full sweep, else a few spread evenly over the run (first and last
    included); one per (syscall, K), as strace counts per thread."""
    wanted = len(points) if SWEEP == "full" else int(SWEEP or POINTS)
    step = (len(points) - 1) / max(1, wanted - 1)
    picked = points if wanted >= len(points) else [points[round(i * step)] for i in range(wanted)]
    return list({(call.syscall, call.number): call for call in picked}.values())


def run_killed(workdir: Path, args: list[str], call: Call) -> int:
    """Run the command, killed at ``call``; its exit code (-9 when it was killed)."""
    return run_injected(workdir / "repo", args, call, "signal=SIGKILL").returncode


# ----------------------------------------------------------------------------- the repository


def version_1() -> dict[str, bytes]:
    files = {}
    for number in range(20):
        folder = ("a", "b", "c/deep")[number % 3]
        files[f"{folder}/f{number:02d}.bin"] = make_bytes(number, 1 + 300 * number)
    return files


def version_2(v1: dict[str, bytes]) -> dict[str, bytes]:
    files = dict(v1)
    for rel in sorted(v1)[:5]:
        files[rel] = make_bytes(("changed", rel), 1000)
    for rel in sorted(v1)[-3:]:
        del files[rel]
    for number in range(5):
        folder = "d/new" if number < 2 else "a"
        files[f"{folder}/n{number}.bin"] = make_bytes(("new", number), 500 + number)
    return files


EXECUTABLE = "b/f01.bin"


@dataclass
class Template:
    """Saved starting states, one per command: ``states/<name>/{repo,remote}``."""

    states: Path
    v1: dict[str, bytes]
    v2: dict[str, bytes]
    v2_objects: set[str]  # every object version 2 needs (its files and its tree)
    v2_tree: str


def write_version(repo: Path, files: dict[str, bytes]) -> None:
    data = repo / "data"
    for rel in set(read_tree(data)) - set(files):
        os.unlink(data / rel)
    write_files(data, files)
    os.chmod(data / EXECUTABLE, 0o755)


def tree_levels(repo: Path, root: str) -> set[str]:
    """The oids of every level of a tree in the repo's cache (one per folder)."""
    return set(tree_oids(level_reader(Cache(str(repo / ".dvcish" / "cache"))), root))


def drop_objects(repo: Path, keep: set[str]) -> None:
    cache = repo / ".dvcish" / "cache"
    for folder in cache.iterdir():
        if len(folder.name) == 2:
            for item in folder.iterdir():
                if folder.name + item.name not in keep:
                    item.unlink()


def save_state(base: Path, states: Path, name: str) -> Path:
    target = states / name
    shutil.copytree(base, target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("crash-template")
    base, states = root / "base", root / "states"
    repo = base / "repo"
    (base / "remote").mkdir(parents=True)
    repo.mkdir()
    cli_ok("init", "--no-scm", cwd=repo)
    cli_ok("remote", "add", "-d", "local", "../remote", cwd=repo)
    v1 = version_1()
    write_version(repo, v1)
    cli_ok("add", "data", cwd=repo)
    cli_ok("push", cwd=repo)
    v1_pointer = (repo / "data.dvcish").read_bytes()
    v1_tree = load_pointer(str(repo / "data.dvcish")).oid
    v1_objects = {hash_bytes(data) for data in v1.values()} | tree_levels(repo, v1_tree)
    v2 = version_2(v1)
    write_version(repo, v2)
    cli_ok("add", "data", cwd=repo)
    v2_pointer = (repo / "data.dvcish").read_bytes()
    v2_tree = load_pointer(str(repo / "data.dvcish")).oid
    v2_objects = {hash_bytes(data) for data in v2.values()} | tree_levels(repo, v2_tree)

    save_state(base, states, "push")  # cache: v1 and v2; remote: v1
    cli_ok("config", "gc.grace", "0", cwd=repo)
    save_state(base, states, "gc")
    cli_ok("config", "--unset", "gc.grace", cwd=repo)

    (repo / "data.dvcish").write_bytes(v1_pointer)
    cli_ok("checkout", cwd=repo)
    (repo / "data.dvcish").write_bytes(v2_pointer)
    save_state(base, states, "checkout")  # workspace: v1; pointer: v2

    cli_ok("push", cwd=repo)
    drop_objects(repo, set())
    shutil.rmtree(repo / "data")
    os.unlink(repo / ".dvcish" / "tmp" / "state.db")
    save_state(base, states, "pull")  # a fresh clone: pointer v2, no cache, no data

    add_repo = save_state(states / "checkout", states, "add") / "repo"
    write_version(add_repo, v2)
    (add_repo / "data.dvcish").write_bytes(v1_pointer)
    drop_objects(add_repo, v1_objects)
    os.unlink(add_repo / ".dvcish" / "tmp" / "state.db")  # add must hash: workspace: v2
    return Template(states, v1, v2, v2_objects, v2_tree)


# ----------------------------------------------------------------------------- the checks


@dataclass(frozen=True)
class Scenario:
    args: tuple[str, ...]
    state: str


SCENARIOS = {
    "add": Scenario(("add", "data"), "add"),
    "checkout": Scenario(("checkout",), "checkout"),
    "pull": Scenario(("pull", "-j", "1"), "pull"),
    "push": Scenario(("push", "-j", "1"), "push"),
    "gc": Scenario(("gc", "-w"), "gc"),
}


# What a store folder may hold, each named by the hash of its bytes: loose objects, and on a
# remote packs and index files (docs/design.md, "Packs on remotes").
_NAMED_BY_HASH = re.compile(
    r"([0-9a-f]{2})/([0-9a-f]{30})|packs/([0-9a-f]{32})\.zip|index/([0-9a-f]{32})"
)


def store_files(root: Path) -> tuple[set[str], list[str]]:
    """(oids of the loose objects under a store folder, temp files); fails on anything else,
    or on a file whose bytes do not hash to its name."""
    objects, temps = set(), []
    for path in root.rglob("*"):
        if path.is_dir():
            continue
        rel = path.relative_to(root).as_posix()
        if fsutil.is_temp_name(path.name):
            temps.append(rel)
            continue
        match = _NAMED_BY_HASH.fullmatch(rel)
        assert match is not None, f"neither an object, a pack nor an index: {root}/{rel}"
        name = "".join(part for part in match.groups() if part)
        assert hash_bytes(path.read_bytes()) == name, f"{rel} does not hash to its name"
        if match.group(1):
            objects.add(name)
    return objects, temps


def check_after(template: Template, name: str, work: Path) -> None:
    repo, remote = work / "repo", work / "remote"
    assert read_tree(repo / "data") == template.v2, "the workspace is not version 2"
    assert os.access(repo / "data" / EXECUTABLE, os.X_OK)
    assert not fsutil.temp_files_in(str(repo)), "a temp file is left beside the data"
    assert load_pointer(str(repo / "data.dvcish")).oid == template.v2_tree
    status = run_cli(["status"], cwd=repo)
    assert status.exit_code == 0 and "up to date" in status.stdout, status.output
    fsck = run_cli(["fsck"], cwd=repo)
    assert fsck.exit_code == 0, fsck.output
    cached, cache_temps = store_files(repo / ".dvcish" / "cache")
    assert template.v2_objects <= cached
    store_files(remote)
    if name == "push":
        on_remote = run_cli(["status", "--cloud"], cwd=repo)
        assert on_remote.exit_code == 0, on_remote.output  # the remote holds all of version 2
        remote_fsck = run_cli(["fsck", "--remote", "local"], cwd=repo)
        assert remote_fsck.exit_code == 0, remote_fsck.output
    if name == "gc":
        assert cached == template.v2_objects and not cache_temps


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_kill_at_any_moment_leaves_nothing_false_behind(
    name: str, template: Template, tmp_path: Path
) -> None:
    scenario = SCENARIOS[name]
    args = list(scenario.args)
    dry = tmp_path / "dry"
    shutil.copytree(template.states / scenario.state, dry, symlinks=True)
    points = chosen(kill_points(dry, args, tmp_path / "trace.log"))
    assert len(points) >= min(POINTS, 8), points
    killed = 0
    for number, call in enumerate(points):
        work = tmp_path / f"kill-{number}"
        shutil.copytree(template.states / scenario.state, work, symlinks=True)
        killed += run_killed(work, args, call) == -9
        where = f"after a kill at {call.syscall} #{call.number} ({call.args[:120]})"
        again = run_cli(args, cwd=work / "repo")
        assert again.exit_code == 0, f"{where}: {again.output}"
        try:
            check_after(template, name, work)
        except AssertionError as exc:
            raise AssertionError(f"{where}: {exc}") from None
        shutil.rmtree(work)
    assert killed >= len(points) // 2, f"only {killed} of {len(points)} runs were killed"


def test_checkout_killed_between_creating_and_writing_a_file_leaves_no_empty_file(
    template: Template, tmp_path: Path
) -> None:
    # The reproduction from issue 11: a new file created under its final name and killed
    # before its bytes were written stayed there with 0 bytes, and the next checkout called
    # it the user's change (and advised `dvcish add`).
    def fresh_workspace(name: str) -> Path:  # every file of the checkout is a new one
        work = shutil.copytree(template.states / "push", tmp_path / name, symlinks=True)
        shutil.rmtree(work / "repo" / "data")
        return work

    dry = fresh_workspace("dry")
    points = kill_points(dry, ["checkout"], tmp_path / "trace.log", dry / "repo" / "data")
    first_write = next(call for call in points if call.syscall in WRITES)
    work = fresh_workspace("work")
    assert run_killed(work, ["checkout"], first_write) == -9
    on_disk = read_tree(work / "repo" / "data")
    contents = set(template.v1.values()) | set(template.v2.values())
    for rel, data in on_disk.items():
        assert data in contents or fsutil.is_temp_name(Path(rel).name), f"{rel}: {data[:20]!r}"
    again = run_cli(["checkout"], cwd=work / "repo")
    assert again.exit_code == 0, again.output
    assert "Removed 1 temp file left by an interrupted dvcish run." in again.stdout
    check_after(template, "checkout", work)
