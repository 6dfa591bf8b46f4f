"""The migrations build exactly the schema of store/tables.py, and 0007 gives an existing store's
evaluations a history to answer point-in-time questions from. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text

from phiwatch.model import as_utc
from phiwatch.store import Store, migrate
from phiwatch.store.migrate import alembic_config
from phiwatch.store.tables import evaluation_history, evaluations, findings, metadata, resources

T = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def store_at(store_url: str, revision: str) -> Store:
    """The store at ``store_url`` migrated to ``revision`` only (as an older phiwatch left it)."""
    store = Store(store_url, migrate_schema=False)
    cfg = alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return store


def test_migrations_match_the_tables(store_url):
    store = store_at(store_url, "head")
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def _schema(engine) -> dict[str, dict[str, object]]:
    """Every table's columns (in order), keys, foreign keys, indexes, unique and check constraints, by name."""
    found = inspect(engine)
    return {
        table: {
            "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default"))) for c in found.get_columns(table)],
            "primary key": found.get_pk_constraint(table),
            "foreign keys": sorted(
                (
                    fk.get("name") or "",
                    fk["constrained_columns"],
                    fk["referred_table"],
                    fk["referred_columns"],
                    sorted(fk["options"].items()),
                )
                for fk in found.get_foreign_keys(table)
            ),
            "indexes": sorted((ix["name"], ix["column_names"], bool(ix["unique"])) for ix in found.get_indexes(table)),
            "unique": sorted((u["name"] or "", u["column_names"]) for u in found.get_unique_constraints(table)),
            "checks": sorted((c["name"] or "", c["sqltext"]) for c in found.get_check_constraints(table)),
        }
        for table in sorted(found.get_table_names())
    }


def test_a_new_store_gets_the_schema_the_migrations_build_without_alembic(store_url):
    migrated = store_at(store_url, "head")
    built_by_migrations = _schema(migrated.engine)
    assert migrate.VERSION_TABLE in built_by_migrations and "audit_log" in built_by_migrations
    with migrated.engine.begin() as conn:  # empty the database again
        metadata.drop_all(conn)
        conn.execute(text(f"DROP TABLE {migrate.VERSION_TABLE}"))
    assert migrate.is_empty(migrated.engine)
    migrated.close()

    store = Store(store_url)  # a new store: created at once
    assert migrate.at_head(store.engine)
    assert _schema(store.engine) == built_by_migrations
    store.close()
    # and Alembic, asked to migrate it, finds nothing to do
    again = Store(store_url, migrate_schema=False)
    cfg = alembic_config()
    with again.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert _schema(again.engine) == built_by_migrations
    again.close()


def test_a_store_with_tables_but_no_revision_is_left_to_alembic(store_url):
    store = Store(store_url, migrate_schema=False)
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE somebody_elses (id INTEGER PRIMARY KEY)"))
    assert not migrate.is_empty(store.engine)
    migrate.upgrade(store.engine)  # Alembic migrates from nothing, next to the foreign table
    assert migrate.at_head(store.engine)
    assert "somebody_elses" in inspect(store.engine).get_table_names()
    store.close()


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


def test_only_a_store_to_migrate_imports_alembic(tmp_path):
    """A new store and an up-to-date one open without importing Alembic; an older one loads it to migrate."""
    import subprocess
    import sys

    def opened(url: str) -> list[str]:
        code = f"import sys\nfrom phiwatch.store import Store\nStore({url!r})\nprint('alembic' in sys.modules, 'alembic' in ' '.join(sys.modules))"
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()

    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert opened(url) == ["False", "False"]  # a new store: created at HEAD
    assert opened(url) == ["False", "False"]  # up to date
    older = f"sqlite:///{tmp_path / 'older.db'}"
    store_at(older, "0006").close()
    assert opened(older) == ["True", "True"]  # migrated to HEAD
    assert opened(older) == ["False", "False"]
