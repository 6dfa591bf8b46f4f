"""The remediation audit trail: an append-only, hash-chained log in the store.

Every plan, approval and execution is one entry of the ``audit_log`` table::

    id          1, 2, 3 ... (no gaps)
    time        ISO 8601 UTC, stored and hashed as text
    actor       the OS user who ran phiwatch
    caller_arn  the AWS identity phiwatch acted as (STS GetCallerIdentity)
    action      plan | approve | execute | skip
    remediation_id, finding_id
    data        what: rule, runbook, resource ids, inputs (runbook parameters), each API call
                with its parameters and result (status and request id, never response bodies),
                configurationStateId before and after
    prev_hash   the previous entry's hash ("0" * 64 for the first)
    hash        sha256(prev_hash + canonical JSON of every other column)

Editing any column of an entry breaks its hash; deleting an entry breaks the next entry's
``prev_hash`` and leaves a gap in the ids. Deleting the *newest* entries leaves a shorter but
consistent chain: :func:`verify` therefore also checks that every remediation's recorded
``audit_id``/``audit_hash`` is still in the chain, and prints the head hash so it can be kept
elsewhere (``phiwatch audit verify --head HASH`` checks the chain still reaches it).

A UNIQUE constraint on ``prev_hash`` makes concurrent writers fail rather than fork the chain;
on PostgreSQL appends also take a transaction-level advisory lock.

No secrets and no PHI go in: entries hold ids and parameters; values under keys that name
secrets (password, secret, token, private key) are replaced by "REDACTED".
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from phiwatch.errors import UsageError
from phiwatch.model import canonical_json, isoformat, to_jsonable, utcnow
from phiwatch.store import audit as audit_store
from phiwatch.store.audit import Connection

if TYPE_CHECKING:
    from phiwatch.store.db import Store

GENESIS = "0" * 64
_SECRET_KEY = re.compile(
    r"(?i)(password|passphrase|secret|secretaccesskey|secretstring|secretbinary|token|privatekey|private_key|credentials?)$"
)
_MAX_VALUE = 2000  # characters of one string value kept in an entry


def os_user() -> str:
    """The OS user running phiwatch (the *who* of an audit entry)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in a container
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def redact(value: Any, key: str = "") -> Any:
    """JSON-normalised ``value`` with secret-named string values replaced and long strings cut."""
    if isinstance(value, dict):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if key and _SECRET_KEY.search(key):
            return "REDACTED"
        return value if len(value) <= _MAX_VALUE else value[:_MAX_VALUE] + "...(truncated)"
    return to_jsonable(value)


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """sha256 over the previous hash and the canonical JSON of the entry (every column but the hashes)."""
    return hashlib.sha256((prev_hash + canonical_json(entry)).encode()).hexdigest()


def _content(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "time": row["time"],
        "actor": row["actor"],
        "caller_arn": row["caller_arn"],
        "action": row["action"],
        "remediation_id": row["remediation_id"],
        "finding_id": row["finding_id"],
        "data": row["data"],
    }


class Chain:
    """Appends entries in one transaction (``conn``), reading the log's newest entry once: each
    later entry chains on the one appended before it. That holds because after the first append
    the transaction keeps every other writer from appending until it ends: on PostgreSQL by the
    advisory lock taken before the first read, on SQLite by the write lock its first insert
    takes. (A writer that appended between that first read and insert makes the insert fail on
    the UNIQUE ``prev_hash``, as a single append would.)"""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._head: tuple[int, str] | None = None

    def append(
        self,
        action: str,
        data: dict[str, Any],
        *,
        actor: str,
        caller_arn: str | None,
        remediation_id: str | None = None,
        finding_id: str | None = None,
        now: dt.datetime | None = None,
    ) -> tuple[int, str]:
        """Append one entry; returns its (id, hash)."""
        if self._head is None:
            audit_store.lock_for_append(self.conn)
            self._head = audit_store.last_entry(self.conn) or (0, GENESIS)
        prev_id, prev_hash = self._head
        entry = {
            "id": prev_id + 1,
            "time": isoformat(now or utcnow()),
            "actor": actor,
            "caller_arn": caller_arn,
            "action": action,
            "remediation_id": remediation_id,
            "finding_id": finding_id,
            # normalised the way the JSON column will give it back, so the hash verifies after a round trip
            "data": redact(data),
        }
        digest = entry_hash(prev_hash, entry)
        audit_store.insert_entry(self.conn, **entry, prev_hash=prev_hash, hash=digest)
        self._head = (entry["id"], digest)
        return self._head


@dataclass
class Verification:
    ok: bool
    entries: int
    head: str  # hash of the newest entry (GENESIS when empty)
    bad_id: int | None = None  # first entry that fails (for a deleted entry: the id that is missing)
    reason: str = ""


def verify(conn: Connection, head: str | None = None) -> Verification:
    """Walk the chain from the first entry; the first broken link is reported."""
    expected_prev = GENESIS
    expected_id = 1
    count = 0
    hashes: dict[int, str] = {}
    for row in audit_store.iter_entries(conn):
        count += 1
        if row["id"] != expected_id:
            return Verification(False, count, expected_prev, expected_id, f"entry {expected_id} is missing (deleted)")
        if row["prev_hash"] != expected_prev:
            return Verification(
                False,
                count,
                expected_prev,
                row["id"],
                f"entry {row['id']} does not follow entry {row['id'] - 1} (an entry before it was deleted or edited)",
            )
        if entry_hash(row["prev_hash"], _content(row)) != row["hash"]:
            return Verification(
                False, count, expected_prev, row["id"], f"entry {row['id']} was edited (its hash does not match its content)"
            )
        expected_prev = row["hash"]
        hashes[row["id"]] = row["hash"]
        expected_id += 1
    # the newest entries cannot be checked by the chain alone: remediations remember theirs
    refs = audit_store.remediation_refs(conn)
    for ref in sorted(refs, key=lambda r: r.audit_id):
        if hashes.get(ref.audit_id) != ref.audit_hash:
            return Verification(
                False,
                count,
                expected_prev,
                ref.audit_id,
                f"entry {ref.audit_id} (last entry of remediation {ref.id}) is missing or differs: the log was truncated or rewritten",
            )
    if head is not None and head != GENESIS and head not in hashes.values():
        return Verification(
            False,
            count,
            expected_prev,
            None,
            f"the chain does not contain the given head {head[:16]}...: entries were deleted or rewritten",
        )
    return Verification(True, count, expected_prev)


def entries(
    conn: Connection, remediation_id: str | None = None, finding_id: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Entries (newest ``limit`` when given), oldest first, optionally of one remediation or finding."""
    rows = audit_store.select_entries(conn, remediation_id=remediation_id, finding_id=finding_id, limit=limit)
    return sorted(rows, key=lambda r: r["id"])


def resolve_finding(conn: Connection, prefix: str) -> str:
    """The finding id that is ``prefix`` or the only one starting with it, among the findings the
    log or the store knows (UsageError when none or several, like ``phiwatch remediate``)."""
    prefix = prefix.strip().lower()
    if audit_store.finding_id_known(conn, prefix):
        return prefix
    if len(prefix) < 4 or any(ch not in "0123456789abcdef" for ch in prefix):
        raise UsageError(f"{prefix!r} is not a finding id: give at least 4 hex characters of it (see `phiwatch findings`)")
    found = audit_store.finding_ids_like(conn, prefix)
    if not found:
        raise UsageError(f"no finding with id {prefix!r} in the audit log or the store: see `phiwatch findings`")
    if len(found) > 1:
        shown = ", ".join(sorted(f[:16] for f in found)[:3])
        raise UsageError(f"{prefix!r} matches several findings ({shown}...): give more of the id")
    return found.pop()


def verify_store(store: Store, head: str | None = None) -> Verification:
    """:func:`verify` on the store's audit log."""
    with store.engine.connect() as conn:
        return verify(conn, head=head)


def show_entries(
    store: Store, finding: str | None = None, remediation_id: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """:func:`entries` of the store's audit log; ``finding`` is an id or a unique prefix of one
    (resolved by :func:`resolve_finding`)."""
    with store.engine.connect() as conn:
        finding_id = resolve_finding(conn, finding) if finding else None
        return entries(conn, remediation_id=remediation_id, finding_id=finding_id, limit=limit)


def count(conn: Connection) -> int:
    return audit_store.count(conn)
