"""Remediation benchmark: plan and apply time per built-in runbook on the emulator, and for 100
findings at once.

Per runbook (every built-in, seeded as in tests/remediate/test_remediation_e2e.py: a violating resource in
the rule's scope, one excepted, one out of scope): reset moto's server (in-process), seed, and
scan into a fresh SQLite store with remediation off (not timed). Then, timed:

* **plan**: one remediation pass with the rule in mode ``dry-run``: the runbook runs without
  sending a write call, and the plan (every API call with its parameters) is stored, audited and
  announced.
* **apply**: one pass with the rule in mode ``auto``: execute the runbook, re-collect the
  resource's service in its Region, re-evaluate, mark the finding remediated (or failed), audit.
  ``verify`` is the re-collection part of it (the collector of the service, e.g. every bucket's
  S3 settings); ``execute`` is the rest, mostly the runbook's API calls.

Each runbook is measured ``--rounds`` times (fresh seed each round); the median is reported.

100 findings at once: 100 buckets without versioning (s3-bucket-versioning-enabled) and 100
security groups open to the world on SSH (restricted-ssh), each planned then applied in one
pass (``max_per_run`` raised to 1,000, no hourly limit).

    .venv/bin/python bench/remediate.py [--rounds 3] [--findings 100] [--only RUNBOOK,...]

Prints a Markdown table and writes bench/results/remediate-latest.{md,json}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "tests" / "remediate")]
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_var, None)
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")

import test_remediation_e2e as cases  # noqa: E402 - the seeding of every runbook's end-to-end case

from phiwatch import __version__  # noqa: E402
from phiwatch.emulator import Emulator  # noqa: E402
from phiwatch.policy import Policy, parse_policy  # noqa: E402
from phiwatch.remediate import applying  # noqa: E402
from phiwatch.rules.active import resolve_rules  # noqa: E402
from phiwatch.scan import remediator, run_scan  # noqa: E402
from phiwatch.store import Store  # noqa: E402

REGION = "us-east-1"


class Timed:
    """Wraps applying.recollect to add up the time spent re-collecting (the verify part)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._original = applying.recollect

    def __enter__(self) -> Timed:
        def timed(*args: Any, **kw: Any) -> Any:
            start = time.perf_counter()
            try:
                return self._original(*args, **kw)
            finally:
                self.seconds += time.perf_counter() - start

        applying.recollect = timed
        return self

    def __exit__(self, *exc: Any) -> None:
        applying.recollect = self._original


def policy(case: Any, seeded: Any, mode: str, max_per_run: int = 20) -> Policy:
    scope = case.scope if case.scope is not None else (None if case.account_level else {"tags": {"Environment": "PROD"}})
    override = {k: v for k, v in (("parameters", case.parameters), ("scope", scope)) if v}
    data: dict[str, Any] = {
        "packs": ["hipaa", "hipaa-extras"],
        "rules": {case.rule: override} if override else {},
        "remediation": {
            "mode": "off",
            "max_per_run": max_per_run,
            "rules": {case.rule: {"mode": mode, "parameters": case.runbook_parameters}},
        },
    }
    if seeded.excepted:
        data["exceptions"] = [
            {
                "rule": case.rule,
                "resource": seeded.exception or seeded.excepted,
                "justification": "benchmark",
                "owner": "bench@example.org",
                "expires": "2099-12-31",
            }
        ]
    return parse_policy(json.dumps(data))


def one_pass(env: Any, store: Store, pol: Policy) -> tuple[float, float, Any]:
    """One remediation pass; returns (seconds, of which re-collecting, report)."""
    rules = resolve_rules(pol)
    with Timed() as timed:
        start = time.perf_counter()
        report = remediator(env.context(), store, pol, rules).run()
        seconds = time.perf_counter() - start
    return seconds, timed.seconds, report


def measure(
    env: Any, emu: Emulator, case: Any, workdir: Path, seed: Callable[[Any], Any], round_no: int, max_per_run: int = 20
) -> dict[str, Any]:
    emu.reset()
    env._clients.clear()
    seeded = seed(env)
    store = Store(f"sqlite:///{workdir / f'{case.runbook}-{round_no}.db'}")
    try:
        start = time.perf_counter()
        run_scan(env.context(case.regions), store, policy(case, seeded, "off", max_per_run), services=case.services)
        scan_s = time.perf_counter() - start
        plan_s, _, planned = one_pass(env, store, policy(case, seeded, "dry-run", max_per_run))
        apply_s, verify_s, applied = one_pass(env, store, policy(case, seeded, "auto", max_per_run))
    finally:
        store.close()
    return {
        "scan_s": scan_s,
        "plan_s": plan_s,
        "apply_s": apply_s,
        "verify_s": verify_s,
        "planned": len(planned.by_status("planned")),
        "applied": len(applied.by_status("applied")),
        "failed": [o.reason for o in applied.outcomes if o.status != "applied"],
        "plan_calls": sum(len(o.plan) for o in planned.by_status("planned")),
        "apply_calls": sum(len(s["calls"]) for o in applied.by_status("applied") for s in o.steps),
    }


def median_row(name: str, rows: list[dict[str, Any]], findings: int) -> dict[str, Any]:
    out: dict[str, Any] = {"runbook": name, "findings": findings, "rounds": len(rows)}
    for key in ("scan_s", "plan_s", "apply_s", "verify_s"):
        out[key] = round(statistics.median(r[key] for r in rows), 3)
    for key in ("planned", "applied", "plan_calls", "apply_calls"):
        out[key] = min(r[key] for r in rows)
    out["failed"] = sorted({reason for r in rows for reason in r["failed"]})
    return out


# -- 100 findings at once ----------------------------------------------------------------------


def many_buckets(n: int) -> Callable[[Any], Any]:
    def seed(env: Any) -> Any:
        s3 = env.client("s3")
        for i in range(n):
            name = f"phi-bulk-{i:04d}"
            s3.create_bucket(Bucket=name)
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "Environment", "Value": "PROD"}]})
        return cases.Seeded("phi-bulk-0000")

    return seed


def many_groups(n: int) -> Callable[[Any], Any]:
    def seed(env: Any) -> Any:
        ec2 = env.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
        first = None
        for i in range(n):
            gid = ec2.create_security_group(
                GroupName=f"sg-bulk-{i:04d}",
                Description="bulk",
                VpcId=vpc,
                TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "Environment", "Value": "PROD"}]}],
            )["GroupId"]
            ec2.authorize_security_group_ingress(
                GroupId=gid, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
            )
            first = first or gid
        return cases.Seeded(first)

    return seed


def markdown(rows: list[dict[str, Any]], bulk: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"Remediation on moto's server (in-process), phiwatch {meta['phiwatch']}, {meta['when']}, "
        f"{meta['cpus']} CPUs, load average {meta['loadavg_before']} before / {meta['loadavg_after']} after; "
        f"median of {meta['rounds']} round(s).",
        "",
        "| runbook | rule | plan (s) | apply (s) | of which verify (s) | calls planned / applied | result |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        result = "applied" if r["applied"] == r["findings"] and not r["failed"] else f"FAILED: {'; '.join(r['failed'])[:120]}"
        lines.append(
            f"| {r['runbook']} | {r['rule']} | {r['plan_s']:.2f} | {r['apply_s']:.2f} | {r['verify_s']:.2f} | "
            f"{r['plan_calls']} / {r['apply_calls']} | {result} |"
        )
    lines += [
        "",
        "| findings at once | plan (s) | plan per finding (ms) | apply (s) | apply per finding (ms) | of which verify (s) | applied |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in bulk:
        n = r["findings"]
        lines.append(
            f"| {n} × {r['runbook']} ({r['rule']}) | {r['plan_s']:.2f} | {1000 * r['plan_s'] / n:.0f} | {r['apply_s']:.2f} | "
            f"{1000 * r['apply_s'] / n:.0f} | {r['verify_s']:.2f} | {r['applied']} / {n} |"
        )
    return "\n".join(lines) + "\n"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--findings", type=int, default=100, help="findings remediated at once (0: skip)")
    ap.add_argument("--only", default="", help="comma-separated runbook ids (default: every built-in)")
    ap.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    args = ap.parse_args()

    meta = {
        "phiwatch": __version__,
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "rounds": args.rounds,
        "loadavg_before": loadavg(),
    }
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    emu = Emulator().start()
    env = cases.CachedAwsEnv(emu)
    rows: list[dict[str, Any]] = []
    bulk: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="phiwatch-bench-remediate-") as tmp:
            workdir = Path(tmp)
            for case in cases.CASES:
                if only and case.runbook not in only:
                    continue
                runs = [measure(env, emu, case, workdir, case.seed, i) for i in range(args.rounds)]
                row = {**median_row(case.runbook, runs, 1), "rule": case.rule}
                rows.append(row)
                print(f"{case.runbook}: plan {row['plan_s']:.2f}s apply {row['apply_s']:.2f}s", file=sys.stderr, flush=True)
            if args.findings:
                n = args.findings
                for runbook, seed in (
                    ("phiwatch-EnableS3BucketVersioning", many_buckets(n)),
                    ("phiwatch-RevokeOpenIngress", many_groups(n)),
                ):
                    case = cases.BY_RUNBOOK[runbook]
                    bulk_case = cases.Case(case.runbook, case.rule, case.services, seed, case.read, case.fixed)
                    run = measure(env, emu, bulk_case, workdir, seed, 0, max_per_run=10 * n)
                    bulk.append({**median_row(runbook, [run], n), "rule": case.rule})
                    print(f"{n} x {runbook}: plan {run['plan_s']:.2f}s apply {run['apply_s']:.2f}s", file=sys.stderr, flush=True)
    finally:
        emu.stop()
    meta["loadavg_after"] = loadavg()
    text = markdown(rows, bulk, meta)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "remediate-latest.md").write_text(text)
    (args.out / "remediate-latest.json").write_text(json.dumps({"meta": meta, "runbooks": rows, "at_once": bulk}, indent=2) + "\n")


if __name__ == "__main__":
    main()
