"""Evaluations and the finding lifecycle (opened, still open, excepted, resolved) in the store."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from phiwatch.model import Compliance, utcnow
from phiwatch.store.tables import (
    eval_state,
    evaluation_history,
    evaluations,
    finding_events,
    findings,
    periodic_runs,
    resources,
)

if TYPE_CHECKING:
    from phiwatch.store.db import Store

OPEN = "open"
EXCEPTED = "excepted"
RESOLVED = "resolved"
REMEDIATED = "remediated"
ACTIVE = (OPEN, EXCEPTED)


def finding_id(rule_id: str, account_id: str, region: str, resource_type: str, resource_id: str) -> str:
    key = "|".join((rule_id, account_id, region, resource_type, resource_id))
    return hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass
class ExceptionInfo:
    owner: str
    justification: str
    expires: dt.date


_EVAL_KEY = and_(evaluations.c.rule_id == bindparam("k_rule_id"), evaluations.c.resource_pk == bindparam("k_resource_pk"))
_UPDATE_EVALUATION = update(evaluations).where(_EVAL_KEY)
_DELETE_EVALUATION = delete(evaluations).where(_EVAL_KEY)
_UPDATE_EVAL_STATE = update(eval_state).where(eval_state.c.resource_pk == bindparam("k_resource_pk"))
_UPDATE_FINDING = update(findings).where(findings.c.id == bindparam("k_id"))
_CLOSE_HISTORY = (
    update(evaluation_history)
    .where(
        evaluation_history.c.rule_id == bindparam("k_rule_id"),
        evaluation_history.c.resource_pk == bindparam("k_resource_pk"),
        evaluation_history.c.valid_to.is_(None),
    )
    .values(valid_to=bindparam("k_valid_to"))
)


class FindingsWriter:
    """Upserts evaluations and moves findings through their lifecycle, recording each event.

    Each change is written at once, unless :meth:`preload` loaded the evaluations and findings
    of the resources about to be evaluated: changes to those are then queued and written by
    :meth:`flush` with one executemany per kind of statement (same transaction, same result).
    """

    def __init__(self, conn: Connection, scan_id: str, now: dt.datetime | None = None) -> None:
        self.conn = conn
        self.scan_id = scan_id
        self.now = now or utcnow()
        self.events: list[dict[str, Any]] = []
        self._loaded: set[int] = set()  # resource pks whose rows are cached below
        self._evals: dict[tuple[str, int], tuple[str, str]] = {}  # (rule_id, resource_pk) -> (compliance, annotation) stored
        self._findings: dict[str, dict[str, Any]] = {}  # finding id -> row
        self._finding_keys: dict[tuple[str, int], str] = {}  # (rule_id, resource_pk) -> finding id
        self._touched: set[Any] = set()  # keys with a queued change (one change per key per batch)
        self._queue: dict[Any, list[dict[str, Any]]] = {}

    # -- batching ----------------------------------------------------------------------------
    def preload(self, resource_pks: list[int]) -> None:
        """Cache the evaluations and findings of these resources; later changes to them are queued."""
        pks = [pk for pk in dict.fromkeys(resource_pks) if pk not in self._loaded]
        for start in range(0, len(pks), 500):
            part = pks[start : start + 500]
            for r in self.conn.execute(
                select(evaluations.c.rule_id, evaluations.c.resource_pk, evaluations.c.compliance, evaluations.c.annotation).where(
                    evaluations.c.resource_pk.in_(part)
                )
            ):
                self._evals[(r.rule_id, r.resource_pk)] = (r.compliance, r.annotation)
            for f in self.conn.execute(select(findings).where(findings.c.resource_pk.in_(part))).mappings():
                self._findings[f["id"]] = dict(f)
                self._finding_keys[(f["rule_id"], f["resource_pk"])] = f["id"]
            self._loaded.update(part)

    def release(self) -> None:
        """Write what is queued and drop the cache (call after each chunk of resources)."""
        self.flush()
        self._loaded.clear()
        self._evals.clear()
        self._findings.clear()
        self._finding_keys.clear()

    def flush(self) -> None:
        """Write the queued changes: one executemany per statement kind, findings before their events."""
        queue, self._queue = self._queue, {}
        self._touched.clear()
        for kind in sorted(queue, key=_flush_order):
            rows = queue[kind]
            if kind == "eval_insert":
                self.conn.execute(insert(evaluations), rows)
            elif kind == "eval_update":
                self.conn.execute(_UPDATE_EVALUATION, rows)
            elif kind == "eval_delete":
                self.conn.execute(_DELETE_EVALUATION, rows)
            elif kind == "finding_insert":
                self.conn.execute(insert(findings), rows)
            elif kind == "event_insert":
                self.conn.execute(insert(finding_events), rows)
            elif kind == "history_close":
                self.conn.execute(_CLOSE_HISTORY, rows)
            elif kind == "history_insert":
                self.conn.execute(insert(evaluation_history), rows)
            elif kind == "state_insert":
                self.conn.execute(insert(eval_state), rows)
            elif kind == "state_update":
                self.conn.execute(_UPDATE_EVAL_STATE, rows)
            else:  # ("finding_update", columns)
                self.conn.execute(_UPDATE_FINDING, rows)  # SET columns: the rows' keys (one kind per column set)

    def _claim(self, key: Any) -> None:
        """Queue at most one change per row per batch: flush first when this row already has one."""
        if key in self._touched:
            self.flush()
        self._touched.add(key)

    def _queue_row(self, kind: Any, row: dict[str, Any]) -> None:
        self._queue.setdefault(kind, []).append(row)

    def _finding_row(self, fid: str, resource_pk: int) -> dict[str, Any] | None:
        if resource_pk in self._loaded:
            return self._findings.get(fid)
        row = self.conn.execute(select(findings).where(findings.c.id == fid)).mappings().first()
        return dict(row) if row is not None else None

    def _insert_finding(self, values: dict[str, Any]) -> None:
        if values["resource_pk"] in self._loaded:
            self._claim(("finding", values["id"]))
            self._queue_row("finding_insert", values)
            self._findings[values["id"]] = dict(values, resolved_at=None)
            self._finding_keys[(values["rule_id"], values["resource_pk"])] = values["id"]
        else:
            self.conn.execute(insert(findings).values(**values))

    def _update_finding(self, fid: str, row: dict[str, Any] | None, values: dict[str, Any]) -> None:
        if row is not None and row.get("resource_pk") in self._loaded and self._findings.get(fid) is row:
            self._claim(("finding", fid))
            self._queue_row(("finding_update", tuple(sorted(values))), {"k_id": fid, **values})
            row.update(values)
        else:
            self.conn.execute(update(findings).where(findings.c.id == fid).values(**values))
            if row is not None:
                row.update(values)

    # -- changes -----------------------------------------------------------------------------
    def _event(self, fid: str, event: str, annotation: str, exception: ExceptionInfo | None = None) -> None:
        row = {
            "finding_id": fid,
            "event": event,
            "time": self.now,
            "scan_id": self.scan_id,
            "annotation": annotation,
            "detail": _exception_detail(exception) if event == "excepted" else None,
        }
        if self._queue or self._loaded:
            self._queue_row("event_insert", dict(row))
        else:
            self.conn.execute(insert(finding_events).values(**row))
        self.events.append(row)

    def record_evaluation(self, rule_id: str, resource_pk: int, state_id: str, compliance: Compliance, annotation: str) -> None:
        """Store the evaluation; when its compliance or annotation changed, the history gets a new stretch."""
        values = dict(compliance=compliance.value, annotation=annotation, state_id=state_id, evaluated_at=self.now, scan_id=self.scan_id)
        now_value = (compliance.value, annotation)
        history = {
            "rule_id": rule_id,
            "resource_pk": resource_pk,
            "compliance": compliance.value,
            "annotation": annotation,
            "valid_from": self.now,
            "scan_id": self.scan_id,
        }
        close = {"k_rule_id": rule_id, "k_resource_pk": resource_pk, "k_valid_to": self.now}
        if resource_pk in self._loaded:
            key = (rule_id, resource_pk)
            self._claim(("evaluation", key))
            before = self._evals.get(key)
            if before is not None:
                self._queue_row("eval_update", {"k_rule_id": rule_id, "k_resource_pk": resource_pk, **values})
                if before != now_value:
                    self._queue_row("history_close", close)
                    self._queue_row("history_insert", history)
            else:
                self._queue_row("eval_insert", {"rule_id": rule_id, "resource_pk": resource_pk, **values})
                self._queue_row("history_insert", history)
            self._evals[key] = now_value
            return
        found = self.conn.execute(
            select(evaluations.c.compliance, evaluations.c.annotation).where(
                evaluations.c.rule_id == rule_id, evaluations.c.resource_pk == resource_pk
            )
        ).first()
        if found is None:
            self.conn.execute(insert(evaluations).values(rule_id=rule_id, resource_pk=resource_pk, **values))
            self.conn.execute(insert(evaluation_history).values(**history))
            return
        self.conn.execute(
            update(evaluations).where(evaluations.c.rule_id == rule_id, evaluations.c.resource_pk == resource_pk).values(**values)
        )
        if (found.compliance, found.annotation) != now_value:
            self.conn.execute(_CLOSE_HISTORY, close)
            self.conn.execute(insert(evaluation_history).values(**history))

    def forget_evaluation(self, rule_id: str, resource_pk: int, reason: str) -> None:
        """The rule no longer applies (out of scope, disabled): drop the evaluation, resolve the finding."""
        close = {"k_rule_id": rule_id, "k_resource_pk": resource_pk, "k_valid_to": self.now}
        if resource_pk in self._loaded:
            key = (rule_id, resource_pk)
            if key in self._evals:
                self._claim(("evaluation", key))
                self._queue_row("eval_delete", {"k_rule_id": rule_id, "k_resource_pk": resource_pk})
                self._queue_row("history_close", close)
                del self._evals[key]
            fid = self._finding_keys.get(key)
            row = self._findings.get(fid) if fid else None
            if row is not None and row["status"] in ACTIVE:
                self._resolve(row["id"], reason, row)
            return
        self.conn.execute(delete(evaluations).where(evaluations.c.rule_id == rule_id, evaluations.c.resource_pk == resource_pk))
        self.conn.execute(_CLOSE_HISTORY, close)
        found = self.conn.execute(
            select(findings.c.id, findings.c.status).where(findings.c.rule_id == rule_id, findings.c.resource_pk == resource_pk)
        ).first()
        if found and found.status in ACTIVE:
            self._resolve(found.id, reason)

    def _resolve(self, fid: str, annotation: str, row: dict[str, Any] | None = None) -> None:
        self._update_finding(fid, row, dict(status=RESOLVED, resolved_at=self.now, updated_at=self.now, annotation=annotation))
        self._event(fid, "resolved", annotation)

    def apply(
        self,
        *,
        fid: str,
        rule_id: str,
        resource_pk: int,
        severity: str,
        compliance: Compliance,
        annotation: str,
        exception: ExceptionInfo | None,
    ) -> str | None:
        """Move the finding for this evaluation; returns the event recorded, if any."""
        row = self._finding_row(fid, resource_pk)
        if compliance == Compliance.NON_COMPLIANT:
            desired = EXCEPTED if exception else OPEN
            exc_values = (
                dict(
                    exception_owner=exception.owner,
                    exception_justification=exception.justification,
                    exception_expires=exception.expires.isoformat(),
                )
                if exception
                else dict(exception_owner=None, exception_justification=None, exception_expires=None)
            )
            if row is None:
                self._insert_finding(
                    dict(
                        id=fid,
                        rule_id=rule_id,
                        resource_pk=resource_pk,
                        status=desired,
                        severity=severity,
                        annotation=annotation,
                        opened_at=self.now,
                        updated_at=self.now,
                        **exc_values,
                    )
                )
                event = "excepted" if exception else "opened"
                self._event(fid, event, annotation, exception)
                return event
            if row["status"] not in ACTIVE:
                self._update_finding(
                    fid,
                    row,
                    dict(
                        status=desired,
                        severity=severity,
                        annotation=annotation,
                        opened_at=self.now,
                        updated_at=self.now,
                        resolved_at=None,
                        **exc_values,
                    ),
                )
                event = "excepted" if exception else "opened"
                self._event(fid, event, annotation, exception)
                return event
            if row["status"] != desired:
                event = "excepted" if exception else "exception_expired"
                self._update_finding(fid, row, dict(status=desired, annotation=annotation, updated_at=self.now, **exc_values))
                self._event(fid, event, annotation, exception)
                return event
            if row["annotation"] != annotation or row["severity"] != severity:
                self._update_finding(fid, row, dict(annotation=annotation, severity=severity, updated_at=self.now))
            return None
        if compliance in (Compliance.COMPLIANT, Compliance.NOT_APPLICABLE) and row is not None and row["status"] in ACTIVE:
            self._resolve(fid, annotation or "now compliant", row)
            return "resolved"
        return None  # INSUFFICIENT_DATA: nothing known, the finding stays as it is

    def set_exception_state(
        self, fid: str, exception: ExceptionInfo | None, expired: bool, row: Mapping[str, Any] | RowMapping | None = None
    ) -> str | None:
        """Re-check an active finding against today's exceptions (expiry, new exceptions).

        ``row`` is the finding's current row when the caller already read it in this transaction.
        """
        self.flush()
        if row is None:
            row = self.conn.execute(select(findings).where(findings.c.id == fid)).mappings().first()
        if row is None or row["status"] not in ACTIVE:
            return None
        if row["status"] == EXCEPTED and exception is None:
            self.conn.execute(
                update(findings)
                .where(findings.c.id == fid)
                .values(status=OPEN, updated_at=self.now, exception_owner=None, exception_justification=None, exception_expires=None)
            )
            event = "exception_expired" if expired else "opened"
            self._event(fid, event, row["annotation"])
            return event
        if row["status"] == OPEN and exception is not None:
            self.conn.execute(
                update(findings)
                .where(findings.c.id == fid)
                .values(
                    status=EXCEPTED,
                    updated_at=self.now,
                    exception_owner=exception.owner,
                    exception_justification=exception.justification,
                    exception_expires=exception.expires.isoformat(),
                )
            )
            self._event(fid, "excepted", row["annotation"], exception)
            return "excepted"
        return None

    def set_eval_state(self, resource_pk: int, state_id: str, fingerprint: str, exists: bool | None = None) -> None:
        """Record what an item was evaluated at; ``exists`` says whether its row exists, when known."""
        values = dict(state_id=state_id, fingerprint=fingerprint, evaluated_at=self.now)
        if exists is not None and resource_pk in self._loaded:
            self._claim(("state", resource_pk))
            if exists:
                self._queue_row("state_update", {"k_resource_pk": resource_pk, **values})
            else:
                self._queue_row("state_insert", {"resource_pk": resource_pk, **values})
            return
        if self.conn.execute(update(eval_state).where(eval_state.c.resource_pk == resource_pk).values(**values)).rowcount == 0:
            self.conn.execute(insert(eval_state).values(resource_pk=resource_pk, **values))

    def mark_periodic(self, rule_id: str) -> None:
        if self.conn.execute(update(periodic_runs).where(periodic_runs.c.rule_id == rule_id).values(last_run=self.now)).rowcount == 0:
            self.conn.execute(insert(periodic_runs).values(rule_id=rule_id, last_run=self.now))


_KIND_ORDER = {
    "eval_delete": 0,
    "eval_update": 1,
    "eval_insert": 2,
    "history_close": 3,
    "history_insert": 4,
    "finding_insert": 5,
    "event_insert": 7,
    "state_update": 8,
    "state_insert": 9,
}


def _exception_detail(exception: ExceptionInfo | None) -> dict[str, str] | None:
    if exception is None:
        return None
    return {"owner": exception.owner, "justification": exception.justification, "expires": exception.expires.isoformat()}


def _flush_order(kind: Any) -> tuple[int, str]:
    """Statement order of a flush: finding rows before the events that reference them."""
    return (_KIND_ORDER[kind], "") if isinstance(kind, str) else (6, ",".join(kind[1]))


def active_findings(conn: Connection) -> Iterator[dict[str, Any]]:
    query = (
        select(
            findings,
            resources.c.arn,
            resources.c.resource_id,
            resources.c.resource_name,
            resources.c.resource_type,
            resources.c.account_id,
            resources.c.region,
            resources.c.status.label("resource_status"),
        )
        .join(resources, resources.c.id == findings.c.resource_pk)
        .where(findings.c.status.in_(ACTIVE))
    )
    for row in conn.execute(query).mappings():
        yield dict(row)


def list_findings(
    store: Store, statuses: Sequence[str], rule_id: str | None = None, severities: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Findings in these statuses (optionally of one rule, of these severities) with their
    resource's type, id, name, ARN, region and account, oldest opened first."""
    query = (
        select(
            findings,
            resources.c.resource_type,
            resources.c.resource_id,
            resources.c.resource_name,
            resources.c.arn,
            resources.c.region,
            resources.c.account_id,
        )
        .join(resources, resources.c.id == findings.c.resource_pk)
        .where(findings.c.status.in_(statuses))
    )
    if rule_id:
        query = query.where(findings.c.rule_id == rule_id)
    if severities:
        query = query.where(findings.c.severity.in_(severities))
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(findings.c.opened_at, findings.c.rule_id)).mappings()]
