"""Alert delivery benchmark: latency from a finding change to the channel accepting the message,
and throughput for 1,000 findings opened at once, for SNS (moto's server, with an SQS queue
subscribed as in the tests) and a signed webhook (an HTTP server on 127.0.0.1).

Latency: the store holds ``--background`` buckets; one bucket's logging is switched off and on
``--rounds`` times. Each round writes the changed item, evaluates (incremental: only that item),
which writes the finding change and its outbox row in one transaction, then delivers. Measured
from just before the evaluation starts to the moment the channel accepted the message (the
webhook receiver's arrival time; for SNS the PublishBatch response). Split into evaluate
(finding change + outbox) and deliver.

Throughput: 1,000 buckets without logging are written at once; one evaluation opens 1,000
findings (1,000 outbox rows per route), then one delivery run sends them. Reported per channel:
seconds, messages/s, and the connections / API requests used (no per-message reconnects:
the webhook receiver counts TCP connections, SNS requests are counted with botocore's
event hooks). Digest mode is measured too (one message for all 1,000 changes).

    .venv/bin/python bench/notify.py [--rounds 20] [--background 1000] [--findings 1000]

Prints a Markdown table and writes bench/results/notify-latest.{md,json}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
from phiwatch.emulator import Emulator  # noqa: E402
from phiwatch.evaluation import Evaluator  # noqa: E402
from phiwatch.model import ConfigurationItem  # noqa: E402
from phiwatch.notify.dispatcher import Dispatcher  # noqa: E402
from phiwatch.policy import Policy, RuleOverride, parse_policy  # noqa: E402
from phiwatch.rules.active import resolve_rules  # noqa: E402
from phiwatch.store import Store  # noqa: E402

KEY = "bench-signing-key"
os.environ["PHIWATCH_BENCH_HOOK_KEY"] = KEY


class Receiver:
    """Webhook receiver: arrival times and TCP connections (keep-alive, HTTP/1.1)."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.connections: set[tuple[str, int]] = set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # headers and body go out in two writes: without this, Nagle's algorithm and the
                # client's delayed ACK add 40 ms to every keep-alive request
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.arrivals.append(time.perf_counter())
                    receiver.connections.add(self.client_address)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def reset(self) -> None:
        with self.lock:
            self.arrivals.clear()
            self.connections.clear()


def bucket(name: str, logging: bool, capture: str) -> ConfigurationItem:
    return ConfigurationItem(
        resourceType="AWS::S3::Bucket",
        resourceId=name,
        resourceName=name,
        arn=f"arn:aws:s3:::{name}",
        awsRegion="us-east-1",
        accountId="123456789012",
        tags={"PHI": "Yes"},
        configurationItemCaptureTime=capture,
        supplementaryConfiguration={
            "BucketLoggingConfiguration": {"destinationBucketName": "logs", "logFilePrefix": ""} if logging else None,
            "ServerSideEncryptionConfiguration": None,
            "BucketPolicy": None,
        },
    )


def write(store: Store, items: list[ConfigurationItem]) -> None:
    with store.writer(None) as w:
        for item in items:
            w.record(item)


_RULES: dict[str, Any] = {}


def one_rule_policy(text: str) -> Policy:
    pol = parse_policy(text, "bench-policy.yaml")
    if not _RULES:
        _RULES.update(resolve_rules(Policy()))
    for rule_id, r in _RULES.items():
        if r.pack == "hipaa" and rule_id != "s3-bucket-logging-enabled":
            pol.rules[rule_id] = RuleOverride(enabled=False)
    return pol


def route_yaml(channel: str, target: str, digest: bool = False) -> str:
    if channel == "sns":
        return f"notifications:\n  - {{name: bench, channel: sns, target: '{target}', digest: {str(digest).lower()}}}\n"
    return (
        f"notifications:\n  - {{name: bench, channel: webhook, target: '{target}/hook', secret_env: PHIWATCH_BENCH_HOOK_KEY, "
        f"digest: {str(digest).lower()}}}\n"
    )


class SnsCounter:
    def __init__(self) -> None:
        self.requests = 0

    def hook(self, **_: Any) -> None:
        self.requests += 1


def subscribed_topic(emu: Emulator, name: str) -> tuple[str, str]:
    sns, sqs = emu.client("sns"), emu.client("sqs")
    topic = sns.create_topic(Name=name)["TopicArn"]
    queue = sqs.create_queue(QueueName=f"{name}-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, queue


def count_queue(emu: Emulator, queue: str) -> int:
    attrs = emu.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"])


def make_dispatcher(store: Store, pol: Policy, aws: AwsContext, counter: SnsCounter | None) -> Dispatcher:
    d = Dispatcher(store, pol, aws=aws)
    if counter is not None:
        # make the SNS client now, to count its requests
        from phiwatch.notify.channels.base import channel_for

        ch = channel_for(pol.notifications[0], d.settings)
        ch.open()
        ch.client.meta.events.register("before-send", counter.hook)
    return d


def latency(channel: str, emu: Emulator, receiver: Receiver, rounds: int, background: int, workdir: Path) -> dict[str, Any]:
    store = Store(f"sqlite:///{workdir / f'latency-{channel}.db'}")
    aws = AwsContext(endpoint_url=emu.endpoint, session=emu.session())
    target, queue = subscribed_topic(emu, "bench-latency") if channel == "sns" else (receiver.url, None)
    pol = one_rule_policy(route_yaml(channel, target))
    write(store, [bucket(f"background-{i:05d}", True, "2026-06-01T00:00:00Z") for i in range(background)])
    now = dt.datetime.now(dt.UTC)
    Evaluator(store, pol, _RULES).evaluate(now=now)
    dispatcher = make_dispatcher(store, pol, aws, SnsCounter() if channel == "sns" else None)
    totals, evals, delivers = [], [], []
    for i in range(rounds + 1):
        logging_on = i % 2 == 1  # even rounds open the finding, odd rounds resolve it
        write(store, [bucket("phi-latency-probe", logging_on, f"2026-06-01T00:{i // 60:02d}:{i % 60:02d}Z")])
        receiver.reset()
        t0 = time.perf_counter()
        summary = Evaluator(store, pol, _RULES).evaluate(now=now + dt.timedelta(seconds=i + 1))
        t1 = time.perf_counter()
        result = dispatcher.dispatch(now=now + dt.timedelta(seconds=i + 1))
        t2 = time.perf_counter()
        assert summary.queued_alerts == 1 and result.sent == 1, (summary.queued_alerts, result.summary())
        accepted = receiver.arrivals[0] if channel == "webhook" else t2
        if i == 0:
            continue  # warm-up: imports, first connection
        totals.append(accepted - t0)
        evals.append(t1 - t0)
        delivers.append(accepted - t1)
    if queue is not None:
        assert count_queue(emu, queue) == rounds + 1
    store.close()

    def ms(values: list[float]) -> dict[str, float]:
        values = sorted(values)
        return {
            "median": round(statistics.median(values) * 1000, 1),
            "p95": round(values[int(0.95 * (len(values) - 1))] * 1000, 1),
            "max": round(values[-1] * 1000, 1),
        }

    return {
        "channel": channel,
        "rounds": rounds,
        "background_items": background,
        "total_ms": ms(totals),
        "evaluate_ms": ms(evals),
        "deliver_ms": ms(delivers),
    }


def throughput(
    channel: str, emu: Emulator, receiver: Receiver, n: int, digest: bool, workdir: Path, subscribed: bool = True
) -> dict[str, Any]:
    label = channel + (" (digest)" if digest else "") + ("" if channel != "sns" or subscribed else ", no subscriber")
    store = Store(f"sqlite:///{workdir / f'throughput-{channel}-{digest}-{subscribed}.db'}")
    aws = AwsContext(endpoint_url=emu.endpoint, session=emu.session())
    name = f"bench-burst-{'digest' if digest else 'each'}-{'sub' if subscribed else 'nosub'}"
    if channel == "sns":
        target, queue = subscribed_topic(emu, name) if subscribed else (emu.client("sns").create_topic(Name=name)["TopicArn"], None)
    else:
        target, queue = receiver.url, None
    pol = one_rule_policy(route_yaml(channel, target, digest))
    write(store, [bucket(f"phi-burst-{i:05d}", False, "2026-06-01T00:00:00Z") for i in range(n)])
    counter = SnsCounter() if channel == "sns" else None
    dispatcher = make_dispatcher(store, pol, aws, counter)
    receiver.reset()
    t0 = time.perf_counter()
    summary = Evaluator(store, pol, _RULES).evaluate()
    t1 = time.perf_counter()
    result = dispatcher.dispatch()
    t2 = time.perf_counter()
    assert summary.queued_alerts == n and result.sent == n and result.failed == 0, result.summary()
    delivered_messages = result.routes[0].messages
    if queue is not None:
        assert count_queue(emu, queue) == delivered_messages
    store.close()
    return {
        "channel": label,
        "findings": n,
        "messages": delivered_messages,
        "evaluate_s": round(t1 - t0, 3),
        "deliver_s": round(t2 - t1, 3),
        "alerts_per_s": round(n / (t2 - t1), 1),
        "connections": len(receiver.connections) if channel == "webhook" else None,
        "api_requests": counter.requests if counter is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--background", type=int, default=1000)
    parser.add_argument("--findings", type=int, default=1000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="phiwatch-bench-notify-"))
    receiver = Receiver()
    with Emulator() as emu:
        lat = [latency(c, emu, receiver, args.rounds, args.background, workdir) for c in ("sns", "webhook")]
        thr = [throughput("sns", emu, receiver, args.findings, False, workdir, subscribed=False)]
        thr += [throughput(c, emu, receiver, args.findings, d, workdir) for c in ("sns", "webhook") for d in (False, True)]
    receiver.server.shutdown()
    env = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    lines = [
        f"## Alert delivery ({env['time']}, Python {env['python']}, {env['cpus']} CPUs, load {env['load_avg_1m']})",
        "",
        f"Latency, finding change -> channel accepted ({args.rounds} changes, {args.background} other items in the store), ms:",
        "",
        "| channel | total median | total p95 | total max | evaluate+outbox median | deliver median |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in lat:
        lines.append(
            f"| {r['channel']} | {r['total_ms']['median']} | {r['total_ms']['p95']} | {r['total_ms']['max']} | "
            f"{r['evaluate_ms']['median']} | {r['deliver_ms']['median']} |"
        )
    lines += [
        "",
        f"Throughput, {args.findings} findings opened at once (one evaluation, one delivery run):",
        "",
        "| channel | messages | evaluate+outbox s | deliver s | alerts/s | TCP connections | SNS API requests |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in thr:
        lines.append(
            f"| {r['channel']} | {r['messages']} | {r['evaluate_s']} | {r['deliver_s']} | {r['alerts_per_s']} | "
            f"{r['connections'] if r['connections'] is not None else '-'} | {r['api_requests'] if r['api_requests'] is not None else '-'} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = BENCH_DIR / "results"
    out.mkdir(exist_ok=True)
    (out / "notify-latest.md").write_text(text)
    (out / "notify-latest.json").write_text(json.dumps({"env": env, "latency": lat, "throughput": thr}, indent=2) + "\n")


if __name__ == "__main__":
    main()
