"""The migrations build exactly the schema of store/tables.py, and 0007 gives an existing store's
evaluations a history to answer point-in-time questions from. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, select

from phiwatch.model import as_utc
from phiwatch.store import Store
from phiwatch.store.migrate import alembic_config
from phiwatch.store.tables import evaluation_history, evaluations, findings, metadata, resources

T = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def test_migrations_match_the_tables(store):
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def store_at(store_url: str, revision: str) -> Store:
    """The store at ``store_url`` migrated to ``revision`` only (as an older phiwatch left it)."""
    store = Store(store_url, migrate_schema=False)
    cfg = alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return store


def test_0007_backfills_history_from_current_evaluations(store_url):
    store = store_at(store_url, "0006")
    with store.engine.begin() as conn:
        for pk, name in ((1, "a"), (2, "b")):
            conn.execute(
                insert(resources).values(
                    id=pk,
                    account_id="1",
                    region="r",
                    resource_type="AWS::S3::Bucket",
                    resource_id=name,
                    status="OK",
                    state_id="s",
                    version=1,
                    first_seen=T,
                    last_seen=T,
                    last_changed=T,
                )
            )
        conn.execute(
            insert(evaluations),
            [
                dict(
                    rule_id="r1",
                    resource_pk=1,
                    compliance="NON_COMPLIANT",
                    annotation="off",
                    state_id="s",
                    evaluated_at=T + dt.timedelta(days=5),
                ),
                dict(
                    rule_id="r1",
                    resource_pk=2,
                    compliance="COMPLIANT",
                    annotation="on",
                    state_id="s",
                    evaluated_at=T + dt.timedelta(days=5),
                ),
            ],
        )
        conn.execute(
            insert(findings).values(
                id="f1",
                rule_id="r1",
                resource_pk=1,
                status="open",
                severity="high",
                annotation="off",
                opened_at=T + dt.timedelta(days=2),
                updated_at=T + dt.timedelta(days=2),
            )
        )
    store.close()
    store = Store(store_url)  # migrates to the head
    with store.engine.connect() as conn:
        rows = {r.resource_pk: r for r in conn.execute(select(evaluation_history))}
    assert rows[1].compliance == "NON_COMPLIANT" and rows[1].valid_to is None
    assert as_utc(rows[1].valid_from) == T + dt.timedelta(days=2)  # when its finding opened
    assert as_utc(rows[2].valid_from) == T  # when the resource was first seen
    store.close()


def test_head_is_the_newest_migration():
    from alembic.script import ScriptDirectory

    from phiwatch.store.migrate import HEAD

    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [HEAD]


def test_an_older_store_is_migrated_when_opened(store_url):
    from phiwatch.store.migrate import HEAD, at_head

    old = store_at(store_url, "0006")
    assert not at_head(old.engine)
    reopened = Store(store_url)
    assert at_head(reopened.engine)
    with reopened.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == HEAD


def test_a_store_at_head_opens_without_alembic(tmp_path):
    """Opening an up-to-date store (every command but the first) never imports Alembic."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'store.db'}"
    code = (
        f"import sys\nfrom phiwatch.store import Store\nStore({url!r})\nprint('alembic' in sys.modules, 'alembic' in ' '.join(sys.modules))"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert first.stdout.split() == ["True", "True"]  # a new store: migrated
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert again.stdout.split() == ["False", "False"]
