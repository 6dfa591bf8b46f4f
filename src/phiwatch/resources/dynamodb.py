"""DynamoDB: tables (AWS::DynamoDB::Table)."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

TABLE = "AWS::DynamoDB::Table"

SERVICE = Service(
    "dynamodb",
    resources=(
        ResourceSpec(
            TABLE,
            events=(
                on(
                    "dynamodb.amazonaws.com",
                    ("CreateTable DeleteTable UpdateTable UpdateContinuousBackups TagResource UntagResource UpdateTimeToLive"),
                    P("requestParameters.tableName"),
                    P("requestParameters.resourceArn"),
                ),
                on(
                    "application-autoscaling.amazonaws.com",
                    ("RegisterScalableTarget DeregisterScalableTarget PutScalingPolicy DeleteScalingPolicy"),
                    R("requestParameters.resourceId", "^table/([^/]+).*$"),
                    when={"requestParameters.serviceNamespace": ("dynamodb",)},
                ),
            ),
        ),
    ),
    iam=(
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:DescribeLimits",
        "dynamodb:DescribeTable",
        "dynamodb:ListTables",
        "dynamodb:ListTagsOfResource",
    ),
)
