"""CloudTrail, KMS, CloudWatch Logs/alarms, SNS and Secrets Manager collectors against moto's server."""

from __future__ import annotations

import json
from types import SimpleNamespace

from phiwatch.collect.runner import collect
from phiwatch.model import ACCOUNT_TYPE
from stored import stored_item

ACCOUNT = "123456789012"


def _account(store, region):
    rows = [r for r in store.inventory(resource_type=ACCOUNT_TYPE) if r["region"] == region]
    assert len(rows) == 1
    return store.item_at(rows[0]["id"])["item"]


def _tags(**tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _short_circuit(client, operation, status, body):
    """Answer ``operation`` on ``client`` with ``body`` (HTTP ``status``) instead of calling the server."""

    def handler(**_):
        return SimpleNamespace(status_code=status, headers={}), body

    client.meta.events.register(f"before-call.{client.meta.service_model.service_name}.{operation}", handler)


# -- CloudTrail -----------------------------------------------------------------------------------


def test_trails_items_and_per_region_account_summary(aws_env, store):
    aws_env.client("s3").create_bucket(Bucket="trail-logs-bucket")
    trails = aws_env.client("cloudtrail")
    key_arn = aws_env.client("kms").create_key(Description="trail-key")["KeyMetadata"]["Arn"]
    group_arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/cloudtrail/org:*"
    trails.create_trail(
        Name="trail-multi-region-validated",
        S3BucketName="trail-logs-bucket",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=key_arn,
        CloudWatchLogsLogGroupArn=group_arn,
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ct",
        TagsList=_tags(PHI="No"),
    )
    trails.put_event_selectors(
        TrailName="trail-multi-region-validated",
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
    )
    trails.start_logging(Name="trail-multi-region-validated")
    trails.create_trail(Name="trail-single-region-not-logging", S3BucketName="trail-logs-bucket")

    ctx = aws_env.context(["us-east-1", "eu-west-1"])
    result = collect(ctx, store, services=["cloudtrail"])
    assert result.errors == []
    assert result.types_seen["AWS::CloudTrail::Trail"] == 2  # both homed in us-east-1: no shadow items

    good = stored_item(store, "trail-multi-region-validated", "AWS::CloudTrail::Trail")
    assert good["arn"] == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/trail-multi-region-validated"
    assert good["awsRegion"] == "us-east-1"
    conf = good["configuration"]
    assert conf["IsMultiRegionTrail"] is True and conf["LogFileValidationEnabled"] is True
    assert conf["KmsKeyId"] == key_arn and conf["CloudWatchLogsLogGroupArn"] == group_arn
    sup = good["supplementaryConfiguration"]
    assert sup["TrailStatus"]["IsLogging"] is True
    assert "LatestDeliveryTime" not in sup["TrailStatus"]  # moving timestamps are not stored
    assert sup["EventSelectors"]["EventSelectors"][0]["IncludeManagementEvents"] is True
    assert sup["EventSelectors"]["AdvancedEventSelectors"] == []
    assert good["tags"] == {"PHI": "No"}
    assert {r["resourceType"] for r in good["relationships"]} == {"AWS::S3::Bucket", "AWS::Logs::LogGroup", "AWS::KMS::Key"}

    plain = stored_item(store, "trail-single-region-not-logging", "AWS::CloudTrail::Trail")
    conf = plain["configuration"]
    assert conf["IsMultiRegionTrail"] is False and conf["LogFileValidationEnabled"] is False
    assert "KmsKeyId" not in conf and "CloudWatchLogsLogGroupArn" not in conf  # AWS omits unset keys
    assert plain["supplementaryConfiguration"]["TrailStatus"]["IsLogging"] is False
    assert plain["supplementaryConfiguration"]["EventSelectors"] == {"EventSelectors": [], "AdvancedEventSelectors": []}
    assert plain["tags"] == {} and plain["collectionErrors"] == []

    virginia = {t["name"]: t for t in _account(store, "us-east-1")["configuration"]["cloudTrailTrails"]}
    assert set(virginia) == {"trail-multi-region-validated", "trail-single-region-not-logging"}
    assert virginia["trail-single-region-not-logging"]["isLogging"] is False
    ireland = _account(store, "eu-west-1")["configuration"]["cloudTrailTrails"]
    assert ireland == [
        {
            "name": "trail-multi-region-validated",
            "arn": good["arn"],
            "homeRegion": "us-east-1",
            "isMultiRegionTrail": True,
            "isOrganizationTrail": False,
            "s3BucketName": "trail-logs-bucket",
            "snsTopicArn": None,
            "cloudWatchLogsLogGroupArn": group_arn,
            "isLogging": True,
        }
    ]

    # unchanged trails stay at one version (trail status timestamps move on every call)
    assert collect(ctx, store, services=["cloudtrail"]).changed == 0

    trails.stop_logging(Name="trail-multi-region-validated")
    trails.delete_trail(Name="trail-single-region-not-logging")
    result = collect(ctx, store, services=["cloudtrail"])
    assert result.deleted == 1
    assert store.resolve("trail-single-region-not-logging", "AWS::CloudTrail::Trail")["status"] == "ResourceDeleted"
    row = store.resolve("trail-multi-region-validated", "AWS::CloudTrail::Trail")
    history = store.history(row["id"])
    assert [h["item"]["supplementaryConfiguration"]["TrailStatus"]["IsLogging"] for h in history] == [True, False]
    assert _account(store, "eu-west-1")["configuration"]["cloudTrailTrails"][0]["isLogging"] is False


def test_no_trail_is_an_empty_summary_not_missing(aws_env, store):
    result = collect(aws_env.context(), store, services=["cloudtrail"])
    assert result.errors == []
    assert _account(store, "us-east-1")["configuration"]["cloudTrailTrails"] == []


# -- KMS --------------------------------------------------------------------------------------------


def test_kms_keys_rotation_aliases_tags(aws_env, store):
    kms = aws_env.client("kms")
    on = kms.create_key(Description="kms-rotation-on", Tags=[{"TagKey": "PHI", "TagValue": "Yes"}])["KeyMetadata"]
    kms.enable_key_rotation(KeyId=on["KeyId"])
    kms.create_alias(AliasName="alias/kms-rotation-on", TargetKeyId=on["KeyId"])
    off = kms.create_key(Description="kms-rotation-off")["KeyMetadata"]
    signing = kms.create_key(Description="kms-signing", KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]

    ctx = aws_env.context()
    result = collect(ctx, store, services=["kms"])
    assert result.errors == []
    assert result.types_seen["AWS::KMS::Key"] == 3

    item = stored_item(store, on["KeyId"], "AWS::KMS::Key")
    assert item["arn"] == on["Arn"] == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{on['KeyId']}"
    assert item["resourceName"] == "alias/kms-rotation-on"
    assert item["configuration"]["KeyState"] == "Enabled" and item["configuration"]["KeyManager"] == "CUSTOMER"
    assert item["supplementaryConfiguration"]["KeyRotationStatus"]["KeyRotationEnabled"] is True
    assert item["supplementaryConfiguration"]["Aliases"] == ["alias/kms-rotation-on"]
    assert item["tags"] == {"PHI": "Yes"}

    item = stored_item(store, off["KeyId"], "AWS::KMS::Key")
    assert item["resourceName"] == off["KeyId"]
    assert item["supplementaryConfiguration"]["KeyRotationStatus"] == {"KeyRotationEnabled": False}
    assert item["supplementaryConfiguration"]["Aliases"] == [] and item["tags"] == {}

    # rotation does not apply to asymmetric keys: explicit None, not an error
    item = stored_item(store, signing["KeyId"], "AWS::KMS::Key")
    assert item["supplementaryConfiguration"]["KeyRotationStatus"] is None
    assert item["collectionErrors"] == []

    kms.schedule_key_deletion(KeyId=off["KeyId"], PendingWindowInDays=7)
    result = collect(ctx, store, services=["kms"])
    assert result.changed == 1
    history = store.history(store.resolve(off["KeyId"], "AWS::KMS::Key")["id"])
    assert [h["item"]["configuration"]["KeyState"] for h in history] == ["Enabled", "PendingDeletion"]
    assert "DeletionDate" in history[-1]["item"]["configuration"]


def test_kms_denied_rotation_is_an_error_and_aws_managed_keys_are_skipped(aws_env, store):
    kms = aws_env.client("kms")
    customer = kms.create_key(Description="kms-rotation-unknown")["KeyMetadata"]
    managed = kms.create_key(Description="aws-managed-stand-in")["KeyMetadata"]
    ctx = aws_env.context()
    client = ctx.client("kms", "us-east-1")
    _short_circuit(
        client,
        "GetKeyRotationStatus",
        400,
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
    )

    def describe(params, **_):  # moto has no AWS managed keys (its default keys say CUSTOMER): fake one
        if json.loads(params["body"]).get("KeyId") == managed["KeyId"]:
            return SimpleNamespace(status_code=200, headers={}), {
                "KeyMetadata": {**managed, "KeyManager": "AWS"},
                "ResponseMetadata": {"HTTPStatusCode": 200},
            }
        return None

    client.meta.events.register("before-call.kms.DescribeKey", describe)
    result = collect(ctx, store, services=["kms"])

    assert [r["resource_id"] for r in store.inventory(resource_type="AWS::KMS::Key")] == [customer["KeyId"]]
    item = stored_item(store, customer["KeyId"], "AWS::KMS::Key")
    # denied is "could not check": key absent and the error names the IAM action, never None
    assert "KeyRotationStatus" not in item["supplementaryConfiguration"]
    assert [(e["api"], e["iam_action"]) for e in item["collectionErrors"]] == [("GetKeyRotationStatus", "kms:GetKeyRotationStatus")]
    assert [e.error for e in result.errors] == ["AccessDeniedException"]


# -- CloudWatch Logs and alarms ---------------------------------------------------------------------


def test_log_groups_and_alarms(aws_env, store):
    logs = aws_env.client("logs")
    key_arn = aws_env.client("kms").create_key(Description="logs-key")["KeyMetadata"]["Arn"]
    logs.create_log_group(logGroupName="/phi/app-retention-365", kmsKeyId=key_arn, tags={"PHI": "Yes"})
    logs.put_retention_policy(logGroupName="/phi/app-retention-365", retentionInDays=365)
    logs.create_log_group(logGroupName="/phi/app-no-retention")
    logs.create_log_stream(logGroupName="/phi/app-no-retention", logStreamName="s")

    topic = aws_env.client("sns").create_topic(Name="alarm-topic")["TopicArn"]
    cloudwatch = aws_env.client("cloudwatch")
    common = dict(
        Namespace="AWS/EC2",
        MetricName="CPUUtilization",
        Statistic="Average",
        Period=300,
        EvaluationPeriods=1,
        Threshold=90.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.put_metric_alarm(
        AlarmName="alarm-with-actions",
        AlarmActions=[topic],
        InsufficientDataActions=[topic],
        Tags=_tags(PHI="No"),
        **common,
    )
    cloudwatch.put_metric_alarm(AlarmName="alarm-without-actions", ActionsEnabled=False, **common)

    ctx = aws_env.context()
    result = collect(ctx, store, services=["logs"])
    assert result.errors == []
    assert result.types_seen == {"AWS::Logs::LogGroup": 2, "AWS::CloudWatch::Alarm": 2}

    kept = stored_item(store, "/phi/app-retention-365", "AWS::Logs::LogGroup")
    assert kept["arn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/phi/app-retention-365"
    assert kept["configuration"]["retentionInDays"] == 365
    assert kept["configuration"]["kmsKeyId"] == key_arn
    assert "storedBytes" not in kept["configuration"]
    assert kept["tags"] == {"PHI": "Yes"}
    forever = stored_item(store, "/phi/app-no-retention", "AWS::Logs::LogGroup")
    # never expire / no customer key: AWS omits the keys
    assert "retentionInDays" not in forever["configuration"] and "kmsKeyId" not in forever["configuration"]
    assert forever["tags"] == {} and forever["collectionErrors"] == []

    alarm = stored_item(store, "alarm-with-actions", "AWS::CloudWatch::Alarm")
    assert alarm["arn"] == f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:alarm-with-actions"
    assert alarm["configuration"]["ActionsEnabled"] is True
    assert alarm["configuration"]["AlarmActions"] == [topic] and alarm["configuration"]["OKActions"] == []
    assert alarm["configuration"]["InsufficientDataActions"] == [topic]
    assert "StateValue" not in alarm["configuration"]
    assert alarm["relationships"] == [
        {"resourceType": "AWS::SNS::Topic", "resourceId": topic, "relationshipName": "Is associated with Topic"}
    ]
    assert alarm["tags"] == {"PHI": "No"}
    quiet = stored_item(store, "alarm-without-actions", "AWS::CloudWatch::Alarm")
    assert quiet["configuration"]["ActionsEnabled"] is False and quiet["configuration"]["AlarmActions"] == []

    # a state flip is not a configuration change; a retention change and a deletion are
    cloudwatch.set_alarm_state(AlarmName="alarm-with-actions", StateValue="ALARM", StateReason="test")
    logs.put_retention_policy(logGroupName="/phi/app-no-retention", retentionInDays=30)
    logs.delete_log_group(logGroupName="/phi/app-retention-365")
    result = collect(ctx, store, services=["logs"])
    assert result.errors == [] and result.changed == 1 and result.deleted == 1
    assert store.resolve("/phi/app-retention-365", "AWS::Logs::LogGroup")["status"] == "ResourceDeleted"
    assert stored_item(store, "/phi/app-no-retention", "AWS::Logs::LogGroup")["configuration"]["retentionInDays"] == 30
    assert store.resolve("alarm-with-actions", "AWS::CloudWatch::Alarm")["version"] == 1


# -- SNS --------------------------------------------------------------------------------------------


def test_sns_topics(aws_env, store):
    sns = aws_env.client("sns")
    key_arn = aws_env.client("kms").create_key(Description="sns-key")["KeyMetadata"]["Arn"]
    encrypted = sns.create_topic(Name="hipaa-alerts-encrypted", Attributes={"KmsMasterKeyId": key_arn}, Tags=_tags(PHI="No"))["TopicArn"]
    plain = sns.create_topic(Name="hipaa-alerts-plain")["TopicArn"]

    ctx = aws_env.context()
    result = collect(ctx, store, services=["sns"])
    assert result.errors == []

    item = stored_item(store, encrypted, "AWS::SNS::Topic")
    assert item["resourceId"] == item["arn"] == f"arn:aws:sns:us-east-1:{ACCOUNT}:hipaa-alerts-encrypted"
    assert item["resourceName"] == "hipaa-alerts-encrypted"
    assert item["configuration"]["KmsMasterKeyId"] == key_arn
    assert item["tags"] == {"PHI": "No"}
    assert item["relationships"][0]["resourceType"] == "AWS::KMS::Key"
    item = stored_item(store, plain, "AWS::SNS::Topic")
    assert "KmsMasterKeyId" not in item["configuration"]  # not encrypted
    assert item["configuration"]["TopicArn"] == plain and item["tags"] == {}

    sns.set_topic_attributes(TopicArn=plain, AttributeName="KmsMasterKeyId", AttributeValue="alias/aws/sns")
    sns.delete_topic(TopicArn=encrypted)
    result = collect(ctx, store, services=["sns"])
    assert result.changed == 1 and result.deleted == 1
    history = store.history(store.resolve(plain, "AWS::SNS::Topic")["id"])
    assert [h["item"]["configuration"].get("KmsMasterKeyId") for h in history] == [None, "alias/aws/sns"]
    assert store.resolve(encrypted, "AWS::SNS::Topic")["status"] == "ResourceDeleted"


# -- Secrets Manager --------------------------------------------------------------------------------

SECRET_MARKER = "phiwatch-test-secret-value-7f3a9c"


def test_secrets_metadata_without_values(aws_env, store):
    secrets = aws_env.client("secretsmanager")
    key_arn = aws_env.client("kms").create_key(Description="secrets-key")["KeyMetadata"]["Arn"]
    rotated = secrets.create_secret(
        Name="phi-db-rotated",
        KmsKeyId=key_arn,
        Tags=_tags(PHI="Yes"),
        SecretString=json.dumps({"password": SECRET_MARKER}),
    )["ARN"]
    # moto invokes (docker) a RotationLambdaARN; rotation rules alone enable rotation in moto
    secrets.rotate_secret(SecretId=rotated, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    unrotated = secrets.create_secret(Name="phi-db-unrotated", SecretString=SECRET_MARKER)["ARN"]
    secrets.create_secret(Name="phi-db-binary", SecretBinary=SECRET_MARKER.encode())

    ctx = aws_env.context()
    calls: list[str] = []
    ctx.client("secretsmanager", "us-east-1").meta.events.register(
        "before-call.secretsmanager", lambda model, **_: calls.append(model.name)
    )
    result = collect(ctx, store, services=["secretsmanager"])
    assert result.errors == []
    assert set(calls) == {"ListSecrets"}

    item = stored_item(store, rotated, "AWS::SecretsManager::Secret")
    assert item["resourceId"] == item["arn"] == rotated
    assert rotated.startswith(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:phi-db-rotated-")
    assert item["resourceName"] == "phi-db-rotated"
    conf = item["configuration"]
    assert conf["RotationEnabled"] is True
    assert conf["RotationRules"]["AutomaticallyAfterDays"] == 30
    assert conf["LastRotatedDate"] and conf["LastChangedDate"]
    assert conf["KmsKeyId"] == key_arn
    assert item["tags"] == {"PHI": "Yes"}

    item = stored_item(store, unrotated, "AWS::SecretsManager::Secret")
    conf = item["configuration"]
    assert conf["RotationEnabled"] is False  # normalised: AWS omits it
    assert "RotationRules" not in conf and "LastRotatedDate" not in conf
    assert "KmsKeyId" not in conf  # default aws/secretsmanager key

    # scheduled deletion keeps the secret (with DeletedDate); forced deletion removes it
    secrets.delete_secret(SecretId=unrotated, RecoveryWindowInDays=7)
    secrets.delete_secret(SecretId="phi-db-binary", ForceDeleteWithoutRecovery=True)
    result = collect(ctx, store, services=["secretsmanager"])
    assert result.changed == 1 and result.deleted == 1
    assert "DeletedDate" in stored_item(store, unrotated, "AWS::SecretsManager::Secret")["configuration"]
    assert store.resolve("phi-db-binary", "AWS::SecretsManager::Secret")["status"] == "ResourceDeleted"

    # no secret value in anything stored, any version
    stored = [
        version["item"]
        for row in store.inventory(resource_type="AWS::SecretsManager::Secret", include_deleted=True)
        for version in store.history(row["id"])
    ]
    assert len(stored) == 5
    assert SECRET_MARKER not in json.dumps(stored)
    assert all("SecretString" not in json.dumps(s) and "SecretBinary" not in json.dumps(s) for s in stored)


def test_kms_keys_with_reserved_aws_aliases_are_aws_managed(aws_env, store):
    kms = aws_env.client("kms")
    customer = kms.create_key(Description="kms-customer")["KeyMetadata"]
    # moto creates the default (AWS managed) key behind alias/aws/ebs on first use, marked CUSTOMER
    assert kms.describe_key(KeyId="alias/aws/ebs")["KeyMetadata"]["KeyManager"] == "CUSTOMER"
    assert len(kms.list_keys()["Keys"]) == 2
    result = collect(aws_env.context(), store, services=["kms"])
    assert result.errors == []
    assert [r["resource_id"] for r in store.inventory(resource_type="AWS::KMS::Key")] == [customer["KeyId"]]
