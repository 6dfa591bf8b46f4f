"""The evaluator: the store's items against the active rules -> evaluations and findings.

Rules never call AWS; collectors never judge. Evaluation is incremental: an item is
re-evaluated only when its configurationStateId changed since it was last evaluated, when the
active rules or their parameters changed (the *fingerprint*), when a rule that reads other
items (a learned dependency) has one of them changed, or for periodic rules when they are due.
Everything is streamed from the store; results are written as they are produced, and the
alerts they cause go to the outbox in the same transaction. The SQL is in
:mod:`phiwatch.store.evaluations` and :mod:`phiwatch.store.findings`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from phiwatch import __version__
from phiwatch.model import STATUS_DELETED, ConfigurationItem, utcnow
from phiwatch.notify.outbox import enqueue_events
from phiwatch.policy import Policy
from phiwatch.rules.active import ActiveRule, active_rules, resolve_rules, run_rule
from phiwatch.rules.base import Rule, RuleContext
from phiwatch.store.db import Store
from phiwatch.store.evaluations import (
    changed_types,
    evaluated_rules,
    finish_scan,
    forget_eval_state,
    items_to_evaluate,
    learn_rule_dependencies,
    periodic_last_runs,
    rule_dependencies_known,
    start_scan,
)
from phiwatch.store.findings import ExceptionInfo, FindingsWriter, active_findings, finding_id

log = logging.getLogger(__name__)

#: resources evaluated per batch of store reads and writes
CHUNK = 500


@dataclass
class EvaluationSummary:
    scan_id: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    items_evaluated: int = 0
    evaluations: int = 0
    full: bool = False
    events: list[dict[str, Any]] = field(default_factory=list)
    rule_errors: list[dict[str, Any]] = field(default_factory=list)
    queued_alerts: int = 0
    dependent_rules: list[str] = field(default_factory=list)  # re-run everywhere: an item they read changed


def fingerprint(active: list[ActiveRule]) -> str:
    data = [[a.rule.id, a.params, a.scope.model_dump() if a.scope else None, a.rule.fn.__module__ if a.rule.fn else None] for a in active]
    return hashlib.sha256(json.dumps([__version__, data], sort_keys=True, default=str).encode()).hexdigest()[:32]


class Evaluator:
    """Evaluates the store's current items against the active rules and updates findings."""

    def __init__(self, store: Store, policy: Policy, rules: dict[str, Rule] | None = None, periodic_hours: float = 24.0) -> None:
        self.store = store
        self.policy = policy
        self.rules = rules if rules is not None else resolve_rules(policy)
        self.periodic_hours = periodic_hours
        self._cache: dict[str, list[ConfigurationItem]] = {}
        self._current_rule: str | None = None
        self._looked_up: set[tuple[str, str]] = set()

    def _lookup(self, resource_type: str) -> list[ConfigurationItem]:
        if self._current_rule is not None:  # learn what the rule reads besides its own item
            self._looked_up.add((self._current_rule, resource_type))
        if resource_type not in self._cache:
            self._cache[resource_type] = list(self.store.current_items(resource_type))
        return self._cache[resource_type]

    def evaluate(
        self,
        *,
        full: bool = False,
        only_rules: set[str] | None = None,
        run_id: int | None = None,
        now: dt.datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> EvaluationSummary:
        now = now or utcnow()
        self._cache.clear()
        scan_id = uuid.uuid4().hex
        active = active_rules(self.policy, self.rules, only_rules)
        fp = fingerprint(active_rules(self.policy, self.rules))
        summary = EvaluationSummary(scan_id=scan_id, started_at=now, full=full)
        by_type: dict[str, list[ActiveRule]] = {}
        for a in active:
            for t in a.rule.resource_types:
                by_type.setdefault(t, []).append(a)
        ctx = RuleContext(now=now, lookup=self._lookup)
        engine = self.store.engine
        with engine.begin() as conn:
            start_scan(conn, scan_id=scan_id, started_at=now, run_id=run_id, fingerprint=fp, policy=self.policy.source, full=full)
            due_periodic = set()
            last_runs = periodic_last_runs(conn)
            for a in active:
                if a.rule.periodic:
                    last = last_runs.get(a.rule.id)
                    if last is None or _aware(last) <= now - dt.timedelta(hours=self.periodic_hours):
                        due_periodic.add(a.rule.id)
            # rules that read other items: due on all their resources when one of those items changed
            known_deps = rule_dependencies_known(conn)
            due_dependent = set()
            if not full and known_deps:
                types_changed = changed_types(conn)
                due_dependent = {rule_id for rule_id, t in known_deps if t in types_changed} & {a.rule.id for a in active}
            summary.dependent_rules = sorted(due_dependent)
            self._looked_up.clear()
        due_any = due_periodic | due_dependent
        read_conn = engine.connect()
        try:
            with engine.begin() as conn:
                writer = FindingsWriter(conn, scan_id, now)
                for chunk in items_to_evaluate(read_conn, CHUNK):
                    # one read of the chunk's evaluations and findings; its writes go out in executemany batches
                    writer.preload([row["id"] for row in chunk])
                    for row in chunk:
                        pk = row["id"]
                        if row["status"] == STATUS_DELETED:
                            self._resource_gone(conn, writer, pk)
                            continue
                        rules_for_type = by_type.get(row["resource_type"], [])
                        changed = full or only_rules is not None or row["eval_state_id"] != row["state_id"] or row["fingerprint"] != fp
                        if changed:
                            todo = rules_for_type
                        else:
                            todo = [a for a in rules_for_type if a.rule.id in due_any]
                        if not todo and not changed:
                            continue
                        item = ConfigurationItem.from_dict(row["item"])
                        for a in todo:
                            self._evaluate_one(writer, a, item, pk, row["state_id"], ctx, summary)
                        if changed and only_rules is None:
                            writer.set_eval_state(pk, row["state_id"], fp, exists=row["eval_state_id"] is not None)
                        summary.items_evaluated += 1
                        if progress and summary.items_evaluated % 100 == 0:
                            progress(summary.items_evaluated)
                    writer.release()
                for rule_id in due_periodic:
                    writer.mark_periodic(rule_id)
                learned = self._looked_up - known_deps
                learn_rule_dependencies(conn, learned)
                self._exception_pass(conn, writer)
                summary.events = writer.events
                # Alerts go to the outbox in the same transaction as the finding changes.
                summary.queued_alerts = enqueue_events(conn, self.policy, self.rules, writer.events, now)
                summary.finished_at = utcnow()
                finish_scan(conn, scan_id, summary.finished_at, summary.evaluations)
        finally:
            read_conn.close()
        return summary

    def _evaluate_one(
        self,
        writer: FindingsWriter,
        a: ActiveRule,
        item: ConfigurationItem,
        pk: int,
        state_id: str,
        ctx: RuleContext,
        summary: EvaluationSummary,
    ) -> None:
        if a.scope is not None and not a.scope.matches(item):
            writer.forget_evaluation(a.rule.id, pk, "out of the rule's scope")
            return
        self._current_rule = a.rule.id
        try:
            result = run_rule(a, item, ctx)
        finally:
            self._current_rule = None
        if result is None:
            writer.forget_evaluation(a.rule.id, pk, "rule does not apply")
            return
        if result.annotation.startswith("rule error:"):
            summary.rule_errors.append({"rule_id": a.rule.id, "resource_id": item.resourceId, "error": result.annotation})
        summary.evaluations += 1
        writer.record_evaluation(a.rule.id, pk, state_id, result.compliance, result.annotation)
        exception = self.policy.exception_for(a.rule.id, item)
        info = None
        if exception is not None and exception.active(writer.now.date()):
            info = ExceptionInfo(exception.owner, exception.justification, exception.expires)
        fid = finding_id(a.rule.id, item.accountId, item.awsRegion, item.resourceType, item.resourceId)
        writer.apply(
            fid=fid,
            rule_id=a.rule.id,
            resource_pk=pk,
            severity=a.rule.severity,
            compliance=result.compliance,
            annotation=result.annotation,
            exception=info,
        )

    def _resource_gone(self, conn: Any, writer: FindingsWriter, pk: int) -> None:
        for rule_id in evaluated_rules(conn, pk):
            writer.forget_evaluation(rule_id, pk, "resource deleted")
        forget_eval_state(conn, pk)

    def _exception_pass(self, conn: Any, writer: FindingsWriter) -> None:
        """Apply exceptions added since the last scan, and reopen findings whose exception expired."""
        today = writer.now.date()
        for f in list(active_findings(conn)):
            proxy = _ResourceProxy(f)
            entry = self.policy.exception_for(f["rule_id"], proxy)
            info = None
            expired = False
            if entry is not None:
                if entry.active(today):
                    info = ExceptionInfo(entry.owner, entry.justification, entry.expires)
                else:
                    expired = True
            elif f["status"] == "excepted" and f["exception_expires"]:
                expired = dt.date.fromisoformat(f["exception_expires"]) < today
            writer.set_exception_state(f["id"], info, expired, row=f)


class _ResourceProxy:
    """What exception matching needs of a resource (ids), from a findings row."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.arn = row["arn"]
        self.resourceType = row["resource_type"]
        self.resourceId = row["resource_id"]
        self.resourceName = row["resource_name"]
        self.accountId = row["account_id"]
        self.awsRegion = row["region"]
        self.tags: dict[str, str] = {}


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
