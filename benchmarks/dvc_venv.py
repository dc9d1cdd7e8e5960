"""DVC 3.x in its own virtualenv, for the benchmarks (`make bench`) and the `import-dvc` tests.

One place creates it: `ensure_dvc_venv` (a file lock lets parallel callers wait for one
creation; a stamp file marks a finished install), `dvc_env` switches off DVC's analytics, update
checks and user/system config. Stdlib only, so tests and benchmarks can both import it, and
`python benchmarks/dvc_venv.py PATH` creates it from the Makefile.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

DVC_REQUIREMENTS = ["dvc>=3,<4", "dvc-s3"]
STAMP = ".dvc-installed"


class DvcInstallError(RuntimeError):
    """Creating the venv failed; the message holds the command and the tail of its log."""


def ensure_dvc_venv(venv: Path, log: Path) -> Path:
    """Create `venv` with DVC 3.x and dvc-s3 unless it already has a working `dvc`; return the
    `dvc` executable. Raises DvcInstallError when it cannot be installed."""
    venv = Path(venv)
    dvc = venv / "bin" / "dvc"
    if (venv / STAMP).exists():
        return dvc
    venv.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{venv}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be creating it right now
        if (venv / STAMP).exists():
            return dvc
        if not _works(dvc):
            _create(venv, log)
        (venv / STAMP).write_text("ok\n")
    return dvc


def _works(dvc: Path) -> bool:
    if not dvc.exists():
        return False
    env = {**os.environ, **dvc_env(None)}
    done = subprocess.run([str(dvc), "--version"], capture_output=True, env=env)
    return done.returncode == 0 and done.stdout.startswith(b"3.")


def _create(venv: Path, log: Path) -> None:
    print(f"creating {venv} with {' '.join(DVC_REQUIREMENTS)} (a minute or two)", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(venv)], log)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    _run([*pip, "--upgrade", "pip"], log)
    _run([*pip, *DVC_REQUIREMENTS], log)


def _run(cmd: list[str], log: Path) -> None:
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(cmd)}\n".encode())
        out.flush()
        code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise DvcInstallError(f"`{' '.join(cmd)}` exited with {code}:\n" + "\n".join(tail))


def dvc_env(config_root: Path | None) -> dict[str, str]:
    """Variables to add to the environment of a DVC run: no analytics; with `config_root`,
    DVC's global and system config live there (analytics and update checks off) instead of the
    user's."""
    env = {"DVC_NO_ANALYTICS": "1"}
    if config_root is None:
        return env
    global_dir = Path(config_root) / "global"
    system_dir = Path(config_root) / "system"
    for folder in (global_dir, system_dir):
        folder.mkdir(parents=True, exist_ok=True)
    (global_dir / "config").write_text("[core]\n    analytics = false\n    check_update = false\n")
    env.update({"DVC_GLOBAL_CONFIG_DIR": str(global_dir), "DVC_SYSTEM_CONFIG_DIR": str(system_dir)})
    return env


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python benchmarks/dvc_venv.py VENV_PATH", file=sys.stderr)
        return 2
    venv = Path(argv[0])
    try:
        dvc = ensure_dvc_venv(venv, Path(f"{venv}-install.log"))
    except DvcInstallError as exc:
        print(f"error: cannot install DVC into {venv}: {exc}", file=sys.stderr)
        return 1
    print(f"DVC ready: {dvc}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
