"""Elastic Beanstalk: environments (AWS::ElasticBeanstalk::Environment), regional.

Item layout:

* ``resourceId`` and ``resourceName``: the ``EnvironmentName`` (AWS Config's id); ``arn``: the
  ``EnvironmentArn``.
* ``configuration``: DescribeEnvironments' element in boto3 shape (``ApplicationName``,
  ``EnvironmentId``, ``Status``, ``Health``, ``PlatformArn``, ``SolutionStackName``, ...).
* ``supplementaryConfiguration.ManagedActions``: the managed platform update settings read
  from DescribeConfigurationSettings' option settings: ``{"ManagedActionsEnabled": bool,
  "UpdateLevel": "minor" | "patch" | None, "PreferredStartTime": str | None}``. Absent when
  that call failed. No other option settings are stored (environment properties may hold
  secrets).
* ``tags``: ListTagsForResource (``{}`` and an error on the item when it failed).

Terminated environments are not listed. No account-level keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.elasticbeanstalk import ENVIRONMENT

MANAGED_ACTIONS = "aws:elasticbeanstalk:managedactions"
PLATFORM_UPDATE = "aws:elasticbeanstalk:managedactions:platformupdate"


def managed_actions(option_settings: list[dict[str, Any]]) -> dict[str, Any]:
    """The managed platform update settings of one environment's option settings."""
    values = {(o.get("Namespace"), o.get("OptionName")): o.get("Value") for o in option_settings or []}
    enabled = str(values.get((MANAGED_ACTIONS, "ManagedActionsEnabled")) or "false").lower() == "true"
    return {
        "ManagedActionsEnabled": enabled,
        "UpdateLevel": values.get((PLATFORM_UPDATE, "UpdateLevel")) or None,
        "PreferredStartTime": values.get((MANAGED_ACTIONS, "PreferredStartTime")) or None,
    }


@register
class ElasticBeanstalkCollector(Collector):
    name = "elasticbeanstalk"
    resource_types = (ENVIRONMENT,)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            environments = list(
                ctx.paginate("elasticbeanstalk", "DescribeEnvironments", "Environments", resource_type=ENVIRONMENT, IncludeDeleted=False)
            )
        except ListFailed:
            return
        yield from ctx.map(lambda e: self._environment(ctx, e), environments)
        ctx.mark_complete(ENVIRONMENT)

    def _environment(self, ctx: CollectContext, environment: dict[str, Any]) -> ConfigurationItem:
        name = environment["EnvironmentName"]
        arn = environment.get("EnvironmentArn") or ctx.arn("elasticbeanstalk", f"environment/{environment.get('ApplicationName')}/{name}")
        item = ctx.item(ENVIRONMENT, name, resourceName=name, arn=arn, configuration=environment)
        settings = ctx.call(
            "elasticbeanstalk",
            "DescribeConfigurationSettings",
            item=item,
            ApplicationName=environment.get("ApplicationName"),
            EnvironmentName=name,
        )
        if settings is not FAILED:
            options = [o for s in settings.get("ConfigurationSettings") or [] for o in s.get("OptionSettings") or []]
            item.supplementaryConfiguration["ManagedActions"] = managed_actions(options)
        tags = ctx.call("elasticbeanstalk", "ListTagsForResource", item=item, ResourceArn=arn)
        if tags is not FAILED:
            item.tags = tags_from_list(tags.get("ResourceTags"))
        item.refresh_state_id()
        return item
