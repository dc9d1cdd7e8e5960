"""`make demo`: the main job end to end in a temp folder, on a local-folder remote.

A generated dataset is added, changed and added again; the older version is checked out and
compared byte for byte; everything is pushed to a local remote and pulled into a fresh clone.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile

GIT_ENV = {
    "GIT_AUTHOR_NAME": "dvcish demo",
    "GIT_AUTHOR_EMAIL": "demo@example.invalid",
    "GIT_COMMITTER_NAME": "dvcish demo",
    "GIT_COMMITTER_EMAIL": "demo@example.invalid",
}


def run(args: list[str], cwd: str) -> str:
    print(f"$ {' '.join(args)}", flush=True)
    env = dict(os.environ, **GIT_ENV)
    if args[0] == "dvcish":
        args = [sys.executable, "-m", "dvcish", *args[1:]]
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    output = (result.stdout + result.stderr).rstrip()
    if output:
        print("  " + output.replace("\n", "\n  "), flush=True)
    if result.returncode != 0:
        sys.exit(f"demo failed: {' '.join(args)} exited {result.returncode}")
    return result.stdout


def make_dataset(folder: str, files: int, seed: int) -> None:
    rng = random.Random(seed)
    for index in range(files):
        sub = os.path.join(folder, f"class{index % 10}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"img{index:05}.bin"), "wb") as handle:
            handle.write(rng.randbytes(rng.randint(1024, 8192)))


def snapshot(folder: str) -> dict[str, bytes]:
    result = {}
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                result[os.path.relpath(path, folder)] = handle.read()
    return result


def main() -> None:
    base = tempfile.mkdtemp(prefix="dvcish-demo-")
    repo = os.path.join(base, "project")
    remote = os.path.join(base, "remote")
    clone = os.path.join(base, "clone")
    os.makedirs(repo)
    run(["git", "-c", "init.defaultBranch=main", "init", "-q"], repo)
    run(["dvcish", "init"], repo)
    run(["dvcish", "remote", "add", "-d", "storage", remote], repo)
    data = os.path.join(repo, "data")
    make_dataset(data, 2000, seed=1)
    run(["dvcish", "add", "data"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "data v1"], repo)
    version1 = snapshot(data)

    with open(os.path.join(data, "class0", "img00000.bin"), "ab") as handle:
        handle.write(b"changed")
    os.remove(os.path.join(data, "class1", "img00001.bin"))
    make_dataset(os.path.join(data, "new"), 50, seed=2)
    run(["dvcish", "status"], repo)
    run(["dvcish", "add", "data"], repo)
    run(["git", "commit", "-qam", "data v2"], repo)
    version2 = snapshot(data)

    run(["git", "checkout", "-q", "HEAD~1"], repo)
    run(["dvcish", "checkout"], repo)
    assert snapshot(data) == version1, "checkout of v1 did not restore v1's bytes"
    run(["git", "checkout", "-q", "main"], repo)
    run(["dvcish", "checkout"], repo)
    assert snapshot(data) == version2, "checkout of v2 did not restore v2's bytes"

    run(["dvcish", "push"], repo)
    run(["git", "clone", "-q", repo, clone], base)
    run(["dvcish", "pull"], clone)
    assert snapshot(os.path.join(clone, "data")) == version2, "pull gave different bytes"
    run(["dvcish", "status"], clone)
    run(["dvcish", "fsck"], clone)
    print(f"\ndemo OK: v1 and v2 restored byte for byte; clone pulled from {remote}")
    print(f"(files left in {base})")


if __name__ == "__main__":
    main()
