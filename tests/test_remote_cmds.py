"""``dvcish remote``: rename, add -f, default (print, --unset), url checks, list order."""

from __future__ import annotations

import pytest
import yaml

from tests import helpers
from tests.helpers import assert_one_error, run_cli, snapshot, write_files

git_repo = helpers.git_repo  # fixture
ok = helpers.cli_ok


def config_of(root, name: str = "config"):
    return yaml.safe_load((root / ".dvcish" / name).read_text()) or {}


def test_rename_moves_the_remote_and_the_default_in_both_files(git_repo, tmp_path):
    ok("remote", "add", "-d", "store", str(tmp_path / "r"))
    ok("remote", "modify", "--local", "store", "jobs", "4")
    ok("config", "--local", "core.remote", "store")
    assert ok("remote", "rename", "store", "nas") == "Renamed remote 'store' to 'nas'\n"
    assert config_of(git_repo) == {
        "core": {"remote": "nas"},
        "remote": {"nas": {"url": str(tmp_path / "r")}},
    }
    assert config_of(git_repo, "config.local") == {
        "core": {"remote": "nas"},
        "remote": {"nas": {"jobs": "4"}},
    }
    assert ok("remote", "default") == "nas\n"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["remote", "rename", "nope", "x"], "unknown remote 'nope'"),
        (["remote", "rename", "a", "b"], "'b' already exists"),
        (["remote", "rename", "a", "bad/name"], "bad remote name"),
    ],
)
def test_rename_refusals_change_nothing(git_repo, tmp_path, args, fragment):
    ok("remote", "add", "a", str(tmp_path / "a"))
    ok("remote", "add", "b", str(tmp_path / "b"))
    before = snapshot(git_repo)
    result = run_cli(args)
    assert result.exit_code in (1, 2)
    assert_one_error(result.stderr, fragment)
    assert snapshot(git_repo) == before


def test_add_force_replaces_the_remote(git_repo, tmp_path):
    ok("remote", "add", "store", str(tmp_path / "old"))
    ok("remote", "modify", "store", "jobs", "2")
    refused = run_cli(["remote", "add", "store", str(tmp_path / "new")])
    assert_one_error(refused.stderr, "already exists", "-f")
    ok("remote", "add", "-f", "-d", "store", str(tmp_path / "new"))
    assert config_of(git_repo) == {
        "core": {"remote": "store"},
        "remote": {"store": {"url": str(tmp_path / "new")}},
    }


def test_default_prints_unsets_and_explains_when_there_is_none(git_repo, tmp_path):
    result = run_cli(["remote", "default"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "no remote is configured", "dvcish remote add -d")
    ok("remote", "add", "store", str(tmp_path / "r"))
    result = run_cli(["remote", "default"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "no default remote", "store", "dvcish remote default NAME")
    ok("remote", "default", "store")
    assert ok("remote", "default") == "store\n"
    ok("remote", "default", "--unset")
    assert "core" not in config_of(git_repo)
    result = run_cli(["remote", "default", "--unset"])
    assert_one_error(result.stderr, "no default remote is set there")


@pytest.mark.parametrize(
    "url", ["s3:/bucket/prefix", "s3:bucket", "s3:/bucket", "file:/tmp/x", "https:/host/x"]
)
def test_a_mistyped_scheme_is_refused(git_repo, url):
    before = snapshot(git_repo)
    result = run_cli(["remote", "add", "store", url])
    assert result.exit_code == 2
    assert_one_error(result.stderr, url, "mistyped scheme")
    assert snapshot(git_repo) == before


@pytest.mark.parametrize("url", ["inside", "./data/remote", "."])
def test_a_folder_inside_the_repository_is_refused(git_repo, url):
    before = snapshot(git_repo)
    result = run_cli(["remote", "add", "store", url])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "inside the repository")
    assert snapshot(git_repo) == before


def test_a_hand_written_remote_inside_the_repository_is_refused_when_used(git_repo):
    (git_repo / ".dvcish/config").write_text("core:\n  remote: r\nremote:\n  r:\n    url: 's3:'\n")
    write_files(git_repo, {"f": b"x"})
    ok("add", "f")
    result = run_cli(["push"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "inside the repository")
    assert not (git_repo / "s3:").exists()


def test_list_is_sorted_by_name_with_the_default_marked(git_repo, tmp_path):
    ok("remote", "add", "zeta", str(tmp_path / "z"))
    ok("remote", "add", "-d", "alpha", str(tmp_path / "a"))
    ok("remote", "add", "--local", "mid", str(tmp_path / "m"))
    assert ok("remote", "list").splitlines() == [
        f"* alpha\t{tmp_path / 'a'}",
        f"  mid\t{tmp_path / 'm'}",
        f"  zeta\t{tmp_path / 'z'}",
    ]
