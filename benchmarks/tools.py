"""The two tools under test and the scenario each one is put through.

A *tool* is a data version control CLI with DVC's command shape (`init`, `add`, `status`,
`push`, `checkout`, `pull`, `remote add/modify`, `config`). A *scenario* is one pass of the
steps below, in a fresh git repository holding a copy of the dataset in `data/`; every step is
one process of the tool's console script, measured by `procs.measure`. Git commands and data
changes between steps are not timed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from datasets import DatasetSpec, mutate
from dvc_venv import dvc_env
from procs import Measurement, measure, remove_tree, run

# (key, label) in the order the scenario runs them.
STEPS = [
    ("init", "init"),
    ("add", "add"),
    ("status_clean", "status, nothing changed"),
    ("push", "push"),
    ("push_noop", "push, nothing to do"),
    ("status_changed", "status, 1% changed + 100 new"),
    ("add_again", "add again"),
    ("push_again", "push again"),
    ("checkout_prev", "checkout after git checkout HEAD~1"),
    ("checkout_back", "checkout after git checkout main"),
    ("clone_pull", "fresh git clone + pull"),
    ("partial_pull", "fresh git clone + pull of 5% (1 folder in 20)"),
]


@dataclass(frozen=True)
class Remote:
    """Where a scenario pushes: a local folder, or an S3 bucket on a local endpoint."""

    url: str
    endpoint: str | None = None


@dataclass
class Tool:
    name: str
    exe: Path
    meta_dir: str
    pointer_suffix: str
    hardlink_value: str
    env: dict[str, str] = field(default_factory=dict)
    pull_takes_jobs: bool = True

    def cmd(self, *args: str) -> list[str]:
        return [str(self.exe), *args]

    def git_paths(self, repo: Path) -> list[str]:
        candidates = [
            f"{self.meta_dir}/config",
            f"{self.meta_dir}/.gitignore",
            ".dvcignore",
            f"data{self.pointer_suffix}",
            ".gitignore",
        ]
        return [p for p in candidates if (repo / p).exists()]

    def remote_setup(self, remote: Remote) -> list[list[str]]:
        cmds = [self.cmd("remote", "add", "-d", "r", remote.url)]
        if remote.endpoint:
            cmds.append(self.cmd("remote", "modify", "r", "endpointurl", remote.endpoint))
            cmds.append(self.cmd("remote", "modify", "r", "region", "us-east-1"))
        return cmds


def dvc_tool(venv: Path, work: Path) -> Tool:
    """DVC from its own venv, with analytics, update checks and user config switched off."""
    env = dvc_env(work / "dvc-config")
    return Tool("dvc", venv / "bin" / "dvc", ".dvc", ".dvc", "hardlink", env)


def dvcish_tool(bin_dir: Path) -> Tool:
    return Tool("dvcish", bin_dir / "dvcish", ".dvcish", ".dvcish", "hardlink,copy")


def package_versions(python: Path, names: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, sys\n"
        "for n in sys.argv[1:]:\n"
        "    try: print(n, m.version(n))\n"
        "    except m.PackageNotFoundError: print(n, '-')\n"
    )
    out = subprocess.run([str(python), "-c", code, *names], capture_output=True, text=True)
    return dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)


@dataclass
class Scenario:
    """One tool's pass through STEPS on one dataset; `on_step` receives each measurement."""

    tool: Tool
    spec: DatasetSpec
    master: Path
    remote: Remote
    workdir: Path
    env: dict[str, str]
    jobs: int
    cache_type: str | None
    verify: bool
    on_step: Callable[[str, Measurement], None]
    partial: list[str] = field(default_factory=list)  # data folders for `partial_pull`
    # link the master copy into the repository (changed files get inodes of their own) and
    # drop the repository's cache before the clone: disk for a million files
    linked: bool = False
    problems: list[str] = field(default_factory=list)
    current: str = "setup before `init`"
    partial_bytes: int = 0  # what the partial pull's folders hold

    def run(self) -> None:
        tool, work = self.tool, self.workdir
        repo, clone, log = work / "repo", work / "clone", work / "tool.log"
        env = {**self.env, **tool.env, "DVC_SITE_CACHE_DIR": str(work / "site-cache")}
        jobs = ["-j", str(self.jobs)]

        def step(key: str, args: list[str], cwd: Path = repo, ok=(0,)) -> None:
            self.current = f"`{key}`"
            self.on_step(key, measure(tool.cmd(*args), cwd, env, log, ok_codes=ok))
            self.current = f"setup after `{key}`"

        def setup(cmd: list[str], cwd: Path = repo) -> None:
            run(cmd, cwd=cwd, env=env, log=log)

        def commit(message: str) -> None:
            setup(["git", "add", "--", *tool.git_paths(repo)])
            setup(["git", "commit", "-q", "-m", message])

        work.mkdir(parents=True)
        run(["git", "init", "-q", "-b", "main", str(repo)], env=env, log=log)
        copy = ["cp", "-al"] if self.linked else ["cp", "-a"]
        run([*copy, str(self.master), str(repo / "data")], log=log)
        step("init", ["init"])
        for cmd in tool.remote_setup(self.remote):
            setup(cmd)
        if self.cache_type:
            setup(tool.cmd("config", "cache.type", self.cache_type))
        step("add", ["add", "data"])
        commit("data v1")
        step("status_clean", ["status"], ok=(0, 1))
        step("push", ["push", *jobs])
        step("push_noop", ["push", *jobs])
        mutate(self.spec, repo / "data")
        step("status_changed", ["status"], ok=(0, 1))
        step("add_again", ["add", "data"])
        commit("data v2")
        step("push_again", ["push", *jobs])
        setup(["git", "checkout", "-q", "HEAD~1"])
        step("checkout_prev", ["checkout"])
        self._check_same(self.master, repo / "data", "checkout HEAD~1")
        setup(["git", "checkout", "-q", "main"])
        step("checkout_back", ["checkout"])
        if self.linked:
            remove_tree(repo / tool.meta_dir / "cache")
        setup(["git", "clone", "-q", str(repo), str(clone)], cwd=work)
        pull_jobs = jobs if tool.pull_takes_jobs else []
        step("clone_pull", ["pull", *pull_jobs], cwd=clone)
        self._check_same(repo / "data", clone / "data", "clone + pull")
        if self.partial:
            part = work / "partial"
            setup(["git", "clone", "-q", str(repo), str(part)], cwd=work)
            step("partial_pull", ["pull", *pull_jobs, *self.partial], cwd=part)
            for folder in self.partial:
                self._check_same(repo / folder, part / folder, f"partial pull of {folder}")
                self.partial_bytes += sum(p.stat().st_size for p in (repo / folder).iterdir())

    def _check_same(self, expected: Path, actual: Path, what: str) -> None:
        if not self.verify:
            return
        diff = subprocess.run(
            ["diff", "-rq", str(expected), str(actual)], capture_output=True, text=True
        )
        if diff.returncode != 0:
            lines = (diff.stdout + diff.stderr).splitlines()
            detail = "; ".join(lines[:3]) + (f" (+{len(lines) - 3} more)" if len(lines) > 3 else "")
            self.problems.append(f"{self.tool.name}: data differs after {what}: {detail}")

    def cleanup(self) -> None:
        remove_tree(self.workdir)
