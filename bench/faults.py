"""Fault campaign: the whole scan -> alert -> remediate loop under throttling, errors, resets, delays
and kill -9, compared with a clean run on an identical estate.

Every run is a real ``phiwatch scan`` process (``--endpoint-url`` the fault proxy, ``--db`` a fresh
store, ``--policy`` with auto remediation for some rules and a webhook route to a receiver in this
process) on a freshly seeded estate, followed by a plain re-run of the same command without faults.
The end state after the re-run is compared with the reference: a clean run and a clean re-run on
the same estate (same seed: moto's id generator is seeded and the estate is created in one thread,
so resource ids are the same every time).

Campaign variants (rows of the table):

* **throttle 5 % / 20 %**: each request is answered, with a seeded RNG, by a throttling error
  (shaped per protocol: ``ThrottlingException``, ``Throttling``, EC2 ``RequestLimitExceeded``, S3
  ``SlowDown``, HTTP 429) at that rate, HTTP 500 at 2 %, a reset connection at 2 % and a 2 s delay
  at 1 % (``bench/faultproxy.py``);
* **kill -9 during collection**: the proxy holds the Nth read request (N random within the
  reference collection's reads) and the bench kills the process while it waits for the answer;
* **kill -9 during evaluation**: the scan runs through a wrapper (``python -c``: hooks, then
  phiwatch's own ``main()``) that SIGKILLs its own process at the Nth rule evaluation of the first
  evaluation (N random within the reference's), or once the findings and outbox rows are written
  but before the transaction commits;
* **kill -9 during remediation apply**: the proxy holds the Nth write request (N random within the
  reference's writes) before forwarding it, or after it reached the emulator (applied, answer lost),
  and the bench kills the process;
* **kill -9 during alert delivery**: the webhook receiver holds the Nth POST (N random within the
  reference's deliveries) without answering and the bench kills the process.

Checks after the re-run, against the reference: the same configuration items with the same
version histories (content compared without timestamps; no spurious version, nothing marked
deleted), the same evaluations and findings, every alert acknowledged by the receiver exactly once
per (route, finding, event) and the same set as the reference, every outbox row sent, no
remediation left running, each finding remediated at most once, every executed remediation audited
and verified, no write call sent to AWS more often than in the reference (kill runs), ``phiwatch
audit verify`` exit 0 and the store's integrity (SQLite ``PRAGMA integrity_check`` and
``foreign_key_check``; PostgreSQL: orphan rows and ``amcheck`` on every B-tree index).

    .venv/bin/python bench/faults.py                    # the default campaign (~13 min on 2 cores)
    .venv/bin/python bench/faults.py --quick            # a smoke run (~5 min)
    .venv/bin/python bench/faults.py --db-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Results: a Markdown table on stdout and ``bench/results/faults-<time>.{md,json}`` (plus
``faults-latest.{md,json}``). Exit status 1 when any run lost or duplicated anything.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from faultproxy import FaultProxy, Rates, Trip  # noqa: E402

REGION = "us-east-1"
HOOK_KEY = "faults-bench-signing-key"  # a throwaway HMAC key for the local receiver
#: rules phiwatch fixes on its own in the campaign (the others: remediation off)
AUTO_RULES = (
    "s3-bucket-versioning-enabled",
    "s3-bucket-server-side-encryption-enabled",
    "s3-bucket-public-read-prohibited",
    "restricted-ssh",
    "ec2-imdsv2-check",
    "ec2-ebs-encryption-by-default",
    "iam-password-policy",
    "s3-account-level-public-access-blocks-periodic",
)
#: demo estate modules seeded by default (``--estate full``: every module)
CORE_MODULES = ("seed_audit", "seed_ec2", "seed_iam", "seed_s3", "seed_ssm", "seed_wafv2")
PHASES = ("collect", "evaluate", "remediate", "deliver")

# The evaluation kill: phiwatch's own CLI in a process that SIGKILLs itself at the Nth rule
# evaluation of its first evaluation pass (N = 0: after the findings and outbox rows are written,
# just before the transaction commits). Nothing else is changed.
EVAL_KILL_WRAPPER = r"""
import os, signal, sys
nth = int(sys.argv[1])
from phiwatch import engine
seen = {"n": 0, "passes": 0}
_evaluate_one = engine.Evaluator._evaluate_one
def _counted(self, *args, **kwargs):
    seen["n"] += 1
    if nth and seen["n"] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return _evaluate_one(self, *args, **kwargs)
engine.Evaluator._evaluate_one = _counted
_enqueue = engine.enqueue_events
def _enqueue_then_die(*args, **kwargs):
    queued = _enqueue(*args, **kwargs)
    seen["passes"] += 1
    if nth == 0 and seen["passes"] == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return queued
engine.enqueue_events = _enqueue_then_die
from phiwatch.cli import main
sys.argv = ["phiwatch", *sys.argv[2:]]
main()
"""


def log(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # a killed client resets its connections
        pass


# -- the webhook receiver ------------------------------------------------------------------------
@dataclass
class Delivery:
    route_delivery: str  # X-Phiwatch-Delivery: ROUTE:ID
    event: str
    finding_id: str | None
    signed: bool
    acked: bool


class WebhookReceiver:
    """Records every POST; answers 200 (acknowledged), or, at its trip, holds the request, calls the
    trip (which kills phiwatch) and drops the connection without answering (not acknowledged)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deliveries: list[Delivery] = []
        self.trip_nth = 0
        self.trip_fire: Callable[[], None] | None = None
        self.posts = 0
        self.fired = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                expected = "sha256=" + hmac.new(HOOK_KEY.encode(), body, hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(self.headers.get("X-Phiwatch-Signature", ""), expected)
                with receiver.lock:
                    receiver.posts += 1
                    trip = receiver.trip_fire is not None and receiver.posts == receiver.trip_nth
                d = Delivery(
                    self.headers.get("X-Phiwatch-Delivery", ""), payload.get("event", "?"), payload.get("finding_id"), signed, not trip
                )
                if trip:
                    receiver.trip_fire()  # type: ignore[misc]
                    receiver.fired.set()
                    with receiver.lock:
                        receiver.deliveries.append(d)
                    self.close_connection = True
                    try:
                        self.connection.close()
                    except OSError:
                        pass
                    return
                with receiver.lock:
                    receiver.deliveries.append(d)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="webhook", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def reset(self, trip_nth: int = 0, trip_fire: Callable[[], None] | None = None) -> None:
        with self.lock:
            self.deliveries = []
            self.posts = 0
            self.trip_nth, self.trip_fire = trip_nth, trip_fire
            self.fired = threading.Event()

    def disarm(self) -> None:
        with self.lock:
            self.trip_fire = None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- stores ----------------------------------------------------------------------------------------
class Stores:
    """A fresh store per run: a SQLite file in the work directory, or a database on the PostgreSQL
    server of ``--db-url`` (created, and dropped at the end unless --keep)."""

    def __init__(self, workdir: Path, pg_url: str | None) -> None:
        self.workdir = workdir
        self.pg_url = pg_url
        self.created: list[str] = []

    @property
    def kind(self) -> str:
        return "postgresql" if self.pg_url else "sqlite"

    def new(self, name: str) -> str:
        if not self.pg_url:
            path = self.workdir / f"{name}.db"
            for stale in self.workdir.glob(f"{name}.db*"):
                stale.unlink()
            return f"sqlite:///{path}"
        import sqlalchemy as sa

        db = f"phiwatch_faults_{re.sub(r'[^a-z0-9]', '_', name.lower())}_{uuid.uuid4().hex[:6]}"
        admin = sa.create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
        admin.dispose()
        self.created.append(db)
        return sa.engine.make_url(self.pg_url).set(database=db).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.pg_url:
            return
        import sqlalchemy as sa

        admin = sa.create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for db in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


# -- the campaign ----------------------------------------------------------------------------------
@dataclass
class RunResult:
    name: str
    variant: str
    phase: str | None = None
    kill_at: str = ""
    first_exit: int | None = None
    second_exit: int | None = None
    killed: bool = False
    injected: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0
    problems: list[str] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    facts: dict[str, Any] = field(default_factory=dict)
    stderr_tail: str = ""


class Campaign:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        from phiwatch.emulator import Emulator

        self.args = args
        self.workdir = workdir
        self.rng = random.Random(args.seed)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.emulator = Emulator().start()
        self.proxy = FaultProxy(self.emulator.endpoint, seed=args.seed).start()
        self.receiver = WebhookReceiver()
        self.stores = Stores(workdir, args.db_url)
        self.policy = workdir / "policy.yaml"
        self.policy.write_text(policy_text(self.receiver.url))
        self.current: subprocess.Popen | None = None
        self.reference: dict[str, Any] = {}
        self.reference_facts: dict[str, Any] = {}
        self.counter = 0

    def close(self) -> None:
        self.proxy.stop()
        self.receiver.stop()
        self.emulator.stop()
        if not self.args.keep:
            self.stores.drop_all()

    # estate
    def fresh_estate(self) -> float:
        """Reset the emulator, seed its id generator, create the demo estate in one thread."""
        import importlib

        from phiwatch.demo.estate import seed_modules

        t0 = time.monotonic()
        endpoint = self.emulator.endpoint
        # seeded before the reset too: the reset re-initialises every service backend moto keeps
        # (the default VPC, its subnets and security group get their ids there)
        seed = f"/moto-api/seed?a={self.args.seed}"
        for path in (seed, "/moto-api/reset", seed):
            urllib.request.urlopen(urllib.request.Request(endpoint + path, method="POST"), timeout=60).read()
        modules = seed_modules() if self.args.estate == "full" else [m for m in seed_modules() if m in CORE_MODULES]
        session = self.emulator.session(REGION)
        for name in modules:
            importlib.import_module(f"phiwatch.demo.{name}").seed(session, endpoint, REGION)
        return time.monotonic() - t0

    # one phiwatch process
    def scan_command(self, db_url: str, eval_kill: int | None = None) -> list[str]:
        args = [
            "scan",
            "--endpoint-url",
            self.proxy.endpoint,
            "--db",
            db_url,
            "--policy",
            str(self.policy),
            "--format",
            "json",
            "--output",
            str(self.workdir / "scan.json"),
            "-r",
            REGION,
        ]
        if eval_kill is not None:
            return [sys.executable, "-c", EVAL_KILL_WRAPPER, str(eval_kill), *args]
        script = Path(sys.executable).with_name("phiwatch")
        return ([str(script)] if script.exists() else [sys.executable, "-m", "phiwatch.cli"]) + args

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k not in ("PHIWATCH_DB", "PHIWATCH_POLICY")}
        env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION=REGION,
            AWS_DEFAULT_REGION=REGION,
            MOTO_EC2_LOAD_DEFAULT_AMIS="false",
            PHIWATCH_FAULTS_HOOK_KEY=HOOK_KEY,
        )
        return env

    def run(self, cmd: list[str]) -> tuple[int, str]:
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=self.env(), cwd=self.workdir, start_new_session=True)
            self.current = proc
            try:
                code = proc.wait(timeout=self.args.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                code = proc.wait()
            finally:
                self.current = None
            err.seek(0)
            return code, err.read().decode("utf-8", "replace")

    def kill_current(self, *_: Any) -> None:
        proc = self.current
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    # one scenario: faulted (or killed) run, plain re-run, checks
    def scenario(self, variant: str, *, rates: Rates | None = None, phase: str | None = None) -> RunResult:
        self.counter += 1
        name = f"{self.counter:02d}-{variant.replace(' ', '-').replace('%', 'pct')}"
        result = RunResult(name=name, variant=variant, phase=phase)
        t0 = time.monotonic()
        self.fresh_estate()
        db_url = self.stores.new(name)
        self.proxy.configure(rates, seed=self.rng.randrange(2**31))
        self.proxy.reset_counts()
        self.receiver.reset()
        eval_kill = None
        if phase:
            eval_kill = self.arm(phase, result)
        code, err = self.run(self.scan_command(db_url, eval_kill))
        result.first_exit = code
        result.killed = code == -signal.SIGKILL
        result.injected = dict(self.proxy.injected)
        if result.killed:
            result.injected["kill -9"] = 1
        self.proxy.configure(None)
        self.receiver.disarm()
        code2, err2 = self.run(self.scan_command(db_url))
        result.second_exit = code2
        if phase and not result.killed:
            result.problems.append(f"the {phase} kill point was never reached (exit {code})")
        if not phase and code != 0:
            result.problems.append(f"the faulted run failed (exit {code}): {tail(err)}")
        if code2 != 0:
            result.problems.append(f"the re-run failed (exit {code2}): {tail(err2)}")
        if result.problems:
            result.stderr_tail = tail(err) + "\n---\n" + tail(err2)
        snap = snapshot(db_url, list(self.receiver.deliveries), self.proxy.forwarded_writes(), self.workdir, self.env())
        result.facts = snap["facts"]
        if self.reference:
            problems, lost, duplicated = compare(self.reference, snap, wire_check=phase is not None, relax_history=phase == "remediate")
            result.problems += problems
            result.lost, result.duplicated = lost, duplicated
        result.wall = round(time.monotonic() - t0, 1)
        return result

    def arm(self, phase: str, result: RunResult) -> int | None:
        """Set the kill point of ``phase``; returns the evaluation number for the wrapper, if any."""
        ref = self.reference_facts
        if phase == "collect":
            n = self.rng.randint(1, max(1, int(ref["collect_reads"] * 0.95)))
            self.proxy.add_trip(Trip(match=lambda i: not i.write, nth=n, fire=self.kill_current, label=f"read {n}"))
            result.kill_at = f"read request {n} of {ref['collect_reads']}"
        elif phase == "remediate":
            n = self.rng.randint(1, max(1, ref["writes"]))
            when = self.rng.choice(("before", "after"))
            self.proxy.add_trip(Trip(match=lambda i: i.write, nth=n, fire=self.kill_current, when=when, label=f"write {n}"))
            result.kill_at = f"write call {n} of {ref['writes']}, {'not sent' if when == 'before' else 'applied, answer lost'}"
        elif phase == "deliver":
            n = self.rng.randint(1, max(1, ref["posts"]))
            self.receiver.reset(trip_nth=n, trip_fire=self.kill_current)
            result.kill_at = f"webhook POST {n} of {ref['posts']}, unanswered"
        elif phase == "evaluate":
            n = 0 if self.rng.random() < 0.25 else self.rng.randint(1, max(1, ref["first_evaluations"]))
            result.kill_at = "before the evaluation commit" if n == 0 else f"rule evaluation {n} of {ref['first_evaluations']}"
            return n
        return None

    def warm_up(self) -> None:
        """One scan before the reference: moto keeps the service backends a scan creates (its
        BackendDict cache) and re-initialises them on every reset, before the id generator is
        seeded; after this scan every later estate consumes the seeded ids in the same order."""
        self.fresh_estate()
        db_url = self.stores.new("warm-up")
        self.proxy.configure(None)
        self.receiver.reset()
        code, err = self.run(self.scan_command(db_url))
        if code != 0:
            raise SystemExit(f"the warm-up run failed ({code}):\n{tail(err)}")

    def run_reference(self) -> RunResult:
        """A clean run and re-run: the end state every other run must reach. Also measures how many
        reads collection makes, writes remediation sends, evaluations and deliveries happen."""
        self.counter += 1
        name = f"{self.counter:02d}-reference"
        t0 = time.monotonic()
        self.fresh_estate()
        db_url = self.stores.new(name)
        self.proxy.configure(None)
        self.proxy.reset_counts()
        self.receiver.reset()
        code, err = self.run(self.scan_command(db_url))
        if code != 0:
            raise SystemExit(f"the reference run failed ({code}):\n{tail(err)}")
        reads_before_write = self.proxy.reads_before_first_write()
        writes = sum(n for (svc, op, write), n in self.proxy.requests.items() if write)
        posts = len(self.receiver.deliveries)
        first_evaluations = first_scan_evaluations(db_url)
        code2, err2 = self.run(self.scan_command(db_url))
        if code2 != 0:
            raise SystemExit(f"the reference re-run failed ({code2}):\n{tail(err2)}")
        snap = snapshot(db_url, list(self.receiver.deliveries), self.proxy.forwarded_writes(), self.workdir, self.env())
        self.reference = snap
        self.reference_facts = {
            "collect_reads": reads_before_write,
            "writes": writes,
            "posts": posts,
            "first_evaluations": first_evaluations,
            **snap["facts"],
        }
        result = RunResult(
            name=name,
            variant="reference (clean)",
            first_exit=code,
            second_exit=code2,
            facts=self.reference_facts,
            wall=round(time.monotonic() - t0, 1),
        )
        problems = [p for p in snap["self_problems"]]
        result.problems = problems
        if writes == 0 or posts == 0:
            result.problems.append(f"the reference made {writes} write calls and {posts} deliveries: the policy does nothing to kill")
        return result


def tail(text: str, n: int = 1500) -> str:
    lines = [line for line in text.strip().splitlines() if "━" not in line]
    return "\n".join(lines)[-n:]


def policy_text(hook_url: str) -> str:
    rules = "\n".join(f"    {r}: {{mode: auto}}" for r in AUTO_RULES)
    return (
        "packs: [hipaa, hipaa-extras]\n"
        "notifications:\n"
        f"  - {{name: hook, channel: webhook, target: '{hook_url}', secret_env: PHIWATCH_FAULTS_HOOK_KEY}}\n"
        "remediation:\n"
        "  mode: 'off'\n"
        "  max_per_run: 50\n"
        "  max_per_hour: 1000\n"
        "  rules:\n"
        f"{rules}\n"
    )


def first_scan_evaluations(db_url: str) -> int:
    from sqlalchemy import select

    from phiwatch.store import Store
    from phiwatch.store.tables import scans

    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(select(scans.c.evaluated).order_by(scans.c.started_at)).all()
        return int(rows[0][0]) if rows else 0
    finally:
        store.close()


# -- the end state ---------------------------------------------------------------------------------
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TIME_KEY = re.compile(r"(?i)(time|date)$")
#: configuration item keys whose values are the capture's, not the resource's
VOLATILE_KEYS = {
    "configurationItemCaptureTime",
    "configurationStateId",
    "configurationItemStatus",
    "collectionErrors",
    "ClientToken",
}  # boto3 generates idempotency tokens (uuid4) for the seeding calls


def normalise(value: Any) -> Any:
    """The item without timestamps (moto stamps creation times with the wall clock)."""
    if isinstance(value, dict) and value and all(_UUID.match(k) for k in value):
        # keyed by client-generated tokens (Secrets Manager version ids): the values, in order
        return sorted((normalise(v) for v in value.values()), key=lambda v: json.dumps(v, sort_keys=True, default=str))
    if isinstance(value, dict):
        return {
            k: "<time>" if isinstance(v, (int, float)) and _TIME_KEY.search(k) else normalise(v)
            for k, v in sorted(value.items())
            if k not in VOLATILE_KEYS
        }
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str) and _TIME.match(value):
        return "<time>"
    return value


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(normalise(value), sort_keys=True, default=str).encode()).hexdigest()[:16]


def snapshot(db_url: str, deliveries: list[Delivery], forwarded_writes: Counter, workdir: Path, env: dict[str, str]) -> dict[str, Any]:
    """The comparable end state of one store, with its own consistency checks."""
    from sqlalchemy import select, text

    from phiwatch.store import Store
    from phiwatch.store.tables import audit_log, evaluations, finding_events, findings, outbox, remediations, resources, versions

    problems: list[str] = []
    store = Store(db_url)
    try:
        with store.engine.connect() as conn:
            res = {r.id: r for r in conn.execute(select(resources))}
            key = {pk: (r.resource_type, r.region, r.resource_id) for pk, r in res.items()}
            history: dict[tuple, list[tuple]] = {}
            contents: dict[tuple, Any] = {}
            for v in conn.execute(
                select(versions.c.resource_pk, versions.c.version, versions.c.status, versions.c.item).order_by(
                    versions.c.resource_pk, versions.c.version
                )
            ):
                errors = bool((v.item or {}).get("collectionErrors"))
                history.setdefault(key[v.resource_pk], []).append((v.version, v.status, digest(v.item), errors))
                contents[key[v.resource_pk]] = normalise(v.item)
            items = {key[pk]: (r.status, r.version) for pk, r in res.items()}
            evals = {(e.rule_id, *key[e.resource_pk]): (e.compliance, e.annotation) for e in conn.execute(select(evaluations))}
            finds = {f.id: (f.rule_id, *key[f.resource_pk], f.status, f.severity) for f in conn.execute(select(findings))}
            events = Counter((e.finding_id, e.event) for e in conn.execute(select(finding_events)))
            outbox_rows = [
                dict(r._mapping)
                for r in conn.execute(select(outbox.c.route, outbox.c.finding_id, outbox.c.event, outbox.c.status, outbox.c.attempts))
            ]
            rems = [dict(r._mapping) for r in conn.execute(select(remediations))]
            audited = Counter((a.remediation_id, a.action) for a in conn.execute(select(audit_log.c.remediation_id, audit_log.c.action)))
            # integrity
            if conn.dialect.name == "sqlite":
                check = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
                if check != ["ok"]:
                    problems.append(f"PRAGMA integrity_check: {check[:3]}")
                fk = conn.execute(text("PRAGMA foreign_key_check")).all()
                if fk:
                    problems.append(f"PRAGMA foreign_key_check: {len(fk)} violations")
                integrity = "integrity_check ok" if not problems else "FAILED"
            else:
                integrity = pg_integrity(conn, problems)
    finally:
        store.close()
    verify = subprocess.run(phiwatch_cmd() + ["audit", "verify", "--db", db_url], capture_output=True, text=True, env=env, cwd=workdir)
    if verify.returncode != 0:
        problems.append(f"phiwatch audit verify exit {verify.returncode}: {tail(verify.stdout + verify.stderr, 300)}")
    # remediation invariants of the store itself
    for r in rems:
        if r["status"] == "running":
            problems.append(f"remediation {r['id'][:12]} ({r['rule_id']}) left running")
        if r["executed"] and not audited.get((r["id"], "execute")):
            problems.append(f"remediation {r['id'][:12]} ({r['rule_id']}) executed but not audited")
    applied = Counter(r["finding_id"] for r in rems if r["status"] == "applied")
    for fid, n in applied.items():
        if n > 1:
            problems.append(f"finding {fid[:12]} remediated {n} times")
    unsent = [r for r in outbox_rows if r["status"] != "sent"]
    acked = Counter((d.route_delivery.split(":", 1)[0], d.finding_id, d.event) for d in deliveries if d.acked)
    received = Counter(d.route_delivery for d in deliveries)
    unsigned = sum(1 for d in deliveries if not d.signed)
    if unsigned:
        problems.append(f"{unsigned} deliveries with a bad signature")
    return {
        "items": items,
        "history": history,
        "contents": contents,
        "evaluations": evals,
        "findings": finds,
        "events": events,
        "outbox": Counter((r["route"], r["finding_id"], r["event"], r["status"]) for r in outbox_rows),
        "acked": acked,
        "remediations": Counter(
            (r["rule_id"], key.get(r["resource_pk"]), r["status"])
            for r in rems
            if not (r["status"] == "failed" and (r["reason"] or "").startswith("interrupted: "))
        ),
        "interrupted": sum(1 for r in rems if (r["reason"] or "").startswith("interrupted: ")),
        "applied": applied,
        "forwarded_writes": forwarded_writes,
        "self_problems": problems,
        "unsent": len(unsent),
        "facts": {
            "items": len(items),
            "versions": sum(len(h) for h in history.values()),
            "evaluations": len(evals),
            "findings": Counter(f[-2] for f in finds.values()),
            "outbox": len(outbox_rows),
            "unsent": len(unsent),
            "acked": sum(acked.values()),
            "received": sum(received.values()),
            "redelivered": sum(n - 1 for n in received.values() if n > 1),
            "remediations": Counter(r["status"] for r in rems),
            "interrupted_runs_closed": sum(1 for r in rems if (r["reason"] or "").startswith("interrupted: ")),
            "audit": verify.returncode == 0,
            "integrity": integrity,
        },
    }


def pg_integrity(conn: Any, problems: list[str]) -> str:
    """PostgreSQL: no orphan rows, and amcheck's bt_index_check on every B-tree index when available."""
    from sqlalchemy import text

    orphans = {
        "versions": "select count(*) from versions v left join resources r on r.id = v.resource_pk where r.id is null",
        "evaluations": "select count(*) from evaluations e left join resources r on r.id = e.resource_pk where r.id is null",
        "findings": "select count(*) from findings f left join resources r on r.id = f.resource_pk where r.id is null",
        "finding_events": "select count(*) from finding_events e left join findings f on f.id = e.finding_id where f.id is null",
        "remediations": "select count(*) from remediations m left join findings f on f.id = m.finding_id where f.id is null",
        "current version": "select count(*) from resources r left join versions v on v.resource_pk = r.id and v.version = r.version where v.id is null",
    }
    for name, sql in orphans.items():
        n = conn.execute(text(sql)).scalar()
        if n:
            problems.append(f"{n} orphan {name} rows")
    try:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
        indexes = [
            r[0]
            for r in conn.execute(
                text(
                    "select c.oid::regclass::text from pg_index i join pg_class c on c.oid = i.indexrelid "
                    "join pg_am a on a.oid = c.relam join pg_namespace n on n.oid = c.relnamespace "
                    "where a.amname = 'btree' and n.nspname = 'public'"
                )
            )
        ]
        for index in indexes:
            conn.execute(text("select bt_index_check(cast(:i as regclass), true)"), {"i": index})
        conn.commit()
        return f"orphans 0, amcheck ok on {len(indexes)} indexes" if not problems else "FAILED"
    except Exception as exc:  # noqa: BLE001 - amcheck needs a superuser or the contrib package
        conn.rollback()
        problems_before = len(problems)
        del problems_before
        return f"orphans checked; amcheck unavailable ({type(exc).__name__})"


def phiwatch_cmd() -> list[str]:
    script = Path(sys.executable).with_name("phiwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "phiwatch.cli"]


def compare(ref: dict[str, Any], got: dict[str, Any], *, wire_check: bool, relax_history: bool = False) -> tuple[list[str], int, int]:
    """Differences from the reference: (problems, lost, duplicated)."""
    problems = list(got["self_problems"])
    lost = duplicated = 0

    def diff(label: str, a: dict, b: dict, show: int = 3) -> int:
        missing = [k for k in a if k not in b]
        extra = [k for k in b if k not in a]
        changed = [k for k in a if k in b and a[k] != b[k]]
        for what, keys in (("missing", missing), ("extra", extra), ("different", changed)):
            if keys:
                sample = "; ".join(f"{k}: {a.get(k)} -> {b.get(k)}" for k in keys[:show])
                problems.append(f"{label}: {len(keys)} {what} ({sample})")
        return len(missing) + len(extra) + len(changed)

    # items: same resources, same status and version, same history content
    missing_items = [k for k in ref["items"] if k not in got["items"]]
    lost += len(missing_items)
    deleted = [
        k for k, (status, _) in got["items"].items() if status == "ResourceDeleted" and ref["items"].get(k, ("",))[0] != "ResourceDeleted"
    ]
    if deleted:
        problems.append(f"{len(deleted)} resources marked deleted: {deleted[:3]}")
    spurious = 0
    for k, h in got["history"].items():
        r = ref["history"].get(k)
        if r is not None and len(h) > len(r) and not relax_history:
            spurious += len(h) - len(r)
    duplicated += spurious
    diff(
        "items (status, version)",
        ref["items"],
        {k: (v[0], ref["items"].get(k, v)[1]) for k, v in got["items"].items()} if relax_history else got["items"],
    )
    got_history = dict(got["history"])
    if relax_history:
        # a kill mid-remediation leaves the estate half fixed, and the re-run records that real
        # state: extra versions in between are right; the versions before them and the last must match
        for k, h in got_history.items():
            r = ref["history"].get(k)
            if r and len(h) > len(r):
                got_history[k] = [(i + 1, *v[1:]) for i, v in enumerate(h[: len(r) - 1] + [h[-1]])]
    if diff("item history (content without timestamps)", ref["history"], got_history):
        for k in [k for k in ref["history"] if k in got["history"] and ref["history"][k] != got["history"][k]][:4]:
            problems.append(f"  {k[2]}: {json_diff(ref['contents'].get(k), got['contents'].get(k))}")
    diff("evaluations", ref["evaluations"], got["evaluations"])
    diff("findings", ref["findings"], got["findings"])
    diff("finding events", dict(ref["events"]), dict(got["events"]))
    diff("outbox rows", dict(ref["outbox"]), dict(got["outbox"]))
    diff("remediations", dict(ref["remediations"]), dict(got["remediations"]))
    # alerts: every one the reference delivered, acknowledged exactly once
    for n in got["acked"].values():
        if n > 1:
            duplicated += n - 1
    lost += sum(1 for k in ref["acked"] if k not in got["acked"])
    if diff("alerts acknowledged by the receiver (route, finding, event)", dict(ref["acked"]), dict(got["acked"])):
        pass
    lost += got["unsent"]
    if wire_check:
        for k, n in got["forwarded_writes"].items():
            if n > ref["forwarded_writes"].get(k, 0):
                duplicated += n - ref["forwarded_writes"].get(k, 0)
                problems.append(f"write {k} sent {n} times, the reference {ref['forwarded_writes'].get(k, 0)}")
    return problems, lost, duplicated


def json_diff(a: Any, b: Any, path: str = "") -> str:
    """The first few paths where two JSON values differ."""
    out: list[str] = []

    def walk(x: Any, y: Any, p: str) -> None:
        if len(out) >= 4:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                walk(x.get(k, "<absent>"), y.get(k, "<absent>"), f"{p}.{k}")
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{p}[{i}]")
        elif x != y:
            out.append(f"{p or '.'}: {json.dumps(x, default=str)[:80]} -> {json.dumps(y, default=str)[:80]}")

    walk(a, b, path)
    return "; ".join(out)


# -- report ----------------------------------------------------------------------------------------
def fmt_counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) or "none"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# phiwatch fault campaign — {report['started']}",
        "",
        f"Command: `{report['command']}`  ",
        f"Store: {report['store']}; estate: demo ({report['estate']}), {report['reference']['items']} items; "
        f"seed {report['seed']}; commit {report['commit'] or '?'}; wall {report['wall_minutes']} min  ",
        f"Reference (clean run + re-run): {report['reference']['collect_reads']} reads before the first write, "
        f"{report['reference']['writes']} remediation writes, {report['reference']['first_evaluations']} evaluations in the first pass, "
        f"{report['reference']['posts']} webhook deliveries",
        "",
        "| variant | runs | faults injected | faults survived | lost | duplicated | differences | wall s |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for variant, runs in report["variants"].items():
        injected: Counter[str] = Counter()
        for r in runs:
            injected.update(r["injected"])
        survived = sum(sum(r["injected"].values()) for r in runs if not r["problems"])
        lines.append(
            f"| {variant} | {len(runs)} | {fmt_counts(dict(injected))} | {survived} of {sum(injected.values())} | "
            f"{sum(r['lost'] for r in runs)} | {sum(r['duplicated'] for r in runs)} | {sum(len(r['problems']) for r in runs)} | "
            f"{round(sum(r['wall'] for r in runs))} |"
        )
    kills = [r for runs in report["variants"].values() for r in runs if r["phase"]]
    if kills:
        lines += ["", "Kill points: " + "; ".join(f"{r['phase']}: {r['kill_at']}" for r in kills)]
    bad = [r for runs in report["variants"].values() for r in runs if r["problems"]]
    if bad:
        lines += ["", "## Differences", ""]
        for r in bad:
            lines.append(f"* **{r['name']}** ({r['variant']}{', ' + r['kill_at'] if r['kill_at'] else ''}):")
            for p in r["problems"][:12]:
                lines.append(f"  * {p}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=(
            "Each run: reset the emulator, seed the estate (same ids every time), `phiwatch scan` through the fault proxy "
            "(faults or a kill -9), then the same command again without faults; the end state is compared with a clean "
            "reference. Examples:\n"
            "  bench/faults.py --quick                        smoke run: 1 run per rate, 8 kills\n"
            "  bench/faults.py --kills 40 --seed 7            more kill points, another seed\n"
            "  bench/faults.py --rates 0.1 --runs-per-rate 5  five runs at 10 %% throttling\n"
            "  bench/faults.py --phases remediate,deliver     kill only in these phases\n"
            "  bench/faults.py --db-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres   the same on PostgreSQL"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a short campaign: 1 run per throttle rate and 8 kills (2 per phase)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the estate ids, fault RNG and kill points (default 1)")
    parser.add_argument("--kills", type=int, default=24, help="kill -9 points, spread evenly over the phases (default 24)")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"phases to kill in (default {','.join(PHASES)})")
    parser.add_argument(
        "--rates",
        default="0.05,0.20",
        help="comma-separated throttling rates, one campaign variant each (default 0.05,0.20); "
        "HTTP 500 2 %%, resets 2 %% and 2 s delays 1 %% are added to each",
    )
    parser.add_argument("--error500", type=float, default=0.02, help="share of requests answered HTTP 500 (default 0.02)")
    parser.add_argument("--reset", type=float, default=0.02, help="share of connections reset (default 0.02)")
    parser.add_argument("--delay", type=float, default=0.01, help="share of answers delayed (default 0.01)")
    parser.add_argument("--delay-seconds", type=float, default=2.0, help="the delay (default 2)")
    parser.add_argument("--runs-per-rate", type=int, default=2, help="faulted runs per throttling rate (default 2)")
    parser.add_argument(
        "--estate",
        choices=("core", "full"),
        default="core",
        help="demo estate modules: core (EC2, S3, IAM, audit, SSM, WAF: ~4 s to seed) or full (~10 s)",
    )
    parser.add_argument(
        "--db-url",
        default=None,
        help="PostgreSQL server to run on (postgresql+psycopg://user@host:port/db): a database is created per run. Default: SQLite files",
    )
    parser.add_argument("--no-control", action="store_true", help="skip the control run (a clean run compared with the reference)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds per phiwatch process (default 300)")
    parser.add_argument("--out", default=str(BENCH_DIR / "results"), help="results directory (default bench/results)")
    parser.add_argument("--keep", action="store_true", help="keep the stores (in a temporary directory, printed)")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs_per_rate, args.kills = 1, 8
    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    phases = [p for p in args.phases.split(",") if p]
    for p in phases:
        if p not in PHASES:
            parser.error(f"unknown phase {p!r}: use {', '.join(PHASES)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
    workdir = Path(tempfile.mkdtemp(prefix="phiwatch-faults-"))
    started = datetime.now(UTC)
    t0 = time.monotonic()
    from run import command_line, machine

    report: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line("bench/faults.py", argv),
        "seed": args.seed,
        "estate": args.estate,
        "commit": machine().get("commit"),
        "variants": {},
    }
    campaign = Campaign(args, workdir)
    report["store"] = "PostgreSQL" if args.db_url else "SQLite"
    runs: list[RunResult] = []
    try:
        log(f"warm-up run (estate {args.estate}, store {campaign.stores.kind})")
        campaign.warm_up()
        log("reference run")
        ref = campaign.run_reference()
        report["reference"] = campaign.reference_facts
        log(f"reference: {json.dumps(campaign.reference_facts, default=str)}")
        runs.append(ref)
        if ref.problems:
            log("reference problems: " + "; ".join(ref.problems))
        plan: list[tuple[str, dict[str, Any]]] = []
        if not args.no_control:
            plan.append(("control (clean)", {}))
        for rate in rates:
            rr = Rates(rate, args.error500, args.reset, args.delay, args.delay_seconds)
            plan += [(f"throttle {rate:.0%}", {"rates": rr})] * args.runs_per_rate
        for i in range(args.kills):
            if phases:
                phase = phases[i % len(phases)]
                plan.append((f"kill -9: {phase}", {"phase": phase}))
        for n, (variant, kw) in enumerate(plan, 1):
            r = campaign.scenario(variant, **kw)
            runs.append(r)
            status = "ok" if not r.problems else f"{len(r.problems)} PROBLEMS"
            log(
                f"[{n}/{len(plan)}] {variant}{' (' + r.kill_at + ')' if r.kill_at else ''}: injected {fmt_counts(r.injected)}; "
                f"{status}; {r.wall} s"
            )
            for p in r.problems[:8]:
                log(f"    {p}")
    finally:
        campaign.close()
    for r in runs:
        report["variants"].setdefault(r.variant, []).append(r.__dict__)
    report["wall_minutes"] = round((time.monotonic() - t0) / 60, 1)
    text = markdown(report)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    for name in (f"faults-{stamp}", "faults-latest"):
        (out / f"{name}.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        (out / f"{name}.md").write_text(text)
    print(text)
    if args.keep:
        log(f"stores kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    ok = not any(r.problems for r in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
