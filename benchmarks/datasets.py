"""Deterministic benchmark data.

A *dataset* is a folder of files generated from a seeded PRNG, so every run and every machine
gets the same bytes. A *master* copy is generated once under `work/data/` and copied into each
tool's repository; a stamp file beside it records the spec it was made from. A *mutation* is
the change made between the first and the second commit: 1% of the files changed (at least
one) and 100 new files added, the same for every tool.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

KIB = 1024
MIB = 1024 * KIB
SMALL_MIN = 1 * KIB
SMALL_MAX = 8 * KIB
NEW_FILES = 100
CHUNK = MIB


@dataclass(frozen=True)
class DatasetSpec:
    """`files` files spread over `folders` folders (0: flat), sizes in [min_size, max_size]."""

    files: int
    folders: int
    min_size: int
    max_size: int
    seed: int = 20240501

    @property
    def key(self) -> str:
        return f"f{self.files}-d{self.folders}-s{self.min_size}-{self.max_size}-r{self.seed}"

    @property
    def total_bytes_estimate(self) -> int:
        return self.files * (self.min_size + self.max_size) // 2


def small_files(files: int, folders: int = 100) -> DatasetSpec:
    return DatasetSpec(
        files=files, folders=min(folders, max(1, files)), min_size=SMALL_MIN, max_size=SMALL_MAX
    )


def imagenet_files(files: int) -> DatasetSpec:
    """ImageNet's shape: files of 1-16 KiB, about 1,280 to a folder (1.28M files: 1,000)."""
    return DatasetSpec(files=files, folders=max(1, files // 1280), min_size=KIB, max_size=16 * KIB)


def large_files(files: int, size: int) -> DatasetSpec:
    return DatasetSpec(files=files, folders=0, min_size=size, max_size=size)


def ensure_master(spec: DatasetSpec, root: Path) -> Path:
    """Return the master copy of `spec` under `root`, generating it if it is missing."""
    dest = root / spec.key
    stamp = root / f"{spec.key}.json"
    if stamp.exists() and dest.is_dir():
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    tmp = root / f"{spec.key}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    generate(spec, tmp)
    tmp.rename(dest)
    stamp.write_text(json.dumps(asdict(spec)))
    return dest


def file_path(spec: DatasetSpec, index: int) -> str:
    if spec.folders == 0:
        return f"file{index:06d}.bin"
    return f"d{index % spec.folders:03d}/f{index:07d}.bin"


def partial_folders(spec: DatasetSpec) -> list[str]:
    """The first 5% of the dataset's folders (at least one), as `data/...` paths."""
    if spec.folders == 0:
        return []
    return [f"data/d{n:03d}" for n in range(max(1, spec.folders // 20))]


def generate(spec: DatasetSpec, dest: Path) -> None:
    rng = random.Random(spec.seed)
    for folder in range(spec.folders):
        (dest / f"d{folder:03d}").mkdir()
    for index in range(spec.files):
        size = rng.randint(spec.min_size, spec.max_size)
        with open(dest / file_path(spec, index), "wb") as out:
            _write_random(out, rng, size)


def mutate(spec: DatasetSpec, data: Path) -> dict[str, int]:
    """Change 1% of the files (at least one) and add NEW_FILES small files, deterministically."""
    rng = random.Random(spec.seed + 1)
    changed = max(1, round(spec.files / 100))
    stride = max(1, spec.files // changed)
    for n in range(changed):
        path = data / file_path(spec, (n * stride) % spec.files)
        _break_link(path)
        if spec.max_size > CHUNK:
            _patch_in_place(path, rng)
        else:
            with open(path, "wb") as out:
                _write_random(out, rng, rng.randint(spec.min_size, spec.max_size))
    new_dir = data / "new" if spec.folders == 0 else None
    if new_dir is not None:
        new_dir.mkdir(exist_ok=True)
    for n in range(NEW_FILES):
        folder = new_dir if new_dir is not None else data / f"d{n % spec.folders:03d}"
        with open(folder / f"new{n:04d}.bin", "wb") as out:
            _write_random(out, rng, rng.randint(SMALL_MIN, SMALL_MAX))
    return {"changed": changed, "added": NEW_FILES}


def _write_random(out, rng: random.Random, size: int) -> None:
    left = size
    while left > 0:
        step = min(left, CHUNK)
        out.write(rng.randbytes(step))
        left -= step


def _break_link(path: Path) -> None:
    """Give `path` its own inode, so editing it cannot touch a hardlinked cache object."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.copyfile(path, tmp)
    os.replace(tmp, path)


def _patch_in_place(path: Path, rng: random.Random) -> None:
    """Overwrite 64 KiB in the middle of a large file, as an edit to a big file would."""
    size = path.stat().st_size
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, rng.randbytes(64 * KIB), max(0, size // 2 - 32 * KIB))
    finally:
        os.close(fd)
