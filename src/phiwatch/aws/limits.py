"""How many AWS requests are in flight at once: one limit for the whole run, one per service and region.

Every client of an :class:`~phiwatch.aws.session.AwsContext` takes a slot just before each HTTP
attempt (botocore's ``before-send``, after the adaptive rate limiter has let it go) and gives it
back as soon as the answer is read (``needs-retry``, which botocore emits after every attempt,
answered or failed, and before it sleeps for a retry). So:

* with real latency, the run keeps up to ``total`` requests in the air whatever mix of collection
  tasks and per-resource detail calls produces them: wall time is about requests x round trip /
  ``total``;
* one service cannot take every slot: S3 (a dozen reads per bucket) and IAM (AWS's strictest
  request rates) get their own limits, every other service :data:`DEFAULT_SERVICE_LIMIT`;
* a slot is never held during a retry's back-off or while the rate limiter waits, so a throttled
  service slows down alone.

The limiter also counts attempts and time per *task* (:func:`task_scope`): what ``--verbose``
names as the slowest tasks of a collection.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

#: requests in flight at once for a whole run (``--workers``)
DEFAULT_TOTAL = 32
#: requests in flight at once per service and region, where :data:`SERVICE_LIMITS` says nothing
DEFAULT_SERVICE_LIMIT = 8
#: services whose own limit differs: S3's per-bucket reads are the longest part of most
#: collections and S3 takes thousands of requests per second; IAM's control plane is throttled early.
#: Measured in bench/README.md ("Peers"): at 2,500 resources and 50 ms per request, 16 in all with
#: S3 16 and IAM 6 took 53.5 s; 32 in all with S3 24 and IAM 8, 39.0 s
SERVICE_LIMITS: Mapping[str, int] = {"s3": 24, "s3control": 4, "iam": 8, "sts": 4}


@dataclass
class TaskStats:
    """Attempts a task sent, and how long they waited for a slot in all."""

    requests: int = 0
    waited: float = 0.0


_task: contextvars.ContextVar[TaskStats | None] = contextvars.ContextVar("phiwatch_task", default=None)


@contextmanager
def task_scope(stats: TaskStats) -> Iterator[TaskStats]:
    """Count the requests made in this block (and in work it hands on through :func:`propagating`) in ``stats``."""
    token = _task.set(stats)
    try:
        yield stats
    finally:
        _task.reset(token)


def propagating(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` run in the caller's task scope, for handing to another thread."""
    context = contextvars.copy_context()
    return lambda *args, **kwargs: context.copy().run(fn, *args, **kwargs)


class RequestLimiter:
    """The slots: at most ``total`` requests at once, at most ``limit(service)`` per service and region."""

    def __init__(self, total: int = DEFAULT_TOTAL, service_limits: Mapping[str, int] | None = None) -> None:
        if total < 1:
            raise ValueError("at least one request must be allowed in flight")
        self.total = total
        self.service_limits = dict(SERVICE_LIMITS if service_limits is None else service_limits)
        self._global = threading.BoundedSemaphore(total)
        self._services: dict[tuple[str, str], threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self._held = threading.local()
        #: requests in flight now and the most there ever were, in all and per (service, region)
        self.in_flight = 0
        self.peak = 0
        self.peak_by_service: dict[tuple[str, str], int] = {}
        self._in_flight_by_service: dict[tuple[str, str], int] = {}

    def limit(self, service: str) -> int:
        """Requests at once for ``service`` in one region (never more than the total)."""
        return min(self.total, self.service_limits.get(service, DEFAULT_SERVICE_LIMIT))

    def _semaphore(self, service: str, region: str) -> threading.BoundedSemaphore:
        key = (service, region)
        with self._lock:
            semaphore = self._services.get(key)
            if semaphore is None:
                semaphore = self._services[key] = threading.BoundedSemaphore(self.limit(service))
            return semaphore

    def install(self, client: Any, service: str, region: str) -> None:
        """Take a slot before each attempt of ``client`` and give it back when the answer is read."""
        key = (service, region)
        semaphore = self._semaphore(service, region)

        def acquire(**_: Any) -> None:
            self._release()  # never two slots on one thread (a previous attempt that ended oddly)
            started = time.monotonic()
            semaphore.acquire()
            self._global.acquire()
            self._held.slots = (key, semaphore)
            stats = _task.get()
            waited = time.monotonic() - started
            with self._lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                now = self._in_flight_by_service[key] = self._in_flight_by_service.get(key, 0) + 1
                self.peak_by_service[key] = max(self.peak_by_service.get(key, 0), now)
                if stats is not None:
                    stats.requests += 1
                    stats.waited += waited

        def release(**_: Any) -> None:
            self._release()

        events = client.meta.events
        events.register_last("before-send", acquire, unique_id="phiwatch-limiter-acquire")
        events.register_first("needs-retry", release, unique_id="phiwatch-limiter-release")
        # the answer could not be parsed (no needs-retry): the call ends with an error
        events.register_first("after-call-error", release, unique_id="phiwatch-limiter-release-error")
        events.register_first("after-call", release, unique_id="phiwatch-limiter-release-call")

    def _release(self) -> None:
        slots = getattr(self._held, "slots", None)
        if slots is None:
            return
        self._held.slots = None
        key, semaphore = slots
        with self._lock:
            self.in_flight -= 1
            self._in_flight_by_service[key] -= 1
        self._global.release()
        semaphore.release()
