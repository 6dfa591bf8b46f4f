"""Continuous monitoring benchmark: latency from a change event enqueued to its alert published
and to its remediation verified, and the watcher's memory over a long run.

Setup: moto's server in this process; an estate of ``--groups`` security groups and
``--buckets`` versioned S3 buckets (plus whatever else a full collection finds); ``watch setup``
(SQS queue, dead-letter queue, EventBridge rules); an SNS topic with an SQS inbox subscribed
(the alerts); a policy sending every alert to the topic, remediation ``auto`` for
``restricted-ssh``. One full collection and evaluation, then ``phiwatch watch`` runs as a
separate process (so its memory is its own) against that endpoint and store.

Latency (``--events``, default 1,000): windows of ``--window`` changes made through boto3, half
"open SSH to 0.0.0.0/0 on a security group", half "suspend / re-enable versioning of a bucket",
each followed by its CloudTrail-shaped event put on the EventBridge bus (the queue's rule routes it)
with the wall time just before ``PutEvents`` as *enqueued*. Measured to:

* alert published: the SNS delivery to the inbox queue (the inbox message's ``SentTimestamp``)
  of the matching alert (``opened`` for the group, ``opened`` / ``resolved`` for the bucket);
* remediation verified: the ``remediation_applied`` alert of the group, which the watcher sends
  only after re-collecting the group and judging it compliant again.

Memory (``--memory-events``, default 10,000): events for unchanged groups, sent straight to the
queue 10 per call (each still costs a targeted re-collection); the watcher's RSS is sampled from
``/proc/<pid>/status`` every second.

    .venv/bin/python bench/watch.py [--events 1000] [--memory-events 10000] [--groups 200] [--buckets 50]

Prints a Markdown table and writes bench/results/watch-latest.{md,json}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_var, None)
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")

from phiwatch.aws.session import AwsContext  # noqa: E402
from phiwatch.collect.runner import collect  # noqa: E402
from phiwatch.emulator import Emulator  # noqa: E402
from phiwatch.evaluation import Evaluator  # noqa: E402
from phiwatch.notify.dispatcher import Dispatcher  # noqa: E402
from phiwatch.policy import parse_policy  # noqa: E402
from phiwatch.rules.active import resolve_rules  # noqa: E402
from phiwatch.store import Store  # noqa: E402
from phiwatch.watch.setup import SetupOptions, run_setup  # noqa: E402

ACCOUNT = "123456789012"
ACTOR = f"arn:aws:iam::{ACCOUNT}:user/bench"
SSH_RULE = "restricted-ssh"
VERSIONING_RULE = "s3-bucket-versioning-enabled"
OPEN_SSH = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def record(source: str, name: str, request: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "eventTime": now_iso(),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "recipientAccountId": ACCOUNT,
        "eventType": "AwsApiCall",
        "userIdentity": {"type": "IAMUser", "arn": ACTOR, "accountId": ACCOUNT},
        "requestParameters": request,
        "responseElements": None,
    }


class Inbox(threading.Thread):
    """Reads the alert inbox: (event, rule id, resource id) -> publish times (SentTimestamp, seconds)."""

    def __init__(self, sqs: Any, url: str) -> None:
        super().__init__(daemon=True)
        self.sqs, self.url = sqs, url
        self.seen: dict[tuple[str, str], list[float]] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            out = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["SentTimestamp"])
            messages = out.get("Messages", [])
            for m in messages:
                body = json.loads(m["Body"])
                alert = json.loads(body.get("Message", "{}")) if "Message" in body else body
                sent = int(m["Attributes"]["SentTimestamp"]) / 1000
                alerts = alert.get("findings", [alert]) if alert.get("event") == "digest" else [alert]
                with self.lock:
                    for a in alerts:
                        self.seen.setdefault((a.get("event"), a.get("rule_id"), a.get("resource_id")), []).append(sent)
            if messages:
                self.sqs.delete_message_batch(
                    QueueUrl=self.url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
                )

    def first_after(self, key: tuple[str, str, str], t0: float) -> float | None:
        with self.lock:
            times = [t for t in self.seen.get(key, []) if t >= t0 - 1.0]  # SentTimestamp has ms resolution, clocks are the same host
        return min(times) if times else None


class Watcher:
    """``phiwatch watch`` as a child process, with its RSS sampled every second."""

    def __init__(self, endpoint: str, db: str, queue_url: str, policy: Path, log: Path) -> None:
        cmd = [
            str(ROOT / ".venv/bin/phiwatch"),
            "watch",
            "--endpoint-url",
            endpoint,
            "--db",
            db,
            "--queue-url",
            queue_url,
            "--policy",
            str(policy),
            "--no-sweep-on-start",
            "--full-sweep-hours",
            "0",
            "--periodic-minutes",
            "0",
            "--wait-seconds",
            "1",
            "--retry-delay",
            "1",
            "--log-format",
            "json",
        ]
        self.command = (
            " ".join(cmd[1:]).replace(endpoint, "URL").replace(db, "DB").replace(queue_url, "QUEUE").replace(str(policy), "POLICY")
        )
        self.log = open(log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def rss_kib(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            rss = self.rss_kib()
            if rss is not None:
                self.samples.append((time.time(), rss))

    def stop(self) -> int:
        self._stop.set()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.log.close()
        return code


def queue_depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])[
        "Attributes"
    ]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1000, help="change events for the latency run")
    ap.add_argument("--memory-events", type=int, default=10_000, help="events for the memory run (0: skip)")
    ap.add_argument("--groups", type=int, default=200)
    ap.add_argument("--buckets", type=int, default=50)
    ap.add_argument("--window", type=int, default=10, help="changes in flight at once")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one window's alerts")
    args = ap.parse_args()

    emu = Emulator().start()
    work = Path(tempfile.mkdtemp(prefix="phiwatch-bench-watch-"))
    db = f"sqlite:///{work / 'phiwatch.db'}"
    aws = AwsContext(endpoint_url=emu.endpoint, regions=["us-east-1"], session=emu.session("us-east-1"))
    ec2, s3, sqs, sns, events = (emu.client(s) for s in ("ec2", "s3", "sqs", "sns", "events"))

    t_seed = time.monotonic()
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    groups = [ec2.create_security_group(GroupName=f"app-{i:04d}", Description="bench", VpcId=vpc)["GroupId"] for i in range(args.groups)]
    buckets = [f"bench-records-{i:04d}" for i in range(args.buckets)]
    for name in buckets:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    queue_url = run_setup(aws, SetupOptions(visibility_timeout=120, max_receive_count=5)).queue_url
    topic = sns.create_topic(Name="hipaa-alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})
    policy_text = (
        f"notifications:\n  - {{name: security-team, channel: sns, target: '{topic}'}}\n"
        "remediation:\n  mode: 'off'\n  rules:\n    restricted-ssh: {mode: auto}\n"
    )
    policy_path = work / "policy.yaml"
    policy_path.write_text(policy_text)
    store = Store(db)
    full = collect(aws, store)
    policy = parse_policy(policy_text)
    Evaluator(store, policy, resolve_rules(policy)).evaluate()  # the estate's standing findings: not part of the run
    Dispatcher(store, policy, aws=aws, endpoint_url=emu.endpoint).dispatch()  # their alerts, before the run
    sqs.purge_queue(QueueUrl=inbox)
    store.close()
    seed_seconds = time.monotonic() - t_seed
    estate = full.seen

    reader = Inbox(sqs, inbox)
    reader.start()
    watcher = Watcher(emu.endpoint, db, queue_url, policy_path, work / "watch.log")
    time.sleep(3)  # the watcher is up and polling

    # -- latency ------------------------------------------------------------------------------
    alert_lat: list[float] = []
    verified_lat: list[float] = []
    missing = {"alert": 0, "verified": 0}
    bucket_state = {b: "Enabled" for b in buckets}
    t_run = time.monotonic()
    sent = 0
    g = b = 0
    while sent < args.events:
        pending: list[tuple[str, str, str, float, bool]] = []  # (alert event, rule, resource id, enqueued, remediated?)
        for _ in range(min(args.window, args.events - sent)):
            if sent % 2 == 0:
                group = groups[g % len(groups)]
                g += 1
                ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=OPEN_SSH)
                detail = record("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": group})
                pending.append(("opened", SSH_RULE, group, time.time(), True))
            else:
                bucket = buckets[b % len(buckets)]
                b += 1
                status = "Suspended" if bucket_state[bucket] == "Enabled" else "Enabled"
                bucket_state[bucket] = status
                s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": status})
                detail = record("s3.amazonaws.com", "PutBucketVersioning", {"bucketName": bucket})
                pending.append(("opened" if status == "Suspended" else "resolved", VERSIONING_RULE, bucket, time.time(), False))
            events.put_events(
                Entries=[
                    {
                        "Source": "aws." + detail["eventSource"].split(".")[0],
                        "DetailType": "AWS API Call via CloudTrail",
                        "Detail": json.dumps(detail),
                    }
                ]
            )
            sent += 1
        deadline = time.monotonic() + args.timeout
        todo = list(pending)
        while todo and time.monotonic() < deadline:
            left = []
            for event, rule, rid, t0, remediated in todo:
                published = reader.first_after((event, rule, rid), t0)
                verified = reader.first_after(("remediation_applied", rule, rid), t0) if remediated else 0.0
                if published is None or verified is None:
                    left.append((event, rule, rid, t0, remediated))
            todo = left
            if todo:
                time.sleep(0.05)
        for event, rule, rid, t0, remediated in pending:
            published = reader.first_after((event, rule, rid), t0)
            if published is None:
                missing["alert"] += 1
            else:
                alert_lat.append(published - t0)
            if remediated:
                verified = reader.first_after(("remediation_applied", rule, rid), t0)
                if verified is None:
                    missing["verified"] += 1
                else:
                    verified_lat.append(verified - t0)
        # the next window starts from a quiet watcher: the remediation's own "resolved" alert is in
        time.sleep(0.2)
        if sent % 100 == 0:
            print(f"  {sent}/{args.events} events, alert p95 so far {percentile(alert_lat, 0.95):.2f} s", file=sys.stderr)
    latency_seconds = time.monotonic() - t_run

    # -- memory -------------------------------------------------------------------------------
    memory: dict[str, Any] = {"events": 0}
    if args.memory_events:
        start_samples = len(watcher.samples)
        t_mem = time.monotonic()
        for start in range(0, args.memory_events, 10):
            entries = []
            for i in range(start, min(start + 10, args.memory_events)):
                detail = record("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": groups[i % len(groups)]})
                envelope = {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "detail-type": "AWS API Call via CloudTrail",
                    "source": "aws.ec2",
                    "account": ACCOUNT,
                    "time": detail["eventTime"],
                    "region": "us-east-1",
                    "resources": [],
                    "detail": detail,
                }
                entries.append({"Id": str(i - start), "MessageBody": json.dumps(envelope)})
            sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            while queue_depth(sqs, queue_url) > 200:  # keep the backlog bounded: memory, not queue size
                time.sleep(0.2)
        while queue_depth(sqs, queue_url) > 0 and time.monotonic() - t_mem < 3600:
            time.sleep(0.5)
        time.sleep(2)
        mem_seconds = time.monotonic() - t_mem
        rss = [kib for _, kib in watcher.samples[start_samples:]]
        tenth = max(1, len(rss) // 10)
        memory = {
            "events": args.memory_events,
            "seconds": round(mem_seconds, 1),
            "events_per_second": round(args.memory_events / mem_seconds, 1),
            "rss_mib_first_10pct": round(statistics.mean(rss[:tenth]) / 1024, 1) if rss else None,
            "rss_mib_last_10pct": round(statistics.mean(rss[-tenth:]) / 1024, 1) if rss else None,
            "rss_mib_max": round(max(rss) / 1024, 1) if rss else None,
            "samples": len(rss),
        }

    code = watcher.stop()
    reader.stop.set()
    emu.stop()
    shutil.rmtree(work, ignore_errors=True)
    loadavg = Path("/proc/loadavg").read_text().split()[:3]

    result = {
        "benchmark": "watch",
        "time": now_iso(),
        "host": platform.node(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_at_end": loadavg,
        "estate_items": estate,
        "seed_seconds": round(seed_seconds, 1),
        "groups": args.groups,
        "buckets": args.buckets,
        "window": args.window,
        "events": args.events,
        "latency_seconds": round(latency_seconds, 1),
        "alert": {
            "n": len(alert_lat),
            "missing": missing["alert"],
            **{f"p{q}": round(percentile(alert_lat, q / 100), 3) for q in (50, 95, 99)},
        },
        "remediation_verified": {
            "n": len(verified_lat),
            "missing": missing["verified"],
            **{f"p{q}": round(percentile(verified_lat, q / 100), 3) for q in (50, 95, 99)},
        },
        "memory": memory,
        "watcher_exit_status": code,
        "watcher_command": watcher.command,
        "targets": {"alert_p95_seconds": 2.0, "remediation_verified_p95_seconds": 5.0},
    }
    md = [
        f"# phiwatch watch benchmark ({result['time']})",
        "",
        f"Emulator (moto server, in-process) on {result['cpus']} CPUs; estate {estate} items ({args.groups} security groups, "
        f"{args.buckets} buckets, plus the account's defaults); {args.events} change events in windows of {args.window}; "
        f"load average at the end {' '.join(loadavg)}.",
        "",
        "| measure | n | missing | p50 (s) | p95 (s) | p99 (s) | target p95 |",
        "|---|---|---|---|---|---|---|",
        f"| enqueued -> alert published | {result['alert']['n']} | {result['alert']['missing']} | {result['alert']['p50']} | {result['alert']['p95']} | {result['alert']['p99']} | < 2 s |",
        f"| enqueued -> remediation verified | {result['remediation_verified']['n']} | {result['remediation_verified']['missing']} | "
        f"{result['remediation_verified']['p50']} | {result['remediation_verified']['p95']} | {result['remediation_verified']['p99']} | < 5 s |",
        "",
    ]
    if memory.get("events"):
        md += [
            f"Memory over {memory['events']} events ({memory['seconds']} s, {memory['events_per_second']} events/s): watcher RSS "
            f"{memory['rss_mib_first_10pct']} MiB (first tenth of the run) -> {memory['rss_mib_last_10pct']} MiB (last tenth), "
            f"max {memory['rss_mib_max']} MiB ({memory['samples']} samples).",
            "",
        ]
    md += ["Command: `.venv/bin/python bench/watch.py " + " ".join(sys.argv[1:]) + "`", ""]
    out = BENCH_DIR / "results"
    out.mkdir(exist_ok=True)
    (out / "watch-latest.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "watch-latest.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
