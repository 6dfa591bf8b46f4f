"""Evaluations and the finding lifecycle (opened, still open, excepted, resolved) in the store."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Iterator

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from phiwatch.model import Compliance, utcnow
from phiwatch.store.tables import (
    eval_state,
    evaluations,
    finding_events,
    findings,
    periodic_runs,
    resources,
)

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


class FindingsWriter:
    """Upserts evaluations and moves findings through their lifecycle, recording each event."""

    def __init__(self, conn: Connection, scan_id: str, now: dt.datetime | None = None) -> None:
        self.conn = conn
        self.scan_id = scan_id
        self.now = now or utcnow()
        self.events: list[dict[str, Any]] = []

    def _event(self, fid: str, event: str, annotation: str) -> None:
        row = {"finding_id": fid, "event": event, "time": self.now, "scan_id": self.scan_id, "annotation": annotation}
        self.conn.execute(insert(finding_events).values(**row))
        self.events.append(row)

    def record_evaluation(self, rule_id: str, resource_pk: int, state_id: str, compliance: Compliance, annotation: str) -> None:
        values = dict(compliance=compliance.value, annotation=annotation, state_id=state_id, evaluated_at=self.now, scan_id=self.scan_id)
        updated = self.conn.execute(
            update(evaluations).where(evaluations.c.rule_id == rule_id, evaluations.c.resource_pk == resource_pk).values(**values)
        )
        if updated.rowcount == 0:
            self.conn.execute(insert(evaluations).values(rule_id=rule_id, resource_pk=resource_pk, **values))

    def forget_evaluation(self, rule_id: str, resource_pk: int, reason: str) -> None:
        """The rule no longer applies (out of scope, disabled): drop the evaluation, resolve the finding."""
        self.conn.execute(delete(evaluations).where(evaluations.c.rule_id == rule_id, evaluations.c.resource_pk == resource_pk))
        row = self.conn.execute(
            select(findings.c.id, findings.c.status).where(findings.c.rule_id == rule_id, findings.c.resource_pk == resource_pk)
        ).first()
        if row and row.status in ACTIVE:
            self._resolve(row.id, reason)

    def _resolve(self, fid: str, annotation: str) -> None:
        self.conn.execute(
            update(findings).where(findings.c.id == fid).values(status=RESOLVED, resolved_at=self.now, updated_at=self.now, annotation=annotation)
        )
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
        row = self.conn.execute(select(findings).where(findings.c.id == fid)).mappings().first()
        if compliance == Compliance.NON_COMPLIANT:
            desired = EXCEPTED if exception else OPEN
            exc_values = (
                dict(exception_owner=exception.owner, exception_justification=exception.justification, exception_expires=exception.expires.isoformat())
                if exception
                else dict(exception_owner=None, exception_justification=None, exception_expires=None)
            )
            if row is None:
                self.conn.execute(
                    insert(findings).values(
                        id=fid, rule_id=rule_id, resource_pk=resource_pk, status=desired, severity=severity,
                        annotation=annotation, opened_at=self.now, updated_at=self.now, **exc_values,
                    )
                )
                event = "excepted" if exception else "opened"
                self._event(fid, event, annotation)
                return event
            if row["status"] not in ACTIVE:
                self.conn.execute(
                    update(findings).where(findings.c.id == fid).values(
                        status=desired, severity=severity, annotation=annotation, opened_at=self.now,
                        updated_at=self.now, resolved_at=None, **exc_values,
                    )
                )
                event = "excepted" if exception else "opened"
                self._event(fid, event, annotation)
                return event
            if row["status"] != desired:
                event = "excepted" if exception else "exception_expired"
                self.conn.execute(
                    update(findings).where(findings.c.id == fid).values(status=desired, annotation=annotation, updated_at=self.now, **exc_values)
                )
                self._event(fid, event, annotation)
                return event
            if row["annotation"] != annotation or row["severity"] != severity:
                self.conn.execute(update(findings).where(findings.c.id == fid).values(annotation=annotation, severity=severity, updated_at=self.now))
            return None
        if compliance in (Compliance.COMPLIANT, Compliance.NOT_APPLICABLE) and row is not None and row["status"] in ACTIVE:
            self._resolve(fid, annotation or "now compliant")
            return "resolved"
        return None  # INSUFFICIENT_DATA: nothing known, the finding stays as it is

    def set_exception_state(self, fid: str, exception: ExceptionInfo | None, expired: bool) -> str | None:
        """Re-check an active finding against today's exceptions (expiry, new exceptions)."""
        row = self.conn.execute(select(findings).where(findings.c.id == fid)).mappings().first()
        if row is None or row["status"] not in ACTIVE:
            return None
        if row["status"] == EXCEPTED and exception is None:
            self.conn.execute(
                update(findings).where(findings.c.id == fid).values(
                    status=OPEN, updated_at=self.now, exception_owner=None, exception_justification=None, exception_expires=None
                )
            )
            event = "exception_expired" if expired else "opened"
            self._event(fid, event, row["annotation"])
            return event
        if row["status"] == OPEN and exception is not None:
            self.conn.execute(
                update(findings).where(findings.c.id == fid).values(
                    status=EXCEPTED, updated_at=self.now, exception_owner=exception.owner,
                    exception_justification=exception.justification, exception_expires=exception.expires.isoformat(),
                )
            )
            self._event(fid, "excepted", row["annotation"])
            return "excepted"
        return None

    def set_eval_state(self, resource_pk: int, state_id: str, fingerprint: str) -> None:
        values = dict(state_id=state_id, fingerprint=fingerprint, evaluated_at=self.now)
        if self.conn.execute(update(eval_state).where(eval_state.c.resource_pk == resource_pk).values(**values)).rowcount == 0:
            self.conn.execute(insert(eval_state).values(resource_pk=resource_pk, **values))

    def mark_periodic(self, rule_id: str) -> None:
        if self.conn.execute(update(periodic_runs).where(periodic_runs.c.rule_id == rule_id).values(last_run=self.now)).rowcount == 0:
            self.conn.execute(insert(periodic_runs).values(rule_id=rule_id, last_run=self.now))


def active_findings(conn: Connection) -> Iterator[dict[str, Any]]:
    query = select(findings, resources.c.arn, resources.c.resource_id, resources.c.resource_name, resources.c.resource_type,
                   resources.c.account_id, resources.c.region, resources.c.status.label("resource_status")).join(
        resources, resources.c.id == findings.c.resource_pk
    ).where(findings.c.status.in_(ACTIVE))
    for row in conn.execute(query).mappings():
        yield dict(row)
