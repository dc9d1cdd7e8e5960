"""The docs say what the code does: every command is documented with help text and an example,
and every ``sh`` example in README.md and docs/ runs.

Each ``sh`` block runs as one real ``bash -e`` script with the installed ``dvcish`` on PATH, in
a copy of a sandbox (below) holding every name the examples use. S3 examples run offline against
the moto server (``AWS_ENDPOINT_URL_S3``); examples that need the network or install packages
are skipped line by line, each with its reason in ``SKIPPED``. Placeholders are replaced as
``SUBSTITUTED`` says. A block runs in the ``project`` folder unless ``FOLDER`` names another.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from benchmarks.dvc_venv import DvcInstallError, dvc_env, ensure_dvc_venv
from dvcish.cli.main import app
from tests.helpers import git, git_init, make_dataset, run_cli, write_files

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "cli.md"
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
S3_BUCKETS = ("my-bucket", "ml-datasets", "datasets")
_COMMENT = re.compile(r"\s+#\s.*$")  # a trailing "  # comment" (never inside the examples' quotes)

# Lines that cannot run offline, with the reason (a stale entry fails the test).
SKIPPED = {
    "git clone https://example.com/project.git && cd project && dvcish pull": (
        "clones a placeholder URL over the network (the README quickstart runs the same steps)"
    ),
    "dvcish get https://github.com/org/datasets.git images --rev v2 -o images-v2": (
        "clones from github.com (`dvcish import ../datasets` runs the same path offline)"
    ),
    "dvcish ls https://github.com/org/datasets.git images --rev v2 --json": (
        "clones from github.com (`dvcish ls ../datasets` runs offline)"
    ),
    "make demo": "builds a virtualenv and installs packages",
    "make test": "runs this very suite",
    "pip install .": "installs packages",
    'pip install "git+https://github.com/org/dvcish.git"': "installs packages over the network",
}
# Placeholders in examples -> what runs instead.
SUBSTITUTED = {
    "git clone <repo> && cd <repo> && dvcish pull": (
        "cd .. && git clone -q fresh teammate && cd teammate && dvcish pull"
    ),
}
# Blocks (named by their first line) that start somewhere else than the ``project`` folder:
# ``untracked`` (git + dvcish init, data not added, no remote) or ``fresh`` (data, no git).
FOLDER = {
    "git init && dvcish init": "fresh",
    "dvcish add data models/model.pt": "untracked",
    "dvcish remote add -d storage s3://my-bucket/datasets": "untracked",
    "dvcish remote add -d storage s3://ml-datasets/project-x": "untracked",
    "dvcish move data/raw archive/raw-2024": "untracked",
    "dvcish remove --data old-results": "untracked",
    "cd my-project": ".",
    "dvcish init && dvcish import-dvc --dry && dvcish import-dvc": "my-project",
}
# Commands a block relies on that an earlier example of the same page ran.
PRELUDE = {
    "dvcish update images --rev v2 && git add images.dvcish": (
        "dvcish import ../datasets images --rev v1 && git add images.dvcish .gitignore"
    ),
    "dvcish move data/raw archive/raw-2024": (
        "mkdir -p data/raw archive && printf raw > data/raw/a.bin && dvcish add -q data/raw"
        " && git add -A && git commit -qm raw"
    ),
    "dvcish remove --data old-results": (
        "mkdir old-results && printf old > old-results/a.bin && dvcish add -q old-results"
        " && git add -A && git commit -qm old"
    ),
    "_DVCISH_COMPLETE=source_zsh dvcish > ~/.zfunc/_dvcish": "mkdir -p ~/.zfunc",
    "_DVCISH_COMPLETE=source_fish dvcish > ~/.config/fish/completions/dvcish.fish": (
        "mkdir -p ~/.config/fish/completions"
    ),
}


# ----------------------------------------------------------------------------- commands


def command_names(group, prefix: str = "dvcish") -> list[str]:
    names = []
    for name, command in group.commands.items():
        full = f"{prefix} {name}"
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            names.extend(command_names(command, full))
        else:
            names.append(full)
    return names


def test_every_command_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    names = command_names(typer.main.get_command(app))
    assert "dvcish add" in names and "dvcish remote add" in names
    undocumented = [name for name in names if f"## `{name}`" not in text]
    assert undocumented == []


def test_every_command_has_help_with_an_example():
    names = command_names(typer.main.get_command(app))
    root = typer.main.get_command(app)
    missing = []
    for name in names:
        command = root
        for part in name.split()[1:]:
            command = command.commands[part]
        if "Example:" not in (command.help or ""):
            missing.append(name)
    assert missing == []


# ----------------------------------------------------------------------------- examples


@dataclass(frozen=True)
class Block:
    where: str  # file:line
    lines: tuple[str, ...]  # without trailing comments

    def folder(self) -> str:
        return FOLDER.get(self.lines[0], "project") if self.lines else "project"

    def script(self) -> str:
        body = []
        for line in self.lines:
            if line in PRELUDE:
                body.append(PRELUDE[line])
            if line in SKIPPED:
                body.append(f": skipped {shlex.quote(line)}")
            else:
                body.append(SUBSTITUTED.get(line, line))
        return "set -e -o pipefail\n" + "\n".join(body) + "\n"


def sh_blocks() -> list[Block]:
    blocks = []
    for path in DOC_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        start = None
        for number, line in enumerate(lines, start=1):
            stripped = line.strip()
            if start is None and stripped == "```sh":
                start, body = number, []
            elif start is not None and stripped == "```":
                blocks.append(Block(f"{path.relative_to(ROOT)}:{start}", tuple(body)))
                start = None
            elif start is not None and stripped and not stripped.startswith("#"):
                body.append(_COMMENT.sub("", stripped))
    return blocks


BLOCKS = sh_blocks()


def runnable_commands() -> set[str]:
    """Every ``dvcish ...`` command path that some example runs (skipped lines excluded)."""
    root = typer.main.get_command(app)
    found = set()
    for block in BLOCKS:
        for line in block.lines:
            if line in SKIPPED:
                continue
            for part in re.split(r"&&|\|\||;|\|", SUBSTITUTED.get(line, line)):
                words = shlex.split(part, comments=True)
                if not words or words[0] != "dvcish":
                    continue
                command, path = root, ["dvcish"]
                for word in words[1:]:
                    if word.startswith("-"):
                        continue  # global options may come first
                    if not hasattr(command, "commands") or word not in command.commands:
                        break
                    command = command.commands[word]
                    path.append(word)
                found.add(" ".join(path))
    return found


def test_every_command_has_an_example_that_runs():
    names = command_names(typer.main.get_command(app))
    assert sorted(set(names) - runnable_commands()) == []


def test_every_skip_and_substitution_names_a_line_of_the_docs():
    lines = {line for block in BLOCKS for line in block.lines}
    for table in (SKIPPED, SUBSTITUTED, FOLDER, PRELUDE):
        assert sorted(set(table) - lines) == []


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory, moto_server) -> Path:
    """Built once per test process: ``project`` (data committed at tags v1/v1.0 and v2, pushed
    to the folder remote ``storage``; remotes ``backup`` and ``old-storage``), ``datasets``
    (another dvcish repo: ``images`` at v1 and v2), ``untracked`` and ``fresh``."""
    base = tmp_path_factory.mktemp("docs-sandbox")
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, base)
        for bucket in S3_BUCKETS:
            moto_server.client.create_bucket(Bucket=bucket)
        _make_datasets(base / "datasets")
        _make_project(base / "project")
        _make_untracked(base / "untracked")
        make_dataset(base / "fresh" / "data", 6, seed="fresh")
        _make_dvc_project(base / "my-project", tmp_path_factory.mktemp("dvc-config"))
        (base / "home").mkdir()
    return base


def _make_dvc_project(root: Path, config: Path) -> None:
    """``my-project``: a git repo where DVC 3.x added ``data/`` and ``model.pt`` (the examples
    of docs/migrating.md and `import-dvc` convert it)."""
    try:
        dvc = ensure_dvc_venv(
            ROOT / "benchmarks" / ".venv-dvc", ROOT / "benchmarks" / ".venv-dvc.log"
        )
    except DvcInstallError as exc:
        pytest.fail(f"DVC 3.x could not be installed, so the migration docs are untested: {exc}")
    git_init(root)
    write_files(root, {"data/a.csv": b"id\n1\n", "data/b.csv": b"id\n2\n", "model.pt": b"w"})
    env = {**os.environ, **dvc_env(config)}
    for args in ([str(dvc), "init", "-q"], [str(dvc), "add", "-q", "data", "model.pt"]):
        subprocess.run(args, cwd=root, env=env, check=True, capture_output=True)
    _commit_all(root, "data with DVC")


def _isolate(mp: pytest.MonkeyPatch, base: Path) -> None:
    for who in ("AUTHOR", "COMMITTER"):
        mp.setenv(f"GIT_{who}_NAME", "Docs")
        mp.setenv(f"GIT_{who}_EMAIL", "docs@example.com")
    mp.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
    mp.setenv("XDG_CONFIG_HOME", str(base / "xdg"))
    mp.delenv("DVCISH_CACHE_DIR", raising=False)


def _cli(cwd: Path, *args: str) -> None:
    result = run_cli(list(args), cwd=cwd)
    assert result.exit_code == 0, f"{args}: {result.output}"


def _commit_all(root: Path, message: str, *tags: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    for tag in tags:
        git(root, "tag", tag)


def _make_datasets(root: Path) -> None:
    git_init(root)
    _cli(root, "init")
    _cli(root, "remote", "add", "-d", "storage", "../datasets-storage")
    write_files(root / "images", {"a.png": b"a", "b.png": b"b"})
    _cli(root, "add", "images")
    _commit_all(root, "images v1", "v1")
    write_files(root / "images", {"c.png": b"c"})
    _cli(root, "add", "images")
    _commit_all(root, "images v2", "v2")
    _cli(root, "push", "--all-tags")


def _project_files(root: Path) -> None:
    write_files(
        root,
        {
            "data/images/cat001.jpg": b"cat",
            "data/images/dog001.jpg": b"dog",
            "data/labels.csv": b"name,label\ncat001,cat\n",
            "models/model.pt": b"weights v1",
        },
    )


def _make_project(root: Path) -> None:
    git_init(root)
    _cli(root, "init")
    for name in ("storage", "backup", "old-storage"):
        _cli(root, "remote", "add", name, f"../{name}")
    _cli(root, "remote", "default", "storage")
    _project_files(root)
    _cli(root, "add", "data", "models/model.pt")
    _commit_all(root, "data v1", "v1", "v1.0")
    write_files(root, {"data/images/cat002.jpg": b"another cat", "models/model.pt": b"v2"})
    _cli(root, "add", "data", "models/model.pt")
    _commit_all(root, "data v2", "v2")
    _cli(root, "push", "--all-commits")


def _make_untracked(root: Path) -> None:
    git_init(root)
    _cli(root, "init")
    _commit_all(root, "Initialize dvcish")
    _project_files(root)


def _environment(base: Path, moto_server) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DVCISH_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(base / "home"),  # examples that write to ~ stay in the sandbox
        XDG_CONFIG_HOME=str(base / "xdg"),
        AWS_ENDPOINT_URL_S3=moto_server.endpoint_url,
        AWS_ACCESS_KEY_ID=moto_server.access_key_id,
        AWS_SECRET_ACCESS_KEY=moto_server.secret_access_key,
        AWS_DEFAULT_REGION=moto_server.region,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        MINIO_ACCESS_KEY="minio-docs-key",
        MINIO_SECRET_KEY="minio-docs-secret",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    for who in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{who}_NAME"] = "Docs"
        env[f"GIT_{who}_EMAIL"] = "docs@example.com"
    return env


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_example_runs(block: Block, sandbox: Path, tmp_path: Path, moto_server, monkeypatch):
    if all(line in SKIPPED for line in block.lines):
        pytest.skip("; ".join(sorted({SKIPPED[line] for line in block.lines})))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    copy = tmp_path / "sandbox"
    shutil.copytree(sandbox, copy, symlinks=True)
    done = subprocess.run(
        ["bash", "-c", block.script()],
        cwd=copy / block.folder(),
        env=_environment(copy, moto_server),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{block.where}:\n{block.script()}\n{done.stdout}{done.stderr}"
