"""EC2 Auto Scaling rules: the HIPAA pack's and the other AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.autoscaling`: ``configuration`` is the
DescribeAutoScalingGroups / DescribeLaunchConfigurations element (both come from the listing,
so a present item always has them). A group's ``MixedInstancesPolicy.LaunchTemplate`` holds its
launch template and ``Overrides`` (instance types, or ``InstanceRequirements`` for attribute-based
selection); a launch configuration's ``MetadataOptions`` holds ``HttpTokens``,
``HttpPutResponseHopLimit`` and ``HttpEndpoint`` (absent when none were given).
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.autoscaling import GROUP, LAUNCH_CONFIGURATION
from phiwatch.rules.base import Result, RuleContext, compliant, get, insufficient, non_compliant, not_applicable, rule

CONF = "configuration."


@rule(
    "autoscaling-group-elb-healthcheck-required",
    reads={},
    aws_identifier="AUTOSCALING_GROUP_ELB_HEALTHCHECK_REQUIRED",
    service="Amazon EC2 Auto Scaling",
    resource_types=(GROUP,),
    trigger="change",
    severity="low",
    compliant_when="Auto Scaling groups associated with a (Classic) load balancer use Elastic Load Balancing health checks.",
    aws_runbook="AWSConfigRemediation-EnableAutoScalingGroupELBHealthCheck",
)
def autoscaling_group_elb_healthcheck_required(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    balancers = list(get(item, "configuration.LoadBalancerNames") or []) + list(get(item, "configuration.TargetGroupARNs") or [])
    if not balancers:
        return not_applicable("group is not associated with a load balancer")
    health_check = str(get(item, "configuration.HealthCheckType") or "EC2")
    if "ELB" not in [t.strip().upper() for t in health_check.split(",")]:
        return non_compliant(f"group behind a load balancer uses {health_check} health checks, not ELB")
    return compliant("group uses Elastic Load Balancing health checks")


@rule(
    "autoscaling-launch-config-public-ip-disabled",
    reads={},
    aws_identifier="AUTOSCALING_LAUNCH_CONFIG_PUBLIC_IP_DISABLED",
    service="Amazon EC2 Auto Scaling",
    resource_types=(LAUNCH_CONFIGURATION,),
    trigger="change",
    severity="critical",
    compliant_when="The Auto Scaling launch configuration has AssociatePublicIpAddress not set to true.",
)
def autoscaling_launch_config_public_ip_disabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, "configuration.AssociatePublicIpAddress") is True:
        return non_compliant("launch configuration associates public IP addresses with instances")
    return compliant("launch configuration does not associate public IP addresses")


# -- managed rules outside the HIPAA pack ---------------------------------------------------------


def _mixed_template(item: ConfigurationItem) -> dict[str, Any]:
    return (get(item, CONF + "MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}


@rule(
    "autoscaling-capacity-rebalancing",
    aws_identifier="AUTOSCALING_CAPACITY_REBALANCING",
    service="Amazon EC2 Auto Scaling",
    resource_types=(GROUP,),
    trigger="change",
    severity="low",
    compliant_when="Capacity Rebalancing is enabled on the Auto Scaling group that uses multiple instance types (a mixed instances policy).",
)
def autoscaling_capacity_rebalancing(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: checks groups that use multiple instance types; NON_COMPLIANT when Capacity
    Rebalancing is off. A group uses multiple instance types through a mixed instances policy;
    a group without one (a launch configuration, or a single launch template) is NOT_APPLICABLE."""
    if not get(item, CONF + "MixedInstancesPolicy"):
        return not_applicable("group has no mixed instances policy (one instance type)")
    if get(item, CONF + "CapacityRebalance") is True:
        return compliant("Capacity Rebalancing is enabled")
    return non_compliant("Capacity Rebalancing is disabled")


@rule(
    "autoscaling-launch-config-hop-limit",
    aws_identifier="AUTOSCALING_LAUNCH_CONFIG_HOP_LIMIT",
    service="Amazon EC2 Auto Scaling",
    resource_types=(LAUNCH_CONFIGURATION,),
    trigger="change",
    severity="medium",
    compliant_when="The launch configuration's metadata response hop limit is 1 (the default when not set).",
)
def autoscaling_launch_config_hop_limit(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the metadata response hop limit is greater than 1. A launch
    configuration that sets none gets EC2's default, 1."""
    limit = (get(item, CONF + "MetadataOptions") or {}).get("HttpPutResponseHopLimit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        return insufficient(f"could not check: metadata response hop limit {limit!r} is not a number")
    if limit is not None and limit > 1:
        return non_compliant(f"metadata response hop limit is {limit}, greater than 1")
    return compliant(f"metadata response hop limit is {limit if limit is not None else '1 (default)'}")


@rule(
    "autoscaling-launch-template",
    aws_identifier="AUTOSCALING_LAUNCH_TEMPLATE",
    service="Amazon EC2 Auto Scaling",
    resource_types=(GROUP,),
    trigger="change",
    severity="low",
    compliant_when="The Auto Scaling group launches from an EC2 launch template (directly or through a mixed instances policy).",
)
def autoscaling_launch_template(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the group is not created from an EC2 launch template; a launch
    template named by the group's mixed instances policy counts."""
    template = get(item, CONF + "LaunchTemplate") or _mixed_template(item).get("LaunchTemplateSpecification")
    if template:
        name = template.get("LaunchTemplateName") or template.get("LaunchTemplateId") or "a launch template"
        return compliant(f"group launches from launch template {name}")
    if get(item, CONF + "LaunchConfigurationName"):
        return non_compliant(f"group launches from launch configuration {get(item, CONF + 'LaunchConfigurationName')}")
    return non_compliant("group names no launch template")


@rule(
    "autoscaling-launchconfig-requires-imdsv2",
    aws_identifier="AUTOSCALING_LAUNCHCONFIG_REQUIRES_IMDSV2",
    service="Amazon EC2 Auto Scaling",
    resource_types=(LAUNCH_CONFIGURATION,),
    trigger="change",
    severity="high",
    compliant_when="The launch configuration requires IMDSv2 (MetadataOptions.HttpTokens = required).",
)
def autoscaling_launchconfig_requires_imdsv2(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the launch configuration does not include the metadata version or
    enables both IMDSv1 and IMDSv2; only ``HttpTokens: required`` is COMPLIANT (as ec2-imdsv2-check
    judges instances)."""
    tokens = (get(item, CONF + "MetadataOptions") or {}).get("HttpTokens")
    if tokens == "required":
        return compliant("IMDSv2 is required (HttpTokens required)")
    if tokens is None:
        return non_compliant("launch configuration sets no metadata version (IMDSv1 allowed)")
    return non_compliant(f"IMDSv1 is allowed (HttpTokens {tokens})")


@rule(
    "autoscaling-multiple-az",
    aws_identifier="AUTOSCALING_MULTIPLE_AZ",
    service="Amazon EC2 Auto Scaling",
    resource_types=(GROUP,),
    trigger="change",
    severity="medium",
    compliant_when="The Auto Scaling group spans at least minAvailabilityZones (2 when not set) Availability Zones.",
    parameters={"minAvailabilityZones": ("int", None)},
)
def autoscaling_multiple_az(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the group does not span multiple Availability Zones, or fewer than
    ``minAvailabilityZones``. A value below 2 would contradict "multiple" and is reported as a
    parameter error."""
    wanted = params.get("minAvailabilityZones")
    if wanted is not None and int(wanted) < 2:
        return insufficient(f"could not check: parameter minAvailabilityZones must be at least 2, got {wanted}")
    wanted = int(wanted) if wanted is not None else 2
    zones = sorted({str(z) for z in get(item, CONF + "AvailabilityZones") or [] if z})
    if len(zones) < wanted:
        return non_compliant(f"group spans {len(zones)} Availability Zone(s), fewer than {wanted}")
    return compliant(f"group spans {len(zones)} Availability Zones ({', '.join(zones)})")


@rule(
    "autoscaling-multiple-instance-types",
    aws_identifier="AUTOSCALING_MULTIPLE_INSTANCE_TYPES",
    service="Amazon EC2 Auto Scaling",
    resource_types=(GROUP,),
    trigger="change",
    severity="low",
    compliant_when="The Auto Scaling group defines more than one instance type (mixed instances policy overrides).",
)
def autoscaling_multiple_instance_types(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the group has only one instance type defined; attribute-based
    instance type selection (``InstanceRequirements``) is not evaluated: NOT_APPLICABLE. A group
    without a mixed instances policy has the one type of its launch template or configuration."""
    overrides = _mixed_template(item).get("Overrides") or []
    if any(o.get("InstanceRequirements") for o in overrides):
        return not_applicable("group selects instance types by attributes (InstanceRequirements)")
    types = sorted({str(o["InstanceType"]) for o in overrides if o.get("InstanceType")})
    if len(types) > 1:
        return compliant(f"group uses {len(types)} instance types ({', '.join(types)})")
    return non_compliant("group defines one instance type")
