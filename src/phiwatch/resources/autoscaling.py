"""EC2 Auto Scaling: groups (AWS::AutoScaling::AutoScalingGroup) and launch configurations
(AWS::AutoScaling::LaunchConfiguration), regional.

Item layout:

* ``AWS::AutoScaling::AutoScalingGroup`` (DescribeAutoScalingGroups): resourceId and arn the
  ``AutoScalingGroupARN`` (AWS Config's id), resourceName the ``AutoScalingGroupName``.
  ``configuration`` = the listing element in boto3 shape without ``Tags``; keys rules read:
  ``HealthCheckType`` (``EC2``, ``ELB``, ...), ``LoadBalancerNames`` (Classic load balancers),
  ``TargetGroupARNs``, ``LaunchConfigurationName``, ``LaunchTemplate``,
  ``MixedInstancesPolicy``. ``tags`` from its ``Tags``.
* ``AWS::AutoScaling::LaunchConfiguration`` (DescribeLaunchConfigurations): resourceId and arn
  the ``LaunchConfigurationARN``, resourceName the ``LaunchConfigurationName``.
  ``configuration`` = the listing element without ``UserData`` (user data may hold secrets;
  only ``UserDataPresent`` is kept); ``AssociatePublicIpAddress`` is absent when not set.
* ``relationships``: a group's launch configuration and Classic load balancers.

A listed element without its ARN (its id) is an error of the listing, and the type is then not
marked complete. A targeted run (``watch``) passes the wanted names (an ARN's name part) to the
describe call instead of listing everything. No account-level keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from phiwatch.resources.spec import Call, P, ResourceSpec, Service, on

GROUP = "AWS::AutoScaling::AutoScalingGroup"
LAUNCH_CONFIGURATION = "AWS::AutoScaling::LaunchConfiguration"


def _names(parameter: str, arn_marker: str) -> Callable[[frozenset[str], Mapping[str, str]], dict[str, Any]]:
    """A targeted run's describe parameter: the wanted names (or the name part of ARNs)."""

    def params(wanted: frozenset[str], env: Mapping[str, str]) -> dict[str, Any]:
        # a name AWS does not know is left out of the answer, not an error; an empty list would mean "all"
        return {parameter: sorted({i.rsplit(arn_marker, 1)[-1] for i in wanted}) or ["-"]}

    return params


def _without_user_data(configuration: dict[str, Any]) -> dict[str, Any]:
    """``UserData`` (it may hold secrets) replaced by whether there is any."""
    shaped = {k: v for k, v in configuration.items() if k != "UserData"}
    shaped["UserDataPresent"] = bool(configuration.get("UserData"))
    return shaped


def _group_relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    """A group's Classic load balancers and launch configuration."""
    relationships = [
        {"resourceType": "AWS::ElasticLoadBalancing::LoadBalancer", "resourceName": lb, "name": "Is associated with LoadBalancer"}
        for lb in configuration.get("LoadBalancerNames") or []
    ]
    if configuration.get("LaunchConfigurationName"):
        relationships.append(
            {
                "resourceType": LAUNCH_CONFIGURATION,
                "resourceName": configuration["LaunchConfigurationName"],
                "name": "Is associated with LaunchConfiguration",
            }
        )
    return relationships


SERVICE = Service(
    "autoscaling",
    resources=(
        ResourceSpec(
            GROUP,
            client="autoscaling",
            listing=Call("DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingGroups", result="AutoScalingGroups"),
            id="AutoScalingGroupARN",
            name="AutoScalingGroupName",
            arn="AutoScalingGroupARN",
            target_listing=_names("AutoScalingGroupNames", "autoScalingGroupName/"),
            tags="Tags",
            drop=("Tags",),
            relationships=_group_relationships,
            events=(
                on(
                    "autoscaling.amazonaws.com",
                    (
                        "CreateAutoScalingGroup UpdateAutoScalingGroup DeleteAutoScalingGroup "
                        "AttachLoadBalancers DetachLoadBalancers AttachLoadBalancerTargetGroups "
                        "DetachLoadBalancerTargetGroups AttachTrafficSources DetachTrafficSources "
                        "SuspendProcesses ResumeProcesses EnableMetricsCollection "
                        "DisableMetricsCollection SetDesiredCapacity"
                    ),
                    P("requestParameters.autoScalingGroupName"),
                ),
                on("autoscaling.amazonaws.com", "CreateOrUpdateTags DeleteTags", P("requestParameters.tags[].resourceId")),
            ),
        ),
        ResourceSpec(
            LAUNCH_CONFIGURATION,
            client="autoscaling",
            listing=Call("DescribeLaunchConfigurations", "autoscaling:DescribeLaunchConfigurations", result="LaunchConfigurations"),
            id="LaunchConfigurationARN",
            name="LaunchConfigurationName",
            arn="LaunchConfigurationARN",
            target_listing=_names("LaunchConfigurationNames", "launchConfigurationName/"),
            shape=_without_user_data,
            events=(
                on(
                    "autoscaling.amazonaws.com",
                    "CreateLaunchConfiguration DeleteLaunchConfiguration",
                    P("requestParameters.launchConfigurationName"),
                ),
            ),
        ),
    ),
)
