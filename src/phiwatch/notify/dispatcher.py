"""Deliver the outbox: after the scan's transaction committed, send what is due, route by route.

How delivery stays reliable:

* **Claimed, then sent.** Due rows (``status`` pending or failed, ``next_attempt_at`` passed)
  are claimed by moving ``next_attempt_at`` a lease ahead (10 minutes) in one statement, so
  two dispatchers never send the same row, and rows of a dispatcher that crashed are due again
  when the lease ends: nothing is lost, a crash can at worst resend (at-least-once; webhook
  receivers de-duplicate on ``X-Phiwatch-Delivery``).
* **Retried with backoff, never dropped.** Within a run a message is tried up to
  ``max_attempts`` times with exponential backoff (``backoff`` doubling, capped at
  ``max_backoff``; a server's Retry-After is honoured up to that cap). A row still undelivered
  stays ``failed`` with its last error and is due again after ``retry_base`` seconds, doubling
  on each failed run up to ``max_retry_delay``. Rows are never deleted.
* **Isolated.** Each route is delivered in its own thread with its own time budget; a route
  whose channel is down (refused, timing out, rejecting credentials) stops after the first
  message and leaves the rest for the next run, so it costs seconds, not minutes, and never
  holds up the other routes or the scan.
* **One connection per batch.** One SNS client per region (reused across runs of a
  dispatcher, PublishBatch of 10), one SMTP session, one HTTP session per route and run.
* **Digest routes** (``digest: true``) get one message per run and recipient listing every
  change: ``{"event": "digest", "findings": [...]}``, split only where the channel's size
  limit demands it.

Error texts are scrubbed of the route's secrets before they are stored or logged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from phiwatch.aws.session import AwsContext
from phiwatch.model import isoformat, utcnow
from phiwatch.notify.channels.base import (
    Channel,
    ChannelConfigError,
    ChannelSettings,
    DeliveryError,
    Outgoing,
    channel_for,
    public_payload,
)
from phiwatch.notify.message import digest_message
from phiwatch.notify.reminders import enqueue_reminders
from phiwatch.policy import NotificationRoute, Policy
from phiwatch.store.claims import holder_gone, process_token
from phiwatch.store.db import Store
from phiwatch.store.outbox import FAILED, PENDING, SENT, claim, queue_message, record_attempts

log = logging.getLogger(__name__)

__all__ = ["FAILED", "PENDING", "SENT", "DispatchResult", "Dispatcher", "RouteResult", "deliver", "queue_test_message"]


@dataclass
class RouteResult:
    """What one route's delivery did in this run (counts are outbox rows)."""

    route: str
    channel: str
    target: str = ""
    messages: int = 0  # messages the channel accepted (a digest counts once)
    sent: int = 0
    failed: int = 0  # still undelivered after this run (kept, retried later)
    retried: int = 0  # delivered rows that needed more than one attempt
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("route", "channel", "target", "messages", "sent", "failed", "retried", "errors")} | {
            "seconds": round(self.seconds, 3)
        }


@dataclass
class DispatchResult:
    routes: list[RouteResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        return sum(r.sent for r in self.routes)

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.routes)

    @property
    def retried(self) -> int:
        return sum(r.retried for r in self.routes)

    def route(self, name: str) -> RouteResult | None:
        return next((r for r in self.routes if r.route == name), None)

    def summary(self) -> str:
        if not self.routes:
            return "alerts: nothing to send"
        text = f"alerts: {self.sent} sent on {sum(1 for r in self.routes if r.sent)} route(s)"
        if self.retried:
            text += f" ({self.retried} after a retry)"
        if self.failed:
            failing = ", ".join(f"{r.route} ({r.errors[0] if r.errors else 'failed'})" for r in self.routes if r.failed)
            text += f"; {self.failed} not delivered yet, kept and retried on the next run: {failing}"
        return text


def _aware(value: dt.datetime) -> dt.datetime:
    """UTC (the store compares times as stored, so every time written must be in one zone)."""
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Dispatcher:
    """Sends due outbox rows through the policy's routes. Reuse one for many runs (clients are kept)."""

    def __init__(
        self,
        store: Store,
        policy: Policy,
        *,
        aws: AwsContext | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        timeout: float = 10.0,
        max_attempts: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        retry_base: float = 60.0,
        max_retry_delay: float = 3600.0,
        route_budget: float = 120.0,
        lease: float = 600.0,
        workers: int = 8,
        batch_limit: int = 20_000,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.policy = policy
        self.routes = {r.name: r for r in policy.notifications}
        self.settings = ChannelSettings(aws=aws, endpoint_url=endpoint_url, profile=profile, timeout=timeout, base_dir=policy.base_dir)
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.retry_base = retry_base
        self.max_retry_delay = max_retry_delay
        self.route_budget = route_budget
        self.lease = lease
        self.workers = workers
        self.batch_limit = batch_limit
        self.sleep = sleep
        self._lock = threading.Lock()

    # -- claiming -----------------------------------------------------------------------------
    def _claim(self, now: dt.datetime, ids: list[int] | None, routes: set[str] | None, force: bool) -> list[dict[str, Any]]:
        # due, or claimed by a dispatcher that died on this host (its lease would keep them back for
        # minutes: a crash must not delay alerts until it ends)
        with self.store.engine.begin() as conn:
            return claim(
                conn,
                now=now,
                until=now + dt.timedelta(seconds=self.lease),
                token=process_token(),
                limit=self.batch_limit,
                ids=ids,
                routes=routes,
                force=force,
                holder_gone=holder_gone,
            )

    # -- public -------------------------------------------------------------------------------
    def dispatch(
        self,
        *,
        now: dt.datetime | None = None,
        ids: list[int] | None = None,
        routes: set[str] | None = None,
        force: bool = False,
    ) -> DispatchResult:
        """Send every due row (or only ``ids`` / ``routes``; ``force``: ignore the backoff)."""
        started = time.monotonic()
        now = _aware(now or utcnow())
        rows = self._claim(now, ids, routes, force)
        by_route: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_route.setdefault(row["route"], []).append(row)
        result = DispatchResult()
        if not by_route:
            result.seconds = time.monotonic() - started
            return result
        jobs = list(by_route.items())
        if len(jobs) == 1 or self.workers <= 1:
            result.routes = [self._deliver_route(name, rs, now) for name, rs in jobs]
        else:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(jobs)), thread_name_prefix="phiwatch-notify") as pool:
                result.routes = list(pool.map(lambda job: self._deliver_route(job[0], job[1], now), jobs))
        result.seconds = time.monotonic() - started
        return result

    def close(self) -> None:
        self.settings.shared.clear()

    # -- one route ----------------------------------------------------------------------------
    def _deliver_route(self, name: str, rows: list[dict[str, Any]], now: dt.datetime) -> RouteResult:
        started = time.monotonic()
        route = self.routes.get(name)
        result = RouteResult(route=name, channel=route.channel if route else rows[0]["channel"])
        try:
            if route is None:
                text = f"route '{name}' is not in the policy ({self.policy.source}): kept, sent when the route is back"
                self._record_unattempted(rows, text, now, result)
                return result
            try:
                channel = channel_for(route, self.settings)
            except ChannelConfigError as exc:
                self._record_config_error(rows, f"configuration: {exc}", now, result)
                return result
            result.target = channel.describe()
            messages = self._messages(route, channel, rows)
            by_id = {r["id"]: r for r in rows}
            try:
                self._send(channel, messages, started, on_sent=lambda sent: self._record_sent(channel, by_id, sent, now))
            finally:
                try:
                    channel.close()
                except Exception:  # noqa: BLE001 - closing must not lose the results
                    log.debug("closing channel of route %s failed", name, exc_info=True)
            self._record(route, channel, rows, messages, now, result)
        except Exception as exc:  # noqa: BLE001 - one broken route must not stop the others
            log.exception("route %s: delivery failed unexpectedly", name)
            try:
                self._record_unattempted(rows, f"internal error: {type(exc).__name__}", now, result)
            except Exception:  # noqa: BLE001 - the store is failing: the lease makes the rows due again
                log.exception("route %s: could not record the delivery results", name)
        finally:
            result.seconds = time.monotonic() - started
        for err in result.errors:
            log.warning("alerts on route %s (%s): %s", name, result.channel, err)
        return result

    def _messages(self, route: NotificationRoute, channel: Channel, rows: list[dict[str, Any]]) -> list[Outgoing]:
        singles: list[Outgoing] = []
        groups: dict[str | None, list[dict[str, Any]]] = {}
        for row in rows:
            payload = row["payload"] or {}
            recipient = payload.get("_recipient")
            if route.digest and row["event"] != "test":
                groups.setdefault(recipient, []).append(row)
                continue
            singles.append(
                Outgoing(
                    ids=[row["id"]], payload=public_payload(payload), event=row["event"], recipient=recipient, finding_id=row["finding_id"]
                )
            )
        digests: list[Outgoing] = []
        limit = channel.max_bytes
        for recipient, group in groups.items():
            chunk: list[dict[str, Any]] = []
            size = 64
            for row in group:
                item = public_payload(row["payload"] or {})
                n = len(json.dumps(item, ensure_ascii=False, default=str).encode()) + 1
                if chunk and limit is not None and size + n > limit:
                    digests.append(self._digest(chunk, recipient))
                    chunk, size = [], 64
                chunk.append(row)
                size += n
            if chunk:
                digests.append(self._digest(chunk, recipient))
        return singles + digests

    @staticmethod
    def _digest(rows: list[dict[str, Any]], recipient: str | None) -> Outgoing:
        payload = digest_message([public_payload(r["payload"] or {}) for r in rows])
        return Outgoing(ids=[r["id"] for r in rows], payload=payload, event="digest", recipient=recipient)

    def _send(
        self, channel: Channel, messages: list[Outgoing], started: float, on_sent: Callable[[list[Outgoing]], None] | None = None
    ) -> None:
        deadline = started + self.route_budget
        try:
            channel.open()
        except (ChannelConfigError, DeliveryError) as exc:
            err = exc if isinstance(exc, DeliveryError) else DeliveryError(f"configuration: {exc}", retryable=False, stop_batch=True)
            for m in messages:
                m.error = err
                m.tried += 1
            return
        pending = messages
        for attempt in range(1, self.max_attempts + 1):
            for m in pending:
                m.error = None
            # in slices, each recorded as sent as soon as the channel accepted it: a crash mid-batch
            # re-sends at most the slice in flight, not everything delivered before it
            size = max(1, getattr(channel, "batch_size", 1))
            for at in range(0, len(pending), size):
                part = pending[at : at + size]
                try:
                    channel.send_many(part)
                except Exception as exc:  # noqa: BLE001 - a bug in a channel is a failed delivery, not a crash
                    log.debug("channel %s raised", channel.name, exc_info=True)
                    err = DeliveryError(f"{type(exc).__name__}: {exc}", retryable=False, stop_batch=True)
                    for m in part:
                        if not m.sent and m.error is None:
                            m.error = err
                if on_sent is not None:
                    on_sent([m for m in part if m.sent])
                stop = next((m.error for m in part if not m.sent and m.error is not None and m.error.stop_batch and m.tried), None)
                if stop is not None:  # the channel itself is failing: the rest is not attempted
                    for rest in pending[at + size :]:
                        rest.error = DeliveryError(f"not attempted: {stop}", retryable=stop.retryable, stop_batch=True)
                    break
            retry = [m for m in pending if not m.sent and m.error is not None and m.error.retryable]
            for m in pending:
                if not m.sent and m.error is None:  # a channel that forgot to say: count as failed
                    m.error = DeliveryError("not delivered (no error reported)", retryable=False)
            if not retry or attempt == self.max_attempts:
                break
            delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
            asked = max((m.error.retry_after or 0.0) for m in retry if m.error is not None)
            if asked:
                delay = max(delay, min(asked, self.max_backoff))
            if time.monotonic() + delay >= deadline:
                break
            self.sleep(delay)
            for m in retry:
                m.last_failure = str(m.error)
            pending = retry

    # -- recording ----------------------------------------------------------------------------
    def _retry_delay(self, attempts: int) -> dt.timedelta:
        runs = max(1, math.ceil(attempts / self.max_attempts))
        return dt.timedelta(seconds=min(self.max_retry_delay, self.retry_base * 2 ** (runs - 1)))

    def _record(
        self,
        route: NotificationRoute,
        channel: Channel,
        rows: list[dict[str, Any]],
        messages: list[Outgoing],
        now: dt.datetime,
        result: RouteResult,
    ) -> None:
        by_id = {r["id"]: r for r in rows}
        updates: list[dict[str, Any]] = []
        errors: list[str] = []
        for m in messages:
            error_text = channel.redact(str(m.error)) if m.error is not None else None
            earlier = m.last_failure
            if m.sent:
                result.messages += 1
            elif error_text and error_text not in errors:
                errors.append(error_text)
            for row_id in m.ids:
                row = by_id[row_id]
                attempts = row["attempts"] + m.tried
                if m.sent:
                    result.sent += 1
                    if attempts > 1:
                        result.retried += 1
                    if m.recorded:
                        continue
                    last = channel.redact(earlier) if earlier else row["last_error"]
                    updates.append(dict(b_id=row_id, b_status=SENT, b_attempts=attempts, b_error=last, b_next=now, b_sent=now))
                else:
                    result.failed += 1
                    status = FAILED if m.tried else row["status"]
                    updates.append(
                        dict(
                            b_id=row_id,
                            b_status=status,
                            b_attempts=attempts,
                            b_error=error_text,
                            b_next=now + self._retry_delay(max(attempts, 1)),
                            b_sent=None,
                        )
                    )
        result.errors = errors
        self._write(updates)

    def _record_sent(self, channel: Channel, by_id: dict[int, dict[str, Any]], messages: list[Outgoing], now: dt.datetime) -> None:
        """Mark what the channel accepted as sent, at once (``_record`` then skips it)."""
        updates = []
        for m in messages:
            if m.recorded:
                continue
            for row_id in m.ids:
                row = by_id[row_id]
                last = channel.redact(m.last_failure) if m.last_failure else row["last_error"]
                updates.append(dict(b_id=row_id, b_status=SENT, b_attempts=row["attempts"] + m.tried, b_error=last, b_next=now, b_sent=now))
        self._write(updates)
        for m in messages:
            m.recorded = True
            for row_id in m.ids:
                by_id[row_id]["status"] = SENT  # an error later in the batch must not put it back

    def _record_config_error(self, rows: list[dict[str, Any]], text: str, now: dt.datetime, result: RouteResult) -> None:
        updates = []
        for row in rows:
            attempts = row["attempts"] + 1
            updates.append(
                dict(
                    b_id=row["id"],
                    b_status=FAILED,
                    b_attempts=attempts,
                    b_error=text,
                    b_next=now + self._retry_delay(attempts),
                    b_sent=None,
                )
            )
        result.failed += len(rows)
        result.errors = [text]
        self._write(updates)

    def _record_unattempted(self, rows: list[dict[str, Any]], text: str, now: dt.datetime, result: RouteResult) -> None:
        rows = [r for r in rows if r["status"] != SENT]  # recorded as sent earlier in this batch
        updates = [
            dict(
                b_id=r["id"],
                b_status=r["status"],
                b_attempts=r["attempts"],
                b_error=text,
                b_next=now + self._retry_delay(max(r["attempts"], 1)),
                b_sent=None,
            )
            for r in rows
        ]
        result.failed += len(rows)
        result.errors = [text]
        self._write(updates)

    def _write(self, updates: list[dict[str, Any]]) -> None:
        if not updates:
            return
        with self._lock, self.store.engine.begin() as conn:
            record_attempts(conn, updates)


def queue_test_message(store: Store, route: NotificationRoute, *, recipient: str | None = None, now: dt.datetime | None = None) -> int:
    """Write a test message for ``route`` to the outbox (it appears in the delivery log); returns its row id."""
    now = _aware(now or utcnow())
    payload: dict[str, Any] = {
        "event": "test",
        "finding_id": "test",
        "rule_id": "phiwatch-test-message",
        "resource_type": "AWS::::Account",
        "resource_id": "000000000000",
        "arn": None,
        "account_id": "000000000000",
        "region": "us-east-1",
        "severity": "low",
        "hipaa_sections": [],
        "annotation": f"Test message from `phiwatch notify test` on route {route.name}: delivery works.",
        "time": isoformat(now),
    }
    if recipient:
        payload["_recipient"] = recipient
    row = dict(
        route=route.name,
        channel=route.channel,
        finding_id=None,
        event="test",
        payload=payload,
        scan_id=f"test-{now.strftime('%Y%m%dT%H%M%S%f')}",
    )
    with store.engine.begin() as conn:
        return queue_message(conn, row, now)


def deliver(
    store: Store,
    policy: Policy,
    rules: dict[str, Any] | None = None,
    *,
    aws: AwsContext | None = None,
    endpoint_url: str | None = None,
    profile: str | None = None,
    now: dt.datetime | None = None,
    **options: Any,
) -> DispatchResult | None:
    """After a scan: queue reminders that are due, then send everything due. None without routes."""
    if not policy.notifications:
        return None
    enqueue_reminders(store, policy, rules or {}, now=now)
    dispatcher = Dispatcher(store, policy, aws=aws, endpoint_url=endpoint_url, profile=profile, **options)
    try:
        return dispatcher.dispatch(now=now)
    finally:
        dispatcher.close()
