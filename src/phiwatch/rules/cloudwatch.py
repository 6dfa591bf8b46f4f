"""CloudWatch rules: metric alarm actions (HIPAA pack) and CloudWatch Logs log groups (hipaa-extras:
AWS managed rules cw-loggroup-retention-period-check and cloudwatch-log-group-encrypted).

Items are described in :mod:`phiwatch.resources.logs`. Alarms: ``configuration`` is the DescribeAlarms
element (``AlarmActions``/``OKActions``/``InsufficientDataActions`` lists). Log groups:
``configuration`` is the DescribeLogGroups element, where **no ``retentionInDays`` means the events
never expire** and no ``kmsKeyId`` means no customer KMS key.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.ec2 import INSTANCE, VOLUME
from phiwatch.resources.logs import ALARM, LOG_GROUP
from phiwatch.resources.rds import CLUSTER as DB_CLUSTER
from phiwatch.resources.s3 import BUCKET
from phiwatch.rules.base import REQUIRED, Result, RuleContext, compliant, csv_list, get, non_compliant, not_applicable, rule
from phiwatch.rules.kms import key_matches

ACTION_KEYS = (
    ("alarmActionRequired", "AlarmActions", "ALARM"),
    ("insufficientDataActionRequired", "InsufficientDataActions", "INSUFFICIENT_DATA"),
    ("okActionRequired", "OKActions", "OK"),
)


@rule(
    "cloudwatch-alarm-action-check",
    aws_identifier="CLOUDWATCH_ALARM_ACTION_CHECK",
    service="Amazon CloudWatch",
    resource_types=(ALARM,),
    trigger="change",
    severity="low",
    compliant_when="The CloudWatch alarm has at least one ALARM action and one INSUFFICIENT_DATA action (pack params; OK action not required).",
    parameters={
        "alarmActionRequired": ("bool", True),
        "insufficientDataActionRequired": ("bool", True),
        "okActionRequired": ("bool", False),
        "action1": ("str", None),
        "action2": ("str", None),
        "action3": ("str", None),
        "action4": ("str", None),
        "action5": ("str", None),
    },
)
def cloudwatch_alarm_action_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """action1..action5 are ARNs compared exactly after trimming surrounding spaces (an empty one is
    unset); the alarm matches when any of its ALARM, INSUFFICIENT_DATA or OK actions is one of them.
    The three ``...Required`` flags accept true/false in any case."""
    missing = [state for param, key, state in ACTION_KEYS if params.get(param) and not (get(item, f"configuration.{key}") or [])]
    if missing:
        return non_compliant(f"no action for the {', '.join(missing)} state{'s' if len(missing) > 1 else ''}")
    wanted = [str(params[f"action{i}"]).strip() for i in range(1, 6) if str(params.get(f"action{i}") or "").strip()]
    if wanted:
        actions = {a for _, key, _ in ACTION_KEYS for a in get(item, f"configuration.{key}") or []}
        if not actions & set(wanted):
            return non_compliant("none of the alarm's actions is one of action1..action5")
    required = [state for param, _, state in ACTION_KEYS if params.get(param)]
    return compliant(f"actions configured for {', '.join(required)}" if required else "no action required by the parameters")


@rule(
    "cw-loggroup-retention-period-check",
    aws_identifier="CW_LOGGROUP_RETENTION_PERIOD_CHECK",
    service="Amazon CloudWatch Logs",
    resource_types=(LOG_GROUP,),
    trigger="periodic",
    severity="medium",
    compliant_when="The log group keeps its events for at least MinRetentionTime days (default 365) or never expires them (AWS managed rule cw-loggroup-retention-period-check). With LogGroupNames, only the named log groups are evaluated.",
    parameters={"MinRetentionTime": ("int", 365), "LogGroupNames": ("str", None)},
    remediation="phiwatch-SetLogGroupRetention",
)
def cw_loggroup_retention_period_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    names = csv_list(params.get("LogGroupNames"))
    if names and item.resourceId not in names:
        return None  # only the listed log groups are checked
    minimum = params.get("MinRetentionTime") or 365
    retention = get(item, "configuration.retentionInDays")
    if retention is None:
        return compliant("events never expire")
    if retention < minimum:
        return non_compliant(f"retention is {retention} days, less than {minimum}")
    return compliant(f"retention is {retention} days")


@rule(
    "cloudwatch-log-group-encrypted",
    aws_identifier="CLOUDWATCH_LOG_GROUP_ENCRYPTED",
    service="Amazon CloudWatch Logs",
    resource_types=(LOG_GROUP,),
    trigger="periodic",
    severity="medium",
    compliant_when="The log group is encrypted with an AWS KMS key (KmsKeyId if that parameter is set; AWS managed rule cloudwatch-log-group-encrypted).",
    parameters={"KmsKeyId": ("str", None)},
)
def cloudwatch_log_group_encrypted(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    key = get(item, "configuration.kmsKeyId")
    if not key:
        return non_compliant("log group is not encrypted with a KMS key")
    wanted = params.get("KmsKeyId")
    if wanted and not key_matches(key, [wanted], item, ctx):
        return non_compliant("log group is encrypted with a KMS key other than KmsKeyId")
    return compliant("log group is encrypted with a KMS key")


@rule(
    "cloudwatch-alarm-action-enabled-check",
    reads={},
    aws_identifier="CLOUDWATCH_ALARM_ACTION_ENABLED_CHECK",
    service="Amazon CloudWatch",
    resource_types=(ALARM,),
    trigger="change",
    severity="medium",
    compliant_when="The CloudWatch alarm's actions are enabled (ActionsEnabled true).",
)
def cloudwatch_alarm_action_enabled_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """CloudWatch's default is ActionsEnabled true: an alarm description without the key counts as enabled."""
    if get(item, "configuration.ActionsEnabled", True) is False:
        return non_compliant("the alarm's actions are disabled")
    return compliant("the alarm's actions are enabled")


#: the settings cloudwatch-alarm-settings-check compares: parameter -> DescribeAlarms member
ALARM_SETTINGS = (
    ("threshold", "Threshold"),
    ("evaluationPeriods", "EvaluationPeriods"),
    ("period", "Period"),
    ("comparisonOperator", "ComparisonOperator"),
    ("statistic", "Statistic"),
)


def _same(wanted: Any, actual: Any) -> bool:
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool):
        return isinstance(actual, (int, float)) and float(actual) == float(wanted)
    return str(actual).strip().lower() == str(wanted).strip().lower()


@rule(
    "cloudwatch-alarm-settings-check",
    reads={},
    aws_identifier="CLOUDWATCH_ALARM_SETTINGS_CHECK",
    service="Amazon CloudWatch",
    resource_types=(ALARM,),
    trigger="change",
    severity="low",
    compliant_when=(
        "A CloudWatch alarm on metricName has the settings given as parameters (threshold, evaluationPeriods, "
        "period (default 300 seconds), comparisonOperator, statistic); alarms on other metrics are not applicable."
    ),
    parameters={
        "metricName": ("str", REQUIRED),
        "threshold": ("int", None),
        "evaluationPeriods": ("int", None),
        "period": ("int", 300),
        "comparisonOperator": ("str", None),
        "statistic": ("str", None),
    },
)
def cloudwatch_alarm_settings_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """metricName is required: the rule does not run without it. Metric names are compared exactly,
    comparisonOperator and statistic without regard to case."""
    metric = (params.get("metricName") or "").strip()
    if not metric:
        return None
    if get(item, "configuration.MetricName") != metric:
        return not_applicable(f"the alarm is not on metric {metric}")
    wrong = [
        f"{key} is {get(item, f'configuration.{key}')}, not {params[name]}"
        for name, key in ALARM_SETTINGS
        if params.get(name) not in (None, "") and not _same(params[name], get(item, f"configuration.{key}"))
    ]
    if wrong:
        return non_compliant("; ".join(wrong))
    return compliant(f"the alarm on {metric} has the required settings")


#: the alarm dimension naming a resource of each type cloudwatch-alarm-resource-check accepts
ALARM_DIMENSIONS = {
    INSTANCE: "InstanceId",
    VOLUME: "VolumeId",
    DB_CLUSTER: "DBClusterIdentifier",
    BUCKET: "BucketName",
}


@rule(
    "cloudwatch-alarm-resource-check",
    reads={},
    aws_identifier="CLOUDWATCH_ALARM_RESOURCE_CHECK",
    service="Amazon CloudWatch",
    resource_types=tuple(ALARM_DIMENSIONS),
    trigger="periodic",
    severity="low",
    compliant_when=(
        "Each resource of resourceType (AWS::EC2::Instance, AWS::EC2::Volume, AWS::RDS::DBCluster or AWS::S3::Bucket) "
        "has a CloudWatch alarm on metricName whose dimensions name it."
    ),
    parameters={"resourceType": ("str", REQUIRED), "metricName": ("str", REQUIRED)},
)
def cloudwatch_alarm_resource_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Both parameters are required: the rule does not run without them; a resource of another type is not judged.
    The alarm is looked for in the resource's account and region (alarms are regional; an S3
    bucket's request metrics alarm lives in the bucket's region). An RDS cluster is named by its
    identifier. The alarms are the ones collected: a region whose alarm listing failed shows its
    resources without an alarm."""
    wanted_type, metric = (params.get("resourceType") or "").strip(), (params.get("metricName") or "").strip()
    if not wanted_type or not metric or item.resourceType != wanted_type:
        return None
    dimension = ALARM_DIMENSIONS[item.resourceType]
    names = {n for n in (item.resourceId, item.resourceName, get(item, "configuration.DBClusterIdentifier")) if n}
    for alarm in ctx.items(ALARM, account_id=item.accountId, region=item.awsRegion):
        if get(alarm, "configuration.MetricName") != metric:
            continue
        for dim in get(alarm, "configuration.Dimensions") or []:
            if isinstance(dim, dict) and dim.get("Name") == dimension and dim.get("Value") in names:
                return compliant(f"alarm {alarm.resourceId} watches {metric} of this resource")
    return non_compliant(f"no CloudWatch alarm on {metric} names this resource")
