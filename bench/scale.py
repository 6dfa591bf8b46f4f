"""Scale benchmark: 100,000 items through collect, evaluate and report, with each process's peak RSS.

1. An emulator (moto's server, in this process, with the request tally of ``bench/run.py``) is
   filled with ``--items`` resources spread over ``--regions``, written straight into moto's
   backends: seeding 100,000 resources through the API would take most of an hour, and it is not
   what is measured. Per Region: EBS volumes (70 %; a quarter unencrypted, some tagged),
   security groups (15 %; one in 50 open to the world on SSH), CloudWatch log groups (10 %;
   half without retention) and snapshots of the volumes (5 %). These are the types an estate has
   by the ten thousand, and they include a per-item call (each log group's tags, each snapshot's
   permissions).
2. Each step runs in its own process on the same SQLite store, measured by the bare parent of
   ``bench/run.py`` (wall time, peak RSS of that process alone, CPU), with the emulator's request
   count:

   * ``collect``: ``phiwatch collect`` of every service into an empty store;
   * ``evaluate``: ``phiwatch evaluate -f json`` (every item against the default policy's packs,
     the evaluations, findings and alerts written, the report of every evaluation printed);
   * ``scan``: ``phiwatch scan -f json -o …`` on that store: a whole re-collection (nothing
     changed), the incremental evaluation (nothing to do) and the scan's report of every
     evaluation;
   * ``report html`` / ``report json`` / ``report pdf``: the HIPAA report from the store's history
     (``phiwatch report``);
   * ``scan (new store)``: the three in one process, as a first ``phiwatch scan`` does.

A step that collected with errors (a listing that failed, e.g. a read timeout) is reported as
failed: its figures are not those of the whole estate. The embedded emulator pages EC2's listings as
AWS does (``phiwatch/emulator_apis.py``); before it did, a Region's 7,000 volumes came back in one
response that outlasted the client's 60 s read timeout while ten Regions were read at once.

    .venv/bin/python bench/scale.py                      # 100,000 items in 10 Regions (~13 min on 2 cores)
    .venv/bin/python bench/scale.py --items 10000        # quick
    .venv/bin/python bench/scale.py --steps collect,evaluate

Results: a Markdown table on stdout and ``bench/results/scale-<time>.{md,json}`` (plus
``scale-latest.{md,json}``). See bench/README.md ("Scale").
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from run import RequestTally, aws_env, command_line, log, machine, phiwatch_command, run_measured  # noqa: E402

ACCOUNT = "123456789012"
REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
)
#: share of the items of each type
MIX = {"AWS::EC2::Volume": 0.70, "AWS::EC2::SecurityGroup": 0.15, "AWS::Logs::LogGroup": 0.10, "AWS::EC2::Snapshot": 0.05}
STEPS = ("collect", "evaluate", "scan", "report html", "report json", "report pdf", "scan (new store)")
#: the issue's target for each step's process
TARGET_MIB = 1024.0


def seed(items: int, regions: list[str]) -> Counter[str]:
    """Write about ``items`` resources into moto's backends (this process's emulator), spread over ``regions``."""
    from moto.backends import get_backend

    seeded: Counter[str] = Counter()
    per_region = {t: round(items * share / len(regions)) for t, share in MIX.items()}
    for region in regions:
        ec2 = get_backend("ec2")[ACCOUNT][region]
        logs = get_backend("logs")[ACCOUNT][region]
        zone = f"{region}a"
        volumes = []
        for i in range(per_region["AWS::EC2::Volume"]):
            volume = ec2.create_volume(size=8 + i % 100, zone_name=zone, encrypted=i % 4 != 0, volume_type="gp3")
            volumes.append(volume.id)
        tagged = volumes[::3]
        for start in range(0, len(tagged), 1000):
            ec2.create_tags(tagged[start : start + 1000], {"Owner": "records-team", "DataClass": "phi"})
        seeded["AWS::EC2::Volume"] += len(volumes)
        for i in range(per_region["AWS::EC2::Snapshot"]):
            ec2.create_snapshot(volumes[i % len(volumes)], f"nightly {i}")
        seeded["AWS::EC2::Snapshot"] += per_region["AWS::EC2::Snapshot"]
        vpc = ec2.default_vpc.id
        for i in range(per_region["AWS::EC2::SecurityGroup"]):
            group = ec2.create_security_group(name=f"app-{i}", description="application tier", vpc_id=vpc)
            if i % 50 == 0:
                ec2.authorize_security_group_ingress(group.id, "tcp", "22", "22", [{"CidrIp": "0.0.0.0/0"}])
        seeded["AWS::EC2::SecurityGroup"] += per_region["AWS::EC2::SecurityGroup"] + 1  # + the default VPC's group
        for i in range(per_region["AWS::Logs::LogGroup"]):
            name = f"/app/records/{i}"
            logs.create_log_group(name, {"Owner": "records-team"})
            if i % 2:
                logs.put_retention_policy(name, 400)
        seeded["AWS::Logs::LogGroup"] += per_region["AWS::Logs::LogGroup"]
    return seeded


def store_counts(db: Path) -> dict[str, int]:
    """Items, evaluations, open findings and the last collection's errors in a SQLite store."""
    with sqlite3.connect(db) as conn:
        return {
            "items": conn.execute("SELECT count(*) FROM resources WHERE status != 'ResourceDeleted'").fetchone()[0],
            "evaluations": conn.execute("SELECT count(*) FROM evaluations").fetchone()[0],
            "findings": conn.execute("SELECT count(*) FROM findings WHERE status = 'open'").fetchone()[0],
            "collection_errors": conn.execute(
                "SELECT count(*) FROM collection_errors WHERE run_id = (SELECT max(id) FROM collection_runs)"
            ).fetchone()[0],
        }


def step_command(step: str, endpoint: str, db_url: str, regions: list[str], output: Path) -> list[str]:
    cmd = phiwatch_command()
    region_args = [arg for region in regions for arg in ("-r", region)]
    if step == "collect":
        return cmd + ["collect", "--endpoint-url", endpoint, "--db", db_url, "--json", *region_args]
    if step == "evaluate":
        return cmd + ["evaluate", "--db", db_url, "-f", "json"]
    if step.startswith("scan"):
        return cmd + ["scan", "--endpoint-url", endpoint, "--db", db_url, "-f", "json", "-o", str(output), *region_args]
    fmt = step.split()[1]
    return cmd + ["report", "--db", db_url, "-f", fmt, "-o", str(output)]


def run_step(step: str, endpoint: str, db: Path, regions: list[str], workdir: Path, tally: RequestTally, timeout: float) -> dict[str, Any]:
    output = workdir / f"{step.replace(' ', '-').replace('(', '').replace(')', '')}.out"
    cmd = step_command(step, endpoint, f"sqlite:///{db}", regions, output)
    tally.reset()
    load = os.getloadavg()[0]
    measured = run_measured(cmd, aws_env(regions[0]), timeout)
    emulator = tally.snapshot(measured["wall_seconds"])
    requests = emulator["requests"]
    size = output.stat().st_size if output.exists() else len(measured["stdout"].encode())
    result = {
        "step": step,
        "command": " ".join(cmd),
        "exit_code": measured["exit_code"],
        "timed_out": measured["timed_out"],
        "wall_seconds": measured["wall_seconds"],
        "cpu_seconds": measured["cpu_seconds"],
        "peak_rss_mib": measured["peak_rss_mib"],
        "requests": requests,
        "output_mib": round(size / 2**20, 1),
        "load_before": round(load, 2),
        **store_counts(db),
        "emulator": emulator,  # requests and the emulator's time per service and operation
    }
    if measured["exit_code"] not in (0, 1):  # 1: findings (scan, evaluate) are not a failure here
        result["stderr_tail"] = measured["stderr"][-3000:]
    log(f"{step}: {measured['wall_seconds']} s, {measured['peak_rss_mib']} MiB, {requests} requests, exit {measured['exit_code']}")
    return result


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# phiwatch at scale: {report['items']:,} items in {len(report['regions'])} Regions",
        "",
        f"{report['started']}, commit {m['commit']}, `{report['command']}`, {m['cpus']} CPUs, {m['memory']}, "
        f"moto {m['moto']}; seeded in {report['seed_seconds']} s: " + ", ".join(f"{n:,} {t}" for t, n in report["seeded"].items()),
        "",
        f"| step | exit | wall s | CPU s | peak RSS MiB (≤ {TARGET_MIB:.0f}) | requests | items | collection errors | evaluations | open findings | output MiB | load before |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        rss = f"{r['peak_rss_mib']}" + ("" if r["peak_rss_mib"] <= TARGET_MIB else " (over)")
        lines.append(
            f"| {r['step']} | {r['exit_code']} | {r['wall_seconds']} | {r['cpu_seconds']} | {rss} | {r['requests']:,} | "
            f"{r['items']:,} | {r['collection_errors']} | {r['evaluations']:,} | {r['findings']:,} | {r['output_mib']} | {r['load_before']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="resources to seed (default 100,000)")
    parser.add_argument("--regions", default=",".join(REGIONS), help="comma-separated Regions (default: 10 Regions)")
    parser.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated steps, in order (default: {','.join(STEPS)})")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per step (default 3600)")
    parser.add_argument("--out", default=str(BENCH_DIR / "results"), help="results directory (default bench/results)")
    parser.add_argument("--keep", action="store_true", help="keep the store and outputs (in the results directory)")
    args = parser.parse_args(argv)
    regions = [r for r in args.regions.split(",") if r]
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown steps {unknown}; choose from {', '.join(STEPS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

    from phiwatch.emulator import Emulator

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    emulator = Emulator().start()
    server = emulator._server._server  # werkzeug's server inside moto's ThreadedMotoServer
    tally = RequestTally(server.app)
    server.app = tally
    started = datetime.now(UTC)
    workdir = out / f"scale-{started:%Y%m%dT%H%M%SZ}" if args.keep else Path(tempfile.mkdtemp(prefix="phiwatch-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line("bench/scale.py", argv),
        "machine": machine(),
        "regions": regions,
        "items": args.items,
        "results": [],
    }
    try:
        t0 = datetime.now(UTC)
        report["seeded"] = dict(seed(args.items, regions))
        report["seed_seconds"] = round((datetime.now(UTC) - t0).total_seconds(), 1)
        log(f"seeded {report['seeded']} in {report['seed_seconds']} s")
        db = workdir / "phiwatch.db"
        for step in steps:
            if step == "scan (new store)":
                db = workdir / "new-store.db"
            report["results"].append(run_step(step, emulator.endpoint, db, regions, workdir, tally, args.timeout))
    finally:
        emulator.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    text = markdown(report)
    for name in (f"scale-{started:%Y%m%dT%H%M%SZ}", "scale-latest"):
        (out / f"{name}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        (out / f"{name}.md").write_text(text)
    print(text)
    # a step that collected with errors did not collect the estate: its figures are not the estate's
    failed = [
        r["step"] for r in report["results"] if r["exit_code"] not in (0, 1) or r["timed_out"] or (r["requests"] and r["collection_errors"])
    ]
    over = [r["step"] for r in report["results"] if r["peak_rss_mib"] > TARGET_MIB]
    if failed:
        log(f"failed: {', '.join(failed)}")
    if over:
        log(f"over {TARGET_MIB:.0f} MiB: {', '.join(over)}")
    return 1 if failed or over else 0


if __name__ == "__main__":
    sys.exit(main())
