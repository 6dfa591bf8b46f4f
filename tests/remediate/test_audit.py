"""The remediation audit log: hash chain, tamper detection (edit, delete, truncate), redaction, CLI.

End-to-end entries written by real remediations are checked in tests/test_remediation.py;
here the chain itself is exercised on both store kinds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import insert

from phiwatch.remediate import audit
from phiwatch.store.tables import audit_log, remediations

_SCRIPT = Path(sys.executable).with_name("phiwatch")
PHIWATCH = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from phiwatch.cli import main; main()"]
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def _append(store, n: int, start: int = 0) -> list[tuple[int, str]]:
    out = []
    for i in range(start, start + n):
        with store.engine.begin() as conn:
            out.append(
                audit.Chain(conn).append(
                    "plan" if i % 2 == 0 else "execute",
                    {
                        "runbook_id": "phiwatch-EnableS3BucketLogging",
                        "resource_id": f"bucket-{i}",
                        "parameters": {"ResourceId": f"bucket-{i}", "n": i},
                        "calls": [{"service": "s3", "api": "PutBucketLogging", "params": {"Bucket": f"bucket-{i}"}, "result": "ok"}],
                    },
                    actor="alice",
                    caller_arn="arn:aws:iam::123456789012:user/remediator",
                    remediation_id=f"{i:032x}",
                    finding_id=f"{i:024x}",
                    now=T0 + dt.timedelta(minutes=i),
                )
            )
    return out


def _verify(store, head: str | None = None) -> audit.Verification:
    with store.engine.connect() as conn:
        return audit.verify(conn, head=head)


def _sql(store, statement: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def test_chain_links_every_entry_to_the_previous_one(store):
    written = _append(store, 5)
    assert [i for i, _ in written] == [1, 2, 3, 4, 5]
    with store.engine.connect() as conn:
        rows = audit.entries(conn)
    assert rows[0]["prev_hash"] == audit.GENESIS
    for prev, row in zip(rows, rows[1:]):
        assert row["prev_hash"] == prev["hash"]
    # the hash is sha256(prev hash + canonical JSON of the other columns), recomputable by anyone
    import hashlib

    from phiwatch.model import canonical_json

    r = rows[2]
    content = {k: r[k] for k in ("id", "time", "actor", "caller_arn", "action", "remediation_id", "finding_id", "data")}
    assert hashlib.sha256((r["prev_hash"] + canonical_json(content)).encode()).hexdigest() == r["hash"]
    result = _verify(store)
    assert result.ok and result.entries == 5 and result.head == rows[-1]["hash"]
    assert _verify(store, head=rows[2]["hash"]).ok  # an older head is still in the chain


def test_empty_log_verifies(store):
    result = _verify(store)
    assert result.ok and result.entries == 0 and result.head == audit.GENESIS


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'mallory' WHERE id = 3",
        "UPDATE audit_log SET time = '2026-11-23T08:00:00Z' WHERE id = 3",
        "UPDATE audit_log SET action = 'approve' WHERE id = 3",
        'UPDATE audit_log SET data = \'{"runbook_id": "nothing-happened"}\' WHERE id = 3',
    ],
    ids=["actor", "time", "action", "data"],
)
def test_an_edited_entry_is_found(store, statement):
    _append(store, 5)
    _sql(store, statement)
    result = _verify(store)
    assert not result.ok
    assert result.bad_id == 3
    assert "edited" in result.reason


def test_an_edited_entry_with_a_recomputed_hash_breaks_the_next_link(store):
    """Rewriting an entry AND its own hash still breaks the chain at the following entry."""
    _append(store, 4)
    with store.engine.connect() as conn:
        row = dict(conn.execute(sa.select(audit_log).where(audit_log.c.id == 2)).mappings().one())
    row["actor"] = "mallory"
    content = {k: row[k] for k in ("id", "time", "actor", "caller_arn", "action", "remediation_id", "finding_id", "data")}
    forged = audit.entry_hash(row["prev_hash"], content)
    _sql(store, "UPDATE audit_log SET actor = 'mallory', hash = :h WHERE id = 2", h=forged)
    result = _verify(store)
    assert not result.ok and result.bad_id == 3


@pytest.mark.parametrize("victim", [1, 3])
def test_a_deleted_entry_is_found(store, victim):
    _append(store, 5)
    _sql(store, "DELETE FROM audit_log WHERE id = :i", i=victim)
    result = _verify(store)
    assert not result.ok
    assert result.bad_id == victim
    assert "missing" in result.reason


def test_truncating_the_newest_entries_is_found_through_the_remediation_rows(store):
    """The chain alone cannot see its newest entries go; remediations remember their last entry."""
    written = _append(store, 3)
    # a remediation row pointing at entry 3, as the orchestrator writes it
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO resources (id, account_id, region, resource_type, resource_id, status, state_id, version, first_seen, last_seen, last_changed) "
                "VALUES (1, '123456789012', 'us-east-1', 'AWS::S3::Bucket', 'b', 'OK', 's', 1, :t, :t, :t)"
            ),
            {"t": T0},
        )
        conn.execute(
            sa.text(
                "INSERT INTO findings (id, rule_id, resource_pk, status, severity, annotation, opened_at, updated_at) "
                "VALUES ('f1', 'r', 1, 'open', 'high', '', :t, :t)"
            ),
            {"t": T0},
        )
        conn.execute(
            insert(remediations).values(
                id="r" * 32,
                finding_id="f1",
                rule_id="r",
                runbook_id="rb",
                resource_pk=1,
                region="us-east-1",
                mode="auto",
                status="applied",
                executed=True,
                parameters={},
                plan=[],
                created_at=T0,
                audit_id=written[2][0],
                audit_hash=written[2][1],
            )
        )
    assert _verify(store).ok
    head = _verify(store).head
    _sql(store, "DELETE FROM audit_log WHERE id = 3")
    result = _verify(store)
    assert not result.ok and result.bad_id == 3 and "truncated" in result.reason
    # without any reference, a kept head hash (printed by an earlier verify) still tells
    _sql(store, "DELETE FROM remediations")
    assert _verify(store).ok
    broken = _verify(store, head=head)
    assert not broken.ok and "head" in broken.reason


def test_the_chain_cannot_fork(store):
    """Two writers that read the same head: the second insert is refused (UNIQUE prev_hash)."""
    _append(store, 2)
    with store.engine.connect() as conn:
        last = conn.execute(sa.select(audit_log).where(audit_log.c.id == 2)).mappings().one()
    with pytest.raises(sa.exc.IntegrityError):
        with store.engine.begin() as conn:
            conn.execute(
                insert(audit_log).values(
                    id=99,
                    time="2026-11-23T10:00:00Z",
                    actor="x",
                    caller_arn=None,
                    action="plan",
                    remediation_id=None,
                    finding_id=None,
                    data={},
                    prev_hash=last["prev_hash"],
                    hash="f" * 64,
                )
            )


def test_entries_hold_no_secrets():
    data = audit.redact(
        {
            "parameters": {"Password": "hunter2", "MinimumPasswordLength": 14, "UserName": "alice"},
            "outputs": {"SecretAccessKey": "abc", "SessionToken": "tok", "AccessKeyId": "AKIAEXAMPLE"},
            "policy": "x" * 5000,
        }
    )
    assert data["parameters"] == {"Password": "REDACTED", "MinimumPasswordLength": 14, "UserName": "alice"}
    assert data["outputs"] == {"SecretAccessKey": "REDACTED", "SessionToken": "REDACTED", "AccessKeyId": "AKIAEXAMPLE"}
    assert len(data["policy"]) < 2100 and data["policy"].endswith("(truncated)")


def test_audit_verify_cli_exit_status(store, store_url, tmp_path):
    _append(store, 4)
    env = dict(os.environ, PHIWATCH_DB=store_url)
    ok = subprocess.run([*PHIWATCH, "audit", "verify", "--json"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    body = json.loads(ok.stdout)
    assert body["ok"] is True and body["entries"] == 4
    _sql(store, "UPDATE audit_log SET caller_arn = 'arn:aws:iam::123456789012:root' WHERE id = 2")
    bad = subprocess.run([*PHIWATCH, "audit", "verify"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1
    assert "entry 2" in bad.stderr
    shown = subprocess.run(
        [*PHIWATCH, "audit", "show", "--json", "--limit", "2"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert [e["id"] for e in json.loads(shown.stdout)] == [3, 4]
