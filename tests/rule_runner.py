"""One rule on one item, the way a scan runs it, for rule tests that build items by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from phiwatch.model import ConfigurationItem, utcnow
from phiwatch.rules.active import ActiveRule, run_rule
from phiwatch.rules.base import FUNCTIONS, Result, RuleContext
from phiwatch.rules.registry import catalogue

_CATALOGUE: tuple[int, dict[str, Any]] | None = None


def _catalogue() -> dict[str, Any]:
    """The rule catalogue, built again only when a rule was registered since (a test's custom rule)."""
    global _CATALOGUE
    if _CATALOGUE is None or _CATALOGUE[0] != len(FUNCTIONS):
        _CATALOGUE = (len(FUNCTIONS), catalogue())
    return _CATALOGUE[1]


def judge_rule(
    rule_id: str,
    item: ConfigurationItem,
    *,
    others: Iterable[ConfigurationItem] = (),
    lookup: Callable[[str], list[ConfigurationItem]] | None = None,
    now: dt.datetime | None = None,
    params: dict[str, Any] | None = None,
) -> Result | None:
    """``rule_id`` on ``item`` with its default parameters overridden by ``params``, seeing ``item`` and
    ``others`` as the estate (or ``lookup``'s answer) at ``now``; None when the rule does not apply."""
    rule = _catalogue()[rule_id]
    if lookup is None:
        estate = [item, *others]
        lookup = lambda resource_type: [i for i in estate if i.resourceType == resource_type]  # noqa: E731
    context = RuleContext(now=now or utcnow(), lookup=lookup)
    merged = {**rule.defaults(), **(params or {})}
    missing = rule.missing_parameters(merged)
    if missing:  # as a scan: such a rule does not run (tests/rules/test_required_parameters.py)
        raise ValueError(f"{rule_id} does not run without parameter {', '.join(missing)}")
    return run_rule(ActiveRule(rule, merged, None), item, context)


def verdict_and_annotation(result: Result | None) -> tuple[str, str] | None:
    return None if result is None else (result.compliance.value, result.annotation)


def built_item(
    resource_type: str,
    configuration: dict[str, Any] | None = None,
    supplementary: dict[str, Any] | None = None,
    errors: list[dict[str, Any]] | None = None,
    resource_id: str = "r-1",
    region: str = "us-east-1",
) -> ConfigurationItem:
    """An item built by hand (account 123456789012), for cases the emulator cannot represent."""
    return ConfigurationItem(
        resourceType=resource_type,
        resourceId=resource_id,
        awsRegion=region,
        accountId="123456789012",
        configuration=configuration or {},
        supplementaryConfiguration=supplementary or {},
        collectionErrors=errors or [],
    )


def denied_read(api: str, iam_action: str) -> list[dict[str, Any]]:
    """``collectionErrors`` of an item whose ``api`` call was refused."""
    return [{"api": api, "error": "AccessDenied", "iam_action": iam_action}]
