"""The configuration-history store (SQLAlchemy: SQLite by default, PostgreSQL by URL)."""

from phiwatch.store.db import Store, default_db_url

__all__ = ["Store", "default_db_url"]
