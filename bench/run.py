"""Collection benchmark: seed estates of several sizes into moto's server and time ``phiwatch collect``.

For each size: reset the emulator, seed about N resources (``bench/seed.py``, in its own process
so it does not compete with the emulator for the GIL), then run ``phiwatch collect --json`` in a
separate process twice: a first collection into a fresh SQLite store, and a second one with
nothing changed (it must write no versions). Measured per collection: wall time, the engine's
own seconds, peak RSS and CPU time of the phiwatch process (``os.wait4``), requests sent (the
summary's ``requests``) and requests per collected item. The emulator runs inside this process,
so the collection process's RSS is phiwatch's alone; a small WSGI wrapper counts the requests
the emulator serves per service and operation (which service dominates, and whether an API is
called more than once per resource).

    .venv/bin/python bench/run.py --sizes 100,1000,5000

Results: a Markdown table on stdout and ``bench/results/bench-<time>.{md,json}`` (plus
``latest.md``/``latest.json``). See bench/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RSS_TARGET_MIB = 300

#: AWS Config type prefix -> the signing name of the service that serves it
_TYPE_SERVICE = {
    "EC2": "ec2",
    "S3": "s3",
    "IAM": "iam",
    "KMS": "kms",
    "Logs": "logs",
    "CloudWatch": "monitoring",
    "DynamoDB": "dynamodb",
    "SNS": "sns",
    "SecretsManager": "secretsmanager",
    "Lambda": "lambda",
    "RDS": "rds",
    "EFS": "elasticfilesystem",
    "ElasticLoadBalancingV2": "elasticloadbalancing",
    "ElasticLoadBalancing": "elasticloadbalancing",
    "CloudTrail": "cloudtrail",
    "ACM": "acm",
    "ApiGateway": "apigateway",
    "ApiGatewayV2": "apigateway",
    "OpenSearch": "es",
    "Elasticsearch": "es",
    "Redshift": "redshift",
    "GuardDuty": "guardduty",
    "SecurityHub": "securityhub",
}
# S3 query parameters that are not sub-resources
_S3_PLAIN_PARAMS = {
    "x-id",
    "prefix",
    "max-keys",
    "continuation-token",
    "list-type",
    "encoding-type",
    "delimiter",
    "start-after",
    "fetch-owner",
    "bucket-region",
    "max-buckets",
}


# -- server-side request tally --------------------------------------------------------------
def _normalise_path(path: str) -> str:
    """A REST path with its ids as ``{}``: segments that are not plain words, and the segment
    after a plural collection name (``/restapis/{}/stages/{}``, ``/functions/{}/policy``)."""
    parts: list[str] = []
    previous = ""
    for seg in path.split("/"):
        if not seg:
            continue
        word = re.fullmatch(r"[a-z][a-zA-Z-]*", seg) is not None
        is_id = not word or (previous.endswith("s") and len(previous) > 3 and parts[-1:] != ["{}"])
        parts.append("{}" if is_id else seg)
        previous = seg
    return "/" + "/".join(parts)


def classify(environ: dict[str, Any]) -> tuple[str, str]:
    """(service, operation) of one request seen by the emulator."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/", auth)
    service = match.group(2) if match else "?"
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/") or "/"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service, target.rsplit(".", 1)[-1]
    params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    action = params.get("Action")
    if not action and method == "POST" and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
    if action:
        return service, action[0]
    if service == "s3":
        if path.startswith("/v20180820/"):
            return "s3control", f"{method} {_normalise_path(path)}"
        parts = [p for p in path.split("/") if p]
        subresources = ",".join(sorted(k for k in params if k not in _S3_PLAIN_PARAMS))
        where = "service" if not parts else ("bucket" if len(parts) == 1 else "object")
        return "s3", f"{method} {where}" + (f"?{subresources}" if subresources else "")
    return service, f"{method} {_normalise_path(path)}"


class RequestTally:
    """WSGI wrapper around moto's app: requests per (service, operation), time per service, concurrency."""

    def __init__(self, app: Callable[..., Any], latency: float = 0.0) -> None:
        self.app = app
        #: seconds added to every request, to look like a round trip to AWS instead of loopback
        self.latency = latency
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.t0 = time.monotonic()
            self.operations: Counter[tuple[str, str]] = Counter()
            self.service_seconds: Counter[str] = Counter()
            self.first: dict[str, float] = {}
            self.last: dict[str, float] = {}
            self.in_flight = 0
            self.max_in_flight = 0
            self.busy = 0.0
            self._busy_since = 0.0
            self.request_seconds = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            service, operation = classify(environ)
        except Exception:  # noqa: BLE001 - never break the emulator for a statistic
            service, operation = "?", "?"
        start = time.monotonic()
        with self.lock:
            if self.in_flight == 0:
                self._busy_since = start
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            return self.app(environ, start_response)
        finally:
            end = time.monotonic()
            with self.lock:
                self.in_flight -= 1
                if self.in_flight == 0:
                    self.busy += end - self._busy_since
                self.operations[(service, operation)] += 1
                self.service_seconds[service] += end - start
                self.request_seconds += end - start
                self.first.setdefault(service, start - self.t0)
                self.last[service] = end - self.t0

    def snapshot(self, wall: float) -> dict[str, Any]:
        with self.lock:
            per_service: dict[str, dict[str, Any]] = {}
            for (service, operation), n in self.operations.items():
                entry = per_service.setdefault(service, {"requests": 0, "operations": {}})
                entry["requests"] += n
                entry["operations"][operation] = n
            for service, entry in per_service.items():
                entry["operations"] = dict(sorted(entry["operations"].items(), key=lambda kv: -kv[1]))
                entry["emulator_seconds"] = round(self.service_seconds[service], 2)
                entry["active_from"] = round(self.first.get(service, 0.0), 2)
                entry["active_to"] = round(self.last.get(service, 0.0), 2)
            return {
                "requests": sum(self.operations.values()),
                "max_in_flight": self.max_in_flight,
                "mean_in_flight": round(self.request_seconds / wall, 2) if wall else None,
                "busy_fraction": round(self.busy / wall, 3) if wall else None,
                "services": dict(sorted(per_service.items(), key=lambda kv: -kv[1]["requests"])),
            }


# -- one collection in its own process ------------------------------------------------------
def phiwatch_command() -> list[str]:
    script = Path(sys.executable).with_name("phiwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "phiwatch.cli"]


def aws_env(region: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "PHIWATCH_DB"}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        MOTO_EC2_LOAD_DEFAULT_AMIS="false",
    )
    return env


# The measuring parent: a bare interpreter (-I -S, ~10 MiB) that runs the command and reports its
# rusage. Linux carries the parent's high-water RSS into a child across exec (``ru_maxrss`` of a
# process forked from this bench would include the emulator's memory), so a small parent is what
# makes ``ru_maxrss`` phiwatch's own.
_MEASURE = (
    "import json,os,subprocess,sys\n"
    "p=subprocess.Popen(sys.argv[2:])\n"
    "_,s,u=os.wait4(p.pid,0)\n"
    "open(sys.argv[1],'w').write(json.dumps({'status':s,'maxrss':u.ru_maxrss,'cpu':u.ru_utime+u.ru_stime}))\n"
)


def run_measured(cmd: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run ``cmd``; return stdout, stderr, exit code, wall seconds, peak RSS and CPU of that process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        usage_file = Path(tmp) / "usage.json"
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _MEASURE, str(usage_file), *cmd],
            stdout=out,
            stderr=err,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            timed_out = True
        wall = time.monotonic() - t0
        usage = json.loads(usage_file.read_text()) if usage_file.exists() else {"status": -1, "maxrss": 0, "cpu": 0}
        out.seek(0)
        err.seek(0)
        return {
            "exit_code": os.waitstatus_to_exitcode(usage["status"]) if usage["status"] >= 0 else proc.returncode,
            "wall_seconds": round(wall, 2),
            "peak_rss_mib": round(usage["maxrss"] / 1024, 1),  # Linux: KiB
            "cpu_seconds": round(usage["cpu"], 2),
            "stdout": out.read().decode("utf-8", "replace"),
            "stderr": err.read().decode("utf-8", "replace"),
            "timed_out": timed_out,
        }


def collect_once(
    endpoint: str, db_url: str, regions: list[str], workers: int | None, services: list[str], timeout: float, tally: RequestTally | None
) -> dict[str, Any]:
    cmd = phiwatch_command() + ["collect", "--endpoint-url", endpoint, "--db", db_url, "--json"]
    for region in regions:
        cmd += ["-r", region]
    for service in services:
        cmd += ["-s", service]
    if workers:
        cmd += ["--workers", str(workers)]
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    if tally:
        tally.reset()
    measured = run_measured(cmd, aws_env(regions[0]), timeout)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    result: dict[str, Any] = {k: v for k, v in measured.items() if k not in ("stdout", "stderr")}
    result["command"] = " ".join(cmd)
    result["emulator_cpu_seconds"] = round((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime), 2)
    if tally:
        result["emulator"] = tally.snapshot(measured["wall_seconds"])
    try:
        summary = json.loads(measured["stdout"])
    except json.JSONDecodeError:
        result["failed"] = True
        result["stderr_tail"] = measured["stderr"][-3000:]
        return result
    errors = Counter(f"{e.get('service')}:{e.get('api')} {e.get('error')}" for e in summary.get("errors", []))
    items = summary.get("seen", 0)
    result.update(
        items=items,
        types=summary.get("types", {}),
        requests=summary.get("requests", 0),
        engine_seconds=summary.get("seconds"),
        requests_per_item=round(summary.get("requests", 0) / items, 2) if items else None,
        versions_written=summary.get("created", 0) + summary.get("changed", 0) + summary.get("deleted", 0),
        created=summary.get("created", 0),
        changed=summary.get("changed", 0),
        deleted=summary.get("deleted", 0),
        errors=len(summary.get("errors", [])),
        error_kinds=dict(errors.most_common(20)),
    )
    if measured["stderr"].strip():
        result["stderr_tail"] = measured["stderr"][-2000:]
    return result


def per_service(collection: dict[str, Any]) -> list[dict[str, Any]]:
    """Items, requests and emulator time per AWS service for one collection."""
    items: Counter[str] = Counter()
    for resource_type, n in collection.get("types", {}).items():
        prefix = resource_type.split("::")[1] if resource_type.count("::") == 2 else ""
        if prefix:
            items[_TYPE_SERVICE.get(prefix, prefix.lower())] += n
    emulator = collection.get("emulator", {}).get("services", {})
    rows = []
    for service in sorted(set(items) | set(emulator), key=lambda s: -emulator.get(s, {}).get("requests", 0)):
        e = emulator.get(service, {})
        n_items = items.get(service, 0)
        requests = e.get("requests", 0)
        ops = e.get("operations", {})
        rows.append(
            {
                "service": service,
                "items": n_items,
                "requests": requests,
                "requests_per_item": round(requests / n_items, 2) if n_items else None,
                "emulator_seconds": e.get("emulator_seconds"),
                "active": (e.get("active_from"), e.get("active_to")),
                "top_operations": dict(list(ops.items())[:6]),
                # an operation called more often than there are items of its service: a repeated describe or many pages
                "over_once_per_item": {op: n for op, n in ops.items() if n_items and n > max(n_items, 3)},
            }
        )
    return rows


# -- the run ---------------------------------------------------------------------------------
def seed_subprocess(endpoint: str, size: int, regions: list[str], workers: int, skip: list[str], timeout: float) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(BENCH_DIR / "seed.py"),
        "--size",
        str(size),
        "--endpoint-url",
        endpoint,
        "--regions",
        ",".join(regions),
        "--workers",
        str(workers),
    ]
    if skip:
        cmd += ["--skip", ",".join(skip)]
    measured = run_measured(cmd, aws_env(regions[0]), timeout)
    if measured["exit_code"] != 0:
        raise SystemExit(f"seeding failed ({measured['exit_code']}):\n{measured['stderr'][-3000:]}")
    result = json.loads(measured["stdout"])
    result["wall_seconds"] = measured["wall_seconds"]
    return result


def reset_endpoint(endpoint: str) -> None:
    import urllib.request

    req = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(req, timeout=60).read()


def command_line(script: str, argv: list[str] | None) -> str:
    """How a bench was started, for its report: this Python (relative to the repository when it is
    the project's virtualenv), the script and its arguments."""
    python = Path(sys.executable).relative_to(ROOT).as_posix() if sys.executable.startswith(str(ROOT)) else sys.executable
    return " ".join([python, script, *(argv if argv is not None else sys.argv[1:])])


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    versions = {}
    for package in ("boto3", "moto", "sqlalchemy"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # noqa: BLE001
            versions[package] = "?"
    commit = ""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        **versions,
    }


def bench_size(
    size: int, args: argparse.Namespace, endpoint: str, tally: RequestTally | None, workdir: Path, collectors: list[str]
) -> dict[str, Any]:
    load_before = round(os.getloadavg()[0], 2)
    log(f"size {size}: reset (load average {load_before})")
    if args.reset:
        reset_endpoint(endpoint)
    log(f"size {size}: seeding")
    seeded = seed_subprocess(endpoint, size, args.regions, args.seed_workers, args.skip, args.timeout)
    log(f"size {size}: seeded {seeded['total']} resources with {seeded['requests']} requests in {seeded['seconds']} s")
    db_path = workdir / f"bench-{size}.db"
    db_url = f"sqlite:///{db_path}"
    for stale in workdir.glob(f"bench-{size}.db*"):  # --keep-db leaves the last run's store: start fresh
        stale.unlink()
    runs = []
    for label in ("first", "unchanged"):
        log(f"size {size}: {label} collection")
        run = collect_once(endpoint, db_url, args.regions, args.workers, args.services, args.timeout, tally)
        run["label"] = label
        runs.append(run)
        if run.get("failed"):
            log(f"size {size}: collection failed:\n{run.get('stderr_tail', '')}")
            break
        log(
            f"size {size}: {label}: {run['items']} items, {run['requests']} requests, {run['wall_seconds']} s, "
            f"{run['peak_rss_mib']} MiB, {run['versions_written']} versions, {run['errors']} errors"
        )
    db_bytes = sum(p.stat().st_size for p in workdir.glob(f"bench-{size}.db*"))
    if not args.keep_db:
        for p in workdir.glob(f"bench-{size}.db*"):
            p.unlink()
    return {
        "size": size,
        "seed": seeded,
        "collections": runs,
        "db_mib": round(db_bytes / 2**20, 1),
        "load_average": [load_before, round(os.getloadavg()[0], 2)],
        "services": per_service(runs[0]) if tally else [],
        "collectors": collectors,
    }


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- report ----------------------------------------------------------------------------------
def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# phiwatch collection benchmark — {report['started']}",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, boto3 {m['boto3']}, "
        f"moto {m['moto']}, SQLAlchemy {m['sqlalchemy']}, commit {m['commit'] or '?'}  ",
        f"Emulator: {report['emulator']}; regions {', '.join(report['regions'])}; collectors: {', '.join(report['collectors'])}",
        "",
        "| size | seeded | seed s (req/s) | items | collect wall s | engine s | requests | req/item | "
        f"peak RSS MiB (≤{RSS_TARGET_MIB}) | phiwatch CPU s | emulator CPU s | emulator busy | unchanged re-collect s | re-collect versions | re-collect RSS MiB | errors | store MiB | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["results"]:
        s = r["seed"]
        first = r["collections"][0]
        second = r["collections"][1] if len(r["collections"]) > 1 else {}
        if first.get("failed"):
            lines.append(f"| {r['size']} | {s['total']} | {s['seconds']} | FAILED | | | | | | | | | | | | | | |")
            continue
        busy = first.get("emulator", {}).get("busy_fraction")
        rss_mark = "" if first["peak_rss_mib"] <= RSS_TARGET_MIB else " ✗"
        lines.append(
            f"| {r['size']} | {s['total']} | {s['seconds']} ({s['requests_per_second']}) | {first['items']} | "
            f"{first['wall_seconds']} | {first['engine_seconds']} | {first['requests']} | {first['requests_per_item']} | "
            f"{first['peak_rss_mib']}{rss_mark} | {first['cpu_seconds']} | {first['emulator_cpu_seconds']} | "
            f"{'' if busy is None else f'{busy:.0%}'} | {second.get('wall_seconds', '')} | {second.get('versions_written', '')} | "
            f"{second.get('peak_rss_mib', '')} | {first['errors']}/{second.get('errors', '')} | {r['db_mib']} | "
            f"{r['load_average'][0]}→{r['load_average'][1]} |"
        )
    for r in report["results"]:
        if not r["services"]:
            continue
        first = r["collections"][0]
        em = first.get("emulator", {})
        lines += [
            "",
            f"## Size {r['size']}: per service (first collection; emulator saw {em.get('requests')} requests, "
            f"max {em.get('max_in_flight')} in flight, mean {em.get('mean_in_flight')})",
            "",
            "| service | items | requests | req/item | emulator s | active s | top operations |",
            "|---|---:|---:|---:|---:|---|---|",
        ]
        for row in r["services"]:
            ops = ", ".join(f"{op} {n}" for op, n in row["top_operations"].items())
            start, end = row["active"]
            lines.append(
                f"| {row['service']} | {row['items']} | {row['requests']} | {row['requests_per_item'] or ''} | "
                f"{row['emulator_seconds']} | {start}–{end} | {ops} |"
            )
        repeated = [
            f"{row['service']} {op} {n}×/{row['items']} items" for row in r["services"] for op, n in row["over_once_per_item"].items()
        ]
        if repeated:
            lines += ["", "Called more often than there are items of the service: " + "; ".join(repeated)]
        kinds = first.get("error_kinds") or {}
        if kinds:
            lines += ["", "Collection errors: " + "; ".join(f"{k} ×{n}" for k, n in kinds.items())]
        if r["seed"].get("errors"):
            lines += ["", "Seeding errors: " + "; ".join(f"{k} ×{n}" for k, n in r["seed"]["errors"].items())]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,5000", help="comma-separated estate sizes (default 100,1000,5000)")
    parser.add_argument("--endpoint-url", help="use this moto server instead of an in-process one (no per-service tally)")
    parser.add_argument("--no-reset", dest="reset", action="store_false", help="do not reset the endpoint before seeding")
    parser.add_argument("--regions", default="us-east-1", help="comma-separated regions (seeded and collected)")
    parser.add_argument("--workers", type=int, default=None, help="phiwatch collect --workers (default: phiwatch's)")
    parser.add_argument("--services", default="", help="comma-separated phiwatch services to collect (default: all)")
    parser.add_argument("--seed-workers", type=int, default=16, help="seeding threads (default 16)")
    parser.add_argument("--skip", default="", help="comma-separated resource types not to seed")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per seeding or collection (default 1800)")
    parser.add_argument("--out", default=str(BENCH_DIR / "results"), help="results directory (default bench/results)")
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=0,
        help="add this delay to every emulator request (applies to seeding too), to see how collection behaves with AWS-like round trips",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the SQLite stores (in the results directory)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.regions = [r for r in args.regions.split(",") if r]
    args.services = [s for s in args.services.split(",") if s]
    args.skip = [s for s in args.skip.split(",") if s]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    # moto issues a requested ACM certificate 60 s after the request: between the two
    # collections of a size some certificates would turn ISSUED (a real change, not the
    # collector's). Issue them at once so the unchanged re-collection has nothing to record.
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
    sys.path.insert(0, str(BENCH_DIR))
    from seed import collectable_types

    collectors = sorted(set(collectable_types().values()))
    log(f"collectors: {', '.join(collectors)}")
    emulator = None
    tally: RequestTally | None = None
    endpoint = args.endpoint_url
    if not endpoint:
        from phiwatch.emulator import Emulator

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log: it costs the emulator CPU
        emulator = Emulator().start()
        endpoint = emulator.endpoint
        server = getattr(emulator._server, "_server", None)  # werkzeug's server inside moto's ThreadedMotoServer
        if server is not None and hasattr(server, "app"):
            tally = RequestTally(server.app, args.latency_ms / 1000)
            server.app = tally
    started = datetime.now(UTC)
    workdir = out if args.keep_db else Path(tempfile.mkdtemp(prefix="phiwatch-bench-"))
    report: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line("bench/run.py", argv),
        "machine": machine(),
        "regions": args.regions,
        "emulator": (
            f"in-process moto server{f' + {args.latency_ms:g} ms per request' if args.latency_ms else ''}" if emulator else endpoint
        ),
        "collectors": collectors,
        "results": [],
    }
    try:
        for size in sizes:
            report["results"].append(bench_size(size, args, endpoint, tally, workdir, collectors))
    finally:
        if emulator is not None:
            emulator.stop()
        if not args.keep_db:
            shutil.rmtree(workdir, ignore_errors=True)
    report["bench_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    text = markdown(report)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    for name in (f"bench-{stamp}", "latest"):
        (out / f"{name}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        (out / f"{name}.md").write_text(text)
    print(text)
    log(f"written {out / f'bench-{stamp}.md'} and .json")
    failed = any(c.get("failed") for r in report["results"] for c in r["collections"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
