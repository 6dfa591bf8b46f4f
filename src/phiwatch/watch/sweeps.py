"""Scheduled sweeps, between batches, so a change whose event never arrived is still caught:
periodic rules (and alert reminders, retries of failed deliveries, deferred remediations) every
``periodic_check_seconds``; a full re-collection every ``full_sweep_seconds`` (and at start when
the store has no recent full collection: :func:`last_full_collection`; ``sweep_on_start`` forces
or skips it). A full sweep also counts as the periodic check of its time.

:class:`Sweeps` is a mixin of :class:`phiwatch.watch.service.WatchService`: its schedule lives on
the service, and a sweep marks the service busy (its health check) while it runs.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Any

from phiwatch.collect.registry import load_collectors
from phiwatch.evaluation import EvaluationSummary
from phiwatch.model import utcnow
from phiwatch.notify.reminders import enqueue_reminders
from phiwatch.store.changes import complete_collections
from phiwatch.watch.log_format import log_line
from phiwatch.watch.pipeline import Pipeline


def last_full_collection(store: Any, regions: list[str]) -> dt.datetime | None:
    """When the latest complete collection of every service in ``regions`` finished (None: never)."""
    every = set(load_collectors())
    for finished, services, run_regions in complete_collections(store):
        if every <= set(services) and set(regions) <= set(run_regions):
            return finished if finished.tzinfo else finished.replace(tzinfo=dt.UTC)
    return None


class Sweeps(Pipeline):
    """The full sweep and the periodic check, and when each is due (monotonic clock)."""

    _stop: threading.Event
    _busy_since: float | None
    _next_periodic: float | None
    _next_full: float | None
    _full_planned: bool

    def run_due_sweeps(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if not self._full_planned:
            self._plan_full_sweep(now)
        if self._next_full is not None and now >= self._next_full and not self._stop.is_set():
            self.full_sweep()
            self._next_full = time.monotonic() + self.options.full_sweep_seconds if self.options.full_sweep_seconds else None
            if self._next_periodic is not None:
                self._next_periodic = time.monotonic() + self.options.periodic_check_seconds
        if self._next_periodic is not None and now >= self._next_periodic and not self._stop.is_set():
            self.periodic_check()
            self._next_periodic = time.monotonic() + self.options.periodic_check_seconds

    def _plan_full_sweep(self, now: float) -> None:
        self._full_planned = True
        interval = self.options.full_sweep_seconds
        if self.options.sweep_on_start is True:
            self._next_full = now
            return
        if not interval:
            self._next_full = None
            return
        if self.options.sweep_on_start is False:
            self._next_full = now + interval
            return
        last = last_full_collection(self.store, self.aws.regions)
        age = (utcnow() - last).total_seconds() if last else None
        self._next_full = now if age is None or age >= interval else now + (interval - age)

    def full_sweep(self) -> None:
        """Re-collect every service in every watched region, then evaluate and act."""
        t0 = time.monotonic()
        self._busy_since = t0

        def on_evaluated(summary: EvaluationSummary) -> None:
            self.metrics.inc("sweeps_total", kind="full")
            self._evaluated(summary)

        try:
            log_line(logging.INFO, "full sweep started", regions=list(self.aws.regions))
            outcome = self._scan(collect_first=True, periodic=True, on_evaluated=on_evaluated)
            result = outcome.collect_result
            assert result is not None  # collected first
            log_line(
                logging.INFO,
                "full sweep done",
                seconds=round(time.monotonic() - t0, 1),
                seen=result.seen,
                new_or_changed=len(result.changed_keys),
                deleted=result.deleted,
                errors=len(result.errors),
                evaluations=outcome.summary.evaluations,
            )
        finally:
            self._busy_since = None

    def periodic_check(self) -> None:
        """Periodic rules that are due, reminders, alert retries and deferred remediations."""
        self._busy_since = time.monotonic()

        def on_evaluated(summary: EvaluationSummary) -> None:  # its reminders go out with this pass's delivery
            self._evaluated(summary)
            self.metrics.inc("sweeps_total", kind="periodic")
            if self.policy.notifications:
                enqueue_reminders(self.store, self.policy, self.rules)

        try:
            self._scan(periodic=True, on_evaluated=on_evaluated)
        finally:
            self._busy_since = None
