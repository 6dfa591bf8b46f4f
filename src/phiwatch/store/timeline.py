"""The store's history as it was: compliance and findings at a point in time, and over a period.

Everything here is answered from the history tables through their indexes, never by re-scanning:

* ``evaluation_history`` keeps one row per stretch of time during which a rule's evaluation of a
  resource stayed the same; the evaluations at T are the rows with ``valid_from <= T`` and
  ``valid_to`` after T (or null);
* ``finding_events`` (indexed by finding and time) gives each finding's state at T: its last
  lifecycle event at or before T;
* ``versions`` (indexed by resource and capture time) gives each configuration item as it was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from phiwatch.model import STATUS_DELETED, as_utc
from phiwatch.store.db import naive_if_sqlite
from phiwatch.store.tables import evaluation_history, finding_events, findings, remediations, resources, versions

if TYPE_CHECKING:
    from phiwatch.store.db import Store

#: The finding lifecycle events, and the status each leaves the finding in.
LIFECYCLE = {
    "opened": "open",
    "exception_expired": "open",
    "excepted": "excepted",
    "resolved": "resolved",
    "remediated": "remediated",
}
ACTIVE = ("open", "excepted")
FIXED = ("resolved", "remediated")

_RESOURCE_COLUMNS = (
    resources.c.resource_type,
    resources.c.resource_id,
    resources.c.resource_name,
    resources.c.arn,
    resources.c.account_id,
    resources.c.region,
)


def _scoped(query: Any, accounts: Sequence[str] | None, regions: Sequence[str] | None) -> Any:
    if accounts:
        query = query.where(resources.c.account_id.in_(list(accounts)))
    if regions:
        query = query.where(resources.c.region.in_(list(regions)))
    return query


def evaluations_at(
    store: Store,
    at: dt.datetime,
    *,
    rule_ids: Sequence[str] | None = None,
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """Every evaluation as it stood at ``at``, with its resource's ids, ordered by rule and resource; streamed.

    Rows: ``rule_id``, ``resource_pk``, ``compliance``, ``annotation``, ``valid_from``, the resource's
    ``resource_type``, ``resource_id``, ``resource_name``, ``arn``, ``account_id``, ``region``."""
    with store.engine.connect() as conn:
        t = naive_if_sqlite(conn, at)
        query = (
            select(
                evaluation_history.c.rule_id,
                evaluation_history.c.resource_pk,
                evaluation_history.c.compliance,
                evaluation_history.c.annotation,
                evaluation_history.c.valid_from,
                *_RESOURCE_COLUMNS,
            )
            .join(resources, resources.c.id == evaluation_history.c.resource_pk)
            .where(
                evaluation_history.c.valid_from <= t,
                or_(evaluation_history.c.valid_to.is_(None), evaluation_history.c.valid_to > t),
            )
            .order_by(evaluation_history.c.rule_id, resources.c.resource_type, resources.c.resource_id)
        )
        if rule_ids is not None:
            query = query.where(evaluation_history.c.rule_id.in_(sorted(rule_ids)))
        query = _scoped(query, accounts, regions)
        for row in conn.execution_options(stream_results=True, yield_per=2000).execute(query).mappings():
            out = dict(row)
            out["valid_from"] = as_utc(out["valid_from"])
            yield out


@dataclass(frozen=True)
class FindingState:
    """A finding as it stood at some time."""

    finding_id: str
    rule_id: str
    resource_pk: int
    status: str  # open | excepted | resolved | remediated
    severity: str
    annotation: str
    since: dt.datetime  # when it entered this status
    opened_at: dt.datetime  # when the stretch it belongs to opened (for fixed ones: the stretch they closed)
    exception: dict[str, str] | None  # owner, justification, expires: while excepted
    resource: dict[str, Any]  # resource_type, resource_id, resource_name, arn, account_id, region

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def findings_at(
    store: Store,
    at: dt.datetime,
    *,
    statuses: Sequence[str] | None = None,
    rule_id: str | None = None,
    severities: Sequence[str] | None = None,
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
) -> list[FindingState]:
    """Each finding's state at ``at`` (its last lifecycle event then), oldest opened first.

    A finding with no event at or before ``at`` did not exist yet and is left out."""
    with store.engine.connect() as conn:
        t = naive_if_sqlite(conn, at)
        ranked = (
            select(
                finding_events.c.finding_id,
                finding_events.c.event,
                finding_events.c.time,
                finding_events.c.annotation,
                finding_events.c.detail,
                func.row_number()
                .over(partition_by=finding_events.c.finding_id, order_by=(finding_events.c.time.desc(), finding_events.c.id.desc()))
                .label("rn"),
            )
            .where(finding_events.c.time <= t, finding_events.c.event.in_(list(LIFECYCLE)))
            .subquery()
        )
        query = (
            select(
                ranked.c.finding_id,
                ranked.c.event,
                ranked.c.time,
                ranked.c.annotation,
                ranked.c.detail,
                findings.c.rule_id,
                findings.c.resource_pk,
                findings.c.severity,
                *_RESOURCE_COLUMNS,
            )
            .join(findings, findings.c.id == ranked.c.finding_id)
            .join(resources, resources.c.id == findings.c.resource_pk)
            .where(ranked.c.rn == 1)
        )
        if statuses:
            query = query.where(ranked.c.event.in_([e for e, s in LIFECYCLE.items() if s in statuses]))
        if rule_id:
            query = query.where(findings.c.rule_id == rule_id)
        if severities:
            query = query.where(findings.c.severity.in_(list(severities)))
        query = _scoped(query, accounts, regions)
        rows = [dict(r) for r in conn.execute(query).mappings()]
        opened = _stretch_starts(conn, [r["finding_id"] for r in rows], t)
    out = []
    for r in rows:
        status = LIFECYCLE[r["event"]]
        since = as_utc(r["time"])
        assert since is not None
        out.append(
            FindingState(
                finding_id=r["finding_id"],
                rule_id=r["rule_id"],
                resource_pk=r["resource_pk"],
                status=status,
                severity=r["severity"],
                annotation=r["annotation"] or "",
                since=since,
                opened_at=opened.get(r["finding_id"], since),
                exception=r["detail"] if status == "excepted" else None,
                resource={c.name: r[c.name] for c in _RESOURCE_COLUMNS},
            )
        )
    out.sort(key=lambda f: (f.opened_at, f.rule_id, f.finding_id))
    return out


def _stretch_starts(conn: Connection, finding_ids: list[str], t: dt.datetime) -> dict[str, dt.datetime]:
    """finding id -> when the stretch that is current at ``t`` opened: its first event after the
    last fix before it (for a fixed finding, the stretch its fix closed)."""
    starts: dict[str, dt.datetime] = {}
    for begin in range(0, len(finding_ids), 500):
        part = finding_ids[begin : begin + 500]
        query = (
            select(finding_events.c.finding_id, finding_events.c.event, finding_events.c.time)
            .where(finding_events.c.finding_id.in_(part), finding_events.c.time <= t, finding_events.c.event.in_(list(LIFECYCLE)))
            .order_by(finding_events.c.finding_id, finding_events.c.time, finding_events.c.id)
        )
        current: str | None = None
        start: dt.datetime | None = None
        fixed = True
        for fid, event, time in conn.execute(query):
            if fid != current:
                current, start, fixed = fid, None, True
            status = LIFECYCLE[event]
            if status in ACTIVE and fixed:
                start, fixed = as_utc(time), False
            elif status in FIXED:
                fixed = True
            if start is not None:
                starts[fid] = start
    return starts


@dataclass(frozen=True)
class Transition:
    """One lifecycle event in a period."""

    finding_id: str
    rule_id: str
    status: str  # the status it moved to
    time: dt.datetime


def transitions(
    store: Store,
    start: dt.datetime,
    end: dt.datetime,
    *,
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
) -> list[Transition]:
    """Every lifecycle event with ``start < time <= end``, in time order."""
    with store.engine.connect() as conn:
        query = (
            select(finding_events.c.finding_id, finding_events.c.event, finding_events.c.time, findings.c.rule_id)
            .join(findings, findings.c.id == finding_events.c.finding_id)
            .join(resources, resources.c.id == findings.c.resource_pk)
            .where(
                finding_events.c.time > naive_if_sqlite(conn, start),
                finding_events.c.time <= naive_if_sqlite(conn, end),
                finding_events.c.event.in_(list(LIFECYCLE)),
            )
            .order_by(finding_events.c.time, finding_events.c.id)
        )
        query = _scoped(query, accounts, regions)
        return [
            Transition(finding_id=fid, rule_id=rule, status=LIFECYCLE[event], time=as_utc(time))
            for fid, event, time, rule in conn.execute(query)
        ]


def finding_events_of(
    store: Store, finding_ids: Sequence[str], start: dt.datetime | None, end: dt.datetime
) -> dict[str, list[dict[str, Any]]]:
    """finding id -> its lifecycle events with ``start < time <= end`` (``start`` None: up to ``end``), in order."""
    out: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for begin in range(0, len(finding_ids), 500):
            part = list(finding_ids[begin : begin + 500])
            query = (
                select(
                    finding_events.c.finding_id,
                    finding_events.c.event,
                    finding_events.c.time,
                    finding_events.c.annotation,
                    finding_events.c.detail,
                )
                .where(
                    finding_events.c.finding_id.in_(part),
                    finding_events.c.time <= naive_if_sqlite(conn, end),
                    finding_events.c.event.in_(list(LIFECYCLE)),
                )
                .order_by(finding_events.c.finding_id, finding_events.c.time, finding_events.c.id)
            )
            if start is not None:
                query = query.where(finding_events.c.time > naive_if_sqlite(conn, start))
            for r in conn.execute(query).mappings():
                d = dict(r)
                d["time"] = as_utc(d["time"])
                out.setdefault(d["finding_id"], []).append(d)
    return out


def remediations_between(
    store: Store,
    start: dt.datetime | None,
    end: dt.datetime,
    *,
    accounts: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Remediations that sent write calls and finished in the period (``start`` None: up to ``end``), oldest first."""
    with store.engine.connect() as conn:
        query = (
            select(
                remediations.c.id,
                remediations.c.finding_id,
                remediations.c.rule_id,
                remediations.c.runbook_id,
                remediations.c.mode,
                remediations.c.status,
                remediations.c.finished_at,
                remediations.c.approved_by,
                remediations.c.audit_id,
                *_RESOURCE_COLUMNS,
            )
            .join(resources, resources.c.id == remediations.c.resource_pk)
            .where(
                remediations.c.executed.is_(True),
                remediations.c.finished_at.is_not(None),
                remediations.c.finished_at <= naive_if_sqlite(conn, end),
            )
            .order_by(remediations.c.finished_at, remediations.c.id)
        )
        if start is not None:
            query = query.where(remediations.c.finished_at > naive_if_sqlite(conn, start))
        query = _scoped(query, accounts, regions)
        out = []
        for r in conn.execute(query).mappings():
            d = dict(r)
            d["finished_at"] = as_utc(d["finished_at"])
            out.append(d)
        return out


def versions_between(
    store: Store, resource_pks: Sequence[int], start: dt.datetime | None, end: dt.datetime
) -> dict[int, list[dict[str, Any]]]:
    """resource pk -> its versions captured in the period (``start`` None: up to ``end``), oldest first,
    plus the version current at ``start`` (the state the period's first change started from)."""
    out: dict[int, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        t_end = naive_if_sqlite(conn, end)
        for begin in range(0, len(resource_pks), 500):
            part = list(resource_pks[begin : begin + 500])
            query = (
                select(versions)
                .where(versions.c.resource_pk.in_(part), versions.c.capture_time <= t_end)
                .order_by(versions.c.resource_pk, versions.c.version)
            )
            for r in conn.execution_options(stream_results=True, yield_per=500).execute(query).mappings():
                d = dict(r)
                d["capture_time"] = as_utc(d["capture_time"])
                rows = out.setdefault(d["resource_pk"], [])
                if start is not None and d["capture_time"] <= start:
                    rows[:] = [d]  # only the last version before the period is kept
                else:
                    rows.append(d)
    return out


def resources_at(
    store: Store, at: dt.datetime, *, accounts: Sequence[str] | None = None, regions: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Resources that existed at ``at`` (recorded by then and not deleted then), with their version then."""
    with store.engine.connect() as conn:
        t = naive_if_sqlite(conn, at)
        last = (
            select(versions.c.resource_pk, func.max(versions.c.version).label("version"))
            .where(versions.c.capture_time <= t)
            .group_by(versions.c.resource_pk)
            .subquery()
        )
        query = (
            select(resources.c.id, *_RESOURCE_COLUMNS, versions.c.version, versions.c.status, versions.c.capture_time)
            .join(last, last.c.resource_pk == resources.c.id)
            .join(versions, and_(versions.c.resource_pk == last.c.resource_pk, versions.c.version == last.c.version))
            .where(versions.c.status != STATUS_DELETED)
            .order_by(resources.c.resource_type, resources.c.resource_id)
        )
        query = _scoped(query, accounts, regions)
        return [dict(r) for r in conn.execute(query).mappings()]


def history_starts(store: Store) -> dt.datetime | None:
    """When the store's evaluation history begins (None: nothing evaluated yet)."""
    with store.engine.connect() as conn:
        return as_utc(conn.execute(select(func.min(evaluation_history.c.valid_from))).scalar())
