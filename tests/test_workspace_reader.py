"""One workspace reader serves status, checkout and diff, so they agree for every link type.

The regression: with ``cache.type symlink``, ``add data; rm -rf data; checkout`` left ``status``
saying "up to date" while ``diff`` reported every file deleted (it scanned without following
the links into the cache).
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests import helpers
from tests.helpers import cli_ok, git, make_dataset, run_cli

git_repo = helpers.git_repo  # fixture

LINK_TYPES = ["copy", "reflink", "hardlink", "symlink"]


@pytest.mark.parametrize("link_type", LINK_TYPES)
def test_status_checkout_and_diff_agree_after_a_checkout(git_repo, link_type):
    cli_ok("config", "cache.type", link_type)
    files = make_dataset(git_repo / "data", 12, seed=link_type)
    cli_ok("add", "data")
    git(git_repo, "add", "-A")
    git(git_repo, "commit", "-qm", "data")
    shutil.rmtree(git_repo / "data")

    cli_ok("checkout")
    for rel, data in files.items():
        assert (git_repo / "data" / rel).read_bytes() == data
    assert "up to date" in cli_ok("status")
    assert json.loads(cli_ok("diff", "--json")) == {"added": [], "modified": [], "deleted": []}
    assert "already matches" in cli_ok("checkout")  # nothing to write: every file is known

    # a real change is seen the same way by all three
    first = sorted(files)[0]
    target = git_repo / "data" / first
    target.unlink()  # links are read-only: replace, never write through them
    target.write_bytes(b"changed")
    status = json.loads(run_cli(["status", "--json"]).stdout)
    assert status[0]["modified"] == [f"data/{first}"]
    diff = json.loads(cli_ok("diff", "--json"))
    assert [change["path"] for change in diff["modified"]] == [f"data/{first}"]
    refused = run_cli(["checkout"])
    assert refused.exit_code == 1 and f"data/{first}" in refused.stderr


@pytest.mark.parametrize("link_type", LINK_TYPES)
def test_granular_checkout_of_one_file_with_every_link_type(git_repo, link_type):
    cli_ok("config", "cache.type", link_type)
    files = make_dataset(git_repo / "data", 6, seed=f"one-{link_type}")
    cli_ok("add", "data")
    shutil.rmtree(git_repo / "data")
    cli_ok("checkout")
    name = sorted(files)[-1]
    (git_repo / "data" / name).unlink()
    cli_ok("checkout", f"data/{name}")
    assert (git_repo / "data" / name).read_bytes() == files[name]
    assert "already matches" in cli_ok("checkout", f"data/{name}")
