"""CodeDeploy rules (AWS Config managed-rule semantics) on deployment groups.

Items are described in :mod:`phiwatch.resources.codedeploy`: GetDeploymentGroup's
``deploymentGroupInfo``, and for EC2/On-Premises (``Server``) groups the deployment configuration
in ``supplementaryConfiguration.DeploymentConfig``.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.codedeploy import DEPLOYMENT_GROUP
from phiwatch.rules.base import Result, RuleContext, compliant, describe_failure, get, insufficient, non_compliant, not_applicable, rule

CONFIG = "supplementaryConfiguration.DeploymentConfig"
LAMBDA_ALL_AT_ONCE = "CodeDeployDefault.LambdaAllAtOnce"


def _platform(item: ConfigurationItem) -> str:
    return str(get(item, "configuration.computePlatform") or "Server")


@rule(
    "codedeploy-auto-rollback-monitor-enabled",
    reads={},
    aws_identifier="CODEDEPLOY_AUTO_ROLLBACK_MONITOR_ENABLED",
    service="AWS CodeDeploy",
    resource_types=(DEPLOYMENT_GROUP,),
    trigger="change",
    severity="medium",
    compliant_when="The deployment group rolls back automatically and monitors deployments with at least one CloudWatch alarm.",
)
def codedeploy_auto_rollback_monitor_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Both must be enabled: ``autoRollbackConfiguration.enabled`` and ``alarmConfiguration.enabled``
    with at least one alarm attached."""
    rollback = get(item, "configuration.autoRollbackConfiguration") or {}
    alarms = get(item, "configuration.alarmConfiguration") or {}
    if rollback.get("enabled") is not True:
        return non_compliant("automatic rollback is not enabled")
    if alarms.get("enabled") is not True or not alarms.get("alarms"):
        return non_compliant("deployments are not monitored by CloudWatch alarms")
    return compliant(f"automatic rollback on, {len(alarms['alarms'])} alarm(s) monitor deployments")


@rule(
    "codedeploy-ec2-minimum-healthy-hosts-configured",
    reads={},
    aws_identifier="CODEDEPLOY_EC2_MINIMUM_HEALTHY_HOSTS_CONFIGURED",
    service="AWS CodeDeploy",
    resource_types=(DEPLOYMENT_GROUP,),
    trigger="change",
    severity="medium",
    compliant_when=(
        "The EC2/On-Premises deployment group's configuration keeps at least minimumHealthyHostsFleetPercent "
        "(FLEET_PERCENT) or minimumHealthyHostsHostCount (HOST_COUNT) hosts healthy."
    ),
    parameters={"minimumHealthyHostsFleetPercent": ("int", 66), "minimumHealthyHostsHostCount": ("int", 1)},
)
def codedeploy_ec2_minimum_healthy_hosts_configured(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Lambda and ECS groups are NOT_APPLICABLE. The group's deployment configuration gives its
    minimum healthy hosts as a fleet percentage or a host count; each is compared with its own
    threshold. GetDeploymentConfig refused or failed: INSUFFICIENT_DATA."""
    if _platform(item) != "Server":
        return not_applicable(f"deployment group deploys to {_platform(item)}, not EC2/On-Premises")
    config = get(item, CONFIG)
    if not isinstance(config, dict):
        return insufficient(describe_failure(item, ["GetDeploymentConfig"]))
    minimum = config.get("minimumHealthyHosts") or {}
    kind, value = str(minimum.get("type") or ""), minimum.get("value")
    if not isinstance(value, int):
        return insufficient("could not check: the deployment configuration states no minimum healthy hosts")
    name = get(item, "configuration.deploymentConfigName")
    if kind == "FLEET_PERCENT":
        wanted = int(params.get("minimumHealthyHostsFleetPercent") or 0)
        if value < wanted:
            return non_compliant(f"{name} keeps {value}% of hosts healthy, below {wanted}%")
        return compliant(f"{name} keeps {value}% of hosts healthy")
    if kind == "HOST_COUNT":
        wanted = int(params.get("minimumHealthyHostsHostCount") or 0)
        if value < wanted:
            return non_compliant(f"{name} keeps {value} host(s) healthy, below {wanted}")
        return compliant(f"{name} keeps {value} host(s) healthy")
    return insufficient(f"could not check: unknown minimum healthy hosts type {kind!r}")


@rule(
    "codedeploy-lambda-allatonce-traffic-shift-disabled",
    reads={},
    aws_identifier="CODEDEPLOY_LAMBDA_ALLATONCE_TRAFFIC_SHIFT_DISABLED",
    service="AWS CodeDeploy",
    resource_types=(DEPLOYMENT_GROUP,),
    trigger="change",
    severity="low",
    compliant_when="The Lambda deployment group does not shift all traffic at once (not CodeDeployDefault.LambdaAllAtOnce).",
)
def codedeploy_lambda_allatonce_traffic_shift_disabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Non-Lambda groups are NOT_APPLICABLE; a Lambda group naming no configuration gets
    CodeDeploy's default, LambdaAllAtOnce."""
    if _platform(item) != "Lambda":
        return not_applicable(f"deployment group deploys to {_platform(item)}, not Lambda")
    name = get(item, "configuration.deploymentConfigName") or LAMBDA_ALL_AT_ONCE
    if name == LAMBDA_ALL_AT_ONCE:
        return non_compliant(f"deployment group shifts all traffic at once ({LAMBDA_ALL_AT_ONCE})")
    return compliant(f"deployment group shifts traffic with {name}")
