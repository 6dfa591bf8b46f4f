"""Evaluate, alert, remediate: the scan pipeline (:func:`phiwatch.scan.run_scan`, without its
collection unless a full sweep asks for it) as the watch service runs it.

Runs a killed process left running are recovered, one incremental evaluation (only items whose
configuration changed, plus periodic rules that are due) writes findings and their alerts to the
outbox in one transaction; then alerts are delivered, remediation runs as the policy says, and
its alerts are delivered. A batch remediates and delivers only when findings changed; the sweeps
do both every time. A failed delivery stays in the outbox for the next try.

:class:`Pipeline` is a mixin of :class:`phiwatch.watch.service.WatchService`: these steps read
the service's store, policy, rules and evaluator, count into its metrics and clear its
``_evaluation_pending`` flag, which batch handling and the sweeps share.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from phiwatch.evaluation import EvaluationSummary, Evaluator
from phiwatch.notify.dispatcher import Dispatcher
from phiwatch.remediate.orchestrator import RemediationReport
from phiwatch.scan import ScanOutcome, run_scan
from phiwatch.watch.log_format import error_code, log_line
from phiwatch.watch.metrics import Metrics
from phiwatch.watch.options import WatchOptions


class Pipeline:
    """The evaluate / alert / remediate step of a batch or a sweep."""

    aws: Any
    store: Any
    policy: Any
    rules: dict[str, Any]
    evaluator: Evaluator
    options: WatchOptions
    metrics: Metrics
    _dispatcher: Any
    _evaluation_pending: bool  # stored changes not yet evaluated (a previous process's, or a failed evaluation's)

    def _scan(
        self, *, periodic: bool, on_evaluated: Callable[[EvaluationSummary], None], collect_first: bool = False, run_id: int | None = None
    ) -> ScanOutcome:
        """The scan pipeline on what the store holds (a full sweep: after collecting everything):
        evaluate, deliver the alerts, remediate as the policy says, deliver its alerts. A batch
        remediates and delivers only when findings changed; ``periodic`` (the sweeps) does both every time."""
        outcome = run_scan(
            self.aws,
            self.store,
            self.policy,
            rules=self.rules,
            evaluator=self.evaluator,
            collect_first=collect_first,
            run_id=run_id,
            remediate=self.options.remediate,
            deliver=self.deliver,
            deliver_before_remediation=True,
            act_when_unchanged=periodic,
            on_evaluated=on_evaluated,
            report=False,
        )
        self._remediated(outcome.remediation)
        return outcome

    def _evaluated(self, summary: EvaluationSummary) -> None:
        self._evaluation_pending = False
        self.metrics.inc("evaluations_total", summary.evaluations)
        for event in summary.events:
            self.metrics.inc("finding_events_total", event=str(event.get("event")))
        if summary.events:
            log_line(
                logging.INFO,
                "findings changed",
                scan_id=summary.scan_id,
                evaluations=summary.evaluations,
                events=[{"finding_id": e.get("finding_id"), "event": e.get("event")} for e in summary.events][:50],
            )

    def deliver(self) -> Any:
        """Send due alerts from the outbox (a failed delivery stays queued for the next try)."""
        if not self.policy.notifications:
            return None
        if self._dispatcher is None:
            self._dispatcher = Dispatcher(
                self.store, self.policy, aws=self.aws, endpoint_url=self.aws.endpoint_url, profile=self.aws.profile
            )
        try:
            result = self._dispatcher.dispatch()
        except Exception as exc:  # noqa: BLE001 - alerts stay in the outbox
            log_line(logging.WARNING, "alert delivery failed; alerts stay queued", error=error_code(exc))
            return None
        if result.sent:
            self.metrics.inc("alerts_total", result.sent, result="sent")
        if result.failed:
            self.metrics.inc("alerts_total", result.failed, result="failed")
        if result.routes:
            log_line(logging.INFO, "alerts delivered", sent=result.sent, failed=result.failed)
        return result

    def _remediated(self, report: RemediationReport | None) -> None:
        """Metrics and log lines of the pipeline's remediation step."""
        if report is None:
            return
        for outcome in report.outcomes:
            if getattr(outcome, "new", True):
                self.metrics.inc("remediations_total", status=str(outcome.status))
        fresh = [o for o in report.outcomes if getattr(o, "new", True)]
        if fresh:
            log_line(
                logging.INFO,
                "remediation",
                outcomes=[
                    {"rule_id": o.rule_id, "resource_id": o.resource_id, "mode": o.mode, "status": o.status, "reason": o.reason[:200]}
                    for o in fresh
                ][:50],
            )
