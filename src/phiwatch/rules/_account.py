"""Cross-resource lookups of account-wide values a collector records on the ``AWS::::Account`` item."""

from __future__ import annotations

from typing import Any

from phiwatch.model import ACCOUNT_TYPE, GLOBAL_REGION, ConfigurationItem
from phiwatch.rules.base import Result, RuleContext, describe_failure, insufficient

MISSING: Any = object()


def account_value(item: ConfigurationItem, ctx: RuleContext, key: str, apis: tuple[str, ...]) -> tuple[Any, Result | None]:
    """``configuration[key]`` of the account item of ``item``'s account and region.

    Returns ``(value, None)`` when the key is there, ``(MISSING, INSUFFICIENT_DATA)`` when one of
    ``apis`` failed, and ``(MISSING, None)`` when the owning service was not collected (the rule
    then does not apply).
    """
    for account in ctx.items(ACCOUNT_TYPE, account_id=item.accountId, region=item.awsRegion):
        if key in account.configuration:
            return account.configuration[key], None
        failed = account.failed_apis() & set(apis)
        if failed:
            return MISSING, insufficient(describe_failure(account, failed))
    return MISSING, None


def global_value(item: ConfigurationItem, ctx: RuleContext, key: str, apis: tuple[str, ...]) -> tuple[Any, Result | None]:
    """``configuration[key]`` of the global account item (region ``global``) of ``item``'s account,
    for a rule AWS Config evaluates in every region over an account-global setting.

    Same answers as :func:`account_value`: the value, INSUFFICIENT_DATA when one of ``apis``
    failed, or ``(MISSING, None)`` when the owning service was not collected.
    """
    for account in ctx.items(ACCOUNT_TYPE, account_id=item.accountId, region=GLOBAL_REGION):
        if key in account.configuration:
            return account.configuration[key], None
        failed = account.failed_apis() & set(apis)
        if failed:
            return MISSING, insufficient(describe_failure(account, failed))
    return MISSING, None
