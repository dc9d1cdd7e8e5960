"""Progress that tells the truth: push and fetch count objects and bytes; the CLI shows bars
with totals on a terminal and plain lines elsewhere (real runs: CliRunner, a subprocess on a
pty, a real S3 server)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
import threading

from dvcish import transfer
from dvcish.cli.bars import INTERVAL_ENV, Step, describe
from dvcish.cli.output import human_bytes
from dvcish.pointer import load_pointer
from dvcish.progress import Progress
from dvcish.repo import open_repo
from dvcish.storage.memory import MemoryStore
from dvcish.targets import all_tracked
from dvcish.tree import level_reader, tree_oids
from tests import helpers
from tests.helpers import make_bytes, make_dataset

git_repo = helpers.git_repo  # fixture


def test_push_and_fetch_count_objects_and_bytes(git_repo, monkeypatch):
    files = make_dataset(git_repo / "data", 12, seed="progress")
    helpers.cli_ok("add", "data")
    repo = open_repo(str(git_repo))
    store = MemoryStore()
    tracked = all_tracked(repo)
    objects: list[int] = []
    moved: list[int] = []
    summary = transfer.push(repo.cache, store, tracked, 4, Progress(objects.append, moved.append))
    root = tracked[0].pointer.oid
    tree_size = sum(len(store.read_verified(oid)) for oid in tree_oids(level_reader(store), root))
    assert summary.transferred == len(files) + 2 and not summary.failed  # and 2 tree levels
    assert sum(objects) == len(files) + 2
    assert sum(moved) == sum(len(data) for data in files.values()) + tree_size

    for oid in list(repo.cache.list()):
        repo.cache.quarantine(oid)  # empty the cache: everything must come back
    objects.clear()
    moved.clear()
    summary = transfer.fetch(
        repo.cache, store, all_tracked(repo), 4, Progress(objects.append, moved.append)
    )
    assert summary.transferred == len(files) + 2 and not summary.failed  # the levels, files
    assert sum(objects) == len(files)  # the bars follow the members, read after the tree
    assert sum(moved) == sum(len(data) for data in files.values())
    repo.close()


# ----------------------------------------------------------------------------- the CLI's display

PROGRESS_LINE = re.compile(
    r"^(?P<head>[A-Z][a-z]+(?: out)?: [^:]+): (?P<done>[\d,]+)/(?P<total>[\d,]+) files "
    r"\((?P<percent>\d+)%\)(?:, (?P<bytes>[\d.]+ [KMGT]?i?B)/(?P<bytes_total>[\d.]+ [KMGT]?i?B) "
    r"\((?P<bytes_percent>\d+)%\))?, [^,]+/s, (?:ETA )?\S+( \S+)?$"
)


def progress_lines(stderr: str, head: str) -> list[re.Match]:
    found = [PROGRESS_LINE.match(line) for line in stderr.splitlines()]
    return [match for match in found if match and match["head"] == head]


def last_line(stderr: str, head: str) -> re.Match:
    lines = progress_lines(stderr, head)
    assert lines, f"no {head!r} progress line in:\n{stderr}"
    return lines[-1]


def test_without_a_terminal_each_step_ends_with_a_line_of_its_totals(git_repo, monkeypatch):
    """Not a terminal (CI): plain lines, here after every step (interval 0), with the totals
    planning found, in IEC units."""
    monkeypatch.setenv(INTERVAL_ENV, "0")
    files = make_dataset(git_repo / "data", 12, seed="ci-lines")
    data_bytes = sum(len(data) for data in files.values())
    added = helpers.run_cli(["add", "data"])
    # a folder is added as it is walked: counts without totals
    assert f"Adding: adding data: 12 files, {human_bytes(data_bytes)}, " in added.stderr

    helpers.cli_ok("remote", "add", "-d", "storage", str(git_repo.parent / "remote"))
    pushed = helpers.run_cli(["push"])
    line = last_line(pushed.stderr, "Pushing: uploading")
    assert (line["done"], line["total"]) == ("14", "14")  # the files and their 2 tree levels
    repo = open_repo(str(git_repo))
    root = load_pointer(str(git_repo / "data.dvcish")).oid
    tree_size = sum(
        os.path.getsize(repo.cache.path_of(oid))
        for oid in tree_oids(level_reader(repo.cache), root)
    )
    repo.close()
    assert line["bytes"] == line["bytes_total"] == human_bytes(data_bytes + tree_size)

    shutil.rmtree(git_repo / "data")
    for oid in open_repo(str(git_repo)).cache.list():
        os.unlink(helpers.object_path(git_repo, oid))
    pulled = helpers.run_cli(["pull"])
    assert pulled.exit_code == 0, pulled.output
    for head in ("Pulling: downloading", "Pulling: writing files"):
        line = last_line(pulled.stderr, head)
        assert (line["done"], line["total"], line["percent"]) == ("12", "12", "100"), head
        assert line["bytes"] == line["bytes_total"] == human_bytes(data_bytes), head

    for rel in list(files)[:3]:
        os.unlink(git_repo / "data" / rel)
    checked = helpers.run_cli(["checkout"])
    line = last_line(checked.stderr, "Checking out: writing files")
    assert (line["done"], line["total"]) == ("3", "3")

    quiet = helpers.run_cli(["-q", "push"])
    assert quiet.stderr == ""  # -q: no progress either


def test_a_long_upload_prints_lines_while_one_large_file_moves(git_repo, monkeypatch, moto_remote):
    """One 64 MiB file to S3 (a multipart upload): lines appear while it is in flight, with
    its bytes moving and the file not done yet."""
    monkeypatch.setenv(INTERVAL_ENV, "0")
    (git_repo / "big.bin").write_bytes(make_bytes("big", 64 << 20))
    helpers.cli_ok("add", "big.bin")
    helpers.cli_ok("remote", "add", "-d", "s3", moto_remote["url"])
    helpers.cli_ok("remote", "modify", "s3", "endpointurl", moto_remote["endpointurl"])
    for key in ("access_key_id", "secret_access_key"):
        helpers.cli_ok("remote", "modify", "--local", "s3", key, moto_remote[key])
    pushed = helpers.run_cli(["push"])
    assert pushed.exit_code == 0, pushed.output
    lines = progress_lines(pushed.stderr, "Pushing: uploading")
    during = [line for line in lines if line["done"] == "0" and line["bytes"] != "0 B"]
    assert during, pushed.stderr  # bytes moved before the one file was done
    assert lines[-1]["bytes"] == lines[-1]["bytes_total"] == "64.0 MiB"


def test_on_a_terminal_bars_show_totals_percent_eta_and_iec_sizes(git_repo, tmp_path):
    """A real process whose stderr is a terminal (a pty): tqdm bars with our formats."""
    make_dataset(git_repo / "data", 30, seed="bars", max_size=50_000)
    helpers.cli_ok("add", "data")
    helpers.cli_ok("remote", "add", "-d", "storage", str(tmp_path / "remote"))
    screen = run_on_terminal([sys.executable, "-m", "dvcish", "push"], git_repo)
    plain = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", screen)
    assert re.search(r"Pushing: uploading: +\d+%\|.*\| [\d,]+/32 files \[", plain), plain
    assert re.search(r"\d+%\|.*\| [\d.]+ (B|KiB|MiB)/[\d.]+ (KiB|MiB) \[.*<.*, .*/s\]", plain)
    assert not re.search(r"\d(kB|MB|GB)\b", plain)  # IEC units only


def run_on_terminal(args: list[str], cwd) -> str:
    """Run a process with stderr on a pseudo-terminal of 120 columns; return what it drew."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    proc = subprocess.Popen(
        args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave
    )
    os.close(slave)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 1 << 16)
        except OSError:  # the terminal closed: the process is gone
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    return drawn.decode("utf-8", "replace")


def test_waiting_for_a_slow_task_reports_on_the_calling_thread():
    """``bounded_map`` runs ``on_wait`` on the caller's thread while a task is in flight, so a
    large transfer reports its bytes as they move, not only when it ends."""
    caller = threading.get_ident()
    waits: list[int] = []
    release = threading.Event()

    def slow(item: str) -> str:
        release.wait(timeout=10)
        return item.upper()

    def on_wait() -> None:
        waits.append(threading.get_ident())
        if len(waits) == 3:
            release.set()

    assert list(transfer.bounded_map(2, slow, ["a", "b"], on_wait)) == [("a", "A"), ("b", "B")]
    assert len(waits) >= 3 and set(waits) == {caller}


def test_describe_formats_steps_for_people():
    step = Step("uploading", started=0.0, counted=True, items=1234, items_total=20000)
    step.nbytes, step.bytes_total = 3 << 30, 12 << 30
    assert describe("Pushing", "file", step, now=100.0) == (
        "Pushing: uploading: 1,234/20,000 files (6%), 3.0 GiB/12.0 GiB (25%), 30.7 MiB/s, "
        "ETA 5m 00s"
    )
    assert describe("Pushing", "file", Step("listing the remote", 0.0), now=75.0) == (
        "Pushing: listing the remote… (1m 15s)"
    )
    counting = Step(None, 0.0, items=42_000)  # a step without totals shows what it counted
    assert (
        describe("Checking", "object", counting, now=3700) == "Checking: 42,000 objects… (1h 01m)"
    )
