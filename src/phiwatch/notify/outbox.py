"""Write alert messages to the outbox, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from phiwatch.model import isoformat
from phiwatch.notify.message import finding_message
from phiwatch.notify.routing import recipient, route_matches
from phiwatch.policy import Policy
from phiwatch.store.tables import findings, outbox, resource_tags, resources


def enqueue_events(conn: Connection, policy: Policy, rules: dict[str, Any], events: list[dict[str, Any]], now: dt.datetime) -> int:
    """One outbox row per (event, matching route). Returns the number of rows written."""
    if not policy.notifications or not events:
        return 0
    written = 0
    for event in events:
        row = conn.execute(
            select(findings.c.id, findings.c.rule_id, findings.c.annotation, findings.c.severity, findings.c.resource_pk,
                   resources.c.resource_type, resources.c.resource_id, resources.c.arn, resources.c.account_id, resources.c.region)
            .join(resources, resources.c.id == findings.c.resource_pk)
            .where(findings.c.id == event["finding_id"])
        ).mappings().first()
        if row is None:
            continue
        tags = {t.key: t.value for t in conn.execute(select(resource_tags.c.key, resource_tags.c.value).where(resource_tags.c.resource_pk == row["resource_pk"]))}
        finding = dict(row)
        finding["finding_id"] = row["id"]
        finding["annotation"] = event.get("annotation") or row["annotation"]
        message = finding_message(event["event"], finding, rules.get(row["rule_id"]), isoformat(event.get("time") or now))
        for route in policy.notifications:
            if not route_matches(route, message, tags):
                continue
            to = recipient(route, tags)
            payload = dict(message)
            if to and route.owner_tag:
                payload = {**message, "_recipient": to}
            conn.execute(
                insert(outbox).values(
                    route=route.name, channel=route.channel, finding_id=row["id"], event=event["event"], payload=payload,
                    status="pending", attempts=0, next_attempt_at=now, created_at=now, scan_id=event.get("scan_id"),
                )
            )
            written += 1
    return written
