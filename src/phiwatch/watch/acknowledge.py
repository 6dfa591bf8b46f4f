"""Acknowledging a batch, once it is handled.

Only then are the batch's messages deleted. A message whose re-collection failed (throttled past
the SDK's retries, endpoint unreachable, a collector crash) or whose batch failed to evaluate is
not deleted: it returns to the queue after ``retry_delay`` (growing with its receive count,
capped by the queue's visibility timeout) and, after the queue's ``maxReceiveCount``, lands in
the dead-letter queue. A message handled but not deleted comes back as a harmless duplicate: the
ids of the last ``dedupe_size`` processed events are remembered and acknowledged without work.

:class:`Acknowledging` is a mixin of :class:`phiwatch.watch.service.WatchService`: it uses the
service's SQS client (swapped by tests), the visibility timeout the service read, and the
remembered event ids that batch handling checks.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

from phiwatch.model import isoformat
from phiwatch.watch import queue
from phiwatch.watch.events import Change, Ignored
from phiwatch.watch.log_format import log_line
from phiwatch.watch.metrics import Metrics
from phiwatch.watch.options import WatchOptions
from phiwatch.watch.queue import BatchResult, Received


class Acknowledging:
    """Delete what a batch handled, return what failed to the queue, count and log both."""

    sqs: Any
    options: WatchOptions
    metrics: Metrics
    _visibility: int | None
    _done: OrderedDict[str, None]  # event ids processed, oldest first

    def _finish(self, batch: list[Received], result: BatchResult) -> None:
        now_wall = time.time()
        done = [r for r in batch if r.outcome != "failed"]
        failed = [r for r in batch if r.outcome == "failed"]
        deleted = queue.delete(self.sqs, self.options.queue_url, done)
        for r in done:
            if r.message_id not in deleted:
                continue
            result.acked += 1
            result.outcomes[r.outcome] = result.outcomes.get(r.outcome, 0) + 1
            self.metrics.inc("events_processed_total", outcome=r.outcome)
            if isinstance(r.parsed, Change):
                if r.outcome in ("changed", "unchanged"):
                    self._remember(r.parsed.event_id)
                    self.metrics.observe("event_lag_seconds", now_wall - r.parsed.event_time.timestamp())
                    log_line(
                        logging.INFO,
                        "event processed",
                        message_id=r.message_id,
                        event_id=r.parsed.event_id,
                        call=r.parsed.label,
                        actor=r.parsed.actor,
                        outcome=r.outcome,
                        event_time=isoformat(r.parsed.event_time),
                        lag_seconds=round(now_wall - r.parsed.event_time.timestamp(), 3),
                    )
            if r.sent_at is not None:
                self.metrics.observe("queue_lag_seconds", now_wall - r.sent_at)
        for r in failed:
            result.failed += 1
            self.metrics.inc("events_failed_total")
            delay = self._retry_delay(r.receive_count)
            label = r.parsed.label if isinstance(r.parsed, (Change, Ignored)) else "?"
            log_line(
                logging.WARNING,
                "event failed, returns to the queue",
                message_id=r.message_id,
                call=label,
                reason=r.reason,
                receive_count=r.receive_count,
                retry_in_seconds=delay,
            )
            queue.return_later(self.sqs, self.options.queue_url, r.receipt, delay)

    def _retry_delay(self, receive_count: int) -> int:
        return queue.retry_delay(receive_count, self.options.retry_delay, self._visibility)

    def _remember(self, event_id: str) -> None:
        self._done[event_id] = None
        self._done.move_to_end(event_id)
        while len(self._done) > self.options.dedupe_size:
            self._done.popitem(last=False)
