"""CloudWatch Logs log groups (AWS::Logs::LogGroup) and CloudWatch metric alarms (AWS::CloudWatch::Alarm)."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

LOG_GROUP = "AWS::Logs::LogGroup"
ALARM = "AWS::CloudWatch::Alarm"

SERVICE = Service(
    "logs",
    resources=(
        ResourceSpec(
            LOG_GROUP,
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
    iam=(
        "cloudwatch:DescribeAlarms",
        "cloudwatch:ListTagsForResource",
        "logs:DescribeLogGroups",
        "logs:ListTagsForResource",
    ),
)
