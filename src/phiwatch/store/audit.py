"""The audit_log table: reads and appends of the hash-chained remediation audit trail.

The chain itself (hashing, redaction, verification) is :mod:`phiwatch.remediate.audit`'s; these
functions run in the caller's connection or transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection as Connection  # re-exported: remediate/ types the transactions it passes in

from phiwatch.store.tables import audit_log, findings, remediations

_ADVISORY_KEY = 0x70687761  # "phwa": serialises audit appends on PostgreSQL


def lock_for_append(conn: Connection) -> None:
    """On PostgreSQL, take the transaction-level advisory lock that serialises appends."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_KEY})


def last_entry(conn: Connection) -> tuple[int, str] | None:
    """The newest entry's (id, hash), or None when the log is empty."""
    last = conn.execute(select(audit_log.c.id, audit_log.c.hash).order_by(audit_log.c.id.desc()).limit(1)).first()
    return (last.id, last.hash) if last else None


def insert_entry(conn: Connection, **values: Any) -> None:
    """Insert one entry (``values``: its columns)."""
    conn.execute(insert(audit_log), values)


def iter_entries(conn: Connection, batch: int = 500) -> Iterator[Any]:
    """Every entry, oldest first, as row mappings fetched ``batch`` at a time."""
    return iter(conn.execution_options(yield_per=batch).execute(select(audit_log).order_by(audit_log.c.id)).mappings())


def remediation_refs(conn: Connection) -> list[Any]:
    """(id, audit_id, audit_hash) of every remediation that recorded its newest audit entry."""
    return list(
        conn.execute(
            select(remediations.c.id, remediations.c.audit_id, remediations.c.audit_hash).where(remediations.c.audit_id.is_not(None))
        ).all()
    )


def select_entries(
    conn: Connection, remediation_id: str | None = None, finding_id: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Entries, newest first (the newest ``limit`` when given), optionally of one remediation or finding."""
    query = select(audit_log).order_by(audit_log.c.id.desc())
    if remediation_id:
        query = query.where(audit_log.c.remediation_id == remediation_id)
    if finding_id:
        query = query.where(audit_log.c.finding_id == finding_id)
    if limit:
        query = query.limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]


_FINDING_COLUMNS = (audit_log.c.finding_id, findings.c.id)


def finding_id_known(conn: Connection, finding_id: str) -> bool:
    """True when the audit log or the findings table has this finding id."""
    return any(conn.execute(select(column).where(column == finding_id).limit(1)).first() is not None for column in _FINDING_COLUMNS)


def finding_ids_like(conn: Connection, prefix: str, limit: int = 3) -> set[str]:
    """Finding ids starting with ``prefix`` in the audit log or the findings table (up to ``limit`` from each)."""
    found: set[str] = set()
    for column in _FINDING_COLUMNS:
        found.update(r[0] for r in conn.execute(select(column).where(column.like(prefix + "%")).distinct().limit(limit)))
    return found


def count(conn: Connection) -> int:
    """How many entries the log holds."""
    return int(conn.execute(select(func.count()).select_from(audit_log)).scalar() or 0)
