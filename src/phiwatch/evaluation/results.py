"""Current evaluations and excepted findings in the scan JSON contract's shape (the report's rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from phiwatch.model import isoformat
from phiwatch.rules.base import Rule
from phiwatch.store.db import Store
from phiwatch.store.evaluations import current_evaluation_rows, excepted_finding_rows


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def iter_evaluations(store: Store, rules: dict[str, Rule], rule_ids: set[str] | None = None) -> Iterator[dict[str, Any]]:
    """Every current evaluation (of ``rule_ids`` when given) in the scan JSON contract's shape, streamed."""
    for row in current_evaluation_rows(store, rule_ids):
        rule = rules.get(row["rule_id"])
        yield {
            "rule_id": row["rule_id"],
            "resource_type": row["resource_type"],
            "resource_id": row["resource_id"],
            "resource_name": row["resource_name"],
            "arn": row["arn"],
            "account_id": row["account_id"],
            "region": row["region"],
            "compliance": row["compliance"],
            "annotation": row["annotation"],
            "hipaa_sections": list(rule.hipaa_sections) if rule else [],
            "severity": rule.severity if rule else "medium",
            "evaluated_at": isoformat(_aware(row["evaluated_at"])),
        }


def current_evaluations(store: Store, rules: dict[str, Rule], scan_id: str | None = None) -> list[dict[str, Any]]:
    """Every current evaluation in the scan JSON contract's shape."""
    return list(iter_evaluations(store, rules))


class StoredEvaluations:
    """The current evaluations as an iterable that reads the store on each pass (memory stays flat).

    Each pass shows the store as it is then: use it right after the scan, or ``list()`` it.
    """

    def __init__(self, store: Store, rules: dict[str, Rule], rule_ids: set[str] | None = None) -> None:
        self.store = store
        self.rules = rules
        self.rule_ids = rule_ids

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter_evaluations(self.store, self.rules, self.rule_ids)


def excepted_findings(store: Store) -> list[dict[str, Any]]:
    return [
        {
            "finding_id": r["id"],
            "rule_id": r["rule_id"],
            "resource_type": r["resource_type"],
            "resource_id": r["resource_id"],
            "arn": r["arn"],
            "owner": r["exception_owner"],
            "justification": r["exception_justification"],
            "expires": r["exception_expires"],
        }
        for r in excepted_finding_rows(store)
    ]
