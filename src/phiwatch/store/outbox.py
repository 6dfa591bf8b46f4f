"""Reading the outbox: the alert delivery log and its totals (writes: notify/outbox.py, notify/dispatcher.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, or_, select

from phiwatch.store.tables import outbox

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
