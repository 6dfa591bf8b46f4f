"""Attestations: a person's signed statement that a safeguard no AWS data can prove is in place.

``phiwatch attest 164.308(a)(1)(ii)(A) --by "Dana Reyes, Security Officer" --statement "..."``
records one. Its fields are signed with the evidence key (:mod:`phiwatch.evidence.signing`),
so a statement edited in the database afterwards no longer verifies: the report marks it, and an
evidence pack carries the signature and public key for the auditor to check.
"""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import hashlib
import uuid
from pathlib import Path
from typing import Any

from phiwatch.errors import UsageError
from phiwatch.evidence.signing import Signer, fingerprint_of, verify_signature
from phiwatch.hipaa import covers, resolve, specification, standard_of
from phiwatch.model import canonical_json, isoformat, utcnow
from phiwatch.store import Store
from phiwatch.store.attestations import add_attestation, list_attestations

MAX_EVIDENCE_BYTES = 25 * 1024 * 1024
SIGNED_FIELDS = ("id", "section", "attested_by", "statement", "attested_at", "expires", "evidence_name", "evidence_sha256", "actor")


def signed_payload(row: dict[str, Any]) -> bytes:
    """The bytes an attestation's signature covers: the canonical JSON of :data:`SIGNED_FIELDS`."""
    values = {k: row.get(k) for k in SIGNED_FIELDS}
    if isinstance(values["attested_at"], dt.datetime):
        values["attested_at"] = isoformat(values["attested_at"])
    return canonical_json(values).encode()


def check_section(section: str) -> str:
    """``section`` as a known Security Rule citation (a standard or implementation specification)."""
    citation = section.strip()
    if specification(citation) is None and standard_of(citation) is None:
        raise UsageError(
            f"'{section}' is not a standard or implementation specification of the HIPAA Security Rule "
            "(45 CFR 164.308-164.316), e.g. 164.308(a)(1)(ii)(A) or 164.316(b)(1): see `phiwatch report --format md`"
        )
    return citation


def record_attestation(
    store: Store,
    signer: Signer,
    *,
    section: str,
    by: str,
    statement: str,
    evidence: Path | None = None,
    expires: dt.date | None = None,
) -> dict[str, Any]:
    """Sign and store an attestation; returns its row (without the evidence bytes)."""
    citation = check_section(section)
    by, statement = by.strip(), statement.strip()
    if not by:
        raise UsageError("--by must name the person attesting (name and role)")
    if not statement:
        raise UsageError("--statement must say what is attested")
    now = utcnow()
    if expires is not None and expires <= now.date():
        raise UsageError(f"--expires {expires.isoformat()} is not in the future")
    data: bytes | None = None
    if evidence is not None:
        if not evidence.is_file():
            raise UsageError(f"--evidence {evidence}: no such file")
        size = evidence.stat().st_size
        if size > MAX_EVIDENCE_BYTES:
            raise UsageError(
                f"--evidence {evidence} is {size} bytes; the limit is {MAX_EVIDENCE_BYTES} (attach a summary and keep the rest in your records system)"
            )
        data = evidence.read_bytes()
    row: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "section": citation,
        "attested_by": by,
        "statement": statement,
        "attested_at": now.replace(microsecond=0),
        "expires": expires.isoformat() if expires else None,
        "evidence_name": evidence.name if evidence is not None else None,
        "evidence_sha256": hashlib.sha256(data).hexdigest() if data is not None else None,
        "actor": _actor(),
    }
    signature = signer.sign(signed_payload(row))
    row.update(
        algorithm=signer.algorithm,
        public_key=signer.public_key_pem().decode(),
        signature=base64.b64encode(signature).decode(),
        evidence=data,
        revoked_at=None,
    )
    add_attestation(store, row)
    row.pop("evidence")
    return row


def signature_valid(row: dict[str, Any]) -> bool:
    """Whether the stored signature still matches the attestation's fields (and, with the file, its hash)."""
    try:
        signature = base64.b64decode(row["signature"], validate=True)
        ok = verify_signature(row["public_key"].encode(), row["algorithm"], signed_payload(row), signature)
    except (ValueError, TypeError):
        return False
    if ok and row.get("evidence") is not None:
        ok = hashlib.sha256(row["evidence"]).hexdigest() == row.get("evidence_sha256")
    return ok


def key_fingerprint(row: dict[str, Any]) -> str:
    try:
        return fingerprint_of(row["public_key"].encode())
    except ValueError:
        return "(not a public key)"


def attestations_for(rows: list[dict[str, Any]], citation: str) -> list[dict[str, Any]]:
    """The attestations that speak for ``citation``: made for it, or for its standard (which covers its specifications)."""
    out = []
    for row in rows:
        if row["section"] == citation or (covers(row["section"], citation) and citation in {s.citation for s in resolve(row["section"])}):
            out.append(row)
    return out


def all_attestations(store: Store, *, with_evidence: bool = False) -> list[dict[str, Any]]:
    return list_attestations(store, with_evidence=with_evidence)


def _actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
