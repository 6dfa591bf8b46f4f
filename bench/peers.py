"""phiwatch against Prowler, side by side, on the same freshly seeded emulator.

For each estate size and each added latency, and for each tool one after the other:

1. start a new moto server in its own process (``phiwatch emulator``, no LD_PRELOAD and no
   libfaketime in its environment: a time-faking preload makes the server slow under concurrent
   requests) and seed the estate of ``bench/seed.py`` into it, straight to the server;
2. put the loopback proxy of ``bench/faultproxy.py`` in front of it, without faults, holding every
   request ``--latency-ms`` before forwarding it; it counts what the tool sends;
3. unless ``--cold``, run the same tool once, untimed, straight to the emulator: moto sets up each
   service's application, Region backends and models on the first request that needs them, under
   its dispatch lock (3.8 of the emulator's 5.4 CPU-s of a first phiwatch scan at 250 resources),
   a cost real AWS never charges;
4. run the tool in its own process through the proxy, measured by a bare parent (wall time, peak
   RSS of the tool's process tree):

   * Prowler, pinned to 5.46.0 in its own virtualenv ``bench/.peers/prowler`` (created on the
     first run, reused after): ``prowler aws --compliance hipaa_aws`` with the seeded regions, no
     banner, JSON-OCSF output to a temporary directory, retries off (``--aws-retries-max-attempts 0``);
     Prowler has no endpoint option: it reaches the proxy through ``AWS_ENDPOINT_URL``, which
     botocore honours for every client;
   * ``phiwatch scan --endpoint-url <proxy> --db <fresh sqlite> --format json`` with the same
     regions and the default policy (what a user runs), or ``--policy``.

The emulator floor: once per size, on a freshly seeded server of its own, 8 threads send a burst
of cheap calls (STS GetCallerIdentity, EC2 DescribeVpcs) through the proxy without latency; the
floor of a run without latency is its requests ÷ that throughput, with latency its requests ×
latency ÷ the requests phiwatch keeps in flight (``--workers``; never below the former).

    .venv/bin/python bench/peers.py                          # sizes 250,2500; latencies 0,50 (~15 min on 2 cores, most of it Prowler)
    .venv/bin/python bench/peers.py --sizes 250 --latency-ms 0 --tools phiwatch

Results: a Markdown table on stdout and ``bench/results/peers-<time>.{md,json}`` (plus
``peers-latest.{md,json}``). See bench/README.md ("Peers").
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from faultproxy import FaultProxy, Rates  # noqa: E402
from run import command_line, log, machine, phiwatch_command  # noqa: E402

PROWLER_VERSION = "5.46.0"
PROWLER_VENV = BENCH_DIR / ".peers" / "prowler"
TOOLS = ("prowler", "phiwatch")
#: issue 15's targets
TARGET_SPEEDUP = 3.0
TARGET_FLOOR_RATIO = 1.3
TARGET_SPEEDUP_LATENCY = 10.0

# The measuring parent: a bare interpreter (-I -S, ~10 MiB) that starts the tool and reports its
# rusage. ``ru_maxrss`` of the tool itself (wait4) and of every descendant reaped below the parent
# (RUSAGE_CHILDREN: the largest process of the tree; Prowler may start processes of its own).
# A bare parent, not this bench: Linux carries a parent's high-water RSS into a child across exec.
_MEASURE = (
    "import json,os,resource,subprocess,sys\n"
    "p=subprocess.Popen(sys.argv[2:])\n"
    "_,s,u=os.wait4(p.pid,0)\n"
    "c=resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "open(sys.argv[1],'w').write(json.dumps({'status':s,'maxrss':max(u.ru_maxrss,c.ru_maxrss),"
    "'cpu':c.ru_utime+c.ru_stime}))\n"
)

# A burst of cheap calls from THREADS threads, in a process of its own (as the tools are): prints
# the requests sent and the seconds they took.
_BURST = """
import json, sys, threading, time
import boto3
from botocore.config import Config
endpoint, total, threads, region = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)
config = Config(max_pool_connections=threads + 2, retries={"mode": "standard", "max_attempts": 1})
sts = session.client("sts", endpoint_url=endpoint, config=config)
ec2 = session.client("ec2", endpoint_url=endpoint, config=config)
for _ in range(3):
    sts.get_caller_identity(); ec2.describe_vpcs()
per = total // threads
def work():
    for i in range(per):
        sts.get_caller_identity() if i % 2 else ec2.describe_vpcs()
ts = [threading.Thread(target=work) for _ in range(threads)]
t0 = time.monotonic()
for t in ts: t.start()
for t in ts: t.join()
print(json.dumps({"requests": per * threads, "seconds": time.monotonic() - t0}))
"""


# -- processes --------------------------------------------------------------------------------
def clean_env(region: str, endpoint: str | None = None) -> dict[str, str]:
    """This environment without AWS settings, preloads or time faking, with fake credentials."""
    drop = ("AWS_", "PHIWATCH_", "LD_PRELOAD", "FAKETIME", "DYLD_INSERT_LIBRARIES")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        MOTO_EC2_LOAD_DEFAULT_AMIS="false",
        MOTO_ACM_VALIDATION_WAIT="0",
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def run_measured(cmd: list[str], env: dict[str, str], timeout: float, cwd: Path) -> dict[str, Any]:
    """Run ``cmd`` under the bare parent: exit code, wall, peak RSS of its tree, CPU, stdout, stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryDirectory() as tmp:
        usage_file = Path(tmp) / "usage.json"
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _MEASURE, str(usage_file), *cmd],
            stdout=out,
            stderr=err,
            env=env,
            cwd=cwd,
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


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class EmulatorProcess:
    """A moto server (``phiwatch emulator``) in a process of its own on a free loopback port."""

    def __init__(self, region: str) -> None:
        from phiwatch.emulator import free_port

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        cmd = phiwatch_command() + ["emulator", "--port", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=clean_env(region), cwd=ROOT)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=5).read()
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    stderr = self.proc.stderr.read().decode("utf-8", "replace") if self.proc.stderr else ""
                    self.stop()
                    raise SystemExit(f"the emulator did not start:\n{stderr[-2000:]}") from None
                time.sleep(0.2)

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


def fresh_estate(size: int, args: argparse.Namespace) -> tuple[EmulatorProcess, dict[str, Any]]:
    """A new emulator process with the estate of ``bench/seed.py`` seeded straight into it."""
    from seed import seed_estate

    emulator = EmulatorProcess(args.regions[0])
    try:
        result = seed_estate(emulator.endpoint, size, args.regions, args.seed_workers, quiet=True).to_dict()
    except BaseException:
        emulator.stop()
        raise
    return emulator, result


# -- Prowler ----------------------------------------------------------------------------------
def prowler_bin() -> Path:
    return PROWLER_VENV / "bin" / "prowler"


def ensure_prowler() -> str:
    """Prowler PROWLER_VERSION in bench/.peers/prowler, installed on first use; its version line."""
    binary = prowler_bin()
    if binary.exists():
        version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=120).stdout.strip()
        if PROWLER_VERSION in version:
            return version
        log(f"{PROWLER_VENV} holds {version or 'a broken Prowler'}: reinstalling {PROWLER_VERSION}")
        shutil.rmtree(PROWLER_VENV)
    log(f"installing Prowler {PROWLER_VERSION} into {PROWLER_VENV} (a few minutes, once)")
    PROWLER_VENV.parent.mkdir(parents=True, exist_ok=True)
    base = shutil.which("python3.11") or sys.executable
    subprocess.run([base, "-m", "venv", "--clear", str(PROWLER_VENV)], check=True)
    pip = [str(PROWLER_VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    subprocess.run([*pip, f"prowler=={PROWLER_VERSION}"], check=True)
    return subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=120).stdout.strip()


def prowler_command(regions: list[str], outdir: Path) -> list[str]:
    return [
        str(prowler_bin()),
        "aws",
        "--compliance",
        "hipaa_aws",
        "--region",
        *regions,
        "--no-banner",
        "--output-formats",
        "json-ocsf",
        "--output-directory",
        str(outdir),
        "--output-filename",
        "peers",
        "--aws-retries-max-attempts",
        "0",
        "--ignore-exit-code-3",
    ]


def prowler_summary(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Checks and findings in Prowler's JSON-OCSF output (one object per finding)."""
    checks: set[str] = set()
    status: Counter[str] = Counter()
    for finding in findings:
        check = (finding.get("metadata") or {}).get("event_code") or (finding.get("finding_info") or {}).get("title")
        if check:
            checks.add(check)
        status[str(finding.get("status_code") or finding.get("status") or "?").upper()] += 1
    return {"checks_with_findings": len(checks), "findings": len(findings), "status": dict(status)}


def prowler_checks_executed(output: str) -> int | None:
    """The number of checks Prowler says it runs (``Executing N checks``), None when it does not say."""
    numbers = [int(n) for n in re.findall(r"Executing\s+(\d+)\s+checks?\b", _plain(output))]
    return numbers[-1] if numbers else None


def _plain(text: str) -> str:
    """``text`` without ANSI colour codes."""
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def run_prowler(endpoint: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    outdir = workdir / "prowler-out"
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    cmd = prowler_command(args.regions, outdir)
    measured = run_measured(cmd, clean_env(args.regions[0], endpoint), args.timeout, workdir)
    result: dict[str, Any] = {k: v for k, v in measured.items() if k not in ("stdout", "stderr")}
    result["command"] = " ".join(cmd)
    result["checks_executed"] = prowler_checks_executed(measured["stdout"] + measured["stderr"])
    files = sorted(outdir.rglob("*.ocsf.json"))
    findings: list[dict[str, Any]] = []
    for f in files:
        text = f.read_text().strip()
        findings += json.loads(text) if text else []
    result.update(prowler_summary(findings))
    result["rules"] = result["checks_executed"] if result["checks_executed"] is not None else result["checks_with_findings"]
    errors = [line for line in _plain(measured["stdout"] + measured["stderr"]).splitlines() if "ERROR" in line]
    result["error_lines"] = len(errors)
    result["first_errors"] = errors[:10]
    if measured["exit_code"] != 0 or not findings:
        result["failed"] = True
    if measured["exit_code"] != 0 or not findings or args.keep:
        result["stdout_tail"] = _plain(measured["stdout"])[-3000:]
        result["stderr_tail"] = _plain(measured["stderr"])[-3000:]
    return result


# -- phiwatch ---------------------------------------------------------------------------------
def phiwatch_workers() -> int:
    """How many requests phiwatch keeps in flight by default: the scan's request limit
    (``--workers``, ``phiwatch.aws.limits.DEFAULT_TOTAL``), or in older versions the collection's
    worker count (the default of ``collect``)."""
    try:
        from phiwatch.aws.limits import DEFAULT_TOTAL

        return int(DEFAULT_TOTAL)
    except ImportError:
        from phiwatch.collect.runner import collect

        default = inspect.signature(collect).parameters["max_workers"].default
        return int(default) if isinstance(default, int) else 8


def run_phiwatch(endpoint: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db = workdir / "phiwatch.db"
    for stale in workdir.glob("phiwatch.db*"):
        stale.unlink()
    report = workdir / "phiwatch-scan.json"
    report.unlink(missing_ok=True)
    cmd = phiwatch_command() + ["scan", "--endpoint-url", endpoint, "--db", f"sqlite:///{db}", "--format", "json", "--output", str(report)]
    for region in args.regions:
        cmd += ["-r", region]
    if args.policy:
        cmd += ["--policy", str(Path(args.policy).resolve())]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    started = datetime.now(UTC)
    measured = run_measured(cmd, clean_env(args.regions[0]), args.timeout, workdir)
    result: dict[str, Any] = {k: v for k, v in measured.items() if k not in ("stdout", "stderr")}
    result["command"] = " ".join(cmd)
    if db.exists():
        result["phases"] = phiwatch_phases(db, started, measured["wall_seconds"])
    if measured["exit_code"] != 0 or not report.exists():
        result["failed"] = True
        result["stderr_tail"] = measured["stderr"][-3000:]
        return result
    scan = json.loads(report.read_text())
    evaluations = scan.get("evaluations", [])
    result["rules"] = len({e["rule_id"] for e in evaluations})
    result["evaluations"] = len(evaluations)
    result["status"] = dict(Counter(e["compliance"] for e in evaluations))
    result["collection_errors"] = len(scan.get("errors", []))
    collection = scan.get("collection") or {}  # newer versions report how the collection went
    result["slowest_tasks"] = [
        f"{t.get('service')}/{t.get('region')} {t.get('seconds')} s, {t.get('requests')} requests"
        for t in sorted(collection.get("tasks", []), key=lambda t: -(t.get("seconds") or 0))[:3]
    ]
    result["retries"] = collection.get("retries")
    result["error_kinds"] = dict(
        Counter(f"{e.get('service')}:{e.get('api')} {e.get('error')}" for e in scan.get("errors", [])).most_common(10)
    )
    return result


def phiwatch_phases(db: Path, started: datetime, wall: float) -> dict[str, Any]:
    """Where a scan's wall time went, from its store: start-up (process start to the collection's
    start: imports, store, credentials), collection, evaluation, and the rest (remediation planning,
    alerts, the report, exit); with the collection's own request count and the remediations planned."""
    import sqlite3

    def at(text: str) -> datetime:
        value = datetime.fromisoformat(text)
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    with sqlite3.connect(db) as conn:
        run = conn.execute(
            "SELECT started_at, finished_at, requests, items_seen FROM collection_runs ORDER BY started_at LIMIT 1"
        ).fetchone()
        scan = conn.execute("SELECT started_at, finished_at FROM scans ORDER BY started_at LIMIT 1").fetchone()
        planned = conn.execute("SELECT status, COUNT(*) FROM remediations GROUP BY status").fetchall()
    if run is None or run[1] is None:
        return {}
    collect_start, collect_end = at(run[0]), at(run[1])
    phases: dict[str, Any] = {
        "startup_seconds": round((collect_start - started).total_seconds(), 2),
        "collect_seconds": round((collect_end - collect_start).total_seconds(), 2),
        "collect_requests": run[2],
        "items": run[3],
        "remediations": dict(planned),
    }
    if scan is not None and scan[1] is not None:
        phases["evaluate_seconds"] = round((at(scan[1]) - at(scan[0])).total_seconds(), 2)
        phases["after_evaluation_seconds"] = round(wall - (at(scan[1]) - started).total_seconds(), 2)
    return phases


# -- throughput -------------------------------------------------------------------------------
def emulator_throughput(size: int, args: argparse.Namespace) -> dict[str, Any]:
    """Requests per second a freshly seeded emulator serves through the proxy to 8 threads of cheap calls."""
    emulator, seeded = fresh_estate(size, args)
    proxy = FaultProxy(emulator.endpoint).start()
    try:
        cmd = [sys.executable, "-c", _BURST, proxy.endpoint, str(args.burst), "8", args.regions[0]]
        done = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(args.regions[0]), timeout=600)
        if done.returncode != 0:
            raise SystemExit(f"throughput burst failed:\n{done.stderr[-2000:]}")
        burst = json.loads(done.stdout)
    finally:
        proxy.stop()
        emulator.stop()
    return {
        "requests": burst["requests"],
        "seconds": round(burst["seconds"], 2),
        "requests_per_second": round(burst["requests"] / burst["seconds"], 1),
        "seeded": seeded["total"],
    }


# -- one run ------------------------------------------------------------------------------------
def warm_emulator(runner: Any, emulator: EmulatorProcess, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """The tool's own untimed pass, straight to the emulator (no proxy, no latency), before the
    measured one: moto builds each service's application, each Region's backend and the service
    models it parses requests with on the first request that needs them, all while holding its
    dispatch lock. That costs seconds of the emulator's CPU that real AWS never charges, and more
    for whichever tool touches more services. The pass's store and outputs are thrown away; the
    tools keep no state between runs (phiwatch's measured run gets a new store)."""
    cpu0 = emulator.cpu_seconds()
    warm_dir = workdir / "warm-up"
    warm_dir.mkdir(parents=True, exist_ok=True)
    result = runner(emulator.endpoint, args, warm_dir)
    shutil.rmtree(warm_dir, ignore_errors=True)
    return {
        "wall_seconds": result["wall_seconds"],
        "emulator_cpu_seconds": round(emulator.cpu_seconds() - cpu0, 2),
        "failed": bool(result.get("failed")),
    }


def one_run(tool: str, size: int, latency_ms: float, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    log(f"size {size}, {latency_ms:g} ms, {tool}: fresh emulator, seeding")
    emulator, seeded = fresh_estate(size, args)
    proxy = FaultProxy(emulator.endpoint, Rates(latency_seconds=latency_ms / 1000)).start()
    runner = run_prowler if tool == "prowler" else run_phiwatch
    try:
        warm_up = warm_emulator(runner, emulator, args, workdir) if args.warm else None
        load_before = os.getloadavg()[0]
        cpu0 = emulator.cpu_seconds()
        proxy.reset_counts()
        result = runner(proxy.endpoint, args, workdir)
        result["warm_up"] = warm_up
        result["emulator_cpu_seconds"] = round(emulator.cpu_seconds() - cpu0, 2)
        with proxy.lock:
            operations: Counter[str] = Counter()
            services: Counter[str] = Counter()
            for (service, operation, _write), n in proxy.requests.items():
                operations[f"{service}:{operation}"] += n
                services[service] += n
            result["requests"] = sum(services.values())
            result["max_in_flight"] = proxy.max_in_flight
            result["request_seconds"] = round(proxy.request_seconds, 2)
        wall = result["wall_seconds"]
        result["mean_in_flight"] = round(result["request_seconds"] / wall, 2) if wall else None
        result["services"] = dict(services.most_common())
        # when each service was first and last called, the longest last: the critical path
        result["service_spans"] = {
            service: {"from": round(first, 2), "to": round(last, 2), "requests": int(n)}
            for service, (first, last, n) in sorted(proxy.spans.items(), key=lambda kv: -kv[1][1])
        }
        result["top_operations"] = dict(operations.most_common(15))
        result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    finally:
        proxy.stop()
        emulator.stop()
    result.update(tool=tool, size=size, latency_ms=latency_ms, seeded=seeded["total"], seed_errors=seeded["errors"])
    log(
        f"size {size}, {latency_ms:g} ms, {tool}: {'FAILED ' if result.get('failed') else ''}{result['wall_seconds']} s, "
        f"{result['requests']} requests, {result['peak_rss_mib']} MiB, {result.get('rules')} checks/rules"
    )
    if result.get("failed"):
        log((result.get("stderr_tail") or "") + (result.get("stdout_tail") or ""))
    return result


def floor_seconds(requests: int, latency_ms: float, throughput: float | None, concurrency: int) -> float | None:
    """The emulator floor: requests ÷ throughput; with latency requests × latency ÷ concurrency (never below the former)."""
    base = requests / throughput if throughput else None
    if not latency_ms:
        return base
    with_latency = requests * latency_ms / 1000 / concurrency
    return max(with_latency, base or 0.0)


def assess(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Speed-ups, floors and issue 15's targets per (size, latency)."""
    rows = []
    throughput = {t["size"]: t["requests_per_second"] for t in report["throughput"]}
    by_key: dict[tuple[int, float], dict[str, dict[str, Any]]] = {}
    for run in report["runs"]:
        by_key.setdefault((run["size"], run["latency_ms"]), {})[run["tool"]] = run
    for (size, latency), runs in by_key.items():
        for run in runs.values():
            run["floor_seconds"] = (
                None if run.get("failed") else floor_seconds(run["requests"], latency, throughput.get(size), report["phiwatch_workers"])
            )
            if run["floor_seconds"]:
                run["floor_seconds"] = round(run["floor_seconds"], 2)
        prowler, phiwatch = runs.get("prowler"), runs.get("phiwatch")
        row: dict[str, Any] = {"size": size, "latency_ms": latency}
        if phiwatch and not phiwatch.get("failed") and phiwatch.get("floor_seconds"):
            row["floor_ratio"] = round(phiwatch["wall_seconds"] / phiwatch["floor_seconds"], 2)
        if prowler and phiwatch and not prowler.get("failed") and not phiwatch.get("failed"):
            row["speedup"] = round(prowler["wall_seconds"] / phiwatch["wall_seconds"], 2)
            row["requests_ratio"] = round(phiwatch["requests"] / prowler["requests"], 2)
            phiwatch["speedup"] = row["speedup"]
        targets = []
        if latency:
            if "speedup" in row:
                targets.append((f"≥{TARGET_SPEEDUP_LATENCY:g}× faster than Prowler", row["speedup"] >= TARGET_SPEEDUP_LATENCY))
        else:
            if "speedup" in row:
                targets.append((f"≥{TARGET_SPEEDUP:g}× faster than Prowler", row["speedup"] >= TARGET_SPEEDUP))
                targets.append(("no more requests than Prowler", row["requests_ratio"] <= 1.0))
            if "floor_ratio" in row:
                targets.append((f"within {TARGET_FLOOR_RATIO:g}× of the emulator floor", row["floor_ratio"] <= TARGET_FLOOR_RATIO))
        row["targets"] = [{"target": t, "met": met} for t, met in targets]
        rows.append(row)
    return rows


# -- report ---------------------------------------------------------------------------------------
def _num(value: Any) -> str:
    return "" if value is None else f"{value}"


def _warm_up(warm_up: dict[str, Any] | None) -> str:
    if not warm_up:
        return ""
    return f"{warm_up['wall_seconds']} ({warm_up['emulator_cpu_seconds']}){' FAILED' if warm_up['failed'] else ''}"


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"# phiwatch against Prowler — {report['started']}",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, boto3 {m['boto3']}, "
        f"moto {m['moto']}, commit {m['commit'] or '?'}  ",
        f"Prowler: {report.get('prowler_version') or 'not run'}; regions {', '.join(report['regions'])}; "
        f"phiwatch {'policy ' + report['policy'] if report['policy'] else 'default policy'}, {report['phiwatch_workers']} requests in flight at most  ",
        "Emulator throughput (8 threads, STS GetCallerIdentity + EC2 DescribeVpcs, through the proxy): "
        + ", ".join(f"size {t['size']}: {t['requests_per_second']} req/s" for t in report["throughput"])
        + "  ",
        (
            "Each measured run follows an untimed pass of the same tool on the same emulator (moto's first-request set-up paid before)"
            if report.get("warm", False)
            else "Cold: each measured run is the tool's first on a fresh emulator (moto's first-request set-up included)"
        ),
        "",
        "| size | latency ms | tool | wall s | requests | peak RSS MiB | checks/rules run | speed-up (Prowler ÷ phiwatch) | "
        "emulator floor s | wall ÷ floor | mean in flight | tool CPU s | emulator CPU s | untimed pass s (emulator CPU s) | load avg | exit |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for run in report["runs"]:
        floor = run.get("floor_seconds")
        ratio = round(run["wall_seconds"] / floor, 2) if floor and not run.get("failed") else None
        lines.append(
            f"| {run['size']} ({run['seeded']}) | {run['latency_ms']:g} | {run['tool']} | {run['wall_seconds']} | {run['requests']} | "
            f"{run['peak_rss_mib']} | {_num(run.get('rules'))} | {_num(run.get('speedup'))} | {_num(floor)} | {_num(ratio)} | "
            f"{_num(run.get('mean_in_flight'))} | {run['cpu_seconds']} | {run['emulator_cpu_seconds']} | {_warm_up(run.get('warm_up'))} | "
            f"{run['load_average'][0]}→{run['load_average'][1]} | "
            f"{run['exit_code']}{' FAILED' if run.get('failed') else ''} |"
        )
    lines += ["", "Targets (issue 15):", ""]
    for row in report["assessment"]:
        for t in row["targets"]:
            lines.append(f"* size {row['size']}, {row['latency_ms']:g} ms: {t['target']}: {'met' if t['met'] else 'NOT met'}")
    lines += ["", "Checks and rules: Prowler's `Executing N checks`; phiwatch's distinct rules with an evaluation.", ""]
    for run in report["runs"]:
        if run["tool"] == "prowler":
            detail = f"{run.get('findings')} findings {run.get('status')}, {run.get('checks_with_findings')} checks with findings, {run.get('error_lines')} ERROR lines"
        else:
            detail = f"{run.get('evaluations')} evaluations {run.get('status')}, {run.get('collection_errors')} collection errors"
        ops = ", ".join(f"{op} {n}" for op, n in list(run.get("top_operations", {}).items())[:8])
        lines.append(f"* size {run['size']}, {run['latency_ms']:g} ms, {run['tool']}: {detail}; top requests: {ops}")
    phased = [run for run in report["runs"] if run.get("phases")]
    if phased:
        lines += [
            "",
            "Where phiwatch's wall time goes (from its store: process start → collection start → collection end; "
            "evaluation; the rest is remediation planning, alerts, the report and exit), and the services called last:",
            "",
            "| size | latency ms | wall s | start-up s | collect s | collect requests | evaluate s | after evaluation s | "
            "requests after collection | remediations | slowest collection tasks | last services (from–to s, requests) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
        ]
        for run in phased:
            ph = run["phases"]
            last = ", ".join(
                f"{svc} {sp['from']}–{sp['to']} ({sp['requests']})" for svc, sp in list(run.get("service_spans", {}).items())[:4]
            )
            lines.append(
                f"| {run['size']} | {run['latency_ms']:g} | {run['wall_seconds']} | {ph.get('startup_seconds')} | "
                f"{ph.get('collect_seconds')} | {ph.get('collect_requests')} | {_num(ph.get('evaluate_seconds'))} | "
                f"{_num(ph.get('after_evaluation_seconds'))} | {run['requests'] - (ph.get('collect_requests') or 0)} | "
                f"{ph.get('remediations') or ''} | {'; '.join(run.get('slowest_tasks') or [])} | {last} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="250,2500", help="comma-separated estate sizes, about N resources each (default 250,2500)")
    parser.add_argument("--latency-ms", default="0,50", help="comma-separated delays the proxy adds to every request (default 0,50)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated tools to run: prowler, phiwatch (default both)")
    parser.add_argument(
        "--regions", default="us-east-1,eu-west-1", help="comma-separated regions, seeded and scanned (default us-east-1,eu-west-1)"
    )
    parser.add_argument("--policy", help="phiwatch policy file (default: phiwatch's default policy, as a user runs it)")
    parser.add_argument(
        "--workers",
        type=int,
        help="phiwatch scan --workers (requests in flight); the floor with latency divides by it (default: phiwatch's own)",
    )
    parser.add_argument(
        "--cold",
        dest="warm",
        action="store_false",
        help="measure each tool's first pass on the fresh emulator, moto's first-request set-up included "
        "(default: an untimed pass of the same tool first; see warm_emulator)",
    )
    parser.add_argument("--burst", type=int, default=800, help="requests in the throughput burst (default 800)")
    parser.add_argument("--seed-workers", type=int, default=16, help="seeding threads (default 16)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per tool run (default 1800)")
    parser.add_argument("--out", default=str(BENCH_DIR / "results"), help="results directory (default bench/results)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each run's outputs (Prowler's OCSF, phiwatch's store and JSON) under the results directory",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    latencies = [float(s) for s in args.latency_ms.split(",") if s.strip()]
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))} (choose from {', '.join(TOOLS)})")
    args.regions = [r for r in args.regions.split(",") if r]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    report: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line("bench/peers.py", argv),
        "machine": machine(),
        "regions": args.regions,
        "policy": args.policy,
        "phiwatch_workers": args.workers or phiwatch_workers(),
        "warm": args.warm,
        "prowler_version": ensure_prowler() if "prowler" in tools else None,
        "throughput": [],
        "runs": [],
    }
    if report["prowler_version"]:
        log(f"Prowler: {report['prowler_version']}")
    base = out / f"peers-{stamp}" if args.keep else Path(tempfile.mkdtemp(prefix="phiwatch-peers-"))
    try:
        for size in sizes:
            log(f"size {size}: emulator throughput")
            report["throughput"].append({"size": size, **emulator_throughput(size, args)})
            log(f"size {size}: {report['throughput'][-1]['requests_per_second']} requests/s")
            for latency in latencies:
                for tool in tools:
                    workdir = base / f"{size}-{latency:g}ms-{tool}"
                    workdir.mkdir(parents=True, exist_ok=True)
                    report["runs"].append(one_run(tool, size, latency, args, workdir))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    report["assessment"] = assess(report)
    text = markdown(report)
    for name in (f"peers-{stamp}", "peers-latest"):
        (out / f"{name}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        (out / f"{name}.md").write_text(text)
    print(text)
    log(f"written {out / f'peers-{stamp}.md'} and .json")
    return 1 if any(r.get("failed") for r in report["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
