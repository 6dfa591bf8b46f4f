"""Security Hub: whether the hub is enabled, as an account-level setting (AWS::::Account, regional).

Account item key (this region):

* ``configuration.securityHub``: DescribeHub's answer ``{"HubArn", "SubscribedAt",
  "AutoEnableControls", "ControlFindingGenerator"}`` when Security Hub is enabled here;
  ``None`` when it is not (AWS answers ``InvalidAccessException`` "not subscribed" or
  ``ResourceNotFoundException``).

The key is absent when DescribeHub failed for any other reason, e.g. ``AccessDeniedException``
(see ``collectionErrors``): "could not check", never "not enabled". No resources are recorded.
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
