"""EC2 Auto Scaling groups and launch configurations, collected by a hook: the item layout is in
:mod:`phiwatch.resources.autoscaling`.

Why a hook (neither type is expressible as a :class:`~phiwatch.resources.spec.ResourceSpec` yet):

* a launch configuration's ``configuration`` replaces ``UserData`` (which may hold secrets) by a
  computed ``UserDataPresent``: a spec can drop a key but not compute one;
* a group's tags are read from the element's ``Tags``, which is then dropped from
  ``configuration``: a spec reads tags from ``configuration`` after ``drop``;
* a targeted run passes the wanted names to the describe call itself (one call, not a full
  listing): a spec's ``target`` builds elements without any call, so it would need a describe
  call per element.

The ``SERVICE.iam`` of :mod:`phiwatch.resources.autoscaling` lists the calls made here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.autoscaling import GROUP, LAUNCH_CONFIGURATION


def _names(ctx: CollectContext, resource_type: str, parameter: str, arn_marker: str) -> dict[str, Any]:
    """The describe call's name parameter for a targeted run (names, or the name part of ARNs); {} for all."""
    wanted = ctx.targets(resource_type)
    if wanted is None:
        return {}
    # a name AWS does not know is left out of the answer, not an error; an empty list would mean "all"
    return {parameter: sorted({i.rsplit(arn_marker, 1)[-1] for i in wanted}) or ["-"]}


@register
class AutoScalingCollector(Collector):
    name = "autoscaling"
    resource_types = (GROUP, LAUNCH_CONFIGURATION)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.wants(LAUNCH_CONFIGURATION):
            try:
                configs = list(
                    ctx.paginate(
                        "autoscaling",
                        "DescribeLaunchConfigurations",
                        "LaunchConfigurations",
                        resource_type=LAUNCH_CONFIGURATION,
                        **_names(ctx, LAUNCH_CONFIGURATION, "LaunchConfigurationNames", "launchConfigurationName/"),
                    )
                )
            except ListFailed:
                configs = None
            for config in configs or []:
                yield self._launch_configuration(ctx, config)
            if configs is not None:
                ctx.mark_complete(LAUNCH_CONFIGURATION)
        if not ctx.wants(GROUP):
            return
        try:
            groups = list(
                ctx.paginate(
                    "autoscaling",
                    "DescribeAutoScalingGroups",
                    "AutoScalingGroups",
                    resource_type=GROUP,
                    **_names(ctx, GROUP, "AutoScalingGroupNames", "autoScalingGroupName/"),
                )
            )
        except ListFailed:
            return
        for group in groups:
            yield self._group(ctx, group)
        ctx.mark_complete(GROUP)

    def _launch_configuration(self, ctx: CollectContext, config: dict[str, Any]) -> ConfigurationItem:
        name = config["LaunchConfigurationName"]
        arn = config.get("LaunchConfigurationARN") or ctx.arn("autoscaling", f"launchConfiguration:*:launchConfigurationName/{name}")
        configuration = {k: v for k, v in config.items() if k != "UserData"}
        configuration["UserDataPresent"] = bool(config.get("UserData"))
        item = ctx.item(LAUNCH_CONFIGURATION, arn, resourceName=name, arn=arn, configuration=configuration)
        item.refresh_state_id()
        return item

    def _group(self, ctx: CollectContext, group: dict[str, Any]) -> ConfigurationItem:
        name = group["AutoScalingGroupName"]
        arn = group.get("AutoScalingGroupARN") or ctx.arn("autoscaling", f"autoScalingGroup:*:autoScalingGroupName/{name}")
        relationships = [
            {"resourceType": "AWS::ElasticLoadBalancing::LoadBalancer", "resourceName": lb, "name": "Is associated with LoadBalancer"}
            for lb in group.get("LoadBalancerNames") or []
        ]
        if group.get("LaunchConfigurationName"):
            relationships.append(
                {
                    "resourceType": LAUNCH_CONFIGURATION,
                    "resourceName": group["LaunchConfigurationName"],
                    "name": "Is associated with LaunchConfiguration",
                }
            )
        item = ctx.item(
            GROUP,
            arn,
            resourceName=name,
            arn=arn,
            configuration={k: v for k, v in group.items() if k != "Tags"},
            tags=tags_from_list(group.get("Tags")),
            relationships=relationships,
        )
        item.refresh_state_id()
        return item
