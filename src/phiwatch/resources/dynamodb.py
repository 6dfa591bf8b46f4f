"""DynamoDB: tables (AWS::DynamoDB::Table).

Item layout (boto3 shapes):

* resourceId and resourceName: ``TableName`` (AWS Config's id); arn ``TableArn``.
* ``configuration``: DescribeTable's ``Table`` element. ``SSEDescription`` is there when the
  table is encrypted with a KMS key (``{"Status": "ENABLED", "SSEType": "KMS",
  "KMSMasterKeyArn": ...}``); AWS omits ``SSEDescription`` for the default encryption with an
  AWS owned key (DynamoDB always encrypts at rest). So an absent ``SSEDescription`` means
  "AWS owned key" - unless DescribeTable itself failed (``"DescribeTable"`` in the item's
  failed APIs; ``configuration`` is then ``{}``). Also ``BillingModeSummary`` (absent =
  PROVISIONED), ``ProvisionedThroughput``, ``DeletionProtectionEnabled``. The size metrics
  ``TableSizeBytes``, ``ItemCount`` (and per index ``IndexSizeBytes``, ``ItemCount``) are dropped:
  AWS refreshes them every few hours, and history changes only with configuration.
* ``supplementaryConfiguration.ContinuousBackupsDescription``: DescribeContinuousBackups'
  element, ``{"ContinuousBackupsStatus", "PointInTimeRecoveryDescription":
  {"PointInTimeRecoveryStatus": "ENABLED"|"DISABLED", ...}}``; absent when the call failed.
* ``tags``: ListTagsOfResource.
* ``supplementaryConfiguration.AutoScaling``: the table's Application Auto Scaling setup (table
  and its global secondary indexes), from one DescribeScalableTargets and one
  DescribeScalingPolicies call per region (namespace ``dynamodb``), filtered to resource ids
  ``table/<name>`` and ``table/<name>/index/<index>``: ``{"ScalableTargets": [{"ResourceId",
  "ScalableDimension" (e.g. ``dynamodb:table:ReadCapacityUnits``), "MinCapacity",
  "MaxCapacity", "SuspendedState"}], "ScalingPolicies": [{"PolicyName", "ResourceId",
  "ScalableDimension", "PolicyType", "TargetValue" (target tracking only, else None)}]}``;
  empty lists = no auto scaling. Absent when either call failed (the error is copied onto
  every table item of the region).

Account item (``AWS::::Account``, this region):

* ``configuration.dynamodbLimits``: DescribeLimits' ``{"AccountMaxReadCapacityUnits",
  "AccountMaxWriteCapacityUnits", "TableMaxReadCapacityUnits", "TableMaxWriteCapacityUnits"}``;
  absent when the call failed.

Collected by the hook :mod:`phiwatch.collect.dynamodb` (the spec has no listing), whose calls
are ``SERVICE.iam``.
"""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

TABLE = "AWS::DynamoDB::Table"

SERVICE = Service(
    "dynamodb",
    cost=3,
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
