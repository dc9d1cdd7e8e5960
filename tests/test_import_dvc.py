"""``dvcish import-dvc`` on a real DVC project made by DVC 3.x (benchmarks/.venv-dvc, created
by ``make test`` or here on first use): data from the workspace and from DVC's cache (3.x and
2.x layouts), data found nowhere named, changes kept, corrupt DVC objects refused."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from benchmarks.dvc_venv import DvcInstallError, dvc_env, ensure_dvc_venv
from tests.helpers import cli_ok, git, git_env, run_cli, snapshot  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / "benchmarks" / ".venv-dvc"
DATA = {
    "data/a.csv": b"id,value\n1,2\n",
    "data/sub/notes.txt": b"line one\r\nline two\r\n",  # CRLF: DVC 2 hashed it as LF
    "data/sub/blob.bin": bytes(range(256)) * 40,
    "model.bin": b"\x00weights" * 100,
    "results/r.json": b'{"acc": 0.9}',
}


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.fixture(scope="session")
def dvc_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repo where DVC 3.x ran `dvc init` and `dvc add data model.bin results`."""
    try:
        dvc = ensure_dvc_venv(VENV, ROOT / "benchmarks" / ".venv-dvc-install.log")
    except DvcInstallError as exc:
        pytest.fail(f"DVC 3.x could not be installed into {VENV}, so import-dvc is untested: {exc}")
    root = tmp_path_factory.mktemp("dvc") / "project"
    env = {**os.environ, **dvc_env(tmp_path_factory.mktemp("dvc-config"))}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t")
    env["GIT_COMMITTER_EMAIL"] = "t@t"

    def run(*args: str) -> None:
        done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"

    root.mkdir()
    run("git", "-c", "init.defaultBranch=main", "init", "-q")
    for rel, data in DATA.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    run(str(dvc), "init", "-q")
    run(str(dvc), "add", "-q", "data", "model.bin", "results")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "data with DVC")
    return root


@pytest.fixture
def project(dvc_project: Path, tmp_path: Path, git_env, monkeypatch) -> Path:  # noqa: F811
    """A copy of the DVC project with `dvcish init` done; the cwd is its root."""
    root = tmp_path / "project"
    shutil.copytree(dvc_project, root, symlinks=True)
    monkeypatch.chdir(root)
    cli_ok("init")
    return root


def dvc_cache_object(root: Path, digest: str) -> Path:
    return root / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]


def workspace(root: Path) -> dict[str, bytes]:
    return {rel: (root / rel).read_bytes() for rel in DATA if (root / rel).is_file()}


def test_the_project_is_dvc_3(dvc_project):
    text = (dvc_project / "data.dvc").read_text()
    assert "hash: md5" in text and ".dir" in text
    assert dvc_cache_object(dvc_project, md5(DATA["model.bin"])).is_file()


def test_dry_shows_the_plan_and_changes_nothing(project):
    before = snapshot(project)
    out = cli_ok("import-dvc", "--dry")
    assert "data.dvc: data: would convert 3 files from the workspace" in out
    assert "model.bin.dvc: model.bin: would convert from the workspace" in out
    assert "Would convert 3 of 3 DVC outs." in out
    assert snapshot(project) == before


def test_converts_from_workspace_and_cache_and_names_what_is_nowhere(project):
    shutil.rmtree(project / "data")  # only in DVC's cache now
    shutil.rmtree(project / "results")
    dvc_cache_object(project, md5(DATA["results/r.json"])).unlink()  # in neither place
    result = run_cli(["import-dvc"])
    assert result.exit_code == 1
    out = result.stdout
    assert "data.dvc: data: converted 3 files from DVC's cache" in out
    assert "checked the data out into the workspace" in out
    assert "model.bin.dvc: model.bin: converted from the workspace" in out
    assert result.stderr.strip() == (
        "error: results.dvc: results: 1 of 1 file in neither the workspace nor DVC's cache "
        "(r.json); not converted; run `dvc pull results.dvc` first"
    )
    assert "Converted 2 of 3 DVC outs." in out
    assert "git add data.dvcish model.bin.dvcish" in out
    assert "git rm -q data.dvc model.bin.dvc" in out  # results.dvc stays: not converted
    expected = {rel: data for rel, data in DATA.items() if not rel.startswith("results")}
    assert workspace(project) == expected
    assert not (project / "results.dvcish").exists()
    assert (project / "data.dvc").exists()  # left for the user to git rm
    status = run_cli(["status"]).stdout
    assert "Data and pointers are up to date." in status
    assert ".gitignore" not in git(project, "status", "--porcelain")  # DVC's lines serve
    listing = cli_ok("ls", "data", "-R")
    assert "data/sub/notes.txt" in listing and "data/sub/blob.bin" in listing


def test_again_converts_nothing_twice(project):
    cli_ok("import-dvc")
    out = cli_ok("import-dvc")
    assert "data.dvc: data: already converted (data.dvcish exists)" in out
    assert "Converted 0 of 3 DVC outs." in out


def test_workspace_changes_dvc_had_not_recorded_are_kept(project):
    (project / "data/a.csv").write_bytes(b"edited after dvc add\n")
    out = cli_ok("import-dvc")
    assert "data: converted 2 files from the workspace and 1 file from DVC's cache" in out
    assert "changes DVC had not recorded: kept" in out
    assert (project / "data/a.csv").read_bytes() == b"edited after dvc add\n"
    status = run_cli(["status"]).stdout
    assert "data: modified" in status and "modified: data/a.csv" in status
    cli_ok("checkout", "--force", "data")
    assert (project / "data/a.csv").read_bytes() == DATA["data/a.csv"]


def test_a_corrupt_dvc_cache_object_is_not_used(project):
    (project / "model.bin").unlink()
    obj = dvc_cache_object(project, md5(DATA["model.bin"]))
    os.chmod(obj, 0o644)
    obj.write_bytes(b"\x00weightz" * 100)  # same size, one byte off per block
    result = run_cli(["import-dvc"])
    assert result.exit_code == 1
    assert "model.bin.dvc: model.bin: 1 of 1 file in neither" in result.stderr
    assert not (project / "model.bin.dvcish").exists() and not (project / "model.bin").exists()


def test_a_folder_whose_listing_left_dvc_cache_converts_from_a_matching_workspace(project):
    digest = (project / "data.dvc").read_text().split("md5: ")[1].split()[0]
    dvc_cache_object(project, digest).unlink()  # DVC's listing is gone; the files are here
    out = cli_ok("import-dvc")
    assert "data.dvc: data: converted 3 files from the workspace" in out
    (project / "data/a.csv").write_bytes(b"changed")
    os.unlink(project / "data.dvcish")
    result = run_cli(["import-dvc"])
    assert result.exit_code == 1
    assert "lacks the folder listing" in result.stderr  # and the workspace no longer matches


def test_dvc_symlinks_into_its_cache_are_replaced_by_files(project):
    for rel in ("data/a.csv", "model.bin"):  # what DVC's cache.type symlink leaves
        os.unlink(project / rel)
        os.symlink(dvc_cache_object(project, md5(DATA[rel])), project / rel)
    cli_ok("import-dvc")
    for rel in ("data/a.csv", "model.bin"):
        assert stat.S_ISREG(os.lstat(project / rel).st_mode)
        assert (project / rel).read_bytes() == DATA[rel]
    assert "up to date" in cli_ok("status")


def test_dvc_2_cache_layout_and_its_crlf_hashing(project):
    """Rewrite the project as DVC 2 left it: objects at cache/ab/cdef, text hashed with LF."""
    make_dvc2(project)
    shutil.rmtree(project / "data")
    (project / "model.bin").unlink()
    out = cli_ok("import-dvc")
    assert "data.dvc: data: converted 3 files from DVC's cache" in out
    assert "model.bin.dvc: model.bin: converted from DVC's cache" in out
    assert workspace(project) == DATA  # the CRLF bytes came back as they were


def make_dvc2(root: Path) -> None:
    cache = root / ".dvc" / "cache"
    legacy: dict[str, str] = {}  # rel -> DVC 2 md5
    for rel, data in DATA.items():
        text = b"\x00" not in data[:512]
        legacy[rel] = md5(data.replace(b"\r\n", b"\n") if text else data)
        place(cache, legacy[rel], data)
    listing = [
        {"md5": legacy[rel], "relpath": rel.removeprefix("data/")}
        for rel in sorted(DATA)
        if rel.startswith("data/")
    ]
    listing_bytes = json.dumps(listing, sort_keys=True).encode()
    place(cache, md5(listing_bytes) + ".dir", listing_bytes)
    shutil.rmtree(cache / "files")
    (root / "data.dvc").write_text(f"outs:\n- md5: {md5(listing_bytes)}.dir\n  path: data\n")
    (root / "model.bin.dvc").write_text(f"outs:\n- md5: {legacy['model.bin']}\n  path: model.bin\n")


def place(cache: Path, digest: str, data: bytes) -> None:
    path = cache / digest[:2] / digest[2:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_outside_a_dvc_project_is_one_error(git_env, tmp_path, monkeypatch):  # noqa: F811
    root = tmp_path / "plain"
    git(tmp_path, "-c", "init.defaultBranch=main", "init", "-q", str(root))
    monkeypatch.chdir(root)
    cli_ok("init")
    result = run_cli(["import-dvc"])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {root}: no DVC project here (no .dvc/ folder)"
