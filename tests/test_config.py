"""``dvcish config`` and the settings it controls: cache.type and cache.dir."""

from __future__ import annotations

import os
import shutil
import stat

import pytest
import xxhash
import yaml

from dvcish.pointer import load_pointer
from tests import helpers
from tests.helpers import (
    assert_one_error,
    git,
    make_dataset,
    object_path,
    read_tree,
    run_cli,
    snapshot,
    write_files,
)

git_repo = helpers.git_repo  # fixture


ok = helpers.cli_ok


def config_yaml(root, name: str = "config"):
    return yaml.safe_load((root / ".dvcish" / name).read_text())


# ----------------------------------------------------------------------------- the command


def test_set_get_unset(git_repo):
    result = run_cli(["config", "cache.type"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "cache.type", "not set")

    ok("config", "cache.type", "hardlink,copy")
    assert config_yaml(git_repo) == {"cache": {"type": ["hardlink", "copy"]}}
    assert ok("config", "cache.type") == "hardlink,copy\n"

    ok("config", "--unset", "cache.type")
    assert config_yaml(git_repo) is None  # an empty file
    assert run_cli(["config", "cache.type"]).exit_code == 1


def test_local_overrides_project(git_repo):
    ok("config", "core.lock_timeout", "5")
    ok("config", "--local", "core.lock_timeout", "0.5")
    assert config_yaml(git_repo) == {"core": {"lock_timeout": "5"}}
    assert config_yaml(git_repo, "config.local") == {"core": {"lock_timeout": "0.5"}}
    assert ok("config", "core.lock_timeout") == "0.5\n"
    ok("config", "--local", "--unset", "core.lock_timeout")
    assert ok("config", "core.lock_timeout") == "5\n"


def test_config_local_is_git_ignored(git_repo):
    ok("config", "--local", "cache.type", "copy")
    assert git(git_repo, "check-ignore", ".dvcish/config.local") == ".dvcish/config.local"
    untracked = git(git_repo, "status", "--porcelain", "--untracked-files=all")
    assert "config.local" not in untracked


@pytest.mark.parametrize(
    "args",
    [
        ["config", "no.such.key", "1"],
        ["config", "cache", "x"],
        ["config", "cache.", "x"],
        ["config", "--unset", "cache.type", "copy"],
        ["config"],
    ],
)
def test_usage_errors_exit_2_and_change_nothing(git_repo, args):
    before = snapshot(git_repo)
    result = run_cli(args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert snapshot(git_repo) == before


@pytest.mark.parametrize("value", ["teleport", "copy,teleport", ""])
def test_unknown_link_type_refused(git_repo, value):
    before = snapshot(git_repo)
    result = run_cli(["config", "cache.type", value])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "cache.type")
    assert snapshot(git_repo) == before


def test_unset_of_a_key_that_is_not_set(git_repo):
    result = run_cli(["config", "--unset", "cache.dir"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "cache.dir", "not set")


def test_broken_config_file_named(git_repo):
    (git_repo / ".dvcish/config").write_text("cache: [unclosed\n")
    result = run_cli(["status"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, ".dvcish/config", "YAML")


def test_hand_edited_bad_link_type_named(git_repo):
    (git_repo / ".dvcish/config").write_text("cache:\n  type: [warp]\n")
    write_files(git_repo, {"f": b"x"})
    result = run_cli(["add", "f"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "cache.type", "warp")
    assert not (git_repo / "f.dvcish").exists()


# ----------------------------------------------------------------------------- cache.type


def test_default_is_reflink_then_copy(git_repo):
    write_files(git_repo, {"f": b"data"})
    ok("add", "f")
    (git_repo / "f").unlink()
    ok("checkout")
    st = os.lstat(git_repo / "f")
    obj = object_path(git_repo, xxhash.xxh3_128_hexdigest(b"data"))
    assert stat.S_ISREG(st.st_mode)
    assert st.st_ino != os.stat(obj).st_ino
    assert st.st_mode & stat.S_IWUSR  # a copy (or clone) is the user's to edit
    assert (git_repo / "f").read_bytes() == b"data"


def test_copy(git_repo):
    ok("config", "cache.type", "copy")
    files = make_dataset(git_repo / "data", 5, seed="copy")
    ok("add", "data")
    shutil.rmtree(git_repo / "data")
    ok("checkout")
    assert read_tree(git_repo / "data") == files
    for rel in files:
        assert os.stat(git_repo / "data" / rel).st_nlink == 1


def test_hardlink_checkout_is_read_only_and_shares_the_object(git_repo):
    ok("config", "cache.type", "hardlink,copy")
    files = make_dataset(git_repo / "data", 6, seed="hard")
    executable = sorted(files)[0]
    os.chmod(git_repo / "data" / executable, 0o755)
    ok("add", "data")
    shutil.rmtree(git_repo / "data")
    ok("checkout")
    assert read_tree(git_repo / "data") == files
    for rel, data in files.items():
        path = git_repo / "data" / rel
        st = os.stat(path)
        assert st.st_mode & stat.S_IXUSR == (stat.S_IXUSR if rel == executable else 0)
        if rel == executable:
            continue  # a link shares the object's mode: executables are copied
        assert st.st_ino == os.stat(object_path(git_repo, xxhash.xxh3_128_hexdigest(data))).st_ino
        assert st.st_mode & 0o222 == 0, rel
    assert run_cli(["status", "-q"]).exit_code == 0
    assert ok("checkout") == "Workspace already matches the pointers.\n"


def test_hardlink_add_leaves_workspace_file_read_only(git_repo):
    ok("config", "cache.type", "hardlink")
    write_files(git_repo, {"f": b"linked"})
    ok("add", "f")
    obj = object_path(git_repo, xxhash.xxh3_128_hexdigest(b"linked"))
    assert os.stat(git_repo / "f").st_ino == os.stat(obj).st_ino
    assert os.stat(git_repo / "f").st_mode & 0o222 == 0
    assert obj.read_bytes() == b"linked"


def test_symlinked_folder_is_up_to_date_afterwards(git_repo):
    ok("config", "cache.type", "symlink,copy")
    files = make_dataset(git_repo / "data", 4, seed="sym2")
    ok("add", "data")
    shutil.rmtree(git_repo / "data")
    ok("checkout")
    assert run_cli(["status", "-q"]).exit_code == 0
    assert ok("checkout") == "Workspace already matches the pointers.\n"
    pointer = (git_repo / "data.dvcish").read_bytes()
    ok("add", "data")  # re-adding the links records the same data
    assert (git_repo / "data.dvcish").read_bytes() == pointer
    assert load_pointer(str(git_repo / "data.dvcish")).nfiles == len(files)


def test_symlinked_file_is_up_to_date_afterwards(git_repo):
    ok("config", "cache.type", "symlink,copy")
    write_files(git_repo, {"f": b"single"})
    ok("add", "f")
    (git_repo / "f").unlink()
    ok("checkout")
    assert os.path.islink(git_repo / "f")
    assert run_cli(["status", "-q"]).exit_code == 0
    assert ok("checkout") == "Workspace already matches the pointers.\n"


# ----------------------------------------------------------------------------- cache.dir


def test_cache_dir_outside_the_repo(git_repo, tmp_path):
    shared = tmp_path / "shared-cache"
    ok("config", "cache.dir", str(shared))
    write_files(git_repo, {"f": b"elsewhere"})
    ok("add", "f")
    oid = xxhash.xxh3_128_hexdigest(b"elsewhere")
    assert (shared / oid[:2] / oid[2:]).read_bytes() == b"elsewhere"
    assert not object_path(git_repo, oid).exists()
    (git_repo / "f").unlink()
    ok("checkout")
    assert (git_repo / "f").read_bytes() == b"elsewhere"


def test_cache_dir_relative_to_the_dvcish_folder(git_repo):
    ok("config", "cache.dir", "../my-cache")
    write_files(git_repo, {"f": b"relative"})
    ok("add", "f")
    oid = xxhash.xxh3_128_hexdigest(b"relative")
    assert (git_repo / "my-cache" / oid[:2] / oid[2:]).read_bytes() == b"relative"
