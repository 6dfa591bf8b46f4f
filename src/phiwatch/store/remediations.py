"""The remediations table (and what a remediation changes in findings and finding_events).

Statuses of a remediation row are defined here, like a finding's in :mod:`phiwatch.store.findings`.
Functions taking a ``Connection`` run in the caller's transaction; those taking the ``Store``
open their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.engine import Connection as Connection  # re-exported: remediate/ types the transactions it passes in

from phiwatch.model import STATUS_DELETED, ConfigurationItem
from phiwatch.store.findings import OPEN, REMEDIATED
from phiwatch.store.tables import evaluations, finding_events, findings, remediations, resources, versions

if TYPE_CHECKING:
    from phiwatch.store.db import Store

# remediation statuses
PLANNED = "planned"
RUNNING = "running"
APPLIED = "applied"
FAILED = "failed"
SKIPPED = "skipped"
SUPERSEDED = "superseded"


def recent_remediations(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """The newest ``limit`` remediations, newest first, with their resource's id and region."""
    query = (
        select(
            remediations.c.id,
            remediations.c.finding_id,
            remediations.c.rule_id,
            remediations.c.runbook_id,
            remediations.c.mode,
            remediations.c.status,
            remediations.c.reason,
            remediations.c.created_at,
            remediations.c.finished_at,
            resources.c.resource_id,
            resources.c.region,
        )
        .join(resources, resources.c.id == remediations.c.resource_pk)
        .order_by(remediations.c.created_at.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


# -- reads ---------------------------------------------------------------------------------------


def finding_rows(
    conn: Connection, finding_ids: Iterable[str] | None = None, only_open: bool = True, rule_ids: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Findings of existing resources (``finding_ids`` when given; open ones unless ``only_open`` is
    False; of ``rule_ids`` when given) with the resource's current state id and item and the rule's
    last evaluation (``evaluated_state``, ``evaluated_at``)."""
    query = (
        select(
            findings.c.id,
            findings.c.rule_id,
            findings.c.resource_pk,
            findings.c.severity,
            findings.c.status,
            findings.c.opened_at,
            resources.c.state_id,
            versions.c.item,
            evaluations.c.state_id.label("evaluated_state"),
            evaluations.c.evaluated_at,
        )
        .join(resources, resources.c.id == findings.c.resource_pk)
        .join(versions, and_(versions.c.resource_pk == resources.c.id, versions.c.version == resources.c.version))
        .outerjoin(evaluations, and_(evaluations.c.rule_id == findings.c.rule_id, evaluations.c.resource_pk == findings.c.resource_pk))
        .where(resources.c.status != STATUS_DELETED)
    )
    if finding_ids is not None:
        query = query.where(findings.c.id.in_(list(finding_ids)))
    if only_open:
        query = query.where(findings.c.status == OPEN)
    if rule_ids is not None:
        query = query.where(findings.c.rule_id.in_(sorted(set(rule_ids))))
    return [dict(r) for r in conn.execute(query).mappings()]


def findings_by_prefix(conn: Connection, prefix: str, limit: int = 3) -> list[dict[str, Any]]:
    """Up to ``limit`` findings (id, rule_id, status) whose id starts with ``prefix``."""
    query = select(findings.c.id, findings.c.rule_id, findings.c.status).where(findings.c.id.like(prefix + "%")).limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]


def latest_remediation(conn: Connection, finding_id: str) -> dict[str, Any] | None:
    """The finding's newest remediation row, or None."""
    row = (
        conn.execute(
            select(remediations)
            .where(remediations.c.finding_id == finding_id)
            .order_by(remediations.c.created_at.desc(), remediations.c.id)
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def latest_remediations(conn: Connection, finding_ids: Iterable[str], chunk: int = 500) -> dict[str, dict[str, Any]]:
    """:func:`latest_remediation` of many findings at once: finding id -> its newest row, for
    those that have one (one query per ``chunk`` ids)."""
    ids = list(dict.fromkeys(finding_ids))
    newest: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), chunk):
        order = func.row_number().over(
            partition_by=remediations.c.finding_id, order_by=(remediations.c.created_at.desc(), remediations.c.id)
        )
        ranked = select(remediations, order.label("newest")).where(remediations.c.finding_id.in_(ids[start : start + chunk])).subquery()
        query = select(*(ranked.c[column.name] for column in remediations.c)).where(ranked.c.newest == 1)
        for row in conn.execute(query).mappings():
            newest[row["finding_id"]] = dict(row)
    return newest


def remediation_value(conn: Connection, remediation_id: str, column: str) -> Any:
    """One column of one remediation row (None when there is no such row)."""
    return conn.execute(select(remediations.c[column]).where(remediations.c.id == remediation_id)).scalar()


def executed_since(store: Store, since: dt.datetime) -> int:
    """How many remediations sent write calls (``executed``) and started at or after ``since``."""
    if store.engine.dialect.name == "sqlite":
        since = since.astimezone(dt.UTC).replace(tzinfo=None)
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(remediations).where(remediations.c.executed.is_(True), remediations.c.started_at >= since)
            ).scalar()
            or 0
        )


def count_running(store: Store) -> int:
    """How many remediations are ``running``."""
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(remediations).where(remediations.c.status == RUNNING)).scalar() or 0)


def running_remediations(store: Store) -> list[dict[str, Any]]:
    """Every ``running`` remediation row, oldest first."""
    with store.engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(remediations).where(remediations.c.status == RUNNING).order_by(remediations.c.created_at)
            ).mappings()
        ]


def resource_and_finding(store: Store, resource_pk: int, finding_id: str) -> dict[str, Any] | None:
    """The resource's status, state id and current item, with the finding's status
    (``finding_status``) and severity; None when either is gone."""
    query = (
        select(
            resources.c.status,
            resources.c.state_id,
            versions.c.item,
            findings.c.status.label("finding_status"),
            findings.c.severity,
        )
        .join(versions, and_(versions.c.resource_pk == resources.c.id, versions.c.version == resources.c.version))
        .join(findings, findings.c.id == finding_id)
        .where(resources.c.id == resource_pk)
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row is not None else None


def current_item(store: Store, key: tuple[str, str, str, str]) -> ConfigurationItem | None:
    """The store's current item of (account, region, type, id); None when unknown or deleted."""
    account, region, rtype, rid = key
    query = (
        select(resources.c.status, versions.c.item)
        .join(versions, and_(versions.c.resource_pk == resources.c.id, versions.c.version == resources.c.version))
        .where(
            resources.c.account_id == account,
            resources.c.region == region,
            resources.c.resource_type == rtype,
            resources.c.resource_id == rid,
        )
    )
    with store.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row.status == STATUS_DELETED:
        return None
    return ConfigurationItem.from_dict(row.item)


# -- writes (in the caller's transaction) --------------------------------------------------------


def insert_remediation(conn: Connection, **values: Any) -> None:
    """Insert one remediation row (``values``: its columns)."""
    conn.execute(insert(remediations), values)  # one statement, compiled once for every row


def supersede_plans(conn: Connection, finding_id: str) -> None:
    """Mark the finding's ``planned`` remediations superseded (a new plan replaces them)."""
    conn.execute(
        update(remediations).where(remediations.c.finding_id == finding_id, remediations.c.status == PLANNED).values(status=SUPERSEDED)
    )


def supersede(conn: Connection, remediation_id: str) -> None:
    """Mark one remediation superseded (an approved plan that a run replaces)."""
    conn.execute(update(remediations).where(remediations.c.id == remediation_id).values(status=SUPERSEDED))


def approve_plan(conn: Connection, remediation_id: str, approved_at: dt.datetime, approved_by: str) -> None:
    """Record who approved a plan and when."""
    conn.execute(update(remediations).where(remediations.c.id == remediation_id).values(approved_at=approved_at, approved_by=approved_by))


def set_audit_ref(conn: Connection, remediation_id: str, audit_id: int, audit_hash: str) -> None:
    """Remember the remediation's newest audit entry (id and hash)."""
    conn.execute(update(remediations).where(remediations.c.id == remediation_id).values(audit_id=audit_id, audit_hash=audit_hash))


def finish_remediation(
    conn: Connection,
    remediation_id: str,
    *,
    status: str,
    result: list[dict[str, Any]],
    reason: str | None,
    failed_step: str | None,
    state_after: str | None,
    finished_at: dt.datetime,
) -> None:
    """Close a run: its status, steps and outcome; its plan stays, or (none stored) is made of the
    steps' calls."""
    conn.execute(
        update(remediations)
        .where(remediations.c.id == remediation_id)
        .values(
            status=status,
            result=result,
            reason=reason,
            failed_step=failed_step,
            state_after=state_after,
            finished_at=finished_at,
            runner=None,
            plan=conn.execute(select(remediations.c.plan).where(remediations.c.id == remediation_id)).scalar()
            or [
                {"step": c_step["step"], "service": c["service"], "api": c["api"], "params": c["params"]}
                for c_step in result
                for c in c_step["calls"]
            ],
        )
    )


def close_running(
    conn: Connection, remediation_id: str, *, status: str, reason: str, state_after: str | None, finished_at: dt.datetime
) -> None:
    """Close a run left ``running`` (only while it still is)."""
    conn.execute(
        update(remediations)
        .where(remediations.c.id == remediation_id, remediations.c.status == RUNNING)
        .values(status=status, reason=reason, state_after=state_after, finished_at=finished_at, runner=None)
    )


def mark_remediated(conn: Connection, finding_id: str, now: dt.datetime, annotation: str, scan_id: str | None = None) -> int:
    """An open finding becomes remediated, with its lifecycle event ``remediated`` (what point-in-time
    answers read); returns how many rows changed (0: it was not open, and nothing is recorded)."""
    moved = conn.execute(
        update(findings)
        .where(findings.c.id == finding_id, findings.c.status == OPEN)
        .values(status=REMEDIATED, resolved_at=now, updated_at=now, annotation=annotation)
    ).rowcount
    if moved:
        insert_finding_event(
            conn, {"finding_id": finding_id, "event": REMEDIATED, "time": now, "scan_id": scan_id, "annotation": annotation}
        )
    return moved


def insert_finding_event(conn: Connection, row: dict[str, Any]) -> None:
    """Append one row to ``finding_events``."""
    conn.execute(insert(finding_events), row)
