"""Security Hub's hook: whether the hub is enabled, on the account item (layout in
:mod:`phiwatch.resources.securityhub`).

A hook because Security Hub is an account-level setting only: no resource type, so nothing for
a resource spec to describe; its one call (DescribeHub) fills one key of the ``AWS::::Account`` item.
"""

from __future__ import annotations

from collections.abc import Iterator

from phiwatch.collect.base import FAILED, CollectContext, Collector, register
from phiwatch.model import ConfigurationItem

NOT_ENABLED = ("InvalidAccessException", "ResourceNotFoundException")


@register
class SecurityHubCollector(Collector):
    name = "securityhub"
    resource_types = ()

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        account = ctx.account_item()
        hub = ctx.call("securityhub", "DescribeHub", item=account, not_found=NOT_ENABLED, absent=None)
        if hub is not FAILED:
            account.configuration["securityHub"] = hub
        yield account
