"""The scan pipeline: collect -> recover interrupted remediations -> evaluate -> remediate -> deliver alerts.

Every "scan then act" goes through :func:`run_scan`: ``phiwatch scan`` and ``phiwatch evaluate``,
the watch service (per batch of events, and its sweeps) and the demo. Each caller picks the steps
it needs:

* collection is optional (``collect_first``); the watch re-collects the resources its events name
  itself (per collector and region, attributing each change to its actor between collecting and
  evaluating) and passes the run id along;
* recovery and remediation run when ``remediate`` and there is an AWS context: runs a killed
  process left ``running`` are closed on what was just collected, before evaluating, so a run that
  took effect is recorded as the remediation it was; then the policy's remediation modes plan or
  apply, re-collect and re-evaluate (:mod:`phiwatch.remediate.orchestrator`);
* alerts are queued in the outbox with the finding changes (one transaction) and delivered by
  ``deliver`` when given: once at the end, or, with ``deliver_before_remediation``, what the
  evaluation queued before remediating (so no alert waits for a runbook) and what remediation
  queued after it. A delivery error never fails the scan: the alerts stay queued for the next one.

The result is one :class:`ScanOutcome`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phiwatch.aws.session import AwsContext
from phiwatch.collect import runner
from phiwatch.collect.runner import CollectResult
from phiwatch.evaluation import EvaluationSummary, Evaluator, StoredEvaluations, excepted_findings
from phiwatch.model import isoformat, utcnow
from phiwatch.policy import Policy
from phiwatch.remediate.orchestrator import RemediationReport, Remediator, recover_interrupted, remediate_after_scan
from phiwatch.rules.active import active_rules, resolve_rules, waiting_for_parameters
from phiwatch.rules.base import Rule
from phiwatch.store.db import Store

log = logging.getLogger(__name__)


@dataclass
class ScanOutcome:
    """What one pass of the pipeline did."""

    #: the scan in the JSON contract's shape (None when not assembled: ``report=False``)
    scan: dict[str, Any] | None
    #: the evaluation, with the events and queued alerts of recovery and remediation added
    summary: EvaluationSummary
    #: the collection (None without ``collect_first``)
    collect_result: CollectResult | None = None
    #: the remediation report, when the policy plans or applies remediations
    remediation: RemediationReport | None = None
    #: what ``deliver`` returned (its last call that returned something; None when it failed or was not asked)
    delivery: Any = None


def reevaluation(store: Store, policy: Policy, rules: dict[str, Rule]) -> Callable[[], EvaluationSummary]:
    """How remediation re-evaluates what it re-collected: an incremental evaluation, like a scan's."""
    return lambda: Evaluator(store, policy, rules).evaluate()


def remediator(aws: AwsContext | None, store: Store, policy: Policy, rules: dict[str, Rule] | None = None, **options: Any) -> Remediator:
    """A :class:`Remediator` that re-evaluates through the engine after acting (``options``: its keywords)."""
    rules = rules if rules is not None else resolve_rules(policy)
    return Remediator(aws, store, policy, rules, evaluate=reevaluation(store, policy, rules), **options)


def run_scan(
    aws: AwsContext | None,
    store: Store,
    policy: Policy,
    *,
    rules: dict[str, Rule] | None = None,
    services: list[str] | None = None,
    progress: Any = None,
    collect_first: bool = True,
    run_id: int | None = None,
    evaluator: Evaluator | None = None,
    full: bool = False,
    only_rules: set[str] | None = None,
    now: dt.datetime | None = None,
    remediate: bool = True,
    deliver: Callable[[], Any] | None = None,
    deliver_before_remediation: bool = False,
    act_when_unchanged: bool = True,
    on_evaluated: Callable[[EvaluationSummary], None] | None = None,
    report: bool = True,
    stream: bool = False,
) -> ScanOutcome:
    """Collect (optional), recover, evaluate incrementally, remediate, deliver alerts (optional).

    ``aws``: None only without ``collect_first`` (nothing is collected; nothing is remediated).
    ``rules``: the policy's resolved rules (resolved here when not given). Without ``collect_first``
    the evaluation judges what the store holds, recorded against ``run_id`` when given.
    ``evaluator``: a long-lived :class:`Evaluator` to evaluate with (the watch's); ``full`` and
    ``only_rules`` as :meth:`Evaluator.evaluate`. ``on_evaluated`` is called with the summary right
    after the evaluation, before remediation and delivery. With ``act_when_unchanged`` false,
    remediation runs only when the evaluation changed findings and delivery only when alerts were
    queued (the watch's batches); otherwise both run every time (remediation also plans what
    earlier scans left, delivery retries what failed). ``report``: assemble the scan result
    (``scan``); with ``stream`` its ``evaluations`` are a :class:`StoredEvaluations` read from the
    store on each pass instead of a list, for reports of large estates.
    """
    rules = rules if rules is not None else resolve_rules(policy)
    started = now or utcnow()
    collected = None
    errors: list[dict[str, Any]] = []
    if collect_first:
        if aws is None:
            raise ValueError("collecting needs an AWS context")
        aws.retry_stats.refill()  # each scan has the whole retry budget, and asks again what was unavailable
        collected = runner.collect(aws, store, services=services, progress=progress)
        errors = [e.to_dict() for e in collected.errors]
        run_id = collected.run_id
    act = remediate and aws is not None
    # remediations a killed process left running, judged on what was just collected
    recovered = recover_interrupted(aws, store, policy, rules) if act else None
    summary = (evaluator or Evaluator(store, policy, rules)).evaluate(full=full, only_rules=only_rules, run_id=run_id, now=now)
    if recovered is not None:
        summary.events[:0] = recovered.events
        summary.queued_alerts += recovered.queued_alerts
    if on_evaluated is not None:
        on_evaluated(summary)
    delivery = None
    if deliver is not None and deliver_before_remediation and (summary.queued_alerts or act_when_unchanged):
        delivery = _deliver(deliver)
    remediation = None
    if act and (summary.events or act_when_unchanged):  # plan / apply as the policy's remediation modes say, then re-evaluate
        remediation = remediate_after_scan(aws, store, policy, rules, summary.scan_id, evaluate=reevaluation(store, policy, rules))
        if remediation is not None:
            summary.events.extend(remediation.events)
            summary.queued_alerts += remediation.queued_alerts
    if deliver is not None:
        if deliver_before_remediation:
            if remediation is not None and remediation.queued_alerts:
                delivery = _deliver(deliver) or delivery
        elif summary.queued_alerts or act_when_unchanged:
            delivery = _deliver(deliver)
    scan = _assemble(store, policy, rules, summary, started, errors, only_rules, stream) if report else None
    if scan is not None and collected is not None and aws is not None:
        scan["collection"] = collection_summary(collected, aws)
    return ScanOutcome(scan=scan, summary=summary, collect_result=collected, remediation=remediation, delivery=delivery)


def collection_summary(collected: CollectResult, aws: AwsContext) -> dict[str, Any]:
    """How the collection went, for the scan's JSON: requests, time, retries by API, each task (slowest first)."""
    return {
        "requests": collected.requests,
        "seconds": round(collected.seconds, 3),
        "workers": aws.limiter.total,
        "retries": aws.retry_stats.summary(),
        "tasks": [task.to_dict() for task in collected.tasks],
    }


def _deliver(deliver: Callable[[], Any]) -> Any:
    """Send what the outbox holds; a failure leaves the alerts queued and never fails the scan."""
    try:
        return deliver()
    except Exception as exc:  # noqa: BLE001 - alerts stay in the outbox for the next delivery
        log.warning("alert delivery failed (%s); alerts stay queued", type(exc).__name__)
        return None


def _assemble(
    store: Store,
    policy: Policy,
    rules: dict[str, Rule],
    summary: EvaluationSummary,
    started: dt.datetime,
    errors: list[dict[str, Any]],
    only_rules: set[str] | None,
    stream: bool,
) -> dict[str, Any]:
    """The scan result: the current evaluations of the rules run, exceptions, the events of this scan."""
    shown = set(only_rules) if only_rules is not None else {a.rule.id for a in active_rules(policy, rules)}
    evaluations_now = StoredEvaluations(store, rules, shown)
    return {
        "scan_id": summary.scan_id,
        "started_at": isoformat(started),
        "finished_at": isoformat(summary.finished_at or utcnow()),
        "evaluations": evaluations_now if stream else list(evaluations_now),
        "errors": errors,
        "excepted": excepted_findings(store),
        "events": [{"finding_id": e["finding_id"], "event": e["event"]} for e in summary.events],
        "rules_run": sorted(shown),
        # selected by a pack but not run: they need a parameter without a default (AWS Config would not deploy them)
        "rules_not_run": [
            {"rule_id": rule_id, "needs_parameters": names}
            for rule_id, names in waiting_for_parameters(policy, rules).items()
            if only_rules is None or rule_id in only_rules
        ],
    }
