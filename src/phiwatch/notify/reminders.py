"""Reminders: routes with ``reminder_hours`` hear again about findings that are still open.

A finding gets a ``reminder`` message on a route when it is open (not excepted or resolved),
the route would have been told of its opening (same filters, owner tag present), and nothing
about it was queued on that route for ``reminder_hours`` (its ``opened`` / ``exception_expired``
message or the previous reminder; the finding's opening time when the route never sent one).
No reminder is queued while an earlier message for it on that route is still undelivered.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from phiwatch.model import isoformat, utcnow
from phiwatch.notify.message import finding_message
from phiwatch.notify.routing import recipient, route_matches
from phiwatch.policy import Policy
from phiwatch.store.db import Store
from phiwatch.store.outbox import last_notices, open_findings_for_messages, queue_message, tags_by_resource, undelivered

NOTICE_EVENTS = ("opened", "exception_expired", "reminder")


def _aware(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def enqueue_reminders(
    store: Store, policy: Policy, rules: dict[str, Any], now: dt.datetime | None = None, scan_id: str | None = None
) -> int:
    """Queue the reminders that are due; returns how many outbox rows were written."""
    routes = [r for r in policy.notifications if r.reminder_hours]
    if not routes:
        return 0
    now = _aware(now or utcnow())
    batch = scan_id or f"reminders-{uuid.uuid4().hex[:16]}"
    names = [r.name for r in routes]
    written = 0
    with store.engine.begin() as conn:
        open_rows = open_findings_for_messages(conn)
        if not open_rows:
            return 0
        last = {key: _aware(when) for key, when in last_notices(conn, names, NOTICE_EVENTS).items()}
        pending = undelivered(conn, names)
        tags = tags_by_resource(conn, (r["resource_pk"] for r in open_rows))
        for row in open_rows:
            finding = dict(row, finding_id=row["id"])
            message = finding_message("reminder", finding, rules.get(row["rule_id"]), isoformat(now))
            resource_tags_ = tags.get(row["resource_pk"], {})
            for route in routes:
                key = (route.name, row["id"])
                if key in pending:
                    continue
                if not (
                    route_matches(route, {**message, "event": "opened"}, resource_tags_) or route_matches(route, message, resource_tags_)
                ):
                    continue
                since = last.get(key) or _aware(row["opened_at"])
                if now - since < dt.timedelta(hours=route.reminder_hours or 0):
                    continue
                payload = dict(message)
                to = recipient(route, resource_tags_)
                if to and route.owner_tag:
                    payload["_recipient"] = to
                queue_message(
                    conn,
                    dict(route=route.name, channel=route.channel, finding_id=row["id"], event="reminder", payload=payload, scan_id=batch),
                    now,
                )
                written += 1
    return written
