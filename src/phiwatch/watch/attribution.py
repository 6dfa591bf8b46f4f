"""Who changed it: after a batch's re-collection, the new history versions are attributed to the
events' ``userIdentity`` (``changed_by``, shown by ``phiwatch history``).

The version attributed is the first one captured at or after the event time, so a late, replayed
or out-of-order event names the version that first showed its change and never a later one;
re-collection captures the *current* state, so an older event can never write older configuration
over newer history. A resource's first version is attributed only to a call that creates
resources (:func:`creates`): otherwise it is the first observation of a resource changed before
phiwatch saw it. An identifier that matches several stored resources of the account (in the
event's region too) names nobody.
"""

from __future__ import annotations

import logging
from typing import Any

from phiwatch.model import GLOBAL_REGION
from phiwatch.store.changes import account_item_pks, db_time, set_changed_by, version_showing_change
from phiwatch.watch.events import Change, ResourceRef
from phiwatch.watch.log_format import log_line

_CREATING = ("Create", "Run", "Allocate", "Request", "Import", "Copy", "Restore", "Register")


def creates(event_name: str) -> bool:
    """Whether a call creates a resource (its actor may be named on a resource's first version)."""
    return event_name.startswith(_CREATING)


def attribute(store: Any, change: Change, ref: ResourceRef, account: str, run_id: int | None) -> None:
    """Name ``change.actor`` on the version that first showed the change (see the module doc)."""
    keys: list[int] = []
    with store.engine.connect() as conn:
        if ref.account:
            region = GLOBAL_REGION if ref.region == GLOBAL_REGION else ref.region
            keys = account_item_pks(conn, account, region)
        else:
            for identifier in ref.identifiers:
                rows = [row for row in store.find(identifier, ref.resource_type) if row["account_id"] == account]
                if len(rows) > 1:
                    rows = [row for row in rows if row["region"] == ref.region]
                if len(rows) == 1 and rows[0]["id"] not in keys:  # an ambiguous name names nobody
                    keys.append(rows[0]["id"])
    if not keys:
        return
    when = db_time(store, change.event_time)
    with store.engine.begin() as conn:
        for pk in keys:
            row = version_showing_change(conn, pk, when, run_id)
            if row is None:
                continue
            if row.version == 1 and not creates(change.event_name):
                continue  # the first observation of a resource changed before phiwatch saw it: not this actor's creation
            names = [n for n in (row.changed_by or "").split(", ") if n]
            if change.actor in names:
                continue
            value = ", ".join(names + [change.actor])
            if len(value) > 512:
                continue  # keep the first actors rather than a truncated ARN
            set_changed_by(conn, row.id, value)
            log_line(
                logging.INFO,
                "change attributed",
                event_id=change.event_id,
                call=change.label,
                actor=change.actor,
                resource_type=ref.resource_type,
                resource_pk=pk,
            )
