"""dvcish.api: open/read/get_url on local repos (workspace or any rev) and on git URLs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import dvcish.api
from dvcish.errors import DvcishError
from dvcish.hashing import hash_bytes, hash_file
from tests.helpers import (
    cli_ok,
    corrupt_object,
    git,
    git_env,  # noqa: F401 (fixture)
    git_init,
    make_dataset,
    run_cli,
    snapshot,
)
from tests.test_external import MODEL, V1, V2, make_source


@pytest.fixture
def source(tmp_path: Path, git_env: None):  # noqa: F811
    return make_source(tmp_path)


def cache_object(root: Path, content: bytes) -> Path:
    oid = hash_bytes(content)
    return root / ".dvcish" / "cache" / oid[:2] / oid[2:]


def test_read_workspace_pointers_and_any_revision(source):
    root = str(source.root)
    assert dvcish.api.read("data/a.txt", repo=root) == V2["a.txt"].decode()
    assert dvcish.api.read("data/a.txt", repo=root, rev="v1") == V1["a.txt"].decode()
    assert dvcish.api.read("data/sub/b.txt", repo=root, rev=source.v1, mode="rb") == b"beta\n"
    assert dvcish.api.read("model.bin.dvcish", repo=root, mode="rb") == MODEL
    with pytest.raises(DvcishError, match="unknown revision"):
        dvcish.api.read("data/a.txt", repo=root, rev="nope")


def test_open_streams_binary_and_text(source):
    with dvcish.api.open("model.bin", repo=str(source.root)) as handle:
        assert handle.read(5) == MODEL[:5]
        assert handle.read() == MODEL[5:]
    with dvcish.api.open("data/a.txt", repo=str(source.root), mode="r", encoding="ascii") as text:
        assert text.readline() == "alpha v2\n"
    with pytest.raises(ValueError, match="mode"):
        dvcish.api.read("model.bin", repo=str(source.root), mode="w")


def test_repo_none_is_the_repo_around_the_cwd(source, monkeypatch):
    monkeypatch.chdir(source.root / "data" / "sub")
    assert dvcish.api.read("data/c.txt") == V2["c.txt"].decode()


def test_reads_from_the_remote_without_touching_the_workspace(source):
    shutil.rmtree(source.root / ".dvcish" / "cache")
    shutil.rmtree(source.root / "data")  # not checked out at all
    before = snapshot(source.root, skip=(".git", ".dvcish"))
    assert dvcish.api.read("data/sub/b.txt", repo=str(source.root), mode="rb") == b"beta\n"
    assert snapshot(source.root, skip=(".git", ".dvcish")) == before
    assert cache_object(source.root, b"beta\n").is_file()  # kept for next time


def test_a_corrupt_cache_object_is_quarantined_and_fetched_again(source):
    path = cache_object(source.root, MODEL)
    corrupt_object(path)
    assert dvcish.api.read("model.bin", repo=str(source.root), mode="rb") == MODEL
    assert hash_file(path)[0] == hash_bytes(MODEL)
    quarantined = source.root / ".dvcish" / "cache" / ".quarantine" / hash_bytes(MODEL)
    assert quarantined.read_bytes() == b"corrupted!"


def test_a_corrupt_remote_object_is_never_handed_out(source):
    shutil.rmtree(source.root / ".dvcish" / "cache")
    oid = hash_bytes(MODEL)
    corrupt_object(source.remote / oid[:2] / oid[2:])
    with pytest.raises(DvcishError, match="corrupt"):
        dvcish.api.read("model.bin", repo=str(source.root), mode="rb")


def test_git_url_repo_is_cloned_and_read_at_a_rev(source, tmp_path, monkeypatch):
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(source.root), str(bare))
    tmp = tmp_path / "systmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    assert dvcish.api.read("data/a.txt", repo=str(bare), rev="v1") == V1["a.txt"].decode()
    assert dvcish.api.read("data/a.txt", repo=f"file://{bare}") == V2["a.txt"].decode()
    assert os.listdir(tmp) == []  # clone and downloaded bytes are gone


def test_git_url_repo_uses_the_shared_cache(source, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    monkeypatch.setenv("DVCISH_CACHE_DIR", str(shared))
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(source.root), str(bare))
    assert dvcish.api.read("model.bin", repo=str(bare), mode="rb") == MODEL
    oid = hash_bytes(MODEL)
    assert (shared / oid[:2] / oid[2:]).is_file()
    shutil.move(source.remote, tmp_path / "gone")  # now served by the shared cache alone
    assert dvcish.api.read("model.bin", repo=str(bare), mode="rb") == MODEL


def test_get_url_for_a_folder_remote_and_an_s3_remote(source, moto_server):
    root = str(source.root)
    url = dvcish.api.get_url("data/sub/b.txt", repo=root, rev="v1")
    oid = hash_bytes(b"beta\n")
    assert url == str(source.remote / oid[:2] / oid[2:])
    assert Path(url).read_bytes() == b"beta\n"
    settings = moto_server.new_bucket(prefix="some/prefix")
    run_cli(["remote", "add", "s3", settings["url"] + "/"], cwd=root)
    for key in ("endpointurl", "access_key_id", "secret_access_key"):
        run_cli(["remote", "modify", "--local", "s3", key, settings[key]], cwd=root)
    result = run_cli(["push", "-r", "s3", "model.bin"], cwd=root)
    assert result.exit_code == 0, result.stderr
    oid = hash_bytes(MODEL)
    s3_url = dvcish.api.get_url("model.bin", repo=root, remote="s3")
    assert s3_url == f"{settings['url']}/{oid[:2]}/{oid[2:]}"


def test_get_url_of_a_packed_object_says_how_to_read_it(tmp_path, git_env):  # noqa: F811
    root = git_init(tmp_path / "packed")
    cli_ok("init", cwd=root)
    files = make_dataset(root / "data", 20, seed="packed-url")
    cli_ok("add", "data", cwd=root)
    cli_ok("remote", "add", "-d", "store", str(tmp_path / "remote"), cwd=root)
    cli_ok("push", cwd=root)
    name = sorted(files)[0]
    with pytest.raises(DvcishError, match=r"is packed in packs/[0-9a-f]{32}\.zip.*dvcish.api.open"):
        dvcish.api.get_url(f"data/{name}", repo=str(root))
    assert dvcish.api.read(f"data/{name}", repo=str(root), mode="rb") == files[name]


def test_errors_name_the_path(source):
    root = str(source.root)
    with pytest.raises(DvcishError, match="tracked folder"):
        dvcish.api.read("data", repo=root)
    with pytest.raises(DvcishError, match="is a folder"):
        dvcish.api.read("data/sub", repo=root)
    with pytest.raises(DvcishError, match="not in the tracked folder"):
        dvcish.api.read("data/zzz", repo=root)
    with pytest.raises(DvcishError, match="not tracked"):
        dvcish.api.read("README.md", repo=root)


def test_importing_the_api_is_cheap():
    code = (
        "import sys, dvcish.api; "
        "heavy = [m for m in ('yaml', 'boto3', 'xxhash', 'typer', 'sqlite3', 'dvcish.repo') "
        "if m in sys.modules]; print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
