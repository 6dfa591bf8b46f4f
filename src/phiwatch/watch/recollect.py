"""Re-collecting what a batch's events touched.

The resources the events touched are grouped by (collector, region) and each group is
re-collected once (``collect(services=[...], regions=[...], only={type: ids})``: the same code
path and history semantics as ``phiwatch collect``, asking AWS only for the resources named (or
the account part), the whole service when an event names none or the collector cannot target; a
targeted resource gone is recorded as deleted). A resource is grouped under its stored region
when known (an S3 bucket's), else the event's (:func:`resource_region`).

A re-collection that failed (throttled past the SDK's retries, endpoint unreachable, a collector
crash: :data:`TRANSIENT_ERRORS`) is not the stored truth: its events return to the queue. Denied
reads are not failures: they are stored as "could not check", as in a scan.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from phiwatch.collect import runner
from phiwatch.model import ACCOUNT_TYPE, GLOBAL_REGION
from phiwatch.watch.events import Change, ResourceRef
from phiwatch.watch.log_format import error_code, log_line
from phiwatch.watch.metrics import Metrics
from phiwatch.watch.queue import Received

#: collection error codes that mean "try again later", not "this is the stored truth"
TRANSIENT_ERRORS = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServiceError",
        "InternalServiceErrorException",
        "RequestTimeout",
        "RequestTimeoutException",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
        "ProxyConnectionError",
        "ConnectionError",
        "HTTP500",
        "HTTP502",
        "HTTP503",
        "HTTP504",
        "CannotRunError",
    }
)


def targets_of(refs: list[ResourceRef]) -> dict[str, set[str]] | None:
    """What to re-collect for these references: resource type -> identifiers (``AWS::::Account``: the
    account part). None (the whole service) when a reference names no identifier."""
    only: dict[str, set[str]] = {}
    for ref in refs:
        if ref.account:
            only.setdefault(ACCOUNT_TYPE, set())
        elif not ref.identifiers:
            return None
        else:
            only.setdefault(ref.resource_type, set()).update(ref.identifiers)
    return only


def resource_region(store: Any, ref: ResourceRef, account: str) -> str:
    """The stored region of the resource when known (an S3 bucket's), else the event's."""
    if ref.account or not ref.identifiers or ref.region == GLOBAL_REGION:
        return ref.region
    for identifier in ref.identifiers:
        try:
            rows = [row for row in store.find(identifier, ref.resource_type) if row["account_id"] == account]
        except Exception as exc:  # noqa: BLE001 - an unreadable identifier: the event's region
            log_line(logging.WARNING, "resource lookup failed", resource_type=ref.resource_type, error=error_code(exc))
            continue
        if len(rows) == 1:
            return rows[0]["region"]
    return ref.region


def recollect(
    aws: Any, store: Any, metrics: Metrics, service: str, region: str, members: list[tuple[Received, ResourceRef]]
) -> tuple[bool, int | None, bool]:
    """Collect ``service`` in ``region``; (stored truth?, run id, anything new/changed/deleted?)."""
    t0 = time.monotonic()
    calls = sorted({r.parsed.label for r, _ in members if isinstance(r.parsed, Change)})
    only = targets_of([ref for _, ref in members])
    try:
        result = runner.collect(aws, store, services=[service], regions=[region], only=only)
    except Exception as exc:  # noqa: BLE001 - the store or AWS failed: the events come back later
        log_line(
            logging.ERROR,
            "re-collection failed",
            service=service,
            region=region,
            error=error_code(exc),
            message=str(exc)[:300],
            calls=calls,
        )
        return False, None, False
    metrics.inc("recollections_total", service=service)
    transient = [e for e in result.errors if e.error in TRANSIENT_ERRORS or e.api == "*"]
    for e in result.errors:
        if e not in transient:
            log_line(
                logging.WARNING,
                "call failed during re-collection (stored as could not check)",
                service=service,
                region=region,
                api=e.api,
                error=e.error,
                iam_action=e.iam_action,
            )
    if transient:
        first = transient[0]
        log_line(
            logging.WARNING,
            "re-collection incomplete: events return to the queue",
            service=service,
            region=region,
            api=first.api,
            error=first.error,
            failed_calls=len(transient),
            calls=calls,
        )
        return False, result.run_id, False
    changed = bool(result.changed_keys) or result.deleted > 0
    log_line(
        logging.INFO,
        "re-collected",
        service=service,
        region=region,
        targeted=only is not None,
        seconds=round(time.monotonic() - t0, 3),
        requests=result.requests,
        new_or_changed=len(result.changed_keys),
        deleted=result.deleted,
        calls=calls,
    )
    return True, result.run_id, changed
