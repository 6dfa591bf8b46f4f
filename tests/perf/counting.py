"""The requests of a full collection of the demo estate, per (service, operation), and the calls
behind them: what ``test_request_counts.py`` checks and ``snapshot.py`` writes to
``request_counts.json``.

The demo estate is seeded into us-east-1 and collected in us-east-1 and us-west-2 (the second
region holds only what moto creates by itself: a default VPC, its subnets, ...). Services are
named by botocore's service id, as in the ``before-send.<service-id>.<Operation>`` events that
:class:`phiwatch.aws.session.RequestCounter` counts (``s3-control``, ``elastic-load-balancing-v2``).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phiwatch.aws.session import AwsContext
from phiwatch.collect.runner import CollectResult, collect
from phiwatch.demo.estate import seed_estate
from phiwatch.emulator import Emulator
from phiwatch.store import Store

SNAPSHOT = Path(__file__).with_name("request_counts.json")
REGIONS = ["us-east-1", "us-west-2"]
REGENERATE = ".venv/bin/python tests/perf/snapshot.py"
#: services whose resources are not regional: the same call from two regions' clients reads the same thing
GLOBAL_SERVICES = frozenset({"iam", "s3", "s3-control", "sts"})
#: calls a collection legitimately makes more than once with the same parameters, and why
REPEATS_ALLOWED = {
    ("iam", "GenerateCredentialReport"): "polled until the report is COMPLETE (the first answer is STARTED)",
}


@dataclass(frozen=True)
class Call:
    """One API call as the caller made it (before retries): its parameters as canonical JSON."""

    service: str
    operation: str
    region: str
    params: str


class CallLog:
    """A ``before-parameter-build`` handler recording every API call of the clients of a session
    (once per call: retries and pages are not calls made again by the caller, pages differ by token)."""

    def __init__(self) -> None:
        self.calls: Counter[Call] = Counter()
        self._lock = threading.Lock()

    def hook(self, params: Any = None, model: Any = None, context: Any = None, event_name: str = "", **_: Any) -> None:
        service = event_name.split(".")[1]
        region = "global" if service in GLOBAL_SERVICES else (context or {}).get("client_region") or "?"
        call = Call(service, model.name, region, json.dumps(params, sort_keys=True, default=repr))
        with self._lock:
            self.calls[call] += 1

    def repeated(self) -> dict[Call, int]:
        """Calls made more than once with the same parameters on the same resource, but for :data:`REPEATS_ALLOWED`."""
        return {c: n for c, n in self.calls.items() if n > 1 and (c.service, c.operation) not in REPEATS_ALLOWED}


@dataclass
class Measured:
    """What one collection sent: requests per service and operation (every attempt), the calls, the result."""

    requests: dict[str, dict[str, int]]
    log: CallLog
    result: CollectResult
    retries: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(n for ops in self.requests.values() for n in ops.values())


def nested(counts: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (service, operation), n in sorted(counts.items()):
        out.setdefault(service, {})[operation] = n
    return out


def measure(emulator: Emulator, store_url: str) -> Measured:
    """Seed the demo estate into ``emulator`` (which must be empty) and collect it in :data:`REGIONS`."""
    seed_estate(emulator.session(REGIONS[0]), emulator.endpoint, REGIONS[0])
    session = emulator.session(REGIONS[0])
    log = CallLog()
    session.events.register("before-parameter-build", log.hook)  # clients copy the session's handlers
    aws = AwsContext(endpoint_url=emulator.endpoint, regions=REGIONS, session=session)
    store = Store(store_url)
    try:
        result = collect(aws, store)
    finally:
        store.close()
    return Measured(nested(aws.counter.per_operation()), log, result, aws.retry_stats.summary())


def load_snapshot() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text())


def snapshot_of(measured: Measured) -> dict[str, Any]:
    return {
        "about": f"HTTP requests of a full collection of the demo estate in {', '.join(REGIONS)}; regenerate with {REGENERATE}",
        "regions": REGIONS,
        "total": measured.total,
        "requests": measured.requests,
    }


def count_diff(expected: dict[str, dict[str, int]], actual: dict[str, dict[str, int]]) -> list[str]:
    """One line per (service, operation) whose count differs: ``service Operation: expected -> actual (+d)``."""
    flat_expected = {(s, o): n for s, ops in expected.items() for o, n in ops.items()}
    flat_actual = {(s, o): n for s, ops in actual.items() for o, n in ops.items()}
    lines = []
    for key in sorted(set(flat_expected) | set(flat_actual)):
        before, after = flat_expected.get(key, 0), flat_actual.get(key, 0)
        if before != after:
            lines.append(f"  {key[0]} {key[1]}: {before} -> {after} ({after - before:+d})")
    return lines
