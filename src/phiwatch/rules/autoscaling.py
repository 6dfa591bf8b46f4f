"""EC2 Auto Scaling rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.autoscaling`: ``configuration`` is the
DescribeAutoScalingGroups / DescribeLaunchConfigurations element (both come from the listing,
so a present item always has them).
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.autoscaling import GROUP, LAUNCH_CONFIGURATION
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, not_applicable, rule


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
