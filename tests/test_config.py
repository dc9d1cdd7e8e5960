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


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("core.lock_timeout", "abc", "number of seconds"),
        ("gc.grace", "-1", "non-negative"),
        ("gc.grace", "soon", "number of seconds"),
        ("core.no_scm", "maybe", "true or false"),
        ("pack.size", "big", "size"),
        ("core.remote", "nope", "no remote named 'nope'"),
    ],
)
def test_bad_values_are_refused_before_anything_is_written(git_repo, key, value, fragment):
    before = snapshot(git_repo)
    result = run_cli(["config", key, value])
    assert result.exit_code == 1, result.output
    assert_one_error(result.stderr, key, fragment)
    assert snapshot(git_repo) == before


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("jobs", "many", "'jobs' must be a positive number"),
        ("jobs", "-3", "'jobs' must be a positive number"),
        ("use_ssl", "perhaps", "'use_ssl' must be true or false"),
        ("addressing_style", "sideways", "'addressing_style' must be one of"),
        ("sse", "rot13", "'sse' must be one of"),
        ("read_timeout", "0", "'read_timeout' must be a positive number"),
        ("endpointurl", "ftp://x", "'endpointurl' must be"),
        ("packs", "sometimes", "true or false"),
    ],
)
def test_bad_remote_options_are_refused(git_repo, tmp_path, key, value, fragment):
    ok("remote", "add", "store", str(tmp_path / "remote"))
    before = snapshot(git_repo)
    for args in (
        ["remote", "modify", "store", key, value],
        ["config", f"remote.store.{key}", value],
    ):
        result = run_cli(args)
        assert result.exit_code == 1, result.output
        assert_one_error(result.stderr, "store", fragment)
    assert snapshot(git_repo) == before


def test_a_negative_value_is_a_value_not_an_option(git_repo, tmp_path):
    result = run_cli(["config", "gc.grace", "-1"])
    assert result.exit_code == 1
    assert "No such option" not in result.output
    assert_one_error(result.stderr, "gc.grace", "non-negative")
    ok("remote", "add", "store", str(tmp_path / "remote"))
    result = run_cli(["remote", "modify", "store", "read_timeout", "-2.5", "--local"])
    assert_one_error(result.stderr, "read_timeout", "positive")
    ok("config", "--local", "gc.grace", "60")  # flags still work around such values


def test_one_bad_value_does_not_lock_the_repository(git_repo, tmp_path):
    """A hand-edited bad value: commands that need it say which file and key; `config --unset`
    and `remote modify --unset` always work."""
    ok("remote", "add", "store", str(tmp_path / "remote"))
    (git_repo / ".dvcish/config.local").write_text(
        "core:\n  lock_timeout: abc\nremote:\n  store:\n    jobs: many\n"
    )
    write_files(git_repo, {"f": b"x"})
    result = run_cli(["add", "f"])
    assert_one_error(result.stderr, "core.lock_timeout", "config.local", "abc")
    ok("config", "--local", "--unset", "core.lock_timeout")
    ok("remote", "modify", "--local", "--unset", "store", "jobs")
    assert config_yaml(git_repo, "config.local") is None
    ok("add", "f")


def test_unset_names_the_file_that_holds_the_key(git_repo):
    ok("config", "--local", "core.lock_timeout", "3")
    result = run_cli(["config", "--unset", "core.lock_timeout"])
    assert_one_error(result.stderr, "not set there", "config.local")


# ----------------------------------------------------------------------------- user config


@pytest.fixture
def user_config(tmp_path, monkeypatch):
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home / "dvcish" / "config"


def test_user_config_precedence_local_over_repo_over_user(git_repo, user_config):
    ok("config", "--user", "core.lock_timeout", "7")
    assert yaml.safe_load(user_config.read_text()) == {"core": {"lock_timeout": "7"}}
    assert ok("config", "core.lock_timeout") == "7\n"
    ok("config", "core.lock_timeout", "8")
    assert ok("config", "core.lock_timeout") == "8\n"
    ok("config", "--local", "core.lock_timeout", "9")
    assert ok("config", "core.lock_timeout") == "9\n"
    origin = ok("config", "--show-origin", "core.lock_timeout")
    assert origin == f"{os.path.join('.dvcish', 'config.local')}\t9\n"
    ok("config", "--local", "--unset", "core.lock_timeout")
    ok("config", "--unset", "core.lock_timeout")
    assert ok("config", "--show-origin", "core.lock_timeout") == f"{user_config}\t7\n"


def test_user_config_works_outside_a_repository(tmp_path, user_config, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ok("config", "--user", "cache.dir", str(tmp_path / "shared"))
    assert ok("config", "--user", "-l") == f"cache.dir={tmp_path / 'shared'}\n"


def test_user_config_remote_options_apply_to_the_repo_remote(git_repo, user_config, tmp_path):
    ok("remote", "add", "-d", "store", str(tmp_path / "remote"))
    ok("config", "--user", "remote.store.jobs", "3")
    from dvcish.remotes import require_remote
    from dvcish.repo import open_repo

    settings = require_remote(open_repo(str(git_repo)).config, "store")
    assert settings == {"url": str(tmp_path / "remote"), "jobs": "3"}


def test_list_and_show_origin(git_repo, user_config, tmp_path):
    ok("config", "--user", "gc.grace", "10")
    ok("remote", "add", "-d", "store", str(tmp_path / "remote"))
    ok("remote", "modify", "--local", "store", "secret_access_key", "TOPSECRET-1234")
    ok("remote", "modify", "--local", "store", "access_key_id", "AKIA")
    listed = ok("config", "-l")
    assert listed.splitlines() == [
        "core.remote=store",
        "gc.grace=10",
        "remote.store.access_key_id=AKIA",
        "remote.store.secret_access_key=***",
        f"remote.store.url={tmp_path / 'remote'}",
    ]
    origins = ok("config", "-l", "--show-origin").splitlines()
    assert f"{user_config}\tgc.grace=10" in origins
    assert f"{os.path.join('.dvcish', 'config')}\tcore.remote=store" in origins
    local = os.path.join(".dvcish", "config.local")
    assert f"{local}\tremote.store.secret_access_key=***" in origins
    assert ok("config", "-l", "--local").splitlines() == [
        "remote.store.access_key_id=AKIA",
        "remote.store.secret_access_key=***",
    ]
    assert "TOPSECRET" not in ok("config", "-l", "--show-origin")
