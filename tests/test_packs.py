"""Packs on remotes: the format standard tools read, reading by merged ranges, a corrupt member,
a kill between packs and index, concurrent pushers, gc in two phases, and rebuilding an index.

Remotes are real: local folders here, moto and rclone in the S3 tests at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import xxhash

from dvcish import transfer
from dvcish.pointer import load_pointer
from dvcish.repo import open_repo
from dvcish.storage.local import LocalStore
from dvcish.storage.packed import PackedStore, PackOptions
from dvcish.storage.packs import PackBuilder, read_members
from dvcish.targets import resolve
from dvcish.tree import level_reader, load_level, tree_oids
from tests.helpers import (
    cli_ok,
    git,
    git_env,  # noqa: F401 (fixture)
    git_init,
    make_dataset,
    read_tree,
    run_cli,
    run_dvcish,
    write_files,
)


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is not installed; `make test` installs it (Debian: xxhash, unzip)")
    return found


def tool(*args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(args, input=stdin, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def first_word(output: bytes) -> str:
    return output.decode().split()[0]


def packs_of(remote: Path) -> list[Path]:
    return sorted((remote / "packs").glob("*.zip"))


def indexes_of(remote: Path) -> list[Path]:
    return sorted(p for p in (remote / "index").iterdir() if not p.name.startswith(".tmp-"))


def loose_of(remote: Path) -> list[str]:
    return [
        f"{folder.name}{name.name}"
        for folder in remote.iterdir()
        if len(folder.name) == 2
        for name in folder.iterdir()
        if not name.name.startswith(".tmp-")
    ]


def pack_member_oids(remote: Path) -> set[str]:
    found = set()
    for pack in packs_of(remote):
        with zipfile.ZipFile(pack) as archive:
            found.update(name.replace("/", "") for name in archive.namelist())
    return found


def clone_and_pull(origin: Path, target: Path, *args: str) -> subprocess.CompletedProcess:
    git(target.parent, "clone", "-q", str(origin), str(target))
    return run_dvcish(["pull", *args], target)


@pytest.fixture
def project(tmp_path: Path, git_env: None):  # noqa: F811
    """A repo with 200 small files in 5 folders, committed and pushed to a packed local remote."""
    root = git_init(tmp_path / "origin")
    cli_ok("init", cwd=root)
    files = make_dataset(root / "data", 200, seed="packs", max_size=3000, per_folder=40)
    cli_ok("add", "data", cwd=root)
    remote = tmp_path / "remote"
    cli_ok("remote", "add", "-d", "store", str(remote), cwd=root)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "v1")
    assert "206 pushed" in cli_ok("push", cwd=root)  # 200 files, 6 tree levels
    return root, remote, files


def test_the_worked_example_in_design_md_is_what_push_writes(tmp_path, git_env):  # noqa: F811
    """docs/design.md walks through a pack with xxh128sum, unzip and dd; its names and offsets
    must be the ones a push of that folder writes (packs are deterministic)."""
    design = (Path(__file__).parent.parent / "docs" / "design.md").read_text()
    root = git_init(tmp_path / "repo")
    cli_ok("init", cwd=root)
    write_files(root / "data", {f"f{i}.txt": f"file {i}\n".encode() for i in range(8)})
    cli_ok("add", "data", cwd=root)
    remote = tmp_path / "remote"
    cli_ok("remote", "add", "-d", "store", str(remote), cwd=root)
    cli_ok("push", cwd=root)
    (pack,) = packs_of(remote)
    (index,) = indexes_of(remote)
    assert f"remote/packs/{pack.name}" in design
    assert f"remote/index/{index.name}" in design
    head = "\n".join(index.read_text().splitlines()[:4])
    assert head in design
    offset, length = (int(word) for word in head.splitlines()[3].split()[1:])
    member = pack.read_bytes()[offset : offset + length]
    assert xxhash.xxh3_128_hexdigest(member) == "12754a286851080ac15bc612cb78bc1a"
    assert f"skip={offset} count={length}" in design


def test_packs_are_zip_files_that_standard_tools_check(project, tmp_path):
    root, remote, files = project
    packs = packs_of(remote)
    assert packs and indexes_of(remote)
    tree = load_pointer(str(root / "data.dvcish")).oid
    levels = set(tree_oids(level_reader(LocalStore(str(root / ".dvcish" / "cache"))), tree))
    wanted = {xxhash.xxh3_128_hexdigest(data) for data in files.values()} | levels
    assert pack_member_oids(remote) == wanted  # every object went into a pack, the trees too
    assert loose_of(remote) == []
    xxh128sum, unzip = need("xxh128sum"), need("unzip")
    for pack in packs:
        assert first_word(tool(xxh128sum, str(pack))) == pack.stem  # the name is the hash
        assert b"No errors detected" in tool(unzip, "-t", str(pack))  # every CRC-32 checks
        with zipfile.ZipFile(pack) as archive:
            assert archive.testzip() is None
            infos = archive.infolist()
            assert {info.compress_type for info in infos} == {zipfile.ZIP_STORED}
            assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
            assert {info.extra for info in infos} == {b""}
        member = infos[0].filename
        printed = tool(unzip, "-p", str(pack), member)
        assert first_word(tool(xxh128sum, stdin=printed)) == member.replace("/", "")
    for index in indexes_of(remote):
        assert first_word(tool(xxh128sum, str(index))) == index.name
    unpacked = tmp_path / "unpacked"
    for pack in packs:
        tool(unzip, "-q", "-o", "-d", str(unpacked), str(pack))
    loose = LocalStore(str(unpacked))  # a loose store, rebuilt with no dvcish at all
    assert set(loose.list()) == wanted
    for oid in wanted:
        assert loose.read_verified(oid)


def test_pack_files_are_deterministic():
    def build() -> bytes:
        builder = PackBuilder()
        for data in (b"alpha", b"bravo", b""):
            builder.add(xxhash.xxh3_128_hexdigest(data), data)
        return builder.finish().data

    first = build()
    assert first == build()
    members = read_members(first, len(first), "test pack")
    assert [first[m.offset : m.offset + m.length] for m in members] == [b"alpha", b"bravo", b""]


def test_clone_pull_status_cloud_and_a_push_with_nothing_to_do(project, tmp_path):
    root, remote, files = project
    copy = tmp_path / "copy"
    pulled = clone_and_pull(root, copy)
    assert pulled.returncode == 0, pulled.stderr
    assert read_tree(copy / "data") == files
    assert run_cli(["status", "--cloud"], cwd=copy).exit_code == 0
    assert "0 pushed, 206 already on remote" in cli_ok("push", cwd=copy)
    assert run_cli(["fsck", "--remote", "store"], cwd=copy).exit_code == 0


def test_index_files_are_kept_by_id_and_never_fetched_twice(project):
    root, remote, _files = project
    cached = root / ".dvcish" / "tmp" / "index"
    assert {p.name for p in cached.iterdir()} == {p.name for p in indexes_of(remote)}
    for index in indexes_of(remote):  # the remote's copy goes bad; the kept one is used
        os.chmod(index, 0o644)
        index.write_bytes(b"garbage")
    assert "0 pushed, 206 already on remote" in cli_ok("push", cwd=root)
    assert run_cli(["status", "--cloud"], cwd=root).exit_code == 0


def test_a_partial_pull_reads_little_more_than_it_needs(tmp_path, git_env):  # noqa: F811
    root = git_init(tmp_path / "origin")
    cli_ok("init", cwd=root)
    files = make_dataset(root / "data", 400, seed="partial", max_size=4000, per_folder=20)
    cli_ok("add", "data", cwd=root)
    cli_ok("remote", "add", "-d", "store", str(tmp_path / "remote"), cwd=root)
    cli_ok("push", cwd=root)
    shutil.rmtree(root / ".dvcish" / "cache")
    repo = open_repo(str(root))
    counting = CountingStore(str(tmp_path / "remote"))
    store = PackedStore(counting, PackOptions(), None)
    folder = sorted({rel.split("/")[0] for rel in files})[3]
    tracked = resolve(repo, [str(root / "data" / folder)], allow_inside=True)
    summary = transfer.fetch(repo.cache, store, tracked, 4)
    repo.close()
    wanted = {rel: data for rel, data in files.items() if rel.startswith(folder + "/")}
    assert summary.failed == [] and summary.transferred == len(wanted) + 2  # and 2 levels
    needed = sum(len(data) for data in wanted.values())
    remote = PackedStore(LocalStore(str(tmp_path / "remote")), PackOptions(), None)
    root_oid = tracked[0].pointer.oid
    folder_oid = next(f.oid for f in load_level(remote, root_oid).folders if f.name == folder)
    tree = sum(len(remote.read_verified(oid)) for oid in (root_oid, folder_oid))  # two levels
    pack_bytes = sum(p.stat().st_size for p in packs_of(tmp_path / "remote"))
    assert needed * 10 < pack_bytes  # the folder is a small part of what the remote holds
    assert counting.read <= 2 * needed + tree, (counting.read, needed)


class CountingStore(LocalStore):
    """A real folder store that counts the bytes it hands out."""

    def __init__(self, root: str):
        super().__init__(root)
        self.read = 0

    def get_blob(self, key, dest, offset=0, length=None):
        count = super().get_blob(key, dest, offset, length)
        if not key.startswith("index/"):
            self.read += count
        return count


def test_a_corrupt_member_fails_only_its_object(project, tmp_path):
    root, remote, files = project
    victim = sorted(files)[17]
    oid = xxhash.xxh3_128_hexdigest(files[victim])
    pack = next(p for p in packs_of(remote) if oid in pack_member_oids_of(p))
    with zipfile.ZipFile(pack) as archive:
        info = archive.getinfo(f"{oid[:2]}/{oid[2:]}")
    data = bytearray(pack.read_bytes())
    offset = info.header_offset + 30 + len(info.filename)
    data[offset] ^= 0xFF
    os.chmod(pack, 0o644)
    pack.write_bytes(bytes(data))
    before = pack.read_bytes()

    copy = tmp_path / "copy"
    pulled = clone_and_pull(root, copy)
    assert pulled.returncode == 1
    assert pack.stem in pulled.stderr and oid in pulled.stderr and "corrupt" in pulled.stderr
    assert "Traceback" not in pulled.stderr
    delivered = read_tree(copy / "data")
    assert victim not in delivered
    assert delivered == {rel: data for rel, data in files.items() if rel != victim}
    assert pack.read_bytes() == before  # reading never changes the remote
    fsck = run_cli(["fsck", "--remote", "store"], cwd=root)
    assert fsck.exit_code == 1 and oid in fsck.stdout


def pack_member_oids_of(pack: Path) -> set[str]:
    with zipfile.ZipFile(pack) as archive:
        return {name.replace("/", "") for name in archive.namelist()}


def test_a_lost_index_is_rebuilt_from_the_packs(project, tmp_path):
    root, remote, files = project
    for index in indexes_of(remote):
        index.unlink()
    shutil.rmtree(root / ".dvcish" / "tmp" / "index")
    lost = clone_and_pull(root, tmp_path / "lost")
    assert lost.returncode == 1 and "not found" in lost.stderr
    out = cli_ok("remote", "reindex", "store", cwd=root)
    assert "Indexed 206 objects" in out  # the files and the 6 levels of their tree
    again = tmp_path / "again"
    pulled = clone_and_pull(root, again)
    assert pulled.returncode == 0, pulled.stderr
    assert read_tree(again / "data") == files
    assert run_cli(["fsck", "--remote", "store"], cwd=root).exit_code == 0


def test_small_pushes_stay_loose_and_packs_false_keeps_a_remote_loose(tmp_path, git_env):  # noqa: F811
    root = git_init(tmp_path / "origin")
    cli_ok("init", cwd=root)
    write_files(root / "data", {"a.txt": b"alpha", "b.txt": b"bravo"})
    cli_ok("add", "data", cwd=root)
    few, many = tmp_path / "few", tmp_path / "many"
    cli_ok("remote", "add", "few", str(few), cwd=root)
    cli_ok("push", "-r", "few", cwd=root)
    assert not (few / "packs").exists() and len(loose_of(few)) == 3
    make_dataset(root / "data", 40, seed="many")
    cli_ok("add", "data", cwd=root)
    cli_ok("remote", "add", "many", str(many), cwd=root)
    cli_ok("remote", "modify", "many", "packs", "false", cwd=root)
    cli_ok("push", "-r", "many", cwd=root)
    assert not (many / "packs").exists() and len(loose_of(many)) == 44  # 42 files, 2 levels


def test_concurrent_pushers_of_overlapping_data(tmp_path, git_env):  # noqa: F811
    origin = git_init(tmp_path / "origin")
    cli_ok("init", cwd=origin)
    cli_ok("remote", "add", "-d", "store", str(tmp_path / "remote"), cwd=origin)
    shared = make_dataset(origin / "data", 60, seed="shared")
    cli_ok("add", "data", cwd=origin)
    git(origin, "add", "-A")
    git(origin, "commit", "-qm", "base")
    versions = {}
    for number in range(4):
        branch = f"v{number}"
        git(origin, "checkout", "-q", "-b", branch, "main")
        own = make_dataset(origin / "data" / f"own{number}", 30, seed=branch)
        cli_ok("add", "data", cwd=origin)
        git(origin, "add", "-A")
        git(origin, "commit", "-qm", branch)
        versions[branch] = {**shared, **{f"own{number}/{rel}": d for rel, d in own.items()}}
        git(origin, "checkout", "-q", "main")
        cli_ok("checkout", "--force", cwd=origin)
    pushers = []
    for branch in versions:
        clone = tmp_path / f"pusher-{branch}"
        git(tmp_path, "clone", "-q", "-b", branch, str(origin), str(clone))
        shutil.copytree(origin / ".dvcish" / "cache", clone / ".dvcish" / "cache")
        pushers.append(subprocess.Popen([sys.executable, "-m", "dvcish", "push"], cwd=clone))
    assert [p.wait(timeout=120) for p in pushers] == [0, 0, 0, 0]
    assert len(indexes_of(tmp_path / "remote")) >= 4  # no locks: each pusher wrote its index
    for branch, expected in versions.items():
        target = tmp_path / f"reader-{branch}"
        git(tmp_path, "clone", "-q", "-b", branch, str(origin), str(target))
        pulled = run_dvcish(["pull"], target)
        assert pulled.returncode == 0, pulled.stderr
        assert read_tree(target / "data") == expected
    assert run_cli(["fsck", "--remote", "store"], cwd=tmp_path / "reader-v0").exit_code == 0


def test_get_import_ls_and_the_api_read_packed_remotes(project, tmp_path):
    root, _remote, files = project
    name = sorted(files)[42]
    got = tmp_path / "got.bin"
    cli_ok("get", str(root), f"data/{name}", "-o", str(got), cwd=tmp_path)
    assert got.read_bytes() == files[name]

    other = git_init(tmp_path / "other")
    cli_ok("init", cwd=other)
    folder = name.split("/")[0]
    cli_ok("import", str(root), f"data/{folder}", cwd=other)
    wanted = {rel[len(folder) + 1 :]: d for rel, d in files.items() if rel.startswith(folder + "/")}
    assert read_tree(other / folder) == wanted

    listed = cli_ok("ls", "-R", str(root), "data", cwd=tmp_path)
    assert f"data/{name}" in listed and listed.count("\n") == len(files)

    import dvcish.api

    with dvcish.api.open(f"data/{name}", repo=f"file://{root}", mode="rb") as handle:  # no cache
        assert handle.read() == files[name]
