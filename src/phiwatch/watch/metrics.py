"""Prometheus metrics (text exposition format 0.0.4) and a health check for ``phiwatch watch``.

A few counters, gauges and histograms in a thread-safe registry, served by a small
``http.server`` on loopback (``--metrics-port``): ``GET /metrics`` and ``GET /healthz``
(200 ``ok`` while the queue is being polled, 503 with the reason otherwise). No dependency:
``prometheus_client`` would add a package for what is ~150 lines here.

Metric names (all prefixed ``phiwatch_watch_``):

* ``events_received_total``, ``events_processed_total{outcome}`` (outcome: changed, unchanged,
  ignored, malformed, duplicate), ``events_failed_total`` (returned to the queue)
* ``event_lag_seconds`` (histogram: event time -> processed), ``queue_lag_seconds`` (histogram:
  enqueued in SQS -> processed), ``batch_seconds`` (histogram)
* ``recollections_total{service}``, ``evaluations_total`` (rule evaluations),
  ``finding_events_total{event}``, ``alerts_total{result}``, ``remediations_total{status}``
* ``aws_requests_total{service}``, ``aws_retries_total{service,api}``,
  ``aws_throttles_total{service,api}``, ``aws_give_ups_total{service,api}`` (calls given up: not
  retried because they cannot succeed, out of attempts, or the batch's retry budget spent)
* ``sweeps_total{kind}`` (full, periodic), ``receive_errors_total``,
  ``last_receive_timestamp_seconds``, ``up``, ``process_resident_memory_bytes``
"""

from __future__ import annotations

import hmac
import json
import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "phiwatch_watch_"
LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600)
BATCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 120)


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1


class Metrics:
    """Counters, gauges and histograms; ``render()`` gives the Prometheus text format."""

    HELP = {
        "events_received_total": ("counter", "Messages received from the queue."),
        "events_processed_total": ("counter", "Messages acknowledged (deleted), by outcome."),
        "events_failed_total": (
            "counter",
            "Messages whose processing failed: left on the queue to be retried (dead-letter queue after maxReceiveCount).",
        ),
        "event_lag_seconds": ("histogram", "From the change's event time to the message being acknowledged."),
        "queue_lag_seconds": ("histogram", "From the message entering the queue to it being acknowledged."),
        "batch_seconds": ("histogram", "Time to process one received batch."),
        "recollections_total": ("counter", "Re-collections of one service in one region after events."),
        "evaluations_total": ("counter", "Rule evaluations made."),
        "finding_events_total": ("counter", "Finding changes (opened, resolved, ...)."),
        "alerts_total": ("counter", "Alert deliveries by result."),
        "remediations_total": ("counter", "Remediation outcomes by status."),
        "sweeps_total": ("counter", "Scheduled sweeps (full re-collection, periodic rules)."),
        "aws_requests_total": ("counter", "AWS requests sent (every attempt), by service."),
        "aws_retries_total": ("counter", "AWS calls retried, by service and API."),
        "aws_throttles_total": ("counter", "Throttled AWS answers, by service and API."),
        "aws_give_ups_total": ("counter", "AWS calls given up (cannot succeed, out of attempts or of retry budget), by service and API."),
        "receive_errors_total": ("counter", "Failed queue receives (throttled, unreachable)."),
        "last_receive_timestamp_seconds": ("gauge", "Unix time of the last successful receive."),
        "up": ("gauge", "1 while the service runs."),
        "process_resident_memory_bytes": ("gauge", "Resident memory of this process."),
    }

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self._gauges: dict[str, float] = {}
        self._histograms: dict[str, _Histogram] = {
            "event_lag_seconds": _Histogram(LAG_BUCKETS),
            "queue_lag_seconds": _Histogram(LAG_BUCKETS),
            "batch_seconds": _Histogram(BATCH_BUCKETS),
        }

    def inc(self, name: str, value: float = 1, **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + value

    def set_total(self, name: str, value: float, **labels: str) -> None:
        """Set a counter to a total kept elsewhere (it only grows there)."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counters[key] = max(self._counters.get(key, 0), value)

    def aws_calls(self, aws: Any) -> None:
        """Take the AWS context's request counts and retry statistics (they add up over its life)."""
        counter = getattr(aws, "counter", None)
        if counter is not None:
            for service, sent in counter.per_service().items():
                self.set_total("aws_requests_total", sent, service=service)
        stats = getattr(aws, "retry_stats", None)
        if stats is not None:
            for row in stats.summary()["apis"]:
                for name, key in (
                    ("aws_retries_total", "retries"),
                    ("aws_throttles_total", "throttles"),
                    ("aws_give_ups_total", "give_ups"),
                ):
                    self.set_total(name, row[key], service=row["service"], api=row["api"])

    def set(self, name: str, value: float) -> None:
        with self._lock:
            self._gauges[name] = value

    def observe(self, name: str, value: float) -> None:
        with self._lock:
            self._histograms[name].observe(max(0.0, value))

    def counter(self, name: str, **labels: str) -> float:
        with self._lock:
            if labels:
                return self._counters.get((name, tuple(sorted(labels.items()))), 0)
            return sum(v for (n, _), v in self._counters.items() if n == name)

    def gauge(self, name: str) -> float | None:
        with self._lock:
            return self._gauges.get(name)

    def render(self) -> str:
        self.set("process_resident_memory_bytes", resident_memory_bytes())
        lines: list[str] = []
        with self._lock:
            names = sorted({n for n, _ in self._counters} | set(self._gauges) | set(self._histograms) | set(self.HELP))
            for name in names:
                kind, text = self.HELP.get(name, ("untyped", name))
                full = PREFIX + name if not name.startswith("process_") else name
                lines.append(f"# HELP {full} {text}")
                lines.append(f"# TYPE {full} {kind}")
                if name in self._histograms:
                    h = self._histograms[name]
                    for bound, count in zip(h.buckets, h.counts):
                        lines.append(f'{full}_bucket{{le="{_num(bound)}"}} {count}')
                    lines.append(f'{full}_bucket{{le="+Inf"}} {h.total}')
                    lines.append(f"{full}_sum {_num(h.sum)}")
                    lines.append(f"{full}_count {h.total}")
                elif name in self._gauges:
                    lines.append(f"{full} {_num(self._gauges[name])}")
                else:
                    rows = [(labels, v) for (n, labels), v in self._counters.items() if n == name]
                    if not rows and kind == "counter":
                        rows = [((), 0)]
                    for labels, value in sorted(rows):
                        lines.append(f"{full}{_labels(dict(labels))} {_num(value)}")
        return "\n".join(lines) + "\n"


def resident_memory_bytes() -> int:
    """RSS from /proc (Linux); the peak RSS from getrusage elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        try:
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return int(peak if os.uname().sysname == "Darwin" else peak * 1024)
        except Exception:  # noqa: BLE001 - memory is informative only
            return 0


class MetricsServer:
    """``/metrics`` and ``/healthz`` on ``host:port`` (port 0: a free one) in a daemon thread."""

    def __init__(
        self, metrics: Metrics, health: Callable[[], tuple[bool, str]], host: str = "127.0.0.1", port: int = 0, token: str | None = None
    ) -> None:
        """``token``: when given, ``/metrics`` needs ``Authorization: Bearer <token>`` (``/healthz``
        stays open for probes: it says only ok or unhealthy and why). Without a token the server
        binds to loopback only."""
        from phiwatch.errors import UsageError

        if not token and host not in ("127.0.0.1", "::1", "localhost"):
            raise UsageError(f"metrics on {host} need a token: set one in the environment variable named by --metrics-token-env")
        self.metrics = metrics
        self.health = health
        outer = self
        expected = f"Bearer {token}".encode() if token else None

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                path = self.path.split("?", 1)[0]
                if (
                    path == "/metrics"
                    and expected is not None
                    and not hmac.compare_digest((self.headers.get("Authorization") or "").encode(), expected)
                ):
                    self._send(401, "unauthorized: send Authorization: Bearer <token>\n", "text/plain")
                elif path == "/metrics":
                    self._send(200, outer.metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
                elif path in ("/healthz", "/health"):
                    ok, reason = outer.health()
                    body = json.dumps({"status": "ok" if ok else "unhealthy", "reason": reason}) + "\n"
                    self._send(200 if ok else 503, body, "application/json")
                else:
                    self._send(404, "not found: try /metrics or /healthz\n", "text/plain")

            def _send(self, code: int, body: str, content_type: str) -> None:
                data = body.encode()
                self.send_response(code)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:  # no access log on stderr
                pass

        try:
            self.server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise UsageError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from exc
        self.server.daemon_threads = True
        # an AF_INET/AF_INET6 address: (host text, port, ...); typeshed also allows bytes for the host
        self.host, self.port = str(self.server.server_address[0]), self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="phiwatch-metrics", daemon=True)

    def start(self) -> MetricsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
