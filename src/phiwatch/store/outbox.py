"""The alert outbox in the store: queued messages, claims by dispatchers, delivery results, the delivery log.

What goes into a message and which routes get it is :mod:`phiwatch.notify`; this module only
reads and writes rows. Functions taking a ``Connection`` run in the caller's transaction (alerts
are queued in the same transaction as the finding changes that cause them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from phiwatch.store.tables import findings, outbox, resource_tags, resources

PENDING, SENT, FAILED = "pending", "sent", "failed"
#: rows read or claimed per statement
_CHUNK = 500

_FINDING_COLUMNS = (
    findings.c.id,
    findings.c.rule_id,
    findings.c.annotation,
    findings.c.severity,
    findings.c.resource_pk,
    resources.c.resource_type,
    resources.c.resource_id,
    resources.c.arn,
    resources.c.account_id,
    resources.c.region,
)


def findings_for_messages(conn: Connection, finding_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """finding id -> what a message about it says (rule, annotation, severity, the resource's ids and ``resource_pk``)."""
    ids = sorted(set(finding_ids))
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        query = select(*_FINDING_COLUMNS).join(resources, resources.c.id == findings.c.resource_pk)
        for row in conn.execute(query.where(findings.c.id.in_(ids[start : start + _CHUNK]))).mappings():
            found[row["id"]] = dict(row)
    return found


def open_findings_for_messages(conn: Connection) -> list[dict[str, Any]]:
    """Every open finding, as :func:`findings_for_messages` gives it, with ``opened_at``."""
    query = (
        select(*_FINDING_COLUMNS, findings.c.opened_at)
        .join(resources, resources.c.id == findings.c.resource_pk)
        .where(findings.c.status == "open")
        .order_by(findings.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def tags_by_resource(conn: Connection, resource_pks: Iterable[int]) -> dict[int, dict[str, str]]:
    """resource pk -> its tags."""
    pks = sorted(set(resource_pks))
    tags: dict[int, dict[str, str]] = {}
    for start in range(0, len(pks), _CHUNK):
        query = select(resource_tags.c.resource_pk, resource_tags.c.key, resource_tags.c.value)
        for t in conn.execute(query.where(resource_tags.c.resource_pk.in_(pks[start : start + _CHUNK]))):
            tags.setdefault(t.resource_pk, {})[t.key] = t.value
    return tags


def queue_messages(conn: Connection, rows: list[dict[str, Any]], now: dt.datetime) -> int:
    """Queue messages (``route``, ``channel``, ``finding_id``, ``event``, ``payload``, ``scan_id``) as pending, due now."""
    if rows:
        conn.execute(insert(outbox), [{**row, "status": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now} for row in rows])
    return len(rows)


def queue_message(conn: Connection, row: dict[str, Any], now: dt.datetime) -> int:
    """Queue one message (as :func:`queue_messages`); returns its row id."""
    found = conn.execute(
        insert(outbox).values(**row, status=PENDING, attempts=0, next_attempt_at=now, created_at=now).returning(outbox.c.id)
    ).first()
    assert found is not None
    return int(found.id)


def last_notices(conn: Connection, routes: Sequence[str], events: Sequence[str]) -> dict[tuple[str, str], dt.datetime]:
    """(route, finding id) -> when the newest message of one of ``events`` was queued."""
    query = (
        select(outbox.c.route, outbox.c.finding_id, func.max(outbox.c.created_at).label("last"))
        .where(outbox.c.route.in_(list(routes)), outbox.c.event.in_(list(events)))
        .group_by(outbox.c.route, outbox.c.finding_id)
    )
    return {(r.route, r.finding_id): r.last for r in conn.execute(query)}


def undelivered(conn: Connection, routes: Sequence[str]) -> set[tuple[str, str]]:
    """(route, finding id) pairs with a message not sent yet."""
    query = select(outbox.c.route, outbox.c.finding_id).where(outbox.c.route.in_(list(routes)), outbox.c.status != SENT).distinct()
    return {(r.route, r.finding_id) for r in conn.execute(query)}


def claim(
    conn: Connection,
    *,
    now: dt.datetime,
    until: dt.datetime,
    token: str,
    limit: int,
    ids: list[int] | None,
    routes: set[str] | None,
    force: bool,
    holder_gone: Any,
) -> list[dict[str, Any]]:
    """Claim up to ``limit`` unsent messages for ``token`` until ``until``, oldest first, and return them.

    Without ``force``: only those due, or claimed by a holder that ``holder_gone(holder)`` says is
    dead (its lease would keep them back). Without ``ids``, test messages are never claimed (they
    go out once, from ``phiwatch notify test``)."""
    cond: list[ColumnElement[bool]] = [outbox.c.status != SENT]
    if routes is not None:
        cond.append(outbox.c.route.in_(sorted(routes)))
    if not force:
        held_query = select(outbox.c.claimed_by).distinct().where(*cond, outbox.c.next_attempt_at > now, outbox.c.claimed_by.is_not(None))
        orphaned = [r.claimed_by for r in conn.execute(held_query) if holder_gone(r.claimed_by)]
        due = outbox.c.next_attempt_at <= now
        cond.append(or_(due, outbox.c.claimed_by.in_(orphaned)) if orphaned else due)
    query = select(outbox.c.id).where(*cond).order_by(outbox.c.id).limit(limit)
    query = query.where(outbox.c.id.in_(ids)) if ids is not None else query.where(outbox.c.event != "test")
    candidates = [r.id for r in conn.execute(query)]
    claimed: list[dict[str, Any]] = []
    for start in range(0, len(candidates), _CHUNK):
        stmt = (
            update(outbox)
            .where(outbox.c.id.in_(candidates[start : start + _CHUNK]), *cond)
            .values(next_attempt_at=until, claimed_by=token)
            .returning(
                outbox.c.id,
                outbox.c.route,
                outbox.c.channel,
                outbox.c.event,
                outbox.c.finding_id,
                outbox.c.payload,
                outbox.c.attempts,
                outbox.c.status,
                outbox.c.last_error,
            )
        )
        claimed.extend(dict(r) for r in conn.execute(stmt).mappings())
    claimed.sort(key=lambda r: r["id"])
    return claimed


def record_attempts(conn: Connection, updates: list[dict[str, Any]]) -> None:
    """Record delivery attempts and release their claims: each update has ``b_id``, ``b_status``,
    ``b_attempts``, ``b_error``, ``b_next`` (next attempt) and ``b_sent`` (sent at)."""
    if not updates:
        return
    stmt = (
        update(outbox)
        .where(outbox.c.id == bindparam("b_id"))
        .values(
            status=bindparam("b_status"),
            attempts=bindparam("b_attempts"),
            last_error=bindparam("b_error"),
            next_attempt_at=bindparam("b_next"),
            sent_at=bindparam("b_sent"),
            claimed_by=None,
        )
    )
    conn.execute(stmt, updates)


if TYPE_CHECKING:
    from phiwatch.store.db import Store


@dataclass
class DeliveryLog:
    rows: list[dict[str, Any]]  # the most recent entries, newest first
    totals: dict[str, int]  # every entry in the store by status (pending, sent, failed)
    retried: int  # entries in the store that took more than one attempt


def delivery_log(store: Store, statuses: Sequence[str] | None = None, route: str | None = None, limit: int = 50) -> DeliveryLog:
    """The newest ``limit`` outbox entries, optionally only in these statuses (``retried``: more
    than one attempt) or of one route, and the totals of the whole outbox."""
    query = select(
        outbox.c.id,
        outbox.c.created_at,
        outbox.c.route,
        outbox.c.channel,
        outbox.c.event,
        outbox.c.finding_id,
        outbox.c.status,
        outbox.c.attempts,
        outbox.c.sent_at,
        outbox.c.next_attempt_at,
        outbox.c.last_error,
        outbox.c.payload,
    )
    if statuses:
        wanted = [s for s in statuses if s != "retried"]
        conds: list[ColumnElement[bool]] = [outbox.c.status.in_(wanted)] if wanted else []
        if "retried" in statuses:
            conds.append(outbox.c.attempts > 1)
        query = query.where(or_(*conds))
    if route:
        query = query.where(outbox.c.route == route)
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query.order_by(outbox.c.id.desc()).limit(limit)).mappings()]
        totals = {r.status: r.n for r in conn.execute(select(outbox.c.status, func.count().label("n")).group_by(outbox.c.status))}
        retried = conn.execute(select(func.count()).select_from(outbox).where(outbox.c.attempts > 1)).scalar() or 0
    return DeliveryLog(rows=rows, totals=totals, retried=retried)
