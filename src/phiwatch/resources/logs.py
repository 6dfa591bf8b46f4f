"""CloudWatch Logs log groups (AWS::Logs::LogGroup) and CloudWatch metric alarms (AWS::CloudWatch::Alarm).

Log group items:

* ``resourceId``/``resourceName``: ``logGroupName``; ``arn``: ``logGroupArn`` (the ARN without
  the trailing ``:*`` that DescribeLogGroups' ``arn`` has).
* ``configuration``: the DescribeLogGroups element as returned (``logGroupName``, ``arn``,
  ``logGroupArn``, ``creationTime``, ``metricFilterCount``, ``logGroupClass``, ...) except
  ``storedBytes`` (a size metric, dropped so history only changes with configuration).
  AWS returns ``retentionInDays`` only when a retention is set: **no ``retentionInDays`` key
  means the events never expire**. Likewise ``kmsKeyId`` is present only when the group is
  encrypted with a customer KMS key (absent = CloudWatch Logs' own encryption).
* ``tags``: ListTagsForResource on ``logGroupArn``.
* ``relationships``: the KMS key when ``kmsKeyId`` is a key ARN.

Alarm items (metric alarms only; composite alarms are not collected):

* ``resourceId``/``resourceName``: ``AlarmName``; ``arn``: ``AlarmArn``.
* ``configuration``: the DescribeAlarms ``MetricAlarms`` element as returned (``ActionsEnabled``,
  ``AlarmActions``, ``OKActions``, ``InsufficientDataActions`` (lists, ``[]`` when none),
  ``MetricName``, ``Namespace``, ``Statistic``, ``Dimensions``, ``Period``, ``EvaluationPeriods``,
  ``Threshold``, ``ComparisonOperator``, ``TreatMissingData``, ``AlarmConfigurationUpdatedTimestamp``,
  ...) **without** the alarm's current state (``StateValue``, ``StateReason``, ``StateReasonData``,
  ``StateUpdatedTimestamp``, ``StateTransitionedTimestamp``): state flips are not configuration changes.
* ``tags``: CloudWatch ListTagsForResource on ``AlarmArn``.
* ``relationships``: the SNS topics among the alarm's actions.

Missing ``tags`` data (the call failed) shows as an error in ``collectionErrors`` with ``tags`` ``{}``.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.kms import kms_key_relationship
from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

LOG_GROUP = "AWS::Logs::LogGroup"
ALARM = "AWS::CloudWatch::Alarm"

_ALARM_STATE_KEYS = (
    "StateValue",
    "StateReason",
    "StateReasonData",
    "StateUpdatedTimestamp",
    "StateTransitionedTimestamp",
)


def log_group_arn(group: Any) -> str | None:
    """The log group's ARN: ``logGroupArn``, or DescribeLogGroups' ``arn`` without its trailing ``:*``."""
    arn = (group.get("logGroupArn") or group.get("arn")) if isinstance(group, dict) else None
    return arn.removesuffix(":*") if isinstance(arn, str) and arn else None


def alarm_relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    """The SNS topics among an alarm's actions."""
    actions = {
        a
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions")
        for a in configuration.get(key) or []
        if isinstance(a, str) and a.startswith("arn:") and a.split(":")[2:3] == ["sns"]
    }
    return [
        {"resourceType": "AWS::SNS::Topic", "resourceId": topic, "relationshipName": "Is associated with Topic"}
        for topic in sorted(actions)
    ]


SERVICE = Service(
    "logs",
    resources=(
        ResourceSpec(
            LOG_GROUP,
            client="logs",
            listing=Call("DescribeLogGroups", "logs:DescribeLogGroups", result="logGroups"),
            id="logGroupName",
            arn=("logGroupArn", "arn:{partition}:logs:{region}:{account}:log-group:{id}"),
            tags=Call("ListTagsForResource", "logs:ListTagsForResource", {"resourceArn": log_group_arn}, result="tags"),
            drop=("storedBytes",),
            relationships=lambda configuration: kms_key_relationship(configuration.get("kmsKeyId")),
            events=(
                on(
                    "logs.amazonaws.com",
                    (
                        "CreateLogGroup DeleteLogGroup PutRetentionPolicy DeleteRetentionPolicy "
                        "AssociateKmsKey DisassociateKmsKey TagLogGroup UntagLogGroup TagResource "
                        "UntagResource"
                    ),
                    P("requestParameters.logGroupName"),
                    R("requestParameters.resourceArn", r"^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(:\*)?$"),
                ),
            ),
        ),
        ResourceSpec(
            ALARM,
            client="cloudwatch",
            listing=Call("DescribeAlarms", "cloudwatch:DescribeAlarms", {"AlarmTypes": ["MetricAlarm"]}, result="MetricAlarms"),
            id="AlarmName",
            arn=("AlarmArn", "arn:{partition}:cloudwatch:{region}:{account}:alarm:{id}"),
            tags=Call("ListTagsForResource", "cloudwatch:ListTagsForResource", {"ResourceARN": "AlarmArn"}, result="Tags"),
            drop=_ALARM_STATE_KEYS,
            relationships=alarm_relationships,
            events=(
                on(
                    "monitoring.amazonaws.com",
                    ("PutMetricAlarm DeleteAlarms EnableAlarmActions DisableAlarmActions TagResource UntagResource"),
                    P("requestParameters.alarmName"),
                    P("requestParameters.alarmNames"),
                    P("requestParameters.resourceARN"),
                ),
            ),
        ),
    ),
)
