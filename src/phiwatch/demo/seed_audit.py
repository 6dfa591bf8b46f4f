"""Demo audit and key management: CloudTrail trails, KMS keys, log groups, an alarm, SNS topics, secrets.

Names say the verdict each resource shows:

* trails ``trail-compliant`` (multi-region, log file validation, SSE-KMS, CloudWatch Logs, logging
  to ``demo-cloudtrail-logs``) and ``trail-no-validation`` (single-region, no validation, no KMS);
* KMS keys ``kms-rotation-on`` / ``kms-rotation-off`` (Description, Name tag and alias);
* log groups ``/phi/app-retention-365`` (365 days, KMS) and ``/phi/app-no-retention`` (never
  expires, no KMS), plus the trail's ``/aws/cloudtrail/trail-compliant``;
* alarm ``phi-unauthorized-api-calls`` notifying ``hipaa-alerts-encrypted``;
* SNS topics ``hipaa-alerts-encrypted`` (KMS) and ``hipaa-alerts-plain``;
* secrets ``phi-db-rotated`` (rotation every 30 days) and ``phi-db-unrotated``.

moto's RotateSecret with a RotationLambdaARN needs that Lambda function to exist and *invokes*
it (docker), so the rotated secret is given rotation rules without a Lambda ARN, which moto
accepts (RotationEnabled=true). The secret strings are obviously fake demo values.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from phiwatch.aws.session import make_client

TRAIL_BUCKET = "demo-cloudtrail-logs"


def _tags(**tags: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def seed(session: boto3.Session, endpoint: str | None, region: str) -> dict[str, Any]:
    def client(service: str) -> Any:
        return make_client(session, service, endpoint, region)

    account = client("sts").get_caller_identity()["Account"]
    kms, logs, cloudwatch = client("kms"), client("logs"), client("cloudwatch")
    sns, secrets, s3, cloudtrail = client("sns"), client("secretsmanager"), client("s3"), client("cloudtrail")
    owner = {"Environment": "PROD", "InstanceOwnerEmail": "security-team@example.org"}

    # -- KMS keys ------------------------------------------------------------------------------
    keys: dict[str, str] = {}
    for name, rotate in (("kms-rotation-on", True), ("kms-rotation-off", False)):
        meta = kms.create_key(
            Description=name,
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Tags=[{"TagKey": k, "TagValue": v} for k, v in {"Name": name, "PHI": "Yes", **owner}.items()],
        )["KeyMetadata"]
        kms.create_alias(AliasName=f"alias/{name}", TargetKeyId=meta["KeyId"])
        if rotate:
            kms.enable_key_rotation(KeyId=meta["KeyId"])
        keys[name] = meta["Arn"]
    key_arn = keys["kms-rotation-on"]

    # -- CloudTrail: bucket, log group, trails ---------------------------------------------------
    if region == "us-east-1":
        s3.create_bucket(Bucket=TRAIL_BUCKET)
    else:
        s3.create_bucket(Bucket=TRAIL_BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_tagging(Bucket=TRAIL_BUCKET, Tagging={"TagSet": _tags(PHI="No", **owner)})
    s3.put_bucket_policy(
        Bucket=TRAIL_BUCKET,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AWSCloudTrailAclCheck",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:GetBucketAcl",
                        "Resource": f"arn:aws:s3:::{TRAIL_BUCKET}",
                    },
                    {
                        "Sid": "AWSCloudTrailWrite",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{TRAIL_BUCKET}/AWSLogs/{account}/*",
                        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
                    },
                ],
            }
        ),
    )
    trail_group = "/aws/cloudtrail/trail-compliant"
    logs.create_log_group(logGroupName=trail_group, kmsKeyId=key_arn, tags={"PHI": "No", **owner})
    logs.put_retention_policy(logGroupName=trail_group, retentionInDays=365)
    trail_group_arn = f"arn:aws:logs:{region}:{account}:log-group:{trail_group}:*"

    cloudtrail.create_trail(
        Name="trail-compliant",
        S3BucketName=TRAIL_BUCKET,
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
        KmsKeyId=key_arn,
        CloudWatchLogsLogGroupArn=trail_group_arn,
        CloudWatchLogsRoleArn=f"arn:aws:iam::{account}:role/cloudtrail-to-cloudwatch-logs",
        TagsList=_tags(PHI="No", **owner),
    )
    cloudtrail.put_event_selectors(
        TrailName="trail-compliant",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
            }
        ],
    )
    cloudtrail.create_trail(
        Name="trail-no-validation",
        S3BucketName=TRAIL_BUCKET,
        S3KeyPrefix="single-region",
        TagsList=_tags(PHI="No", Environment="DEV", InstanceOwnerEmail="platform-team@example.org"),
    )
    for trail in ("trail-compliant", "trail-no-validation"):
        cloudtrail.start_logging(Name=trail)

    # -- application log groups -------------------------------------------------------------------
    logs.create_log_group(
        logGroupName="/phi/app-retention-365",
        kmsKeyId=key_arn,
        tags={"PHI": "Yes", "Environment": "PROD", "InstanceOwnerEmail": "records-team@example.org"},
    )
    logs.put_retention_policy(logGroupName="/phi/app-retention-365", retentionInDays=365)
    logs.create_log_group(
        logGroupName="/phi/app-no-retention",
        tags={"PHI": "Yes", "Environment": "DEV", "InstanceOwnerEmail": "imaging-team@example.org"},
    )

    # -- SNS topics and an alarm ------------------------------------------------------------------
    encrypted = sns.create_topic(Name="hipaa-alerts-encrypted", Attributes={"KmsMasterKeyId": key_arn}, Tags=_tags(PHI="No", **owner))[
        "TopicArn"
    ]
    plain = sns.create_topic(
        Name="hipaa-alerts-plain", Tags=_tags(PHI="No", Environment="DEV", InstanceOwnerEmail="platform-team@example.org")
    )["TopicArn"]
    cloudwatch.put_metric_alarm(
        AlarmName="phi-unauthorized-api-calls",
        AlarmDescription="CIS 4.1: unauthorized API calls in the PHI account",
        Namespace="CloudTrailMetrics",
        MetricName="UnauthorizedAttemptCount",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        ActionsEnabled=True,
        AlarmActions=[encrypted],
        InsufficientDataActions=[encrypted],
        Tags=_tags(PHI="No", **owner),
    )

    # -- secrets ----------------------------------------------------------------------------------
    rotated = secrets.create_secret(
        Name="phi-db-rotated",
        Description="PHI records database credentials (rotated)",
        KmsKeyId=key_arn,
        SecretString=json.dumps({"username": "records_app", "password": "demo-not-a-real-password-1"}),
        Tags=_tags(PHI="Yes", Environment="PROD", InstanceOwnerEmail="records-team@example.org"),
    )["ARN"]
    secrets.rotate_secret(SecretId=rotated, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    unrotated = secrets.create_secret(
        Name="phi-db-unrotated",
        Description="PHI imaging database credentials (never rotated)",
        SecretString=json.dumps({"username": "imaging_app", "password": "demo-not-a-real-password-2"}),
        Tags=_tags(PHI="Yes", Environment="PROD", InstanceOwnerEmail="imaging-team@example.org"),
    )["ARN"]

    return {
        "trails": ["trail-compliant", "trail-no-validation"],
        "kms_keys": list(keys),
        "log_groups": [trail_group, "/phi/app-retention-365", "/phi/app-no-retention"],
        "alarms": ["phi-unauthorized-api-calls"],
        "topics": [encrypted, plain],
        "secrets": [rotated, unrotated],
        "buckets": [TRAIL_BUCKET],
    }
