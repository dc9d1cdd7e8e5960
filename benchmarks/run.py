"""Benchmark dvcish against DVC 3.x: `make bench` (see docs/benchmarks.md).

Workloads:
  small  20,000 files of 1-8 KiB in 100 folders, local-folder remote
  large  two files of 512 MiB, local-folder remote
  large4g  one file of 4 GiB, local-folder remote (needs about 40 GB of disk)
  large_s3  one file of 2 GiB, S3 remote on local moto and `rclone serve s3` servers; its floors
         are boto3's TransferManager (multipart both ways) with the same concurrency
  s3     5,000 files of 1-8 KiB, S3 remote on local moto and `rclone serve s3` servers
  scale  128,000 files of 1-16 KiB in 100 folders (ImageNet's shape, 1/10 of it), both tools
  million  1,280,000 files of 1-16 KiB in 1,000 folders (ImageNet's size), dvcish alone; the
         report shows the growth from `scale` (needs about 40 GB free)

Each workload runs --runs times with both tools (alternating which goes first), plus one run
with hardlink caches for `small` and `large`, plus its floors. Results: a Markdown report on
stdout and in docs/benchmarks.md (benchmarks/work/benchmarks-quick.md with --quick), raw JSON
in benchmarks/work/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import floors
import report
from datasets import (
    MIB,
    DatasetSpec,
    ensure_master,
    imagenet_files,
    large_files,
    partial_folders,
    small_files,
)
from dvc_venv import ensure_dvc_venv
from machine import describe
from procs import Measurement, StepFailed, remove_tree
from s3servers import SERVER_NAMES, aws_env, make_server
from tools import Remote, Scenario, Tool, dvc_tool, dvcish_tool

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # the tests' HTTP proxy adds the "wan" delay and counts requests
from tests.fault_proxy import FaultProxy, Faults  # noqa: E402

WORK = HERE / "work"
BIN = Path(sys.executable).parent
WORKLOADS = ("small", "large", "large4g", "s3", "large_s3", "scale", "million")
S3_WORKLOADS = ("s3", "large_s3")
DEFAULTS = {
    "small": 20_000,
    "s3": 20_000,
    "scale": 128_000,
    "million": 1_280_000,
    "large_mib": 512,
    "large4g_mib": 4096,
    "large_s3_mib": 2048,
}
# Workloads whose repositories link the master copy instead of copying it, and drop their
# cache before the clone: at a million files every copy costs 13 GB of disk.
LINKED = ("scale", "million")
# Workloads without floors: two copies of 13 GB (cp, cp + sync) cost over 20 minutes.
NO_FLOORS = ("million",)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "-w",
        "--workload",
        action="append",
        choices=WORKLOADS,
        help="workload to run (repeatable; default: all)",
    )
    p.add_argument("--tools", default="dvc,dvcish", help="comma list (default: dvc,dvcish)")
    p.add_argument("--servers", default=",".join(SERVER_NAMES), help="S3 servers: moto,rclone")
    p.add_argument("--runs", type=int, help="runs per workload (default 3; 1 with --quick)")
    p.add_argument("--scale", type=float, help="multiply every default size (--quick: 0.1)")
    p.add_argument("--files", type=int, help="files in `small` (default 20000 × scale)")
    p.add_argument("--s3-files", type=int, help="files in `s3` (default 5000 × scale)")
    p.add_argument("--scale-files", type=int, help="files in `scale` (default 128000 × scale)")
    p.add_argument("--million-files", type=int, help="files in `million` (default 1280000 × scale)")
    p.add_argument("--large-mib", type=int, help="size of each `large` file (default 512 × scale)")
    p.add_argument("--large4g-mib", type=int, help="size of the `large4g` file (4096 × scale)")
    p.add_argument("--large-s3-mib", type=int, help="size of the `large_s3` file (2048 × scale)")
    p.add_argument(
        "--s3-runs", type=int, default=1, help="runs of `s3` per server (default 1: ~8 min each)"
    )
    p.add_argument("--scale-runs", type=int, default=1, help="runs of `scale` (default 1)")
    p.add_argument(
        "--hardlink-runs",
        type=int,
        help="extra runs with hardlink caches (default 1; --quick: 0)",
    )
    p.add_argument(
        "--hardlink-workloads",
        default="small",
        help="workloads that get the hardlink-cache runs (default: small; e.g. small,large)",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=4 * (os.cpu_count() or 1),
        help="-j for push/pull and threads for the boto3 floors (default 4×cpus)",
    )
    p.add_argument(
        "--wan-ms",
        type=float,
        default=30.0,
        help="s3: also run through a proxy adding this many ms to every request (0: skip)",
    )
    p.add_argument("--quick", action="store_true", help="small sizes, 1 run: about a minute")
    p.add_argument("--no-verify", action="store_true", help="skip the diff -r data checks")
    p.add_argument("--keep", action="store_true", help="keep repos and remotes in work/runs")
    p.add_argument("--report", type=Path, help="Markdown output (default docs/benchmarks.md)")
    args = p.parse_args(argv)
    scale = args.scale if args.scale is not None else (0.1 if args.quick else 1.0)
    args.runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    args.files = args.files or max(1, round(DEFAULTS["small"] * scale))
    args.s3_files = args.s3_files or max(1, round(DEFAULTS["s3"] * scale))
    scale_files = 5 * args.files if args.quick else DEFAULTS["scale"] * scale
    args.scale_files = args.scale_files or max(1, round(scale_files))
    million_files = 10 * args.scale_files if args.quick else DEFAULTS["million"] * scale
    args.million_files = args.million_files or max(1, round(million_files))
    if args.hardlink_runs is None:
        args.hardlink_runs = 0 if args.quick else 1
    args.large_mib = args.large_mib or max(1, round(DEFAULTS["large_mib"] * scale))
    args.large4g_mib = args.large4g_mib or max(1, round(DEFAULTS["large4g_mib"] * scale))
    args.large_s3_mib = args.large_s3_mib or max(1, round(DEFAULTS["large_s3_mib"] * scale))
    args.workload = args.workload or list(WORKLOADS)
    args.tools = [t for t in args.tools.split(",") if t]
    args.servers = [s for s in args.servers.split(",") if s]
    args.hardlink_workloads = [w for w in args.hardlink_workloads.split(",") if w]
    if args.report is None:
        args.report = WORK / "benchmarks-quick.md" if args.quick else REPO / "docs/benchmarks.md"
    return args


def specs(args: argparse.Namespace) -> dict[str, DatasetSpec]:
    return {
        "small": small_files(args.files),
        "large": large_files(2, args.large_mib * MIB),
        "large4g": large_files(1, args.large4g_mib * MIB),
        "large_s3": large_files(1, args.large_s3_mib * MIB),
        "s3": small_files(args.s3_files),
        "scale": imagenet_files(args.scale_files),
        "million": imagenet_files(args.million_files),
    }


class Bench:
    def __init__(self, args: argparse.Namespace, tools: dict[str, Tool]):
        self.args = args
        self.tools = tools
        self.records: list[dict] = []
        self.floor_records: list[dict] = []
        self.problems: list[str] = []
        self.env = base_env()

    def run_workload(self, name: str, spec: DatasetSpec) -> None:
        t0 = time.monotonic()
        print(
            f"\n== {name}: {spec.files} files, {spec.total_bytes_estimate / MIB:.0f} MiB",
            flush=True,
        )
        master = ensure_master(spec, WORK / "data")
        print(f"   data ready in {WORK / 'data'} ({time.monotonic() - t0:.1f}s)", flush=True)
        tools = ["dvcish"] if name == "million" else ["dvcish", "dvc"]
        tools = [t for t in tools if t in self.tools]
        runs = {"scale": self.args.scale_runs, "million": self.args.scale_runs}.get(name)
        runs = runs or {"s3": self.args.s3_runs, "large_s3": 1}.get(name, self.args.runs)
        variants = [("default", None, r) for r in range(1, runs + 1)]
        if name in self.args.hardlink_workloads:
            variants += [("hardlink", "hardlink", r) for r in range(1, self.args.hardlink_runs + 1)]
        for variant, cache_type, run in variants:
            order = tools if run % 2 == 1 else tools[::-1]
            if name in S3_WORKLOADS:
                for server in self.args.servers:
                    self.s3_run(name, spec, master, run, order, server, 0.0)
                    if self.args.wan_ms > 0 and name == "s3":
                        self.s3_run(name, spec, master, run, order, server, self.args.wan_ms)
            else:
                self.local_run(name, variant, cache_type, spec, master, run, order)

    def local_run(self, name, variant, cache_type, spec, master, run, order) -> None:
        base = WORK / "runs" / f"{name}-{variant}-r{run}"
        remove_tree(base)
        ctx = {"workload": name, "variant": variant, "server": "", "run": run}
        if variant == "default" and name not in NO_FLOORS:
            self.floors(ctx, floors.local_floors(master, base / "floors", self.env))
        for tool in order:
            remote = Remote(str(base / tool / "remote"))
            (base / tool / "remote").mkdir(parents=True)
            self.scenario(ctx, tool, spec, master, remote, base / tool / "work", cache_type)
        self.cleanup(base)

    def s3_run(self, name, spec, master, run, order, server_name, delay_ms) -> None:
        """One run on one S3 server: on loopback (delay 0), or through a proxy that adds
        ``delay_ms`` to every request and counts requests and bytes (the "wan" variant)."""
        variant = "wan" if delay_ms else "default"
        base = WORK / "runs" / f"{name}-{server_name}-{variant}-r{run}"
        remove_tree(base)
        ctx = {"workload": name, "variant": variant, "server": server_name, "run": run}
        env = {**self.env, **aws_env(WORK)}
        with make_server(server_name, BIN, base / "server") as server, ExitStack() as stack:
            endpoint, proxy = server.endpoint, None
            if delay_ms:
                faults = Faults(delay_every=1, delay=delay_ms / 1000)
                proxy = stack.enter_context(FaultProxy(server.endpoint, faults))
                endpoint = proxy.url
            measured = floors.s3_floors(
                server,
                "floor",
                master,
                base / "floors",
                env,
                self.args.jobs,
                endpoint,
                transfer_manager=name == "large_s3",
            )
            self.floors(ctx, measured)
            for tool in order:
                bucket = f"{tool}-remote"
                server.create_bucket(bucket)
                remote = Remote(f"s3://{bucket}/store", endpoint)
                self.scenario(ctx, tool, spec, master, remote, base / tool, None, env, proxy)
        self.cleanup(base)

    def scenario(
        self, ctx, tool_name, spec, master, remote, workdir, cache_type, env=None, proxy=None
    ):
        tool = self.tools[tool_name]
        timed = [0.0]
        seen = [proxy.requests if proxy else 0, proxy.bytes_out if proxy else 0]

        def record(step: str, m: Measurement) -> None:
            timed[0] += m.seconds
            extra = {}
            if proxy is not None:  # what went over the wire during this step
                extra = {"requests": proxy.requests - seen[0], "bytes": proxy.bytes_out - seen[1]}
                seen[:] = [proxy.requests, proxy.bytes_out]
            self.records.append({**ctx, "tool": tool_name, "step": step, **_numbers(m), **extra})
            print(
                f"   {_ctx_label(ctx)} {tool_name:6} {step:15} {m.seconds:8.2f}s "
                f"{m.peak_rss_mib:7.0f} MiB",
                flush=True,
            )

        cache = tool.hardlink_value if cache_type == "hardlink" else None
        scenario = Scenario(
            tool=tool,
            spec=spec,
            master=master,
            remote=remote,
            workdir=workdir,
            env=env or self.env,
            jobs=self.args.jobs,
            cache_type=cache,
            verify=not self.args.no_verify,
            on_step=record,
            partial=partial_folders(spec),
            linked=ctx["workload"] in LINKED and tool_name == "dvcish",  # DVC may move files
        )
        t0 = time.monotonic()
        first_record = len(self.records)
        try:
            scenario.run()
        except (StepFailed, RuntimeError, OSError) as exc:
            problem = f"{_ctx_label(ctx)} {tool_name} failed at {scenario.current}: {exc}"
            tail = getattr(exc, "tail", "")
            print(f"   !! {problem}\n{tail}", flush=True)
            if tail:
                problem += "\n\n  ```\n" + "".join(f"  {line}\n" for line in tail.splitlines())
                problem += "  ```"
            self.problems.append(problem)
        for rec in self.records[first_record:]:
            if rec["step"] == "partial_pull":
                rec["wanted_bytes"] = scenario.partial_bytes
        for problem in scenario.problems:
            print(f"   !! {_ctx_label(ctx)} {problem}", flush=True)
            self.problems.append(f"{_ctx_label(ctx)} {problem}")
        if not self.args.keep:
            scenario.cleanup()
        total = time.monotonic() - t0
        print(f"   {_ctx_label(ctx)} {tool_name:6} {total:.0f}s in all, {timed[0]:.0f}s timed")

    def floors(self, ctx: dict, results: dict[str, Measurement]) -> None:
        for name, m in results.items():
            self.floor_records.append({**ctx, "tool": "floor", "step": name, **_numbers(m)})
            print(f"   {_ctx_label(ctx)} floor  {name:15} {m.seconds:8.2f}s", flush=True)

    def cleanup(self, base: Path) -> None:
        if not self.args.keep:
            remove_tree(base)


def _numbers(m: Measurement) -> dict:
    return {"seconds": round(m.seconds, 4), "rss_mib": round(m.peak_rss_mib, 1)}


def _ctx_label(ctx: dict) -> str:
    parts = [ctx["workload"], ctx["server"], "" if ctx["variant"] == "default" else ctx["variant"]]
    return f"[{'/'.join(p for p in parts if p)} r{ctx['run']}]"


def base_env() -> dict[str, str]:
    """The parent environment with git made predictable and independent of the user's config."""
    gitconfig = WORK / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = bench\n\temail = bench@example.invalid\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DVC_", "GIT_"))}
    env.update({"GIT_CONFIG_GLOBAL": str(gitconfig), "GIT_CONFIG_NOSYSTEM": "1"})
    # Users run both tools from compiled bytecode (pip writes it; DVC's venv has it): a shell
    # that sets this would make dvcish, installed editable here, compile every module each run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_bytecode() -> None:
    """Write dvcish's .pyc files before anything is timed (as `pip install` does)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "dvcish")], check=True)


def available_tools(args: argparse.Namespace) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    if "dvc" in args.tools:
        venv = HERE / ".venv-dvc"
        ensure_dvc_venv(venv, WORK / "dvc-install.log")
        tools["dvc"] = dvc_tool(venv, WORK)
    if "dvcish" in args.tools:
        tool = dvcish_tool(BIN)
        help_text = _help(tool, [])
        needed = ("init", "add", "status", "checkout", "push", "pull", "remote", "config")
        missing = [c for c in needed if c not in help_text]
        if missing:
            print(f"!! dvcish CLI is missing {', '.join(missing)}: running without dvcish")
        else:
            tool.pull_takes_jobs = "-j" in _help(tool, ["pull"])
            tools["dvcish"] = tool
    return tools


def _help(tool: Tool, args: list[str]) -> str:
    try:
        out = subprocess.run(tool.cmd(*args, "--help"), capture_output=True, text=True, timeout=60)
    except OSError:
        return ""
    return out.stdout if out.returncode == 0 else ""


def _large_mib(args: argparse.Namespace, workload: str) -> int:
    return {"large": args.large_mib, "large4g": args.large4g_mib}.get(workload, args.large_s3_mib)


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    WORK.mkdir(exist_ok=True)
    started = dt.datetime.now()
    t0 = time.monotonic()
    load_start = _load()
    compile_bytecode()
    tools = available_tools(args)
    bench = Bench(args, tools)
    workload_specs = specs(args)
    for name in args.workload:
        bench.run_workload(name, workload_specs[name])
    finished = dt.datetime.now()
    stamp = started.strftime("%Y%m%d-%H%M%S")
    raw = WORK / f"results-{stamp}.json"
    settings = {
        "command": "benchmarks/run.py " + " ".join(argv),
        "workloads": ", ".join(
            f"{n}: {workload_specs[n].files} files"
            + (f" of {_large_mib(args, n)} MiB" if n.startswith("large") else "")
            for n in args.workload
        ),
        "runs": f"{args.runs} (s3: {args.s3_runs} per server; scale: {args.scale_runs}; "
        f"hardlink cache: {args.hardlink_runs})",
        "load average at start / end": f"{load_start} / {_load()}",
        "jobs": args.jobs,
        "S3 servers": ", ".join(args.servers) if set(S3_WORKLOADS) & set(args.workload) else "—",
    }
    results = {
        "meta": {
            "started": started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "duration_min": (time.monotonic() - t0) / 60,
            "raw": str(raw.relative_to(REPO)),
            "machine": describe(WORK, REPO, HERE / ".venv-dvc/bin/python", BIN / "rclone"),
            "settings": settings,
        },
        "files": {name: spec.files for name, spec in workload_specs.items()},
        "records": bench.records,
        "floors": bench.floor_records,
        "problems": bench.problems,
    }
    raw.write_text(json.dumps(results, indent=1))
    shutil.copyfile(raw, WORK / "results-latest.json")
    body = report.render(results)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report.document(results, body))
    print("\n" + body)
    print(f"report: {args.report}\nraw: {raw}\ntook {(time.monotonic() - t0) / 60:.1f} min")
    return 1 if bench.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
