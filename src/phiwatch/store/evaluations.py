"""Scans and evaluations in the store: what the evaluator reads and writes besides findings.

The evaluator (:mod:`phiwatch.evaluation`) runs no SQL: it calls these functions, passing the
connection of the transaction it holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, RowMapping

from phiwatch.model import STATUS_DELETED
from phiwatch.store.tables import eval_state, evaluations, findings, periodic_runs, resources, rule_dependencies, scans, versions

if TYPE_CHECKING:
    from phiwatch.store.db import Store


def start_scan(
    conn: Connection, *, scan_id: str, started_at: dt.datetime, run_id: int | None, fingerprint: str, policy: str, full: bool
) -> None:
    conn.execute(
        insert(scans).values(
            id=scan_id, started_at=started_at, run_id=run_id, fingerprint=fingerprint, policy=policy, evaluated=0, full=full
        )
    )


def finish_scan(conn: Connection, scan_id: str, finished_at: dt.datetime, evaluated: int) -> None:
    conn.execute(update(scans).where(scans.c.id == scan_id).values(finished_at=finished_at, evaluated=evaluated))


def periodic_last_runs(conn: Connection) -> dict[str, dt.datetime]:
    """rule id -> when the periodic rule last ran."""
    return {r.rule_id: r.last_run for r in conn.execute(select(periodic_runs))}


def rule_dependencies_known(conn: Connection) -> set[tuple[str, str]]:
    """(rule id, resource type) pairs: the rule reads items of that type besides its own."""
    return {(r.rule_id, r.resource_type) for r in conn.execute(select(rule_dependencies))}


def learn_rule_dependencies(conn: Connection, pairs: Iterable[tuple[str, str]]) -> None:
    """Record (rule id, resource type) dependencies; another process may have learned the same ones."""
    rows = [{"rule_id": r, "resource_type": t} for r, t in sorted(pairs)]
    if not rows:
        return
    dialect_insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(dialect_insert(rule_dependencies).on_conflict_do_nothing(), rows)


def changed_types(conn: Connection) -> set[str]:
    """Resource types with an item new, changed or deleted since it was last evaluated."""
    query = (
        select(resources.c.resource_type)
        .distinct()
        .outerjoin(eval_state, eval_state.c.resource_pk == resources.c.id)
        .where(
            or_(
                and_(
                    resources.c.status != STATUS_DELETED,
                    or_(eval_state.c.state_id.is_(None), eval_state.c.state_id != resources.c.state_id),
                ),
                and_(resources.c.status == STATUS_DELETED, eval_state.c.state_id.is_not(None)),
            )
        )
    )
    return {row[0] for row in conn.execute(query)}


def items_to_evaluate(conn: Connection, chunk: int) -> Iterator[Sequence[RowMapping]]:
    """Every current item with its last evaluation state, in chunks of ``chunk`` rows, streamed.

    Rows: ``id``, ``status``, ``state_id``, ``resource_type``, ``eval_state_id``, ``fingerprint``,
    ``item``. A deleted resource comes once more while it still has an evaluation state or
    evaluations to drop."""
    query = (
        select(
            resources.c.id,
            resources.c.status,
            resources.c.state_id,
            resources.c.resource_type,
            eval_state.c.state_id.label("eval_state_id"),
            eval_state.c.fingerprint,
            versions.c.item,
        )
        .join(versions, and_(versions.c.resource_pk == resources.c.id, versions.c.version == resources.c.version))
        .outerjoin(eval_state, eval_state.c.resource_pk == resources.c.id)
        .where(
            or_(
                resources.c.status != STATUS_DELETED,
                eval_state.c.state_id.is_not(None),
                exists().where(evaluations.c.resource_pk == resources.c.id),
            )
        )
        .order_by(resources.c.id)
    )
    rows = conn.execution_options(stream_results=True, yield_per=chunk).execute(query).mappings()
    yield from rows.partitions(chunk)


def evaluated_rules(conn: Connection, resource_pk: int) -> list[str]:
    """The rules with an evaluation of this resource."""
    return [row.rule_id for row in conn.execute(select(evaluations.c.rule_id).where(evaluations.c.resource_pk == resource_pk)).all()]


def forget_eval_state(conn: Connection, resource_pk: int) -> None:
    conn.execute(delete(eval_state).where(eval_state.c.resource_pk == resource_pk))


def current_evaluation_rows(store: Store, rule_ids: set[str] | None = None) -> Iterator[RowMapping]:
    """Every current evaluation of a resource not deleted (of ``rule_ids`` when given) with the resource's ids, streamed."""
    query = (
        select(
            evaluations,
            resources.c.resource_type,
            resources.c.resource_id,
            resources.c.resource_name,
            resources.c.arn,
            resources.c.account_id,
            resources.c.region,
        )
        .join(resources, resources.c.id == evaluations.c.resource_pk)
        .where(resources.c.status != STATUS_DELETED)
        .order_by(evaluations.c.rule_id, resources.c.resource_type, resources.c.resource_id)
    )
    if rule_ids is not None:
        query = query.where(evaluations.c.rule_id.in_(sorted(rule_ids)))
    with store.engine.connect() as conn:
        yield from conn.execution_options(stream_results=True, yield_per=1000).execute(query).mappings()


def excepted_finding_rows(store: Store) -> list[dict[str, Any]]:
    """Findings under an exception, with their resource's ids."""
    query = (
        select(findings, resources.c.resource_id, resources.c.arn, resources.c.resource_type)
        .join(resources, resources.c.id == findings.c.resource_pk)
        .where(findings.c.status == "excepted")
        .order_by(findings.c.rule_id)
    )
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
