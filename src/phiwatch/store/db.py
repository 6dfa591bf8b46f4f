"""Store: resources, their versions (configuration history), tags, collection runs and errors.

A new version of an item is written only when its content hash (``configurationStateId``)
changed. Resources missing from a *complete* listing are kept, with a last version whose
status is ``ResourceDeleted``. Writes are batched in transactions, so a crash leaves the
store as it was after the last committed batch and the next run completes it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, create_engine, event, func, insert, inspect, or_, select, update
from sqlalchemy.engine import Connection, CursorResult, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from phiwatch.errors import CannotRunError, StoreNotFoundError, UsageError
from phiwatch.model import STATUS_DELETED, CollectionError, ConfigurationItem, as_utc, isoformat, utcnow
from phiwatch.store import migrate
from phiwatch.store.tables import collection_errors, collection_runs, resource_tags, resources, versions

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"
STALE = "stale"


def default_db_url() -> str:
    """``PHIWATCH_DB`` if set, else a SQLite file in the user's data directory."""
    env = os.environ.get("PHIWATCH_DB")
    if env:
        return env
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('phiwatch')) / 'phiwatch.db'}"


def parse_time(text: str) -> dt.datetime:
    """ISO 8601 time (``2026-01-31``, ``2026-01-31T10:00:00Z``, ...), UTC when no zone is given."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"not a time: '{text}' (use ISO 8601, e.g. 2026-01-31T10:00:00Z)") from exc
    return as_utc(value)


def parse_point(text: str, now: dt.datetime, option: str = "--at") -> dt.datetime:
    """A point in time given by a user: ISO 8601 (UTC unless a zone is given); a date alone means
    the end of that day (23:59:59.999999 UTC), "as it stood on 2026-09-30". A date that is today
    means now; a time after now is an error (nothing is known about it yet)."""
    when = parse_time(text)
    if len(text.strip()) == 10 and when.date() <= now.date():  # YYYY-MM-DD, today or before
        when = min(when + dt.timedelta(days=1) - dt.timedelta(microseconds=1), now)
    if when > now:
        raise UsageError(f"{option} {text} is in the future: the store knows up to now ({isoformat(now)})")
    return when


def _inserted_pk(result: CursorResult[Any]) -> Any:
    """The primary key of a single-row INSERT (SQLAlchemy types it as optional; it is always set then)."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT reported no primary key")
    return key[0]


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Store:
    """Configuration history and collection runs in a SQL database."""

    def __init__(self, url: str | None = None, migrate_schema: bool = True, create: bool = True) -> None:
        """Open the store at ``url`` (default: ``PHIWATCH_DB`` or a file in the data directory).

        ``create=False`` is for commands that only read: a store that does not exist yet (a
        SQLite file that is not there, a database without phiwatch's tables) is an error rather
        than a new empty store whose "0 findings" would read as "all compliant".
        """
        self.url = url or default_db_url()
        try:
            if self.url.startswith("sqlite:///") and self.url != "sqlite:///:memory:":
                path = Path(self.url[len("sqlite:///") :])
                if create:
                    path.parent.mkdir(parents=True, exist_ok=True)
                elif not path.is_file():
                    raise StoreNotFoundError(
                        f"no store at {path}: nothing has been collected into it yet. Check --db / PHIWATCH_DB, "
                        "or run `phiwatch scan` (or `phiwatch collect`) first to create it"
                    )
            if self.url in ("sqlite://", "sqlite:///:memory:"):
                # one in-memory database shared by every thread (the default pool gives each its own)
                self.engine: Engine = create_engine(self.url, future=True, poolclass=StaticPool, connect_args={"check_same_thread": False})
            else:
                self.engine = create_engine(self.url, future=True, pool_pre_ping=True)
        except ArgumentError as exc:
            shown = self.safe_url()  # "(store URL)" when unparseable: it may hold a password
            raise UsageError(
                f"not a store URL{'' if shown == '(store URL)' else ' ' + shown} ({str(exc).splitlines()[0][:200]}): "
                "use sqlite:///path.db or postgresql+psycopg://user@host/db"
            ) from exc
        except (OSError, SQLAlchemyError, ModuleNotFoundError, ImportError) as exc:
            raise CannotRunError(f"cannot open the store {self.safe_url()}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if not create:
            self._require_schema()
        if migrate_schema:
            try:
                migrate.upgrade(self.engine)
            except (OperationalError, SQLAlchemyError, OSError) as exc:
                raise CannotRunError(
                    f"cannot open the store {self.safe_url()}: {exc.__class__.__name__}: "
                    f"{str(exc).splitlines()[0][:200]} (check --db / PHIWATCH_DB and that it is writable)"
                ) from exc
            except migrate.MigrationError as exc:
                # e.g. a schema revision this version does not know: written by a newer phiwatch
                raise CannotRunError(
                    f"cannot open the store {self.safe_url()}: {str(exc).splitlines()[0][:200]} "
                    "(was it written by a newer phiwatch? upgrade phiwatch or use another --db)"
                ) from exc

    def _require_schema(self) -> None:
        """Raise StoreNotFoundError unless phiwatch's schema is in the database (any revision)."""
        try:
            present = inspect(self.engine).has_table(migrate.VERSION_TABLE)
        except (OperationalError, SQLAlchemyError, OSError) as exc:
            raise CannotRunError(
                f"cannot open the store {self.safe_url()}: {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
            ) from exc
        if not present:
            self.engine.dispose()
            raise StoreNotFoundError(
                f"{self.safe_url()} holds no phiwatch store: nothing has been collected into it yet. "
                "Check --db / PHIWATCH_DB, or run `phiwatch scan` (or `phiwatch collect`) first to create it"
            )

    def safe_url(self) -> str:
        """The URL without its password, for messages."""
        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - only for display
            return "(store URL)"

    def close(self) -> None:
        self.engine.dispose()

    # -- collection runs ---------------------------------------------------------------
    def start_run(self, account_id: str | None, regions: list[str], services: list[str], endpoint: str | None) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(collection_runs).values(
                    started_at=utcnow(),
                    status="running",
                    account_id=account_id,
                    regions=regions,
                    services=services,
                    endpoint=endpoint,
                    items_seen=0,
                    items_changed=0,
                    items_deleted=0,
                    requests=0,
                    complete=False,
                )
            )
            return int(_inserted_pk(result))

    def finish_run(self, run_id: int, *, status: str, seen: int, changed: int, deleted: int, requests: int, complete: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(collection_runs)
                .where(collection_runs.c.id == run_id)
                .values(
                    finished_at=utcnow(),
                    status=status,
                    items_seen=seen,
                    items_changed=changed,
                    items_deleted=deleted,
                    requests=requests,
                    complete=complete,
                )
            )

    def record_errors(self, run_id: int, errors: list[CollectionError]) -> None:
        if not errors:
            return
        with self.engine.begin() as conn:
            conn.execute(insert(collection_errors), [dict(run_id=run_id, **e.to_dict()) for e in errors])

    def run(self, run_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(collection_runs).where(collection_runs.c.id == run_id)).mappings().first()
            return dict(row) if row else None

    def run_errors(self, run_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(collection_errors).where(collection_errors.c.run_id == run_id)).mappings()
            return [dict(r) for r in rows]

    # -- writing items -----------------------------------------------------------------
    @contextmanager
    def writer(self, run_id: int | None, batch: int = 200, max_seconds: float = 2.0) -> Iterator[Writer]:
        w = Writer(self, run_id, batch, max_seconds)
        try:
            yield w
        finally:
            w.close()

    # -- reading -------------------------------------------------------------------------
    def inventory(
        self,
        resource_type: str | None = None,
        tags: dict[str, str] | None = None,
        region: str | None = None,
        account_id: str | None = None,
        include_deleted: bool = False,
    ) -> list[dict[str, Any]]:
        query = select(resources)
        if resource_type:
            query = query.where(resources.c.resource_type == resource_type)
        if region:
            query = query.where(resources.c.region == region)
        if account_id:
            query = query.where(resources.c.account_id == account_id)
        if not include_deleted:
            query = query.where(resources.c.status != STATUS_DELETED)
        for key, value in (tags or {}).items():
            sub = select(resource_tags.c.resource_pk).where(resource_tags.c.key == key)
            if value != "*":
                sub = sub.where(resource_tags.c.value == value)
            query = query.where(resources.c.id.in_(sub))
        query = query.order_by(resources.c.resource_type, resources.c.region, resources.c.resource_id)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
            if rows:
                tag_rows = conn.execute(select(resource_tags).where(resource_tags.c.resource_pk.in_([r["id"] for r in rows]))).mappings()
                by_pk: dict[int, dict[str, str]] = {}
                for t in tag_rows:
                    by_pk.setdefault(t["resource_pk"], {})[t["key"]] = t["value"]
                for r in rows:
                    r["tags"] = by_pk.get(r["id"], {})
        return rows

    def counts_by_type(self, include_deleted: bool = False) -> dict[str, int]:
        query = select(resources.c.resource_type, func.count()).group_by(resources.c.resource_type)
        if not include_deleted:
            query = query.where(resources.c.status != STATUS_DELETED)
        with self.engine.connect() as conn:
            return {t: n for t, n in conn.execute(query)}

    def find(self, identifier: str, resource_type: str | None = None) -> list[dict[str, Any]]:
        """Resources whose ARN, id or name is exactly ``identifier``."""
        query = select(resources).where(
            or_(
                resources.c.arn == identifier,
                resources.c.resource_id == identifier,
                resources.c.resource_name == identifier,
            )
        )
        if resource_type:
            query = query.where(resources.c.resource_type == resource_type)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query.order_by(resources.c.id)).mappings()]

    def resolve(self, identifier: str, resource_type: str | None = None) -> dict[str, Any]:
        """Exactly one resource for ``identifier``, or a :class:`UsageError` that says why not."""
        found = self.find(identifier, resource_type)
        if not found:
            raise UsageError(
                f"no resource '{identifier}' in the store: run `phiwatch collect` first, or list ids with `phiwatch inventory`"
            )
        if len(found) > 1:
            names = ", ".join(f"{r['resource_type']} {r['arn'] or r['resource_id']}" for r in found[:5])
            raise UsageError(f"'{identifier}' matches {len(found)} resources ({names}): pass the ARN or --type")
        return found[0]

    def history(self, resource_pk: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(versions).where(versions.c.resource_pk == resource_pk).order_by(versions.c.version)).mappings()
            out = []
            for r in rows:
                d = dict(r)
                d["capture_time"] = as_utc(d["capture_time"])
                out.append(d)
            return out

    def item_at(self, resource_pk: int, at: dt.datetime | None = None) -> dict[str, Any] | None:
        query = select(versions).where(versions.c.resource_pk == resource_pk)
        if at is not None:
            query = query.where(versions.c.capture_time <= naive_if_sqlite(self.engine, at))
        query = query.order_by(versions.c.version.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
            return dict(row) if row else None

    def current_items(self, resource_type: str | None = None, include_deleted: bool = False) -> Iterator[ConfigurationItem]:
        """Stream the latest version of every resource (for evaluation), without loading all at once."""
        query = select(versions.c.item).join(
            resources, and_(resources.c.id == versions.c.resource_pk, resources.c.version == versions.c.version)
        )
        if resource_type:
            query = query.where(resources.c.resource_type == resource_type)
        if not include_deleted:
            query = query.where(resources.c.status != STATUS_DELETED)
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=500).execute(query.order_by(resources.c.id))
            for (item,) in result:
                yield ConfigurationItem.from_dict(item)


def naive_if_sqlite(bind: Engine | Connection, value: dt.datetime) -> dt.datetime:
    """``value`` as the store compares times: aware UTC, naive UTC on SQLite (which keeps no zone)."""
    value = as_utc(value)
    if bind.dialect.name == "sqlite":
        return value.replace(tzinfo=None)
    return value


# The writer's statements, built once: a collection records every item through them, and building
# a statement (coercing its clauses, computing its cache key) costs more than SQLite running it.
_FIND_RESOURCE = select(resources.c.id, resources.c.state_id, resources.c.status, resources.c.version, resources.c.last_changed).where(
    resources.c.account_id == bindparam("account_id"),
    resources.c.region == bindparam("region"),
    resources.c.resource_type == bindparam("resource_type"),
    resources.c.resource_id == bindparam("resource_id"),
)
_INSERT_RESOURCE = insert(resources)
_INSERT_VERSION = insert(versions)
_INSERT_TAGS = insert(resource_tags)
_DELETE_TAGS = resource_tags.delete().where(resource_tags.c.resource_pk == bindparam("pk"))
_SEEN = update(resources).where(resources.c.id == bindparam("pk")).values(last_seen=bindparam("seen"))
_NEW_VERSION = (
    update(resources)
    .where(resources.c.id == bindparam("pk"))
    .values(
        resource_name=bindparam("name"),
        arn=bindparam("arn_value"),
        status=bindparam("status_value"),
        state_id=bindparam("state"),
        version=bindparam("version_number"),
        last_seen=bindparam("seen"),
        last_changed=bindparam("changed"),
    )
)


class Writer:
    """Writes items in batched transactions; counts new, changed and deleted versions.

    A batch is committed after ``batch`` items or ``max_seconds``, whichever comes first, so a
    slow (throttled) collection neither holds one long write transaction nor loses all its
    work when the process dies.
    """

    def __init__(self, store: Store, run_id: int | None, batch: int, max_seconds: float = 2.0) -> None:
        self.store = store
        self.run_id = run_id
        self.batch = batch
        self.max_seconds = max_seconds
        self.conn: Connection = store.engine.connect()
        self.tx = self.conn.begin()
        self._batch_started = time.monotonic()
        self.pending = 0
        self.seen = 0
        self.changed = 0
        self.created = 0
        self.deleted = 0

    def _maybe_commit(self) -> None:
        self.pending += 1
        if self.pending >= self.batch or time.monotonic() - self._batch_started >= self.max_seconds:
            self.commit()

    def commit(self) -> None:
        self.tx.commit()
        self.tx = self.conn.begin()
        self._batch_started = time.monotonic()
        self.pending = 0

    def commit_if_due(self) -> None:
        """Commit a pending batch older than ``max_seconds`` (the caller is idle, waiting for items)."""
        if self.pending and time.monotonic() - self._batch_started >= self.max_seconds:
            self.commit()

    def close(self) -> None:
        try:
            if self.tx.is_active:
                self.tx.commit()
        finally:
            self.conn.close()

    def record(self, item: ConfigurationItem, changed_by: str | None = None, seen_at: dt.datetime | None = None) -> str:
        """Store ``item``: a new version only when its configurationStateId changed."""
        conn = self.conn
        self.seen += 1
        now = seen_at or utcnow()
        item.refresh_state_id()
        capture = as_utc(dt.datetime.fromisoformat(item.configurationItemCaptureTime.replace("Z", "+00:00")))
        row = conn.execute(
            _FIND_RESOURCE,
            {"account_id": item.accountId, "region": item.awsRegion, "resource_type": item.resourceType, "resource_id": item.resourceId},
        ).first()
        if row is None:
            pk = _inserted_pk(
                conn.execute(
                    _INSERT_RESOURCE,
                    {
                        "account_id": item.accountId,
                        "region": item.awsRegion,
                        "resource_type": item.resourceType,
                        "resource_id": item.resourceId,
                        "resource_name": item.resourceName,
                        "arn": item.arn,
                        "status": item.configurationItemStatus,
                        "state_id": item.configurationStateId,
                        "version": 1,
                        "first_seen": now,
                        "last_seen": now,
                        "last_changed": capture,
                    },
                )
            )
            self._insert_version(pk, 1, item, capture, changed_by)
            self._replace_tags(pk, item.tags, new=True)
            self.created += 1
            self._maybe_commit()
            return NEW
        last_changed = as_utc(row.last_changed)
        if last_changed is not None and capture is not None and capture < last_changed:
            # An older observation (a late or replayed event) never overwrites newer history.
            self._maybe_commit()
            return STALE
        if row.state_id == item.configurationStateId and row.status == item.configurationItemStatus:
            conn.execute(_SEEN, {"pk": row.id, "seen": now})
            self._maybe_commit()
            return UNCHANGED
        version = row.version + 1
        conn.execute(
            _NEW_VERSION,
            {
                "pk": row.id,
                "name": item.resourceName,
                "arn_value": item.arn,
                "status_value": item.configurationItemStatus,
                "state": item.configurationStateId,
                "version_number": version,
                "seen": now,
                "changed": capture,
            },
        )
        self._insert_version(row.id, version, item, capture, changed_by)
        self._replace_tags(row.id, item.tags)
        if item.configurationItemStatus == STATUS_DELETED:
            self.deleted += 1
        else:
            self.changed += 1
        self._maybe_commit()
        return CHANGED

    def _insert_version(self, pk: int, version: int, item: ConfigurationItem, capture: Any, changed_by: str | None) -> None:
        self.conn.execute(
            _INSERT_VERSION,
            {
                "resource_pk": pk,
                "version": version,
                "state_id": item.configurationStateId,
                "status": item.configurationItemStatus,
                "capture_time": capture,
                "run_id": self.run_id,
                "changed_by": changed_by,
                "item": item.to_dict(),
            },
        )

    def _replace_tags(self, pk: int, tags: dict[str, str], new: bool = False) -> None:
        if not new:
            self.conn.execute(_DELETE_TAGS, {"pk": pk})
        if tags:
            self.conn.execute(
                _INSERT_TAGS,
                [{"resource_pk": pk, "key": k[:256], "value": str(v)[:512]} for k, v in tags.items()],
            )

    def mark_missing_deleted(
        self, account_id: str, region: str, resource_type: str, since: dt.datetime, only: Iterable[str] | None = None
    ) -> int:
        """Record as deleted every live resource of this scope not seen since ``since``.

        Call only after a complete listing of ``resource_type`` in ``region`` (with ``only``: a
        listing complete for these identifiers, each an id, name or ARN; just they can be deleted).
        """
        self.commit()
        since_q = naive_if_sqlite(self.store.engine, since)
        scope = [
            resources.c.account_id == account_id,
            resources.c.region == region,
            resources.c.resource_type == resource_type,
            resources.c.status != STATUS_DELETED,
            resources.c.last_seen < since_q,
        ]
        if only is not None:
            ids = sorted(set(only))
            scope.append(or_(resources.c.resource_id.in_(ids), resources.c.resource_name.in_(ids), resources.c.arn.in_(ids)))
        rows = self.conn.execute(select(resources.c.id, resources.c.version).where(*scope)).all()
        count = 0
        now = utcnow()
        for pk, version in rows:
            last = self.conn.execute(
                select(versions.c.item).where(versions.c.resource_pk == pk, versions.c.version == version)
            ).scalar_one()
            item = ConfigurationItem.from_dict(last)
            item.configuration = {}
            item.supplementaryConfiguration = {}
            item.relationships = []
            item.collectionErrors = []
            item.configurationItemStatus = STATUS_DELETED
            item.configurationItemCaptureTime = isoformat(now)
            item.refresh_state_id()
            self.conn.execute(
                update(resources)
                .where(resources.c.id == pk)
                .values(status=STATUS_DELETED, state_id=item.configurationStateId, version=version + 1, last_changed=now)
            )
            self._insert_version(pk, version + 1, item, now, None)
            count += 1
        self.deleted += count
        self.commit()
        return count
