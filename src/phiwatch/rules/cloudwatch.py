"""CloudWatch rules: metric alarm actions (HIPAA pack) and CloudWatch Logs log groups (hipaa-extras:
AWS managed rules cw-loggroup-retention-period-check and cloudwatch-log-group-encrypted).

Items are described in :mod:`phiwatch.resources.logs`. Alarms: ``configuration`` is the DescribeAlarms
element (``AlarmActions``/``OKActions``/``InsufficientDataActions`` lists). Log groups:
``configuration`` is the DescribeLogGroups element, where **no ``retentionInDays`` means the events
never expire** and no ``kmsKeyId`` means no customer KMS key.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.logs import ALARM, LOG_GROUP
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, non_compliant, rule
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
    missing = [state for param, key, state in ACTION_KEYS if params.get(param) and not (get(item, f"configuration.{key}") or [])]
    if missing:
        return non_compliant(f"no action for the {', '.join(missing)} state{'s' if len(missing) > 1 else ''}")
    wanted = [params[f"action{i}"] for i in range(1, 6) if params.get(f"action{i}")]
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
