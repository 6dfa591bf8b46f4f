"""Reading the remediations table: the listing of recent remediations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from phiwatch.store.tables import remediations, resources

if TYPE_CHECKING:
    from phiwatch.store.db import Store


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
