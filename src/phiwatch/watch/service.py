"""The long-running watch loop: queue -> event table -> targeted re-collection -> evaluation ->
findings -> alerts -> remediation -> acknowledge.

One receive (up to ``max_messages``, long-polled) is one batch:

1. every message is parsed (:func:`phiwatch.watch.events.parse_event`). Malformed JSON,
   unknown or failed calls, resource types phiwatch does not collect and regions it does not
   watch are logged and acknowledged; an event id already processed (a duplicate delivery) is
   acknowledged without work;
2. the resources the events touched are grouped by (collector, region) and each group is
   re-collected once, asking AWS only for the resources named where the collector can
   (:mod:`phiwatch.watch.recollect`);
3. the new history versions are attributed to the events' ``userIdentity`` (``changed_by``,
   shown by ``phiwatch history``): the version attributed is the first one captured at or
   after the event time, never a later one (:mod:`phiwatch.watch.attribution`);
4. the scan pipeline (:func:`phiwatch.scan.run_scan`, without its collection): runs a killed
   process left running are recovered, one incremental evaluation (only items whose configuration
   changed, plus periodic rules that are due) writes findings and their alerts to the outbox in one
   transaction (:mod:`phiwatch.watch.pipeline`);
5. alerts are delivered, remediation runs as the policy says (when findings changed), its alerts
   delivered;
6. only then are the batch's messages deleted. A message whose re-collection failed or whose
   batch failed to evaluate is not deleted: it returns to the queue after ``retry_delay`` and,
   after the queue's ``maxReceiveCount``, lands in the dead-letter queue
   (:mod:`phiwatch.watch.acknowledge`). While a batch is handled, a heartbeat keeps its messages
   invisible (:mod:`phiwatch.watch.queue`).

Between batches: periodic rules (and alert reminders, retries of failed deliveries, deferred
remediations) every ``periodic_check_seconds``; a full re-collection every
``full_sweep_seconds`` (and at start when the store has no recent full collection), so a
change whose event never arrived is still caught (:mod:`phiwatch.watch.sweeps`).

``request_stop()`` (SIGTERM/SIGINT in the CLI) lets the batch in flight finish, releases
messages received but not started, and ``run`` returns 0. Receive errors (throttling, an
unreachable endpoint) back off exponentially up to ``max_backoff`` and recover by themselves.

This module keeps the loop and the handling of one batch; :class:`WatchService` takes the
evaluate/alert/remediate step, the sweeps and the acknowledgement as mixins, since they share the
service's state (its SQS client and AWS context, which callers may swap, its metrics, the
``_evaluation_pending`` flag, the remembered event ids and the busy mark of its health check).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from phiwatch.evaluation import EvaluationSummary, Evaluator
from phiwatch.model import GLOBAL_REGION
from phiwatch.rules.active import resolve_rules
from phiwatch.watch import queue
from phiwatch.watch.acknowledge import Acknowledging
from phiwatch.watch.attribution import attribute
from phiwatch.watch.events import BadEvent, Change, Ignored, ResourceRef, parse_event
from phiwatch.watch.log_format import error_code, log_line
from phiwatch.watch.metrics import Metrics
from phiwatch.watch.options import WatchOptions
from phiwatch.watch.queue import BatchResult, Heartbeat, Received
from phiwatch.watch.recollect import recollect, resource_region
from phiwatch.watch.sweeps import Sweeps

__all__ = ["BatchResult", "Received", "WatchOptions", "WatchService"]


class WatchService(Sweeps, Acknowledging):
    """Consume change events from an SQS queue and keep the store, findings and alerts current."""

    def __init__(
        self,
        aws: Any,
        store: Any,
        policy: Any,
        options: WatchOptions,
        *,
        rules: dict[str, Any] | None = None,
        metrics: Metrics | None = None,
        sqs: Any = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.aws = aws
        self.store = store
        self.policy = policy
        self.options = options
        self.rules = rules if rules is not None else resolve_rules(policy)
        self.evaluator = Evaluator(store, policy, self.rules, periodic_hours=options.periodic_hours)
        self.metrics = metrics or Metrics()
        self.region = queue.queue_region(options.queue_url, aws.default_region)
        self.sqs = sqs or queue.sqs_client(aws, self.region, options.wait_seconds)
        self._stop = threading.Event()
        self._sleep = sleep
        self._done = OrderedDict()
        self._dispatcher = None
        self._account: str | None = None
        self._visibility = None
        self._evaluation_pending = True  # a previous process may have stored changes it did not evaluate
        self._last_receive_ok: float | None = None
        self._last_receive_error: str | None = None
        self._busy_since = None
        self._next_periodic = time.monotonic() + options.periodic_check_seconds if options.periodic_check_seconds else None
        self._next_full = None
        self._full_planned = False
        self.metrics.set("up", 1)

    # -- plumbing -------------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Finish the batch in flight, then return from :meth:`run`."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _wait(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self._stop.wait(seconds)

    def account_id(self) -> str:
        if self._account is None:
            self._account = self.aws.account_id()
        return self._account

    def health(self) -> tuple[bool, str]:
        if self.stopping:
            return False, "stopping"
        now = time.monotonic()
        if self._busy_since is not None:
            return True, f"processing for {now - self._busy_since:.0f}s"
        limit = max(60.0, 3 * self.options.wait_seconds + 30)
        if self._last_receive_ok is None:
            return (False, f"queue not reachable yet: {self._last_receive_error}") if self._last_receive_error else (True, "starting")
        idle = now - self._last_receive_ok
        if idle > limit:
            return False, f"no successful receive for {idle:.0f}s ({self._last_receive_error or 'unknown'})"
        return True, "polling"

    def visibility_timeout(self) -> int:
        """The queue's VisibilityTimeout (checked once; an unknown queue cannot be watched)."""
        if self._visibility is None:
            self._visibility = queue.read_visibility_timeout(self.sqs, self.options.queue_url)
        return self._visibility

    # -- the loop --------------------------------------------------------------------------------------
    def run(self, max_polls: int | None = None) -> int:
        """Poll until stopped (or ``max_polls`` receives); returns the exit status (0)."""
        polls = 0
        backoff = 0.0
        log_line(logging.INFO, "watch started", queue=self.options.queue_url, regions=list(self.aws.regions))
        while not self.stopping and (max_polls is None or polls < max_polls):
            try:
                self.visibility_timeout()
            except (ClientError, BotoCoreError) as exc:
                self.metrics.inc("receive_errors_total")
                self._last_receive_error = error_code(exc)
                backoff = min(self.options.max_backoff, max(1.0, backoff * 2))
                log_line(
                    logging.WARNING,
                    "queue not reachable, backing off",
                    error=error_code(exc),
                    message=str(exc)[:200],
                    backoff_seconds=backoff,
                )
                self._backoff_wait(backoff)
                polls += 1
                continue
            try:
                self._new_retry_budget()
                self.run_due_sweeps()
            except Exception as exc:  # noqa: BLE001 - a failed sweep is retried next time
                log_line(logging.ERROR, "sweep failed", error=error_code(exc), message=str(exc)[:300])
                self._backoff_wait(backoff := min(self.options.max_backoff, max(1.0, backoff * 2)))
                polls += 1
                continue
            finally:
                self.metrics.aws_calls(self.aws)
            if self.stopping:
                break
            polls += 1
            try:
                messages = self._receive()
            except (ClientError, BotoCoreError) as exc:
                self.metrics.inc("receive_errors_total")
                self._last_receive_error = error_code(exc)
                backoff = min(self.options.max_backoff, max(1.0, backoff * 2))
                log_line(
                    logging.WARNING, "receive failed, backing off", error=error_code(exc), message=str(exc)[:200], backoff_seconds=backoff
                )
                self._backoff_wait(backoff)
                continue
            backoff = 0.0
            if not messages:
                continue
            if self.stopping:  # received while a stop was requested: give them back at once
                queue.release(self.sqs, self.options.queue_url, messages)
                break
            self.process(messages)
        self.metrics.set("up", 0)
        log_line(logging.INFO, "watch stopped", polls=polls)
        return 0

    def _backoff_wait(self, seconds: float) -> None:
        self._wait(seconds * random.uniform(0.8, 1.2))

    def _receive(self) -> list[dict[str, Any]]:
        messages = queue.receive(self.sqs, self.options.queue_url, self.options.max_messages, self.options.wait_seconds)
        self._last_receive_ok = time.monotonic()
        self._last_receive_error = None
        self.metrics.set("last_receive_timestamp_seconds", time.time())
        return messages

    # -- one batch ---------------------------------------------------------------------------------------
    def process(self, messages: list[dict[str, Any]]) -> BatchResult:
        """Handle one received batch; delete what was fully handled."""
        started = time.monotonic()
        self._busy_since = started
        self._new_retry_budget()
        batch = [queue.received(m) for m in messages]
        result = BatchResult(received=len(batch))
        self.metrics.inc("events_received_total", len(batch))
        heartbeat = Heartbeat(self.sqs, self.options.queue_url, batch, self._visibility)
        heartbeat.start()
        try:
            self._handle(batch, result)
        except Exception as exc:  # noqa: BLE001 - one batch's crash must not stop the service: its events come back
            log_line(
                logging.ERROR, "batch failed: its unfinished events return to the queue", error=error_code(exc), message=str(exc)[:300]
            )
            for r in batch:
                if not r.outcome:
                    r.outcome, r.reason = "failed", f"batch: {error_code(exc)}"
        finally:
            heartbeat.stop()
            self._busy_since = None
        self._finish(batch, result)
        result.seconds = time.monotonic() - started
        self.metrics.observe("batch_seconds", result.seconds)
        self.metrics.aws_calls(self.aws)
        return result

    def _new_retry_budget(self) -> None:
        """Each batch and sweep gets the whole retry budget (a scan's is per run; the watch never ends)."""
        stats = getattr(self.aws, "retry_stats", None)
        if stats is not None:
            stats.refill()

    def _handle(self, batch: list[Received], result: BatchResult) -> None:
        seen_now: set[str] = set()
        changes: list[Received] = []
        for r in batch:
            try:
                r.parsed = parse_event(r.body, self._account)
            except BadEvent as exc:
                r.outcome, r.reason = "malformed", str(exc)
                log_line(logging.WARNING, "malformed event acknowledged", message_id=r.message_id, reason=str(exc)[:200])
                continue
            except Exception as exc:  # noqa: BLE001 - a reading error is this message's, not the batch's
                r.outcome, r.reason = "malformed", f"unreadable event: {type(exc).__name__}"
                log_line(logging.ERROR, "unreadable event acknowledged", message_id=r.message_id, reason=r.reason)
                continue
            if isinstance(r.parsed, Ignored):
                r.outcome, r.reason = "ignored", r.parsed.reason
                log_line(
                    logging.INFO,
                    "event ignored",
                    message_id=r.message_id,
                    event_id=r.parsed.event_id,
                    call=r.parsed.label,
                    reason=r.parsed.reason,
                    detail=r.parsed.detail,
                )
                continue
            change = r.parsed
            if change.event_id in self._done or change.event_id in seen_now:
                r.outcome, r.reason = "duplicate", "event already processed"
                log_line(logging.INFO, "duplicate event acknowledged", message_id=r.message_id, event_id=change.event_id, call=change.label)
                continue
            seen_now.add(change.event_id)
            changes.append(r)
        if not changes:
            return
        try:
            account = self.account_id()
        except Exception as exc:  # noqa: BLE001 - AWS unreachable: every change waits in the queue
            for r in changes:
                r.outcome, r.reason = "failed", f"account id: {error_code(exc)}"
            return
        groups: dict[tuple[str, str], list[tuple[Received, ResourceRef]]] = {}
        for r in changes:
            assert isinstance(r.parsed, Change)
            change = r.parsed
            if change.account_id and change.account_id != account:
                r.outcome, r.reason = "ignored", f"account {change.account_id} is not the watched account {account}"
                log_line(
                    logging.INFO,
                    "event ignored",
                    message_id=r.message_id,
                    event_id=change.event_id,
                    call=change.label,
                    reason="other-account",
                )
                continue
            for ref in change.refs:
                region = resource_region(self.store, ref, account)
                if region != GLOBAL_REGION and region not in self.aws.regions:
                    continue
                key = (ref.service, self.aws.default_region if region == GLOBAL_REGION else region)
                groups.setdefault(key, []).append((r, ref))
                r.groups.add(key)
            if not r.groups:
                r.outcome, r.reason = "ignored", "region-not-watched"
                log_line(
                    logging.INFO,
                    "event ignored",
                    message_id=r.message_id,
                    event_id=change.event_id,
                    call=change.label,
                    reason="region-not-watched",
                    region=change.region,
                )
        run_ids: list[int] = []
        failed_groups: set[tuple[str, str]] = set()
        changed_groups: set[tuple[str, str]] = set()
        for key, members in sorted(groups.items()):
            service, region = key
            ok, run_id, changed = recollect(self.aws, self.store, self.metrics, service, region, members)
            if not ok:
                failed_groups.add(key)
                continue
            result.recollected.append(key)
            if run_id is not None:
                run_ids.append(run_id)
            if changed:
                changed_groups.add(key)
            for r, ref in members:
                assert isinstance(r.parsed, Change)
                change = r.parsed
                if change.actor:
                    try:
                        attribute(self.store, change, ref, account, run_id)
                    except Exception as exc:  # noqa: BLE001 - the change is stored; only its author is not named
                        log_line(
                            logging.WARNING,
                            "change not attributed",
                            message_id=r.message_id,
                            event_id=change.event_id,
                            call=change.label,
                            error=error_code(exc),
                        )
        for r in changes:
            if r.outcome:
                continue
            if r.groups & failed_groups:
                r.outcome, r.reason = "failed", "re-collection failed"
        if not changed_groups and not self._evaluation_pending:
            self._settle(changes, changed_groups)
            return
        evaluated: list[EvaluationSummary] = []

        def on_evaluated(summary: EvaluationSummary) -> None:
            self._evaluated(summary)
            evaluated.append(summary)
            result.evaluations = summary.evaluations
            result.finding_events = list(summary.events)

        try:
            self._scan(run_id=run_ids[0] if run_ids else None, periodic=False, on_evaluated=on_evaluated)
        except Exception as exc:  # noqa: BLE001 - stored changes stay; the events come back
            if evaluated:
                log_line(logging.ERROR, "remediation failed: the batch returns to the queue", error=error_code(exc), message=str(exc)[:300])
                reason = f"remediation: {error_code(exc)}"
            else:
                self._evaluation_pending = True
                log_line(logging.ERROR, "evaluation failed: the batch returns to the queue", error=error_code(exc), message=str(exc)[:300])
                reason = f"evaluation: {error_code(exc)}"
            for r in changes:
                if not r.outcome:
                    r.outcome, r.reason = "failed", reason
            return
        self._settle(changes, changed_groups)

    def _settle(self, changes: list[Received], changed_groups: set[tuple[str, str]]) -> None:
        for r in changes:
            if not r.outcome:
                r.outcome = "changed" if r.groups & changed_groups else "unchanged"
