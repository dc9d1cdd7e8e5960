"""Options every command shares: -q/-v before or after the command, the -v debug log, --json,
the paths rule (relative to the current folder), `| head`, and `dvcish version`/`doctor`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer

from dvcish.cli.app import hoist_global_flags
from dvcish.cli.main import app
from tests import helpers
from tests.helpers import make_dataset, run_cli, run_dvcish, write_files
from tests.test_docs import command_names

git_repo = helpers.git_repo  # fixture
ok = helpers.cli_ok


def tracked_with_remote(root, tmp_path) -> None:
    make_dataset(root / "data", 6, seed="options", per_folder=3)
    write_files(root, {"model.bin": b"weights"})
    ok("add", "data", "model.bin")
    ok("remote", "add", "-d", "store", str(tmp_path / "remote"))


# ----------------------------------------------------------------------------- -q and -v


@pytest.mark.parametrize("name", command_names(typer.main.get_command(app)))
def test_global_flags_after_every_command(name):
    """-q and -v after any command move in front of it, unless it has its own -q."""
    root = typer.main.get_command(app)
    command = root
    for part in name.split()[1:]:
        command = command.commands[part]
    own = {opt for param in command.params for opt in getattr(param, "opts", [])}
    path = name.split()[1:]
    with typer.Context(root) as ctx:
        moved = hoist_global_flags(root, ctx, [*path, "-v", "x", "-q"])
    expected_front = ["-v"] + ([] if "-q" in own else ["-q"])
    assert moved[: len(expected_front)] == expected_front
    assert moved[len(expected_front) : len(expected_front) + len(path)] == path


def test_option_values_that_look_like_flags_stay_values(git_repo):
    root = typer.main.get_command(app)
    with typer.Context(root) as ctx:
        moved = hoist_global_flags(root, ctx, ["push", "-r", "-q", "-v", "--", "-v"])
    assert moved == ["-v", "push", "-r", "-q", "--", "-v"]


def test_quiet_and_verbose_after_the_command_really_apply(git_repo, tmp_path):
    write_files(git_repo, {"f": b"x"})
    result = run_cli(["add", "f", "-q"])
    assert (result.exit_code, result.stdout) == (0, "")
    result = run_cli(["remote", "add", "store", str(tmp_path / "r"), "-q"])
    assert (result.exit_code, result.stdout) == (0, "")
    result = run_cli(["status", "-v"])
    assert result.exit_code == 0 and "debug +" in result.stderr
    (git_repo / "f").write_bytes(b"changed")
    assert run_cli(["-q", "status"]).exit_code == 1  # global -q: the same as status -q


def test_verbose_log_names_each_setting_and_its_file(git_repo, tmp_path):
    tracked_with_remote(git_repo, tmp_path)
    ok("remote", "modify", "--local", "store", "secret_access_key", "SENTINEL-8f7e6d")
    result = run_cli(["push", "-v"])
    assert result.exit_code == 0, result.output
    log = [line for line in result.stderr.splitlines() if line.startswith("debug +")]
    config = os.path.join(str(git_repo), ".dvcish", "config")
    assert any(f"config core.remote = store (from {config})" in line for line in log)
    assert any("remote.store.secret_access_key = *** (from" in line for line in log)
    assert "SENTINEL" not in result.output
    assert "finished in" in log[-1]


def test_verbose_log_lists_each_s3_request_without_secrets(git_repo, moto_server):
    settings = moto_server.new_bucket()
    write_files(git_repo, {"f": b"one", "g": b"two"})
    ok("add", "f", "g")
    ok("remote", "add", "-d", "s3", settings["url"])
    ok("remote", "modify", "s3", "endpointurl", settings["endpointurl"])
    ok("remote", "modify", "--local", "s3", "access_key_id", settings["access_key_id"])
    ok("remote", "modify", "--local", "s3", "secret_access_key", settings["secret_access_key"])
    result = run_dvcish(["push", "-v"], cwd=git_repo)
    assert result.returncode == 0, result.stderr
    assert "HEAD HeadObject store/" in result.stderr
    puts = [line for line in result.stderr.splitlines() if "PUT PutObject store/" in line]
    assert len(puts) == 2 and all("-> 200 (" in line and " ms" in line for line in puts)
    assert settings["secret_access_key"] not in result.stderr + result.stdout


def test_ls_into_head_prints_no_error(git_repo):
    make_dataset(git_repo / "data", 1500, seed="pipe", max_size=10, per_folder=300)
    ok("add", "data")
    command = f"{sys.executable} -m dvcish ls -R | head -n 1"
    done = subprocess.run(
        ["bash", "-c", command], cwd=git_repo, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 1
    assert done.stderr == ""


# ----------------------------------------------------------------------------- --json


def test_json_of_add_checkout_push_fetch_pull_fsck_gc(git_repo, tmp_path):
    make_dataset(git_repo / "data", 4, seed="json")
    added = json.loads(ok("add", "data", "--json"))
    assert added == [
        {
            "path": "data",
            "pointer": "data.dvcish",
            "gitignore": ".gitignore",
            "kind": "dir",
            "nfiles": 4,
            "size": added[0]["size"],
            "hashed": 4,
            "ignored": 0,
        }
    ]
    ok("remote", "add", "-d", "store", str(tmp_path / "remote"))
    assert json.loads(ok("push", "--json")) == {"transferred": 6, "present": 0, "failed": []}
    assert json.loads(ok("fetch", "--json")) == {"transferred": 0, "present": 6, "failed": []}
    os.remove(next((git_repo / "data").rglob("*.bin")))
    checkout = json.loads(ok("checkout", "--json"))
    assert checkout == [
        {"path": "data", "written": 1, "deleted": 0, "unchanged": 3, "missing": [], "corrupt": []}
    ]
    pulled = json.loads(ok("pull", "--json"))
    assert pulled["fetch"] == {"transferred": 0, "present": 6, "failed": []}
    assert pulled["checkout"][0]["path"] == "data"
    assert json.loads(ok("fsck", "--json")) == {
        "objects_checked": 6,  # 4 files, 2 tree levels
        "pointers_checked": 1,
        "problems": [],
    }
    gc = json.loads(ok("gc", "-w", "--json"))
    assert gc["dry"] is False and gc["objects"] == [] and gc["young"] == 0


def test_json_failures_are_records_and_the_exit_code_stays(git_repo, tmp_path):
    tracked_with_remote(git_repo, tmp_path)
    member = next(p for p in (git_repo / ".dvcish/cache").rglob("*") if p.is_file())
    os.chmod(member, 0o644)
    member.unlink()
    result = run_cli(["push", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["failed"] and set(report["failed"][0]) == {"oid", "path", "kind", "message"}
    assert report["failed"][0]["kind"] in ("not-found", "skipped")


# ----------------------------------------------------------------------------- paths


def test_paths_are_printed_relative_to_the_current_folder(git_repo, tmp_path):
    tracked_with_remote(git_repo, tmp_path)
    sub = git_repo / "work"
    sub.mkdir()
    (git_repo / "model.bin").write_bytes(b"changed")
    status = run_cli(["status"], cwd=sub).stdout
    assert "../model.bin: modified" in status
    first = sorted((git_repo / "data").rglob("*.bin"))[0]
    first.write_bytes(b"edited")
    rel = first.relative_to(git_repo).as_posix()
    status = json.loads(run_cli(["status", "--json", "../data"], cwd=sub).stdout)
    assert status[0]["path"] == "../data" and status[0]["modified"] == [f"../{rel}"]
    refused = run_cli(["checkout"], cwd=sub)
    assert refused.exit_code == 1 and f"../{rel}" in refused.stderr
    write_files(sub, {"new.bin": b"new"})
    added = run_cli(["add", "new.bin"], cwd=sub)
    assert "Added new.bin" in added.stdout and "git add new.bin.dvcish .gitignore" in added.stdout
    helpers.git(git_repo, "add", "-A")
    helpers.git(git_repo, "commit", "-q", "-m", "v1")
    second = sorted((git_repo / "data").rglob("*.bin"))[1]
    second.write_bytes(b"edited too")
    diff = json.loads(run_cli(["diff", "--json"], cwd=git_repo / "data").stdout)
    modified = [change["path"] for change in diff["modified"]]
    assert second.relative_to(git_repo / "data").as_posix() in modified
    assert "../model.bin" in modified


# ----------------------------------------------------------------------------- version


def test_version_reports_versions_cache_and_remotes_without_secrets(git_repo, tmp_path):
    ok("remote", "add", "-d", "good", str(tmp_path / "good"))
    (tmp_path / "good").mkdir()
    ok("remote", "add", "gone", str(tmp_path / "gone"))
    ok("remote", "modify", "--local", "gone", "secret_access_key", "SENTINEL-secret-77")
    report = json.loads(ok("version", "--json"))
    assert report["dvcish"] and report["python"] and report["platform"]
    assert set(report["dependencies"]) >= {"typer", "boto3", "xxhash", "PyYAML", "tqdm"}
    assert report["repository"] == str(git_repo)
    cache = report["cache"]
    assert cache["link_types"] == ["reflink", "copy"] and "copy" in cache["links_that_work"]
    assert cache["filesystem"] and cache["workspace_filesystem"]
    remotes = {remote["name"]: remote for remote in report["remotes"]}
    assert remotes["good"]["reachable"] is True and remotes["good"]["default"] is True
    assert remotes["gone"]["reachable"] is False and "does not exist" in remotes["gone"]["problem"]
    text = ok("doctor")
    assert "SENTINEL" not in text + json.dumps(report)
    assert "good" in text and "reachable" in text and "NOT reachable" in text
    assert not [p for p in (git_repo / ".dvcish").rglob(".tmp-*")]  # probes leave nothing


def test_version_outside_a_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = json.loads(ok("version", "--json"))
    assert report["repository"] is None and report["remotes"] == []
