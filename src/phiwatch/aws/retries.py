"""Retries by error class, with a retry budget shared by every client of one AWS context.

botocore's modes retry everything retryable the same number of times. An API that answers 5xx
for a minute, a region where a service is not offered, or an operation the endpoint does not
implement then holds a collection for the whole back-off. phiwatch classifies each failed attempt:

* **throttling** (``Throttling``, ``ThrottlingException``, ``RequestLimitExceeded``,
  ``TooManyRequestsException``, ``SlowDown``, HTTP 429, ...): retried up to ``max_attempts``
  retries with botocore's back-off; adaptive mode's client-side rate limiter, shared by every call
  of a client, slows the calls down as well;
* **transient** (HTTP 500, 502, 503, 504, connection reset, read timeout, ``InternalError``, ...):
  at most ``transient_attempts`` attempts in all, with capped, jittered back-off;
* **permanent** (HTTP 501, ``NotImplemented``, ``UnknownOperation``, ``InvalidAction``,
  ``UnsupportedOperation``, ``OptInRequired``): never retried,
  so the call becomes "could not check" with its reason at once. When the code says the
  operation itself is not there (:data:`UNAVAILABLE_CODES`: not for a resource's sake, as EC2's
  ``UnsupportedOperation`` or S3's ``NotImplemented`` for a header can be), the operation is not
  sent again in that region until :meth:`RetryStats.refill` (the next scan, watch batch or
  sweep): each later call fails at once with the same code, so a collector does not ask every
  bucket or table what the endpoint said it cannot answer;
* anything else (a refusal, a missing resource): not retried, as before.

An endpoint that cannot be reached is transient here (botocore cannot tell a region without the
service from a network failure).

Every retry spends one unit of the context's ``retry_budget``; once it is spent no call is retried
any more (each becomes "could not check"), so one sick API cannot hold a whole scan. Retries,
throttles and give-ups are counted per (service, operation) in :class:`RetryStats`.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from botocore.exceptions import ClientError
from botocore.retries import quota, standard

THROTTLE, TRANSIENT, PERMANENT = "throttle", "transient", "permanent"

#: error codes of calls that will not succeed on a retry
PERMANENT_CODES = frozenset(
    {
        "NotImplemented",
        "NotImplementedException",
        "UnknownOperation",
        "UnknownOperationException",
        "InvalidAction",
        "UnsupportedOperation",
        "UnsupportedOperationException",
        "OptInRequired",
        "UnrecognizedClientException",
    }
)
#: permanent codes that are about the operation in that region, whatever the resource
UNAVAILABLE_CODES = frozenset(
    {"NotImplemented", "NotImplementedException", "UnknownOperation", "UnknownOperationException", "InvalidAction", "OptInRequired"}
)
#: services where one of those codes can be about the request (S3: a header it does not implement)
REQUEST_SPECIFIC = frozenset({"s3", "s3control"})
#: throttling codes botocore does not list
EXTRA_THROTTLE_CODES = frozenset({"TooManyRequestsException", "RequestThrottled", "SlowDown"})

_THROTTLED = standard.ThrottledRetryableChecker()
_THROTTLE_STATUS = standard.ThrottlingStatusCodeChecker()
_TRANSIENT = standard.TransientRetryableChecker()
_MODELED = standard.ModeledRetryableChecker()


def classify(context: Any) -> str | None:
    """The class of a failed attempt (a botocore retry context): throttle, transient, permanent, or None."""
    code = context.get_error_code()
    status = getattr(context.http_response, "status_code", None) if context.http_response is not None else None
    if code in PERMANENT_CODES or status == 501:
        return PERMANENT
    if code in EXTRA_THROTTLE_CODES or _THROTTLED.is_retryable(context) or _THROTTLE_STATUS.is_retryable(context):
        return THROTTLE
    if _TRANSIENT.is_retryable(context) or _MODELED.is_retryable(context):
        return TRANSIENT
    return None


class RetryStats:
    """Retries, throttles and give-ups per (service, operation), and the budget left; thread-safe."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.spent = 0
        self.retries: Counter[tuple[str, str]] = Counter()
        self.throttles: Counter[tuple[str, str]] = Counter()
        self.give_ups: Counter[tuple[str, str]] = Counter()
        self.reasons: dict[tuple[str, str], list[str]] = {}
        #: (service, region, operation) that answered a permanent error -> that error, until refill()
        self.unavailable: dict[tuple[str, str, str], dict[str, Any]] = {}
        #: calls not sent because their operation is unavailable, per (service, operation)
        self.not_sent: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Spend one retry of the budget; False when it is spent."""
        with self._lock:
            if self.spent >= self.budget:
                return False
            self.spent += 1
            return True

    def refill(self) -> None:
        """A new budget for the next unit of work (a long-running watch: each batch and sweep);
        the counts go on adding up."""
        with self._lock:
            self.spent = 0
            self.unavailable.clear()

    def mark_unavailable(self, service: str, region: str, operation: str, code: str, status: int | None) -> None:
        with self._lock:
            self.unavailable[(service, region, operation)] = {"Code": code, "HTTPStatusCode": status}

    def refuse_unavailable(self, service: str, region: str, operation: str) -> None:
        """Raise, without sending it, for a call whose operation answered a permanent error in this run."""
        with self._lock:
            known = self.unavailable.get((service, region, operation))
            if known is None:
                return
            self.not_sent[(service, operation)] += 1
        raise ClientError(
            {
                "Error": {"Code": known["Code"], "Message": f"not sent: {operation} answered {known['Code']} earlier in this run"},
                "ResponseMetadata": {"HTTPStatusCode": known["HTTPStatusCode"] or 501},
            },
            operation,
        )

    def record(self, key: tuple[str, str], kind: str | None, retried: bool, reason: str | None = None) -> None:
        with self._lock:
            if kind == THROTTLE:
                self.throttles[key] += 1
            if retried:
                self.retries[key] += 1
            elif reason:
                self.give_ups[key] += 1
                known = self.reasons.setdefault(key, [])
                if reason not in known:
                    known.append(reason)

    def summary(self) -> dict[str, Any]:
        """What a report shows: totals, the budget, and per API its retries, throttles and give-ups (with why)."""
        with self._lock:
            keys = sorted(set(self.retries) | set(self.throttles) | set(self.give_ups) | set(self.not_sent))
            return {
                "retries": sum(self.retries.values()),
                "throttles": sum(self.throttles.values()),
                "give_ups": sum(self.give_ups.values()),
                "budget": self.budget,
                "budget_left": max(self.budget - self.spent, 0),
                "apis": [
                    {
                        "service": service,
                        "api": api,
                        "retries": self.retries[(service, api)],
                        "throttles": self.throttles[(service, api)],
                        "give_ups": self.give_ups[(service, api)],
                        "not_sent": self.not_sent[(service, api)],
                        **({"gave_up_because": "; ".join(self.reasons[(service, api)])} if (service, api) in self.reasons else {}),
                    }
                    for service, api in keys
                ],
            }


class ClassChecker:
    """A botocore retry checker applying :func:`classify`, the attempt limits of each class and the budget."""

    def __init__(self, service: str, max_attempts: int, transient_attempts: int, stats: RetryStats, region: str = "") -> None:
        self.service = service
        self.region = region
        self.total = {THROTTLE: max_attempts + 1, TRANSIENT: min(transient_attempts, max_attempts + 1)}
        self.stats = stats

    def is_retryable(self, context: Any) -> bool:
        kind = classify(context)
        key = (self.service, context.operation_model.name if context.operation_model is not None else "?")
        if kind is None:
            return False
        if kind == PERMANENT:
            code = context.get_error_code() or "NotImplemented"
            self.stats.record(key, kind, False, f"not retried: the call cannot succeed ({code})")
            status = getattr(context.http_response, "status_code", None) if context.http_response is not None else None
            if code in UNAVAILABLE_CODES and self.service not in REQUEST_SPECIFIC:
                self.stats.mark_unavailable(self.service, self.region, key[1], code, status)
            return False
        if context.attempt_number >= self.total[kind]:
            self.stats.record(key, kind, False, f"{kind}: gave up after {context.attempt_number} attempts")
            return False
        if not self.stats.take():
            self.stats.record(key, kind, False, f"{kind}: the scan's retry budget ({self.stats.budget}) is spent")
            return False
        self.stats.record(key, kind, True)
        return True


def install(client: Any, max_attempts: int, transient_attempts: int, stats: RetryStats) -> None:
    """Replace ``client``'s standard retry checker (botocore's ``retry-config-<service>`` handler) by
    :class:`ClassChecker`, keeping botocore's back-off, retry quota and adaptive rate limiter."""
    name = client.meta.service_model.service_id.hyphenize()
    client.meta.events.unregister(f"needs-retry.{name}", unique_id=f"retry-config-{name}")
    adapter = standard.RetryEventAdapter()
    detector = standard.ThrottlingErrorDetector(adapter)
    retry_quota = standard.RetryQuotaChecker(quota.RetryQuota(), detector)
    handler = standard.RetryHandler(
        retry_policy=standard.RetryPolicy(
            retry_checker=ClassChecker(
                client.meta.service_model.service_name, max_attempts, transient_attempts, stats, client.meta.region_name
            ),
            retry_backoff=standard.ExponentialBackoff(max_backoff=20),
        ),
        retry_event_adapter=adapter,
        retry_quota=retry_quota,
    )
    client.meta.events.register(f"after-call.{name}", retry_quota.release_retry_quota)
    client.meta.events.register(f"needs-retry.{name}", handler.needs_retry, unique_id=f"retry-config-{name}")
    service, region = client.meta.service_model.service_name, client.meta.region_name
    client.meta.events.register(
        f"before-call.{name}",
        lambda model, **_: stats.refuse_unavailable(service, region, model.name),
        unique_id="phiwatch-unavailable",
    )
