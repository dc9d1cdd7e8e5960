"""Shell completion for bash, zsh and fish: the scripts dvcish prints, and the answers they get.

bash is run for real (the script is sourced and its completion function called). zsh and fish
are not on a bare CI machine, so their scripts are checked for the call they make, and that call
is made the way the scripts make it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli_ok, git_repo  # noqa: F401 - fixture

BIN = Path(sys.executable).parent


def completion_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("_DVCISH")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def dvcish(env: dict[str, str], cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(BIN / "dvcish")], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def bash_complete(words: list[str], cwd: Path) -> list[str]:
    """Source the bash script dvcish prints and ask its function to complete ``words``."""
    script = dvcish(completion_env(_DVCISH_COMPLETE="source_bash"))
    quoted = " ".join(f"'{word}'" for word in words)
    program = (
        f"{script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
        '_dvcish_completion dvcish; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(
        ["bash", "--norc", "-c", program],
        env=completion_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completes_commands_options_and_remote_names(git_repo):  # noqa: F811
    assert bash_complete(["dvcish", "pu"], git_repo) == ["push", "pull"]
    assert "--remote" in bash_complete(["dvcish", "push", "--re"], git_repo)
    cli_ok("remote", "add", "storage", str(git_repo.parent / "store"))
    cli_ok("remote", "add", "backup", str(git_repo.parent / "backup"))
    assert sorted(bash_complete(["dvcish", "push", "-r", ""], git_repo)) == ["backup", "storage"]
    assert bash_complete(["dvcish", "pull", "--remote", "st"], git_repo) == ["storage"]
    assert bash_complete(["dvcish", "remote", "mo"], git_repo) == ["modify"]


def test_remote_names_outside_a_repository_complete_to_nothing(tmp_path):
    assert bash_complete(["dvcish", "fetch", "-r", ""], tmp_path) == []


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_ask_dvcish_for_completions(shell, git_repo):  # noqa: F811
    script = dvcish(completion_env(_DVCISH_COMPLETE=f"source_{shell}"))
    assert f"_DVCISH_COMPLETE=complete_{shell}" in script
    assert "_TYPER_COMPLETE_ARGS" in script
    asked = completion_env(
        _DVCISH_COMPLETE=f"complete_{shell}",
        _TYPER_COMPLETE_ARGS="dvcish pu",
        _TYPER_COMPLETE_FISH_ACTION="get-args",  # what the fish script sets; zsh ignores it
    )
    answer = dvcish(asked, cwd=git_repo)
    assert "push" in answer and "pull" in answer and "status" not in answer
    assert "Upload what the pointers need" in answer  # with each command's help line


def test_help_offers_install_and_show_completion():
    out = cli_ok("--help")
    assert "--install-completion" in out and "--show-completion" in out
