"""Scan benchmark: full scan, incremental re-scan after a 1 % change, rule evaluations per second.

For each size: reset the emulator, seed about N resources (``bench/seed.py`` in its own process),
then

1. **full scan**: ``phiwatch scan --policy <packs hipaa, hipaa-extras> --format json`` in a
   separate process on a fresh SQLite store (collection + evaluation of every item). Wall time,
   peak RSS and CPU of that process; the collection's and the evaluation's own seconds come from
   the store (``collection_runs`` and ``scans`` rows);
2. **1 % change**: about 1 % of the collected resources are changed through boto3 (tags, S3
   versioning, security group ingress, log retention), spread over several types;
3. **incremental re-scan**: the same ``phiwatch scan`` again. It must evaluate only what changed:
   the resources with an evaluation written by the re-scan must all have a new version from the
   re-scan's collection, and the re-scan's evaluation count must equal the current evaluations
   of exactly those changed resources;
4. **evaluations per second in-process**: ``engine.Evaluator(...).evaluate(full=True)`` on the
   stored items (rules, findings and evaluation rows written), and the rule functions alone over
   items already in memory (``engine.run_rule``).

    .venv/bin/python bench/scan.py --sizes 100,1000,5000

Results: a Markdown table on stdout and ``bench/results/scan-<time>.{md,json}`` (plus
``scan-latest.md``/``scan-latest.json``). See bench/README.md ("Scan benchmark").
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from run import (  # noqa: E402
    RSS_TARGET_MIB,
    aws_env,
    command_line,
    log,
    machine,
    phiwatch_command,
    reset_endpoint,
    run_measured,
    seed_subprocess,
)

PACKS = ("hipaa", "hipaa-extras")
#: remediation is off so the scan measures collection and evaluation only (the default policy plans
#: remediations in dry-run mode after every scan)
POLICY = f"packs: [{', '.join(PACKS)}]\nremediation: {{mode: 'off'}}\n"


def policy_text(packs: str | None) -> str:
    """The bench policy: the given packs (comma-separated; default hipaa and hipaa-extras), remediation off."""
    if not packs:
        return POLICY
    return f"packs: [{', '.join(p.strip() for p in packs.split(',') if p.strip())}]\nremediation: {{mode: 'off'}}\n"


#: resource types changed for the re-scan, in round-robin order
CHANGE_TYPES = (
    "AWS::S3::Bucket",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::Volume",
    "AWS::Logs::LogGroup",
    "AWS::IAM::User",
    "AWS::EC2::Instance",
    "AWS::DynamoDB::Table",
    "AWS::SNS::Topic",
)


# -- one scan in its own process --------------------------------------------------------------
def scan_once(endpoint: str, db_url: str, policy: Path, region: str, out_json: Path, timeout: float) -> dict[str, Any]:
    cmd = phiwatch_command() + [
        "scan",
        "--policy",
        str(policy),
        "--format",
        "json",
        "--output",
        str(out_json),
        "--endpoint-url",
        endpoint,
        "--db",
        db_url,
        "-r",
        region,
    ]
    measured = run_measured(cmd, aws_env(region), timeout)
    result: dict[str, Any] = {k: v for k, v in measured.items() if k not in ("stdout", "stderr")}
    result["command"] = " ".join(cmd)
    if measured["exit_code"] != 0 or not out_json.exists():
        result["failed"] = True
        result["stderr_tail"] = measured["stderr"][-3000:]
        return result
    scan = json.loads(out_json.read_text())
    result["scan_id"] = scan["scan_id"]
    result["current_evaluations"] = len(scan["evaluations"])
    result["non_compliant"] = sum(1 for e in scan["evaluations"] if e["compliance"] == "NON_COMPLIANT")
    result["collection_errors"] = len(scan.get("errors", []))
    # the collection does not depend on the policy: the same estate costs the same requests whatever packs run
    result["requests"] = (scan.get("collection") or {}).get("requests")
    return result


def _seconds(start: Any, end: Any) -> float | None:
    return round((end - start).total_seconds(), 2) if start is not None and end is not None else None


def scan_facts(store: Any, scan_id: str) -> dict[str, Any]:
    """What the store says about one scan: its collection run, evaluation count and timings."""
    from sqlalchemy import func, select

    from phiwatch.store.tables import collection_runs, evaluations, resources, rule_dependencies, scans, versions

    with store.engine.connect() as conn:
        s = conn.execute(select(scans).where(scans.c.id == scan_id)).mappings().one()
        run = conn.execute(select(collection_runs).where(collection_runs.c.id == s["run_id"])).mappings().one()
        changed_pks = set(conn.execute(select(versions.c.resource_pk).where(versions.c.run_id == run["id"])).scalars())
        evaluated = dict(
            conn.execute(
                select(evaluations.c.resource_pk, func.count()).where(evaluations.c.scan_id == scan_id).group_by(evaluations.c.resource_pk)
            ).all()
        )
        expected = (
            conn.execute(select(func.count()).select_from(evaluations).where(evaluations.c.resource_pk.in_(changed_pks))).scalar_one()
            if changed_pks
            else 0
        )
        # rules that read items of a changed type (an account rule reading every table) re-run on all their resources
        changed_types = (
            set(conn.execute(select(resources.c.resource_type).where(resources.c.id.in_(changed_pks)).distinct()).scalars())
            if changed_pks
            else set()
        )
        dependent = sorted({r.rule_id for r in conn.execute(select(rule_dependencies)) if r.resource_type in changed_types})
        by_dependency = (
            conn.execute(
                select(func.count())
                .select_from(evaluations)
                .where(
                    evaluations.c.scan_id == scan_id, evaluations.c.rule_id.in_(dependent), evaluations.c.resource_pk.not_in(changed_pks)
                )
            ).scalar_one()
            if dependent
            else 0
        )
        other_unchanged = len(
            {
                pk
                for (pk,) in conn.execute(
                    select(evaluations.c.resource_pk).where(
                        evaluations.c.scan_id == scan_id,
                        evaluations.c.resource_pk.not_in(changed_pks),
                        evaluations.c.rule_id.not_in(dependent),
                    )
                )
            }
        )
    return {
        "run_id": run["id"],
        "fingerprint": s["fingerprint"],
        "items_seen": run["items_seen"],
        "versions_written": len(changed_pks),
        "collect_seconds": _seconds(run["started_at"], run["finished_at"]),
        "evaluate_seconds": _seconds(s["started_at"], s["finished_at"]),
        "evaluations": s["evaluated"],
        "resources_evaluated": len(evaluated),
        "evaluated_unchanged_resources": len(set(evaluated) - changed_pks),
        "evaluations_of_changed_resources": expected,
        "dependent_rules": dependent,
        "evaluations_by_dependency": by_dependency,
        "unchanged_evaluated_without_reason": other_unchanged,
    }


# -- the 1 % change -----------------------------------------------------------------------------
def change_resources(endpoint: str, store: Any, region: str, percent: float) -> dict[str, Any]:
    """Change about ``percent`` % of the stored resources through boto3, round-robin over CHANGE_TYPES."""
    import boto3

    from phiwatch.aws.session import make_client

    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = make_client(session, service, endpoint, region)
        return clients[service]

    total = sum(store.counts_by_type().values())
    wanted = max(1, math.ceil(total * percent / 100))
    pools: dict[str, list[Any]] = {}
    for resource_type in CHANGE_TYPES:
        items = sorted(store.current_items(resource_type), key=lambda i: i.resourceId)
        # spread the picks over the whole listing (every k-th), deterministically
        pools[resource_type] = items[:: max(1, len(items) // max(1, wanted // len(CHANGE_TYPES) + 1))]
    picks: list[Any] = []
    index = 0
    while len(picks) < wanted and any(index < len(p) for p in pools.values()):
        for resource_type in CHANGE_TYPES:
            if index < len(pools[resource_type]) and len(picks) < wanted:
                picks.append(pools[resource_type][index])
        index += 1
    done: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    tag = [{"Key": "ChangeTicket", "Value": "CHG-0001"}]
    t0 = time.monotonic()
    for item in picks:
        t, rid = item.resourceType, item.resourceId
        try:
            if t == "AWS::S3::Bucket":
                current = client("s3").get_bucket_versioning(Bucket=rid).get("Status")
                client("s3").put_bucket_versioning(
                    Bucket=rid, VersioningConfiguration={"Status": "Suspended" if current == "Enabled" else "Enabled"}
                )
            elif t == "AWS::EC2::SecurityGroup":
                client("ec2").authorize_security_group_ingress(
                    GroupId=rid,
                    IpPermissions=[{"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "10.250.0.0/16"}]}],
                )
            elif t in ("AWS::EC2::Volume", "AWS::EC2::Instance"):
                client("ec2").create_tags(Resources=[rid], Tags=tag)
            elif t == "AWS::Logs::LogGroup":
                client("logs").put_retention_policy(logGroupName=rid, retentionInDays=400)
            elif t == "AWS::IAM::User":
                client("iam").tag_user(UserName=item.resourceName or rid, Tags=tag)
            elif t == "AWS::DynamoDB::Table":
                client("dynamodb").tag_resource(ResourceArn=item.arn, Tags=tag)
            elif t == "AWS::SNS::Topic":
                client("sns").tag_resource(ResourceArn=item.arn, Tags=tag)
            done[t] += 1
        except Exception as exc:  # noqa: BLE001 - count and go on
            errors[f"{t}: {type(exc).__name__}"] += 1
    return {
        "stored_resources": total,
        "wanted": wanted,
        "changed": sum(done.values()),
        "by_type": dict(done),
        "errors": dict(errors),
        "seconds": round(time.monotonic() - t0, 2),
    }


# -- evaluation in-process ----------------------------------------------------------------------
def evaluate_in_process(store: Any, policy_path: Path) -> dict[str, Any]:
    """Evaluator(full=True) over the store, and the rule functions alone over items in memory."""
    from phiwatch.evaluation import Evaluator
    from phiwatch.model import utcnow
    from phiwatch.policy import load_policy
    from phiwatch.rules.active import active_rules, resolve_rules, run_rule
    from phiwatch.rules.base import RuleContext

    policy = load_policy(policy_path)
    rules = resolve_rules(policy)
    t0 = time.perf_counter()
    summary = Evaluator(store, policy, rules).evaluate(full=True)
    full_seconds = time.perf_counter() - t0

    active = active_rules(policy, rules)
    by_type: dict[str, list[Any]] = {}
    for a in active:
        for t in a.rule.resource_types:
            by_type.setdefault(t, []).append(a)
    items = list(store.current_items())
    cache: dict[str, list[Any]] = {}

    def lookup(resource_type: str) -> list[Any]:
        if resource_type not in cache:
            cache[resource_type] = [i for i in items if i.resourceType == resource_type]
        return cache[resource_type]

    ctx = RuleContext(now=utcnow(), lookup=lookup)
    results = 0
    t0 = time.perf_counter()
    for item in items:
        for a in by_type.get(item.resourceType, ()):
            if a.scope is not None and not a.scope.matches(item):
                continue
            if run_rule(a, item, ctx) is not None:
                results += 1
    rules_seconds = time.perf_counter() - t0
    return {
        "active_rules": len(active),
        "items": len(items),
        "full_evaluations": summary.evaluations,
        "full_items": summary.items_evaluated,
        "full_seconds": round(full_seconds, 3),
        "full_per_second": round(summary.evaluations / full_seconds) if full_seconds else None,
        "rule_results": results,
        "rules_seconds": round(rules_seconds, 3),
        "rules_per_second": round(results / rules_seconds) if rules_seconds else None,
    }


# -- the run -----------------------------------------------------------------------------------
def bench_size(size: int, args: argparse.Namespace, endpoint: str, workdir: Path) -> dict[str, Any]:
    from phiwatch.store import Store

    load_before = round(os.getloadavg()[0], 2)
    log(f"size {size}: reset (load average {load_before})")
    reset_endpoint(endpoint)
    seeded = seed_subprocess(endpoint, size, [args.region], args.seed_workers, [], args.timeout)
    log(f"size {size}: seeded {seeded['total']} resources in {seeded['seconds']} s")
    for stale in workdir.glob(f"scan-{size}.db*"):
        stale.unlink()
    db_url = f"sqlite:///{workdir / f'scan-{size}.db'}"
    policy = workdir / "policy.yaml"
    policy.write_text(policy_text(args.packs))
    result: dict[str, Any] = {"size": size, "seed": seeded}

    log(f"size {size}: full scan")
    first = scan_once(endpoint, db_url, policy, args.region, workdir / f"scan-{size}-first.json", args.timeout)
    result["full"] = first
    if first.get("failed"):
        log(f"size {size}: scan failed:\n{first.get('stderr_tail', '')}")
        return result
    store = Store(db_url)
    try:
        first.update(scan_facts(store, first["scan_id"]))
        log(f"size {size}: full scan {first['wall_seconds']} s, {first['evaluations']} evaluations, {first['peak_rss_mib']} MiB")
        result["change"] = change_resources(endpoint, store, args.region, args.change_percent)
        log(f"size {size}: changed {result['change']['changed']} resources ({result['change']['errors'] or 'no errors'})")
        log(f"size {size}: incremental re-scan")
        second = scan_once(endpoint, db_url, policy, args.region, workdir / f"scan-{size}-second.json", args.timeout)
        result["incremental"] = second
        if second.get("failed"):
            log(f"size {size}: re-scan failed:\n{second.get('stderr_tail', '')}")
            return result
        second.update(scan_facts(store, second["scan_id"]))
        # the rules or their code changed between the scans: everything is re-evaluated, rightly
        second["fingerprint_changed"] = second["fingerprint"] != first["fingerprint"]
        second["only_changed"] = (
            second["unchanged_evaluated_without_reason"] == 0
            and second["evaluations"] == second["evaluations_of_changed_resources"] + second["evaluations_by_dependency"]
        )
        log(
            f"size {size}: re-scan {second['wall_seconds']} s, {second['evaluations']} evaluations of "
            f"{second['resources_evaluated']} resources; {second['versions_written']} versions written; "
            f"only changed: {second['only_changed']}"
        )
        log(f"size {size}: in-process evaluation")
        result["in_process"] = evaluate_in_process(store, policy)
    finally:
        store.close()
    result["db_mib"] = round(sum(p.stat().st_size for p in workdir.glob(f"scan-{size}.db*")) / 2**20, 1)
    result["load_average"] = [load_before, round(os.getloadavg()[0], 2)]
    return result


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# phiwatch scan benchmark — {report['started']}",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, boto3 {m['boto3']}, "
        f"moto {m['moto']}, SQLAlchemy {m['sqlalchemy']}, commit {m['commit'] or '?'}  ",
        f"Emulator: in-process moto server; region {report['region']}; packs {', '.join(report['packs'])}; remediation off; "
        f"change {report['change_percent']:g} %",
        "",
        "| size | items | requests | full scan wall s | collect s | evaluate s | eval/collect | evaluations | peak RSS MiB (≤"
        f"{RSS_TARGET_MIB}) | changed (boto3) | re-scan wall s | re-scan collect s | re-scan evaluate s | versions written | "
        "re-scan evaluations | evaluations of changed | by dependency | unchanged evaluated | only changed | evals/s full (in-process) | "
        "evals/s rules only | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for r in report["results"]:
        first, second = r.get("full", {}), r.get("incremental", {})
        if first.get("failed") or not second or second.get("failed"):
            lines.append(f"| {r['size']} | FAILED |" + " |" * 21)
            continue
        p, c = r["in_process"], r["change"]
        ratio = (first["evaluate_seconds"] / first["collect_seconds"]) if first["collect_seconds"] else None
        rss = max(first["peak_rss_mib"], second["peak_rss_mib"])
        lines.append(
            f"| {r['size']} | {first['items_seen']} | {first.get('requests')} | {first['wall_seconds']} | {first['collect_seconds']} | "
            f"{first['evaluate_seconds']} | {'' if ratio is None else f'{ratio:.0%}'} | {first['evaluations']} | "
            f"{rss}{'' if rss <= RSS_TARGET_MIB else ' ✗'} | {c['changed']} | {second['wall_seconds']} | "
            f"{second['collect_seconds']} | {second['evaluate_seconds']} | {second['versions_written']} | "
            f"{second['evaluations']} | {second['evaluations_of_changed_resources']} | {second['evaluations_by_dependency']} | "
            f"{second['evaluated_unchanged_resources']} | "
            f"{'yes' if second['only_changed'] else 'NO (rules changed)' if second['fingerprint_changed'] else 'NO'} | "
            f"{p['full_per_second']} | {p['rules_per_second']} | {r['load_average'][0]}→{r['load_average'][1]} |"
        )
    notes = []
    for r in report["results"]:
        c = r.get("change")
        if c:
            notes.append(f"size {r['size']}: changed {c['by_type']}" + (f", errors {c['errors']}" if c["errors"] else ""))
    if notes:
        lines += ["", "Changes: " + "; ".join(notes)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="comma-separated estate sizes (default 100,1000,5000)")
    parser.add_argument("--region", default="us-east-1", help="region seeded and scanned (default us-east-1)")
    parser.add_argument("--change-percent", type=float, default=1.0, help="share of resources changed before the re-scan (default 1)")
    parser.add_argument("--seed-workers", type=int, default=16, help="seeding threads (default 16)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per seeding or scan (default 1800)")
    parser.add_argument("--out", default=str(BENCH_DIR / "results"), help="results directory (default bench/results)")
    parser.add_argument(
        "--packs", default=None, help="rule packs the scans run, comma-separated (default hipaa,hipaa-extras; e.g. aws-managed)"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the SQLite stores and scan JSON (in the results directory)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")  # see run.py: no ACM state change between the scans
    from phiwatch.emulator import Emulator

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    emulator = Emulator().start()
    started = datetime.now(UTC)
    workdir = out if args.keep_db else Path(tempfile.mkdtemp(prefix="phiwatch-scan-bench-"))
    report: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line("bench/scan.py", argv),
        "machine": machine(),
        "region": args.region,
        "packs": args.packs.split(",") if args.packs else list(PACKS),
        "change_percent": args.change_percent,
        "results": [],
    }
    try:
        for size in sizes:
            report["results"].append(bench_size(size, args, emulator.endpoint, workdir))
    finally:
        emulator.stop()
        if not args.keep_db:
            shutil.rmtree(workdir, ignore_errors=True)
    text = markdown(report)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    for name in (f"scan-{stamp}", "scan-latest"):
        (out / f"{name}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        (out / f"{name}.md").write_text(text)
    print(text)
    log(f"written {out / f'scan-{stamp}.md'} and .json")
    ok = all(r.get("incremental", {}).get("only_changed") for r in report["results"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
