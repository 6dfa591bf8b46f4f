"""Attestations in the store: signed human statements for what AWS data cannot prove."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from phiwatch.errors import UsageError
from phiwatch.model import as_utc
from phiwatch.store.tables import attestations

if TYPE_CHECKING:
    from phiwatch.store.db import Store


def add_attestation(store: Store, row: dict[str, Any]) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(attestations).values(**row))


def list_attestations(store: Store, *, with_evidence: bool = False) -> list[dict[str, Any]]:
    """Every attestation, oldest first (the evidence file's bytes only when ``with_evidence``)."""
    columns = [c for c in attestations.c if with_evidence or c.name != "evidence"]
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(*columns).order_by(attestations.c.attested_at, attestations.c.id)).mappings()]
    for r in rows:
        r["attested_at"] = as_utc(r["attested_at"])
        r["revoked_at"] = as_utc(r["revoked_at"])
    return rows


def revoke_attestation(store: Store, prefix: str, at: dt.datetime) -> str:
    """Mark the attestation whose id is or starts with ``prefix`` revoked at ``at``; returns its id."""
    prefix = prefix.strip().lower()
    if len(prefix) < 4:
        raise UsageError(f"'{prefix}': give at least 4 characters of the attestation's id (see `phiwatch attestations`)")
    with store.engine.begin() as conn:
        found = [r.id for r in conn.execute(select(attestations.c.id).where(attestations.c.id.startswith(prefix, autoescape=True)))]
        if len(found) != 1:
            raise UsageError(
                f"no attestation with id '{prefix}'" if not found else f"'{prefix}' matches {len(found)} attestations: give more of the id"
            )
        revoked = conn.execute(
            update(attestations).where(attestations.c.id == found[0], attestations.c.revoked_at.is_(None)).values(revoked_at=at)
        ).rowcount
    if not revoked:
        raise UsageError(f"attestation {found[0][:12]} is already revoked")
    return found[0]


def valid_at(row: dict[str, Any], at: dt.datetime) -> bool:
    """Whether the attestation stood at ``at``: made by then, not revoked by then, not expired."""
    if row["attested_at"] > at:
        return False
    if row.get("revoked_at") is not None and row["revoked_at"] <= at:
        return False
    return not (row.get("expires") and dt.date.fromisoformat(row["expires"]) < at.date())
