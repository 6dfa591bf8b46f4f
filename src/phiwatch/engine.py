"""Evaluation: the store's items against the active rules -> evaluations and findings.
Rules never call AWS; collectors never judge. The scan pipeline (collect, evaluate, remediate,
deliver alerts) is :mod:`phiwatch.scan`.

Evaluation is incremental: an item is re-evaluated only when its configurationStateId
changed since it was last evaluated, when the active rules or their parameters changed
(the *fingerprint*), or for periodic rules when they are due. Everything is streamed from
the store; results are written as they are produced.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, exists, insert, or_, select, update

from phiwatch import __version__
from phiwatch.model import STATUS_DELETED, ConfigurationItem, isoformat, utcnow
from phiwatch.notify.outbox import enqueue_events
from phiwatch.policy import Policy
from phiwatch.rules.active import NO_CONFIGURATION, ActiveRule, active_rules, resolve_rules, run_rule
from phiwatch.rules.base import Rule, RuleContext
from phiwatch.store.db import Store
from phiwatch.store.findings import ExceptionInfo, FindingsWriter, active_findings, finding_id
from phiwatch.store.tables import eval_state, evaluations, findings, periodic_runs, resources, rule_dependencies, scans, versions

__all__ = [  # the rule resolution re-exported here lives in phiwatch.rules.active
    "CHUNK",
    "NO_CONFIGURATION",
    "ActiveRule",
    "EvaluationSummary",
    "Evaluator",
    "StoredEvaluations",
    "active_rules",
    "current_evaluations",
    "excepted_findings",
    "fingerprint",
    "iter_evaluations",
    "resolve_rules",
    "run_rule",
    "summary_by_section",
]

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
            conn.execute(
                insert(scans).values(
                    id=scan_id, started_at=now, run_id=run_id, fingerprint=fp, policy=self.policy.source, evaluated=0, full=full
                )
            )
            due_periodic = set()
            last_runs = {r.rule_id: r.last_run for r in conn.execute(select(periodic_runs))}
            for a in active:
                if a.rule.periodic:
                    last = last_runs.get(a.rule.id)
                    if last is None or _aware(last) <= now - dt.timedelta(hours=self.periodic_hours):
                        due_periodic.add(a.rule.id)
            # rules that read other items: due on all their resources when one of those items changed
            known_deps = {(r.rule_id, r.resource_type) for r in conn.execute(select(rule_dependencies))}
            due_dependent = set()
            if not full and known_deps:
                changed_types = _changed_types(conn)
                due_dependent = {rule_id for rule_id, t in known_deps if t in changed_types} & {a.rule.id for a in active}
            summary.dependent_rules = sorted(due_dependent)
            self._looked_up.clear()
        due_any = due_periodic | due_dependent
        # Stream items joined with their last evaluation state.
        query = (
            select(
                resources.c.id,
                resources.c.status,
                resources.c.state_id,
                resources.c.resource_type,
                eval_state.c.state_id.label("eval_state_id"),
                eval_state.c.fingerprint,
                versions.c.item,
            )
            .join(versions, and_(versions.c.resource_pk == resources.c.id, versions.c.version == resources.c.version))
            .outerjoin(eval_state, eval_state.c.resource_pk == resources.c.id)
            # a deleted resource once: while it still has an evaluation state or evaluations to drop
            .where(
                or_(
                    resources.c.status != STATUS_DELETED,
                    eval_state.c.state_id.is_not(None),
                    exists().where(evaluations.c.resource_pk == resources.c.id),
                )
            )
            .order_by(resources.c.id)
        )
        read_conn = engine.connect()
        try:
            with engine.begin() as conn:
                writer = FindingsWriter(conn, scan_id, now)
                rows = read_conn.execution_options(stream_results=True, yield_per=CHUNK).execute(query).mappings()
                for chunk in rows.partitions(CHUNK):
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
                if learned:
                    _insert_ignoring_duplicates(conn, rule_dependencies, [{"rule_id": r, "resource_type": t} for r, t in sorted(learned)])
                self._exception_pass(conn, writer)
                summary.events = writer.events
                # Alerts go to the outbox in the same transaction as the finding changes.
                summary.queued_alerts = enqueue_events(conn, self.policy, self.rules, writer.events, now)
                summary.finished_at = utcnow()
                conn.execute(
                    update(scans).where(scans.c.id == scan_id).values(finished_at=summary.finished_at, evaluated=summary.evaluations)
                )
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
        for row in conn.execute(select(evaluations.c.rule_id).where(evaluations.c.resource_pk == pk)).all():
            writer.forget_evaluation(row.rule_id, pk, "resource deleted")
        conn.execute(delete(eval_state).where(eval_state.c.resource_pk == pk))

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
        self.resourceId = row["resource_id"]
        self.resourceName = row["resource_name"]
        self.accountId = row["account_id"]
        self.awsRegion = row["region"]
        self.tags: dict[str, str] = {}


def _insert_ignoring_duplicates(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING (another process may have learned the same rows)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        conn.execute(postgresql_insert(table).on_conflict_do_nothing(), rows)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(table).on_conflict_do_nothing(), rows)


def _changed_types(conn: Any) -> set[str]:
    """Resource types with an item new, changed or deleted since it was last evaluated."""
    query = (
        select(resources.c.resource_type)
        .distinct()
        .outerjoin(eval_state, eval_state.c.resource_pk == resources.c.id)
        .where(
            or_(
                and_(
                    resources.c.status != STATUS_DELETED,
                    or_(eval_state.c.state_id.is_(None), eval_state.c.state_id != resources.c.state_id),
                ),
                and_(resources.c.status == STATUS_DELETED, eval_state.c.state_id.is_not(None)),
            )
        )
    )
    return {row[0] for row in conn.execute(query)}


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def iter_evaluations(store: Store, rules: dict[str, Rule], rule_ids: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every current evaluation (of ``rule_ids`` when given) in the scan JSON contract's shape, streamed."""
    query = (
        select(
            evaluations,
            resources.c.resource_type,
            resources.c.resource_id,
            resources.c.resource_name,
            resources.c.arn,
            resources.c.account_id,
            resources.c.region,
        )
        .join(resources, resources.c.id == evaluations.c.resource_pk)
        .where(resources.c.status != STATUS_DELETED)
        .order_by(evaluations.c.rule_id, resources.c.resource_type, resources.c.resource_id)
    )
    if rule_ids is not None:
        query = query.where(evaluations.c.rule_id.in_(sorted(rule_ids)))
    with store.engine.connect() as conn:
        for row in conn.execution_options(stream_results=True, yield_per=1000).execute(query).mappings():
            rule = rules.get(row["rule_id"])
            yield {
                "rule_id": row["rule_id"],
                "resource_type": row["resource_type"],
                "resource_id": row["resource_id"],
                "resource_name": row["resource_name"],
                "arn": row["arn"],
                "account_id": row["account_id"],
                "region": row["region"],
                "compliance": row["compliance"],
                "annotation": row["annotation"],
                "hipaa_sections": list(rule.hipaa_sections) if rule else [],
                "severity": rule.severity if rule else "medium",
                "evaluated_at": isoformat(_aware(row["evaluated_at"])),
            }


def current_evaluations(store: Store, rules: dict[str, Rule], scan_id: str | None = None) -> list[dict[str, Any]]:
    """Every current evaluation in the scan JSON contract's shape."""
    return list(iter_evaluations(store, rules))


class StoredEvaluations:
    """The current evaluations as an iterable that reads the store on each pass (memory stays flat).

    Each pass shows the store as it is then: use it right after the scan, or ``list()`` it.
    """

    def __init__(self, store: Store, rules: dict[str, Rule], rule_ids: set[str] | None = None) -> None:
        self.store = store
        self.rules = rules
        self.rule_ids = rule_ids

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter_evaluations(self.store, self.rules, self.rule_ids)


def excepted_findings(store: Store) -> list[dict[str, Any]]:
    query = (
        select(findings, resources.c.resource_id, resources.c.arn, resources.c.resource_type)
        .join(resources, resources.c.id == findings.c.resource_pk)
        .where(findings.c.status == "excepted")
        .order_by(findings.c.rule_id)
    )
    with store.engine.connect() as conn:
        return [
            {
                "finding_id": r["id"],
                "rule_id": r["rule_id"],
                "resource_type": r["resource_type"],
                "resource_id": r["resource_id"],
                "arn": r["arn"],
                "owner": r["exception_owner"],
                "justification": r["exception_justification"],
                "expires": r["exception_expires"],
            }
            for r in conn.execute(query).mappings()
        ]


def summary_by_section(scan: dict[str, Any], rules: dict[str, Rule]) -> list[dict[str, Any]]:
    """Per HIPAA section: rules run, resources compliant / non-compliant / excepted / could not check."""
    excepted = {(x["rule_id"], x["resource_id"]) for x in scan.get("excepted", [])}
    sections: dict[str, dict[str, Any]] = {}
    for rule_id in scan["rules_run"]:
        rule = rules.get(rule_id)
        for section in rule.hipaa_sections if rule else ():
            sections.setdefault(
                section,
                {"section": section, "rules": set(), "compliant": set(), "non_compliant": set(), "excepted": set(), "insufficient": set()},
            )["rules"].add(rule_id)
    for e in scan["evaluations"]:
        key = (e["resource_type"], e["account_id"], e["region"], e["resource_id"])
        for section in e["hipaa_sections"]:
            s = sections.get(section)
            if s is None:
                continue
            if e["compliance"] == "COMPLIANT":
                s["compliant"].add(key)
            elif e["compliance"] == "NON_COMPLIANT":
                (s["excepted"] if (e["rule_id"], e["resource_id"]) in excepted else s["non_compliant"]).add(key)
            elif e["compliance"] == "INSUFFICIENT_DATA":
                s["insufficient"].add(key)
    out = []
    for section in sorted(sections, key=_section_key):
        s = sections[section]
        # a resource failing any rule of the section is non-compliant for it
        failing = s["non_compliant"]
        out.append(
            {
                "section": section,
                "rules": len(s["rules"]),
                "compliant": len(s["compliant"] - failing - s["insufficient"] - s["excepted"]),
                "non_compliant": len(failing),
                "excepted": len(s["excepted"] - failing),
                "could_not_check": len(s["insufficient"] - failing),
            }
        )
    return out


def _section_key(section: str) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in re.findall(r"\d+|[a-z]+|[A-Z]+", section)]
