"""Schema migrations (Alembic), applied automatically when the store is opened.

Opening a store whose schema is already at :data:`HEAD` reads its revision with one query and
never imports Alembic (a fifth of a second of every command's start-up); a new, empty store gets
the tables of :mod:`phiwatch.store.tables` and the revision :data:`HEAD` written at once
(:func:`create`), which is the schema the migrations build (``tests/store/test_migrations.py``
compares the two); only a store that needs migrating loads Alembic and its migration scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, insert, inspect, text
from sqlalchemy.engine import Engine

from phiwatch.store.tables import metadata

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default: present in every store phiwatch created
#: the newest revision in ``migrations/versions`` (tests/store/test_migrations.py checks it is Alembic's head)
HEAD = "0007"


#: Alembic's version table, as Alembic creates it
_VERSION = Table(
    VERSION_TABLE,
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


class MigrationError(Exception):
    """Alembic refused to migrate the store (e.g. a revision this version does not know)."""


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def at_head(engine: Engine) -> bool:
    """True when the store's schema is at :data:`HEAD` (False for a new store or an older schema)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return False
        return list(conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()) == [HEAD]


def is_empty(engine: Engine) -> bool:
    """True when the store has no table at all (a new file or database)."""
    with engine.connect() as conn:
        return not inspect(conn).get_table_names()


def create(engine: Engine) -> None:
    """Give an empty store the schema at :data:`HEAD` without Alembic: the tables and the revision."""
    with engine.begin() as conn:
        metadata.create_all(conn)
        _VERSION.create(conn)
        conn.execute(insert(_VERSION).values(version_num=HEAD))


def upgrade(engine: Engine) -> None:
    """Bring the store to :data:`HEAD`: nothing to do when it is there, :func:`create` when it is
    empty, Alembic's migrations otherwise."""
    if at_head(engine):
        return
    if is_empty(engine):
        create(engine)
        return
    from alembic import command
    from alembic.util.exc import CommandError

    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except CommandError as exc:
        raise MigrationError(str(exc)) from exc
