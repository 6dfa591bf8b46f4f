"""Who changed what, and when the estate was last collected completely (for ``phiwatch watch``).

A CloudTrail event names its actor; the watch service writes that actor on the version of the
resource that first showed the change (``versions.changed_by``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection

from phiwatch.model import ACCOUNT_TYPE
from phiwatch.store.db import naive_if_sqlite
from phiwatch.store.tables import collection_runs, resources, versions

if TYPE_CHECKING:
    from phiwatch.store.db import Store


def db_time(store: Store, value: dt.datetime) -> dt.datetime:
    """``value`` as the store compares times (SQLite keeps naive UTC)."""
    return naive_if_sqlite(store.engine, value)


def account_item_pks(conn: Connection, account: str, region: str) -> list[int]:
    """The account item(s) of ``account`` in ``region``."""
    query = select(resources.c.id).where(
        resources.c.account_id == account, resources.c.resource_type == ACCOUNT_TYPE, resources.c.region == region
    )
    return [row.id for row in conn.execute(query)]


def version_showing_change(conn: Connection, resource_pk: int, when: dt.datetime, run_id: int | None) -> Any:
    """The first version of the resource captured at or after ``when`` (``id``, ``changed_by``, ``version``), or None.

    When there is none but collection run ``run_id`` wrote a version (the host's clock behind
    AWS's), that version, if the one before it predates the event."""
    row = conn.execute(
        select(versions.c.id, versions.c.changed_by, versions.c.version)
        .where(versions.c.resource_pk == resource_pk, versions.c.capture_time >= when)
        .order_by(versions.c.version)
        .limit(1)
    ).first()
    if row is not None or run_id is None:
        return row
    mine = conn.execute(
        select(versions.c.id, versions.c.changed_by, versions.c.version).where(
            versions.c.resource_pk == resource_pk, versions.c.run_id == run_id
        )
    ).first()
    if mine is None:
        return None
    before = conn.execute(
        select(versions.c.capture_time).where(versions.c.resource_pk == resource_pk, versions.c.version == mine.version - 1)
    ).scalar()
    return mine if before is None or before < when else None


def set_changed_by(conn: Connection, version_id: int, actors: str) -> None:
    conn.execute(update(versions).where(versions.c.id == version_id).values(changed_by=actors))


def complete_collections(store: Store, limit: int = 200) -> list[tuple[dt.datetime, list[str], list[str]]]:
    """The newest complete collection runs: (finished at, services, regions), newest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(collection_runs.c.finished_at, collection_runs.c.services, collection_runs.c.regions)
            .where(and_(collection_runs.c.status == "complete", collection_runs.c.finished_at.is_not(None)))
            .order_by(collection_runs.c.finished_at.desc())
            .limit(limit)
        ).all()
    return [(finished, list(services or []), list(regions or [])) for finished, services, regions in rows]
