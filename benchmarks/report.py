"""Turn raw measurements into Markdown: medians, ratios, targets, floors, growth.

A *group* is one table: a workload, a cache variant and (for S3) a server, e.g. `s3 (rclone)`.
Records are plain dicts so the raw JSON dump and the report read the same data.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import median

from floors import FLOOR_LABELS
from tools import STEPS

# Ratio targets, dvcish / DVC wall time (lower is better). A (workload, step) entry overrides
# the per-step default; steps without a target show their ratio only.
STEP_TARGETS = {
    "status_clean": 0.20,
    "push": 0.25,
    "push_noop": 0.15,
    "checkout_prev": 0.30,
    "checkout_back": 0.30,
    "clone_pull": 0.30,
}
WORKLOAD_TARGETS = {
    ("small", "add"): 0.20,
    ("small", "push"): 0.15,
    ("small", "clone_pull"): 0.15,
    ("large", "add"): 0.30,
    # Large files: every step at most DVC's time; nothing-to-do steps at most 0.3 of it.
    **{("large", step): 1.0 for step in ("push", "checkout_prev", "checkout_back", "clone_pull")},
    **{("large", step): 0.3 for step in ("status_clean", "push_noop")},
    **{("large4g", step): 1.0 for step in ("add", "push", "checkout_prev", "checkout_back")},
    ("large4g", "clone_pull"): 1.0,
    **{("large4g", step): 0.3 for step in ("status_clean", "push_noop")},
    ("large_s3", "push"): 0.7,
    ("large_s3", "clone_pull"): 0.7,
    **{("large_s3", step): 1.0 for step in ("checkout_prev", "checkout_back")},
    **{("large_s3", step): 0.3 for step in ("status_clean", "push_noop")},
    ("s3", "push"): 0.10,
    ("s3", "push_noop"): 0.10,
    ("s3", "clone_pull"): 0.15,
}
# Through the "wan" proxy (a delay added to every request): dvcish seconds at most.
WAN_SECONDS = {"push": 10.0, "clone_pull": 10.0}
# Requests dvcish may send for a step (counted by the proxy in the "wan" variant).
REQUEST_LIMITS = {"push": 30}
PARTIAL_LIMIT = 2.0  # a partial pull downloads at most this multiple of the bytes it wants
# dvcish wall time against a floor of the same group: (floor, factor). Large files: `cp` for
# workspace writes, `cp` + `sync` for durable ones (the cache, a folder remote); a pull makes
# both, so its floor is their sum ("cp_sync+cp").
LARGE_FLOORS = {
    "add": ("cp_sync", 1.3),
    "push": ("cp_sync", 1.3),
    "checkout_prev": ("cp", 1.3),
    "checkout_back": ("cp", 1.3),
    "clone_pull": ("cp_sync+cp", 1.3),
}
FLOOR_TARGETS = {
    ("s3", "push"): ("s3_put", 1.25),
    ("s3", "clone_pull"): ("s3_get", 1.25),
    **{("large", step): target for step, target in LARGE_FLOORS.items()},
    **{("large4g", step): target for step, target in LARGE_FLOORS.items()},
    ("large_s3", "push"): ("tm_put", 1.2),
    ("large_s3", "clone_pull"): ("tm_get", 1.2),
}


def group_key(rec: dict) -> tuple[str, str, str]:
    return rec["workload"], rec["variant"], rec.get("server") or ""


def group_label(key: tuple[str, str, str]) -> str:
    workload, variant, server = key
    kind = {"default": "", "wan": "through the wan proxy"}.get(variant, f"{variant} cache")
    extras = [x for x in (server, kind) if x]
    return f"{workload} ({', '.join(extras)})" if extras else workload


def medians(records: list[dict], field: str = "seconds") -> dict[tuple, float]:
    """(group, tool, step-or-floor) -> median of `field` across runs."""
    values: dict[tuple, list[float]] = defaultdict(list)
    for rec in records:
        if field in rec:
            values[(group_key(rec), rec["tool"], rec["step"])].append(rec[field])
    return {key: median(vals) for key, vals in values.items()}


def run_counts(records: list[dict]) -> dict[tuple, int]:
    counts: dict[tuple, set] = defaultdict(set)
    for rec in records:
        counts[(group_key(rec), rec["tool"])].add(rec["run"])
    return {key: len(runs) for key, runs in counts.items()}


def step_table(
    group: tuple, secs: dict, rss: dict, floors: dict, requests: dict | None = None
) -> tuple[list[str], int, int]:
    """Markdown rows for one group; returns (lines, targets met, targets checked)."""
    requests = requests or {}
    counted = any(key[0] == group for key in requests)
    lines = [
        "| step | DVC s | dvcish s | dvcish/DVC | target | met | DVC peak MiB "
        "| dvcish peak MiB | memory ≤ DVC |"
        + (" DVC requests | dvcish requests |" if counted else ""),
        "|---|--:|--:|--:|---|:-:|--:|--:|:-:|" + ("--:|--:|" if counted else ""),
    ]
    met = checked = 0
    for step, label in STEPS:
        dvc, ours = secs.get((group, "dvc", step)), secs.get((group, "dvcish", step))
        if dvc is None and ours is None:
            continue
        ratio = ours / dvc if dvc and ours is not None else None
        targets = _targets(group, step, ratio, ours, floors)
        ours_requests = requests.get((group, "dvcish", step))
        if counted and step in REQUEST_LIMITS and ours_requests is not None:
            limit = REQUEST_LIMITS[step]
            targets.append((f"≤{limit} requests", ours_requests <= limit))
        rss_dvc, rss_ours = rss.get((group, "dvc", step)), rss.get((group, "dvcish", step))
        mem_ok = None if rss_dvc is None or rss_ours is None else rss_ours <= rss_dvc
        for flag in [ok for _, ok in targets] + [mem_ok]:
            if flag is not None:
                checked += 1
                met += int(flag)
        target_text = ", ".join(text for text, _ in targets) or "—"
        marks = ", ".join(_mark(ok) for _, ok in targets) or "—"
        row = (
            f"| {label} | {_num(dvc)} | {_num(ours)} | {_num(ratio, 2)} | {target_text} "
            f"| {marks} | {_num(rss_dvc, 0)} | {_num(rss_ours, 0)} | {_mark(mem_ok)} |"
        )
        if counted:
            row += f" {_num(requests.get((group, 'dvc', step)), 0)} | {_num(ours_requests, 0)} |"
        lines.append(row)
    return lines, met, checked


def _targets(group, step, ratio, ours, floors) -> list[tuple[str, bool | None]]:
    """(text, met) for each target of a step: a ratio to DVC and/or a multiple of a floor."""
    workload = group[0]
    found: list[tuple[str, bool | None]] = []
    limit = WORKLOAD_TARGETS.get((workload, step), STEP_TARGETS.get(step))
    if limit is not None:
        found.append((f"≤{limit:.2f}", None if ratio is None else ratio <= limit))
    if group[1] == "wan" and step in WAN_SECONDS:
        limit_s = WAN_SECONDS[step]
        found.append((f"≤{limit_s:.0f} s", None if ours is None else ours <= limit_s))
    if (workload, step) in FLOOR_TARGETS:
        name, factor = FLOOR_TARGETS[(workload, step)]
        parts = [floors.get((group, "floor", part)) for part in name.split("+")]
        floor_secs = None if None in parts else sum(parts)
        kind = name.replace("s3_", "").replace("cp_sync", "cp+sync").replace("tm_", "TM ").upper()
        if floor_secs is None:
            found.append((f"≤{factor}× {kind} floor", None))
        else:
            ok = None if ours is None else ours <= factor * floor_secs
            found.append((f"≤{factor}× {kind} floor ({factor * floor_secs:.2f} s)", ok))
    return found


def partial_lines(group: tuple, records: list[dict]) -> tuple[list[str], int, int]:
    """What a partial pull downloaded against what it wanted (counted by the wan proxy)."""
    lines, met, checked = [], 0, 0
    for tool in ("dvc", "dvcish"):
        found = [
            r
            for r in records
            if group_key(r) == group and r["tool"] == tool and r["step"] == "partial_pull"
        ]
        found = [r for r in found if "bytes" in r and r.get("wanted_bytes")]
        if not found:
            continue
        ratio = median(r["bytes"] / r["wanted_bytes"] for r in found)
        text = f"- partial pull, {tool}: downloaded {ratio:.2f}× the bytes it wanted"
        if tool == "dvcish":
            ok = ratio <= PARTIAL_LIMIT
            met, checked = int(ok), 1
            text += f" (target ≤{PARTIAL_LIMIT:.0f}×: {_mark(ok)})"
        lines.append(text)
    return ([*lines, ""] if lines else []), met, checked


def floor_table(groups: list[tuple], floors: dict) -> list[str]:
    lines = ["| workload | floor | median s |", "|---|---|--:|"]
    for group in groups:
        for name, label in FLOOR_LABELS.items():
            secs = floors.get((group, "floor", name))
            if secs is not None:
                lines.append(f"| {group_label(group)} | {label} | {secs:.2f} |")
    return lines


def growth_table(secs: dict, rss: dict, files: dict[str, int]) -> list[str]:
    """dvcish alone: the `scale` workload against the `million` workload, time and memory."""
    small, big = ("scale", "default", ""), ("million", "default", "")
    if not any(k[0] == small for k in secs) or not any(k[0] == big for k in secs):
        return []
    a_files, b_files = files.get("scale", 0), files.get("million", 0)
    factor = b_files / max(1, a_files)
    lines = [
        f"dvcish only, {a_files:,} files against {b_files:,} files ({factor:.0f}× the files; "
        f"growth ≤ {factor:.0f}× means at most linear). Target: peak memory < 500 MiB.",
        "",
        f"| step | {a_files:,} files s | MiB | {b_files:,} files s | MiB | growth | memory |",
        "|---|--:|--:|--:|--:|--:|:-:|",
    ]
    for step, label in STEPS:
        a, b = secs.get((small, "dvcish", step)), secs.get((big, "dvcish", step))
        if a is None or b is None:
            continue
        a_mib, b_mib = rss.get((small, "dvcish", step)), rss.get((big, "dvcish", step))
        memory = _mark(b_mib < 500) if b_mib is not None else "—"
        lines.append(
            f"| {label} | {a:.2f} | {_num(a_mib, 0)} | {b:.2f} | {_num(b_mib, 0)} "
            f"| {b / a:.1f}× | {memory} |"
        )
    return lines


def render(results: dict) -> str:
    records, floor_records = results["records"], results["floors"]
    secs, rss = medians(records), medians(records, "rss_mib")
    requests = medians(records, "requests")
    floors = medians(floor_records)
    counts = run_counts(records)
    groups = sorted({group_key(r) for r in records}, key=_group_order)
    out: list[str] = []
    met_total = checked_total = 0
    for group in groups:
        if group[0] == "million":
            continue  # dvcish alone: in the growth table
        runs = ", ".join(
            f"{tool} {counts[(group, tool)]}"
            for tool in ("dvc", "dvcish")
            if (group, tool) in counts
        )
        lines, met, checked = step_table(group, secs, rss, floors, requests)
        partial, partial_met, partial_checked = partial_lines(group, records)
        met_total += met + partial_met
        checked_total += checked + partial_checked
        out += [f"### {group_label(group)}", "", f"Median of runs ({runs}).", "", *lines, ""]
        out += partial
    floor_groups = sorted({group_key(r) for r in floor_records}, key=_group_order)
    if floor_groups:
        out += ["### Floors", "", *floor_table(floor_groups, floors), ""]
    growth = growth_table(secs, rss, results.get("files", {}))
    if growth:
        out += ["### Growth with the number of files (dvcish alone)", "", *growth, ""]
    summary = f"Targets met: {met_total} of {checked_total} checked (time and memory)."
    return "\n".join([summary, "", *out])


def _group_order(key: tuple[str, str, str]) -> tuple:
    order = ["small", "large", "large4g", "s3", "large_s3", "scale", "million"]
    workload = order.index(key[0]) if key[0] in order else len(order)
    return workload, key[1] != "default", key[1], key[2]


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _mark(ok: bool | None) -> str:
    return "—" if ok is None else ("pass" if ok else "**FAIL**")


def document(results: dict, body: str) -> str:
    """The whole docs/benchmarks.md: how to run, machine, settings, tables, problems."""
    meta = results["meta"]
    machine = "\n".join(f"| {k} | {v} |" for k, v in meta["machine"].items())
    settings = "\n".join(f"| {k} | {v} |" for k, v in meta["settings"].items())
    problems = results.get("problems") or []
    problem_text = "\n".join(f"- {p}" for p in problems) if problems else "None."
    return f"""# Benchmarks: dvcish against DVC

Generated by `make bench` (`benchmarks/run.py`) on {meta["finished"]}; \
the run took {meta["duration_min"]:.1f} minutes. Raw results: `{meta["raw"]}` (not committed).

## How to run

```
make bench                                  # every workload (about 110 min; 40 GB free disk)
make bench BENCH_ARGS="-w scale -w million" # 128k and 1.28M ImageNet-sized files (~50 min)
make bench BENCH_ARGS=--quick               # every workload, 1/10 sizes, 1 run (~4 min)
make bench BENCH_ARGS="--quick -w small"    # one workload, 2,000 files (~1 min)
make bench BENCH_ARGS="-w small --runs 1"   # 20,000 files, 1 run + 1 hardlink run (~7 min)
make bench BENCH_ARGS="-w s3 --servers rclone --s3-files 2000"
make bench BENCH_ARGS="-w large -w large_s3 --runs 1"   # large files only (~20 min)
```

`benchmarks/run.py --help` lists every option (`--scale`, `--files`, `--runs`, `--s3-runs`,
`--hardlink-workloads`, `--jobs`, `--tools`, `--keep`, ...). DVC is installed into
`benchmarks/.venv-dvc` on the first run; data and raw results go to `benchmarks/work/` (both
git-ignored). The default is 3 runs per workload, except `s3` (1 run per server: one run is about 8
minutes, bound by the local servers, which the floors of the same run measure), `scale` (128,000
files of 1-16 KiB, 1 run, both tools), `million` (1,280,000 files, 1 run, dvcish alone, no floors,
which would copy 13 GB twice; its repository links the master copy and drops its cache before the
clone, to fit on disk) and `large_s3` (1 run per server: 2 GiB through moto takes about 12 minutes,
most of it moto's); one extra run of `small` uses hardlink caches for both tools. `large4g` (one
file of 4 GiB) needs about 40 GB of free disk: both tools' caches, remotes and clones hold every
version of it. The large-file floors are `cp -r` (workspace writes), `cp -r` then `sync` (durable
writes: the cache, a folder remote; a pull makes both, so its floor is their sum) and, for
`large_s3`, boto3's TransferManager (`upload_file`/`download_file` with the same concurrency, 16 MiB
parts from 64 MiB).

## Method

Each tool gets its own git repository holding a copy of the same seeded data in `data/`, and its
own remote. Every step is one process of the tool's console script (no shell in between), timed
wall-clock from spawn to reap; peak memory is the child's `ru_maxrss` from `wait4` (the largest
process in the tree). Steps: `init`; `add data`; `status`; `push`; `push` again with nothing to
do; change 1% of the files and add 100, then `status`; `add data`; `push`; `git checkout HEAD~1`
then `checkout`; `git checkout main` then `checkout`; a fresh `git clone` then `pull`. Git
commands and data changes are not timed, and `sync` runs (untimed) before every step so that no
step pays for writing back the harness's own files. Tools alternate run by run (dvcish first on
odd runs, DVC first on even runs). After the checkouts and the pull, the data is compared with
`diff -r` against what it should be. `push` and `pull` get `-j JOBS` for both tools; the boto3
floors use the same number of threads and one client with a connection pool that large. The
files sit in the page cache throughout (nothing drops caches), for the tools and the floors
alike. The machine is shared: the load average at start and end is under Settings.

Ratios are dvcish / DVC medians; lower is better. *met* checks each target in turn, *memory ≤
DVC* checks the peak RSS medians.

## Machine

| | |
|---|---|
{machine}

## Settings

| | |
|---|---|
{settings}

## Results

{body}
## Problems seen

{problem_text}
"""
