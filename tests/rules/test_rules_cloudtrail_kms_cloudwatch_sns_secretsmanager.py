"""Audit and key-management rules on a real estate in moto's server: CloudTrail, KMS, CloudWatch
(alarms and log groups), SNS and Secrets Manager.

Two scans share one store: phase 1 has a single-region trail only (account-level CloudTrail rules
fail, and eu-west-1 has no trail at all); phase 2 adds everything else. Parameter variants re-run a
rule on the stored items with run_rule; what moto cannot represent (GetTrailStatus delivery times,
ScheduleExpression rotation, cross-account keys, failed reads) is tested on constructed items.
"""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem, utcnow
from phiwatch.policy import Policy
from phiwatch.rules.active import ActiveRule, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.rules.cloudtrail import management_events, s3_data_events_cover
from phiwatch.rules.registry import catalogue
from phiwatch.rules.secretsmanager import rotation_interval_hours
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import judge_rule

ACCOUNT = "123456789012"
REGIONS = ["us-east-1", "eu-west-1"]
SERVICES = ["cloudtrail", "kms", "logs", "sns", "secretsmanager"]
TRAIL = "AWS::CloudTrail::Trail"
RULES = catalogue()


def _bucket_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": f"arn:aws:s3:::{bucket}",
                },
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{ACCOUNT}/*",
                },
            ],
        }
    )


def _verdicts(outcome) -> dict[tuple[str, str, str], dict]:
    return {(e["rule_id"], e["resource_id"], e["region"]): e for e in outcome.scan["evaluations"]}


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()
    session = emulator.session()

    def client(service: str, region: str = "us-east-1"):
        return make_client(emulator.session(region), service, emulator.endpoint, region)

    s3, cloudtrail, kms = client("s3"), client("cloudtrail"), client("kms")
    logs, cloudwatch, sns, secrets = client("logs"), client("cloudwatch"), client("sns"), client("secretsmanager")
    for bucket in ("trail-logs-compliant", "trail-logs-plain"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_policy(Bucket=bucket, Policy=_bucket_policy(bucket))

    # -- phase 1: one single-region trail, no data events --------------------------------------------
    cloudtrail.create_trail(Name="trail-plain", S3BucketName="trail-logs-plain")
    cloudtrail.start_logging(Name="trail-plain")
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('auditrules') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=REGIONS, session=session)
    policy = Policy(packs=["hipaa", "hipaa-extras"])
    phase1 = _verdicts(run_scan(ctx, store, policy, services=["cloudtrail"]))

    # -- phase 2: everything else ----------------------------------------------------------------------
    keys: dict[str, dict] = {}
    for name in ("kms-rotation-on", "kms-rotation-off", "kms-pending-deletion"):
        keys[name] = kms.create_key(Description=name, KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]
        kms.create_alias(AliasName=f"alias/{name}", TargetKeyId=keys[name]["KeyId"])
    keys["kms-asymmetric"] = kms.create_key(Description="kms-asymmetric", KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]
    kms.enable_key_rotation(KeyId=keys["kms-rotation-on"]["KeyId"])
    kms.schedule_key_deletion(KeyId=keys["kms-pending-deletion"]["KeyId"], PendingWindowInDays=7)
    key_on, key_off = keys["kms-rotation-on"]["Arn"], keys["kms-rotation-off"]["Arn"]

    trail_group = "/aws/cloudtrail/trail-compliant"
    logs.create_log_group(logGroupName=trail_group, kmsKeyId=key_on)
    logs.put_retention_policy(logGroupName=trail_group, retentionInDays=400)
    logs.create_log_group(logGroupName="/phi/retention-365-kms", kmsKeyId=key_on)
    logs.put_retention_policy(logGroupName="/phi/retention-365-kms", retentionInDays=365)
    logs.create_log_group(logGroupName="/phi/retention-30-plain")
    logs.put_retention_policy(logGroupName="/phi/retention-30-plain", retentionInDays=30)
    logs.create_log_group(logGroupName="/phi/never-expires-plain")

    group_arn = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{trail_group}:*"
    cloudtrail.create_trail(
        Name="trail-compliant",
        S3BucketName="trail-logs-compliant",
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=key_on,
        CloudWatchLogsLogGroupArn=group_arn,
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/cloudtrail-to-logs",
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
    cloudtrail.create_trail(Name="trail-excludes-kms", S3BucketName="trail-logs-plain", IsMultiRegionTrail=True)
    cloudtrail.put_event_selectors(
        TrailName="trail-excludes-kms",
        EventSelectors=[
            {
                "ReadWriteType": "WriteOnly",
                "IncludeManagementEvents": True,
                "ExcludeManagementEventSources": ["kms.amazonaws.com"],
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::bucket-a/", "arn:aws:s3:::bucket-b/only-here/"]}],
            }
        ],
    )
    cloudtrail.create_trail(Name="trail-not-logging", S3BucketName="trail-logs-plain", IsMultiRegionTrail=True)
    for trail in ("trail-compliant", "trail-excludes-kms"):
        cloudtrail.start_logging(Name=trail)

    topic_kms = sns.create_topic(Name="topic-kms", Attributes={"KmsMasterKeyId": key_on})["TopicArn"]
    topic_plain = sns.create_topic(Name="topic-plain")["TopicArn"]
    topic_aws = sns.create_topic(Name="topic-aws-managed-key", Attributes={"KmsMasterKeyId": "alias/aws/sns"})["TopicArn"]

    alarm = dict(
        Namespace="CloudTrailMetrics",
        MetricName="UnauthorizedAttemptCount",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.put_metric_alarm(AlarmName="alarm-actions-ok", AlarmActions=[topic_kms], InsufficientDataActions=[topic_kms], **alarm)
    cloudwatch.put_metric_alarm(AlarmName="alarm-alarm-action-only", AlarmActions=[topic_kms], **alarm)
    cloudwatch.put_metric_alarm(AlarmName="alarm-no-actions", **alarm)

    secret_arns = {}
    secret_arns["secret-rotated-30-cmk"] = secrets.create_secret(
        Name="secret-rotated-30-cmk", KmsKeyId=key_on, SecretString="not-a-real-secret"
    )["ARN"]
    secrets.rotate_secret(
        SecretId=secret_arns["secret-rotated-30-cmk"], RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False
    )
    secret_arns["secret-rotated-120-alias"] = secrets.create_secret(
        Name="secret-rotated-120-alias", KmsKeyId="alias/kms-rotation-off", SecretString="not-a-real-secret"
    )["ARN"]
    secrets.rotate_secret(
        SecretId=secret_arns["secret-rotated-120-alias"], RotationRules={"AutomaticallyAfterDays": 120}, RotateImmediately=False
    )
    secret_arns["secret-unrotated-default-key"] = secrets.create_secret(
        Name="secret-unrotated-default-key", SecretString="not-a-real-secret"
    )["ARN"]

    phase2 = _verdicts(run_scan(ctx, store, policy, services=SERVICES))
    yield {
        "phase1": phase1,
        "phase2": phase2,
        "store": store,
        "keys": keys,
        "key_on": key_on,
        "key_off": key_off,
        "topics": {"topic-kms": topic_kms, "topic-plain": topic_plain, "topic-aws-managed-key": topic_aws},
        "secrets": secret_arns,
        "group_arn": group_arn,
    }
    store.close()


# -- helpers ------------------------------------------------------------------------------------------


def verdict(verdicts, rule_id, resource_id, region="us-east-1"):
    return verdicts[(rule_id, resource_id, region)]["compliance"]


def stored(store, resource_type, resource_id=None, region="us-east-1") -> ConfigurationItem:
    for item in store.current_items(resource_type):
        if item.awsRegion == region and (resource_id is None or item.resourceId == resource_id or item.resourceName == resource_id):
            return item
    raise KeyError((resource_type, resource_id, region))


def evaluate(rule_id, item, params=None, store=None, now=None):
    lookup = (lambda t: list(store.current_items(t))) if store is not None else (lambda t: [])
    return judge_rule(rule_id, item, lookup=lookup, now=now, params=params)


def compliance(rule_id, item, params=None, store=None, now=None):
    result = evaluate(rule_id, item, params, store, now)
    return None if result is None else result.compliance.value


def account_with(store, region, names) -> ConfigurationItem:
    """The region's stored account item with cloudTrailTrails narrowed to the named trails."""
    account = copy.deepcopy(stored(store, ACCOUNT_TYPE, ACCOUNT, region))
    account.configuration["cloudTrailTrails"] = [t for t in account.configuration["cloudTrailTrails"] if t["name"] in names]
    return account


def failed(api: str, action: str) -> list[dict]:
    return [{"api": api, "error": "AccessDenied", "iam_action": action}]


# -- CloudTrail: account level ----------------------------------------------------------------------


def test_phase1_single_region_trail_only(estate):
    v = estate["phase1"]
    assert verdict(v, "cloudtrail-enabled", ACCOUNT) == "COMPLIANT"
    assert "trail-plain" in v[("cloudtrail-enabled", ACCOUNT, "us-east-1")]["annotation"]
    assert verdict(v, "cloudtrail-enabled", ACCOUNT, "eu-west-1") == "NON_COMPLIANT"
    assert verdict(v, "multi-region-cloudtrail-enabled", ACCOUNT) == "NON_COMPLIANT"
    assert verdict(v, "cloudtrail-s3-dataevents-enabled", ACCOUNT) == "NON_COMPLIANT"
    assert v[("cloudtrail-s3-dataevents-enabled", ACCOUNT, "us-east-1")]["annotation"]


def test_phase2_account_rules_compliant_in_both_regions(estate):
    v = estate["phase2"]
    for region in REGIONS:  # eu-west-1 sees the multi-region trail as a shadow trail
        for rule_id in ("cloudtrail-enabled", "multi-region-cloudtrail-enabled", "cloudtrail-s3-dataevents-enabled"):
            assert verdict(v, rule_id, ACCOUNT, region) == "COMPLIANT", (rule_id, region, v[(rule_id, ACCOUNT, region)])
    assert "trail-compliant" in v[("multi-region-cloudtrail-enabled", ACCOUNT, "eu-west-1")]["annotation"]


def test_collector_summary_has_destinations(estate):
    trails = {t["name"]: t for t in stored(estate["store"], ACCOUNT_TYPE, ACCOUNT, "eu-west-1").configuration["cloudTrailTrails"]}
    assert set(trails) == {"trail-compliant", "trail-excludes-kms", "trail-not-logging"}
    shadow = trails["trail-compliant"]
    assert shadow["s3BucketName"] == "trail-logs-compliant"
    assert shadow["cloudWatchLogsLogGroupArn"] == estate["group_arn"]
    assert shadow["snsTopicArn"] is None
    assert trails["trail-not-logging"]["isLogging"] is False


def test_cloudtrail_enabled_parameters(estate):
    store = estate["store"]
    account = stored(store, ACCOUNT_TYPE, ACCOUNT, "eu-west-1")
    assert compliance("cloudtrail-enabled", account, {"s3BucketName": "trail-logs-compliant"}, store) == "COMPLIANT"
    # a trail delivering to the bucket exists, but it is not logging
    assert (
        compliance(
            "cloudtrail-enabled", account_with(store, "eu-west-1", {"trail-not-logging"}), {"s3BucketName": "trail-logs-plain"}, store
        )
        == "NON_COMPLIANT"
    )
    assert compliance("cloudtrail-enabled", account, {"s3BucketName": "some-other-bucket"}, store) == "NON_COMPLIANT"
    group = estate["group_arn"].removesuffix(":*")  # with or without the trailing :*
    assert compliance("cloudtrail-enabled", account, {"cloudWatchLogsLogGroupArn": group}, store) == "COMPLIANT"
    assert compliance("cloudtrail-enabled", account, {"snsTopicArn": estate["topics"]["topic-plain"]}, store) == "NON_COMPLIANT"


def test_multi_region_trail_checks(estate):
    store = estate["store"]
    excludes = account_with(store, "us-east-1", {"trail-excludes-kms"})
    result = evaluate("multi-region-cloudtrail-enabled", excludes, store=store)
    assert result.compliance.value == "NON_COMPLIANT" and "kms.amazonaws.com" in result.annotation
    not_logging = account_with(store, "us-east-1", {"trail-not-logging"})
    result = evaluate("multi-region-cloudtrail-enabled", not_logging, store=store)
    assert result.compliance.value == "NON_COMPLIANT" and "not logging" in result.annotation
    account = stored(store, ACCOUNT_TYPE, ACCOUNT)
    assert (
        compliance("multi-region-cloudtrail-enabled", account, {"readWriteType": "ALL", "includeManagementEvents": True}, store)
        == "COMPLIANT"
    )
    assert compliance("multi-region-cloudtrail-enabled", account, {"s3BucketName": "trail-logs-plain"}, store) == "NON_COMPLIANT"
    # trail-excludes-kms is WriteOnly and excludes KMS: it does not satisfy even readWriteType=WriteOnly
    assert compliance("multi-region-cloudtrail-enabled", excludes, {"readWriteType": "WriteOnly"}, store) == "NON_COMPLIANT"


def test_s3_data_events_bucket_list(estate):
    store = estate["store"]
    excludes = account_with(store, "us-east-1", {"trail-excludes-kms"})
    assert compliance("cloudtrail-s3-dataevents-enabled", excludes, store=store) == "NON_COMPLIANT"
    assert compliance("cloudtrail-s3-dataevents-enabled", excludes, {"S3BucketNames": "bucket-a"}, store) == "COMPLIANT"
    # only a prefix of bucket-b is logged
    result = evaluate("cloudtrail-s3-dataevents-enabled", excludes, {"S3BucketNames": "bucket-a, bucket-b"}, store)
    assert result.compliance.value == "NON_COMPLIANT" and "bucket-b" in result.annotation
    account = stored(store, ACCOUNT_TYPE, ACCOUNT)
    assert compliance("cloudtrail-s3-dataevents-enabled", account, {"S3BucketNames": "bucket-a,bucket-b"}, store) == "COMPLIANT"


def test_account_rules_insufficient_when_describe_trails_failed():
    account = ConfigurationItem(
        resourceType=ACCOUNT_TYPE,
        resourceId=ACCOUNT,
        resourceName=ACCOUNT,
        accountId=ACCOUNT,
        awsRegion="us-east-1",
        collectionErrors=failed("DescribeTrails", "cloudtrail:DescribeTrails"),
    )
    for rule_id in ("cloudtrail-enabled", "multi-region-cloudtrail-enabled", "cloudtrail-s3-dataevents-enabled"):
        result = evaluate(rule_id, account)
        assert result.compliance.value == "INSUFFICIENT_DATA" and "cloudtrail:DescribeTrails" in result.annotation
    # another region's account item without the key (CloudTrail not collected there): the rule does not apply
    other = ConfigurationItem(resourceType=ACCOUNT_TYPE, resourceId=ACCOUNT, accountId=ACCOUNT, awsRegion="global")
    assert evaluate("cloudtrail-enabled", other) is None


def _constructed_trail(name: str, selectors=None, errors=None, **configuration) -> ConfigurationItem:
    arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}"
    supplementary = {"TrailStatus": {"IsLogging": True}}
    if selectors is not None:
        supplementary["EventSelectors"] = selectors
    return ConfigurationItem(
        resourceType=TRAIL,
        resourceId=name,
        resourceName=name,
        accountId=ACCOUNT,
        awsRegion="us-east-1",
        arn=arn,
        configuration={"Name": name, "TrailARN": arn, **configuration},
        supplementaryConfiguration=supplementary,
        collectionErrors=errors or [],
    )


def _summary(name, **extra):
    return {
        "name": name,
        "arn": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}",
        "homeRegion": "us-east-1",
        "isMultiRegionTrail": True,
        "isOrganizationTrail": False,
        "isLogging": True,
        "s3BucketName": "b",
        "snsTopicArn": None,
        "cloudWatchLogsLogGroupArn": None,
        **extra,
    }


def test_insufficient_when_selectors_or_status_failed():
    trail = _constructed_trail("trail-selectors-denied", errors=failed("GetEventSelectors", "cloudtrail:GetEventSelectors"))
    account = ConfigurationItem(
        resourceType=ACCOUNT_TYPE,
        resourceId=ACCOUNT,
        accountId=ACCOUNT,
        awsRegion="us-east-1",
        configuration={"cloudTrailTrails": [_summary("trail-selectors-denied")]},
    )
    ctx_items = {TRAIL: [trail]}
    rule = RULES["cloudtrail-s3-dataevents-enabled"]
    ctx = RuleContext(now=utcnow(), lookup=lambda t: ctx_items.get(t, []))
    result = run_rule(ActiveRule(rule, rule.defaults(), None), account, ctx)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "cloudtrail:GetEventSelectors" in result.annotation
    rule = RULES["multi-region-cloudtrail-enabled"]
    assert run_rule(ActiveRule(rule, rule.defaults(), None), account, ctx).compliance.value == "INSUFFICIENT_DATA"
    # logging state unknown (GetTrailStatus failed for a shadow trail: error on the account item)
    unknown = ConfigurationItem(
        resourceType=ACCOUNT_TYPE,
        resourceId=ACCOUNT,
        accountId=ACCOUNT,
        awsRegion="eu-west-1",
        configuration={"cloudTrailTrails": [{k: v for k, v in _summary("trail-x").items() if k != "isLogging"}]},
        collectionErrors=failed("GetTrailStatus", "cloudtrail:GetTrailStatus"),
    )
    result = evaluate("cloudtrail-enabled", unknown)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "cloudtrail:GetTrailStatus" in result.annotation
    # ... unless another trail settles it
    unknown.configuration["cloudTrailTrails"].append(_summary("trail-y"))
    assert compliance("cloudtrail-enabled", unknown) == "COMPLIANT"


def test_organization_trail_of_another_account():
    org = _summary("org-trail", isOrganizationTrail=True, arn="arn:aws:cloudtrail:us-east-1:999999999999:trail/org-trail")
    account = ConfigurationItem(
        resourceType=ACCOUNT_TYPE, resourceId=ACCOUNT, accountId=ACCOUNT, awsRegion="us-east-1", configuration={"cloudTrailTrails": [org]}
    )
    result = evaluate("multi-region-cloudtrail-enabled", account)
    assert result.compliance.value == "COMPLIANT" and "not checked" in result.annotation
    assert compliance("multi-region-cloudtrail-enabled", account, {"readWriteType": "ALL"}) == "INSUFFICIENT_DATA"
    assert compliance("multi-region-cloudtrail-enabled", account, {"s3BucketName": "b"}) == "COMPLIANT"


def test_event_selector_parsing():
    assert management_events({"EventSelectors": [], "AdvancedEventSelectors": []}) == ({"ReadOnly", "WriteOnly"}, [])
    advanced = {
        "AdvancedEventSelectors": [
            {
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                    {"Field": "eventSource", "NotEquals": ["rdsdata.amazonaws.com"]},
                ]
            }
        ]
    }
    assert management_events(advanced) == ({"WriteOnly"}, ["rdsdata.amazonaws.com"])
    s3_all = {
        "AdvancedEventSelectors": [
            {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Data"]}, {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}
        ]
    }
    assert s3_data_events_cover(s3_all, None) and s3_data_events_cover(s3_all, "any-bucket")
    one_bucket = copy.deepcopy(s3_all)
    one_bucket["AdvancedEventSelectors"][0]["FieldSelectors"].append({"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::phi-bucket/"]})
    assert not s3_data_events_cover(one_bucket, None)
    assert s3_data_events_cover(one_bucket, "phi-bucket") and not s3_data_events_cover(one_bucket, "other")
    filtered = copy.deepcopy(s3_all)
    filtered["AdvancedEventSelectors"][0]["FieldSelectors"].append({"Field": "eventName", "Equals": ["GetObject"]})
    assert not s3_data_events_cover(filtered, None)


# -- CloudTrail: trail items ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule_id",
    [
        "cloud-trail-encryption-enabled",
        "cloud-trail-log-file-validation-enabled",
        "cloud-trail-cloud-watch-logs-enabled",
    ],
)
def test_trail_rules(estate, rule_id):
    v = estate["phase2"]
    assert verdict(v, rule_id, "trail-compliant") == "COMPLIANT", v[(rule_id, "trail-compliant", "us-east-1")]
    assert verdict(v, rule_id, "trail-plain") == "NON_COMPLIANT"
    assert v[(rule_id, "trail-plain", "us-east-1")]["annotation"]
    # a multi-region trail is evaluated once, in its home region
    assert (rule_id, "trail-compliant", "eu-west-1") not in v


def test_cloud_watch_logs_delivery_window(estate):
    trail = stored(estate["store"], TRAIL, "trail-compliant")
    result = evaluate("cloud-trail-cloud-watch-logs-enabled", trail, {"expectedDeliveryWindowAge": 24})
    assert result.compliance.value == "COMPLIANT" and "not checked" in result.annotation
    now = dt.datetime(2026, 1, 2, 12, tzinfo=dt.UTC)
    recent = _constructed_trail("trail-recent", CloudWatchLogsLogGroupArn="arn:aws:logs:us-east-1:1:log-group:g:*")
    recent.supplementaryConfiguration["TrailStatus"]["LatestCloudWatchLogsDeliveryTime"] = "2026-01-02T10:00:00Z"
    assert compliance("cloud-trail-cloud-watch-logs-enabled", recent, {"expectedDeliveryWindowAge": 24}, now=now) == "COMPLIANT"
    assert compliance("cloud-trail-cloud-watch-logs-enabled", recent, {"expectedDeliveryWindowAge": 1}, now=now) == "NON_COMPLIANT"
    broken = _constructed_trail("trail-broken", CloudWatchLogsLogGroupArn="arn:aws:logs:us-east-1:1:log-group:g:*")
    broken.supplementaryConfiguration["TrailStatus"]["LatestCloudWatchLogsDeliveryError"] = "AccessDenied"
    assert compliance("cloud-trail-cloud-watch-logs-enabled", broken, {"expectedDeliveryWindowAge": 24}, now=now) == "NON_COMPLIANT"
    denied = _constructed_trail(
        "trail-status-denied",
        CloudWatchLogsLogGroupArn="arn:aws:logs:us-east-1:1:log-group:g:*",
        errors=failed("GetTrailStatus", "cloudtrail:GetTrailStatus"),
    )
    del denied.supplementaryConfiguration["TrailStatus"]
    assert compliance("cloud-trail-cloud-watch-logs-enabled", denied, {"expectedDeliveryWindowAge": 24}, now=now) == "INSUFFICIENT_DATA"
    assert compliance("cloud-trail-cloud-watch-logs-enabled", denied, now=now) == "COMPLIANT"


# -- KMS ----------------------------------------------------------------------------------------------


def test_kms_rules(estate):
    v, keys = estate["phase2"], {k: m["KeyId"] for k, m in estate["keys"].items()}
    assert verdict(v, "kms-cmk-not-scheduled-for-deletion", keys["kms-rotation-on"]) == "COMPLIANT"
    assert verdict(v, "kms-cmk-not-scheduled-for-deletion", keys["kms-pending-deletion"]) == "NON_COMPLIANT"
    assert verdict(v, "cmk-backing-key-rotation-enabled", keys["kms-rotation-on"]) == "COMPLIANT"
    assert verdict(v, "cmk-backing-key-rotation-enabled", keys["kms-rotation-off"]) == "NON_COMPLIANT"
    assert verdict(v, "cmk-backing-key-rotation-enabled", keys["kms-pending-deletion"]) == "NOT_APPLICABLE"
    assert verdict(v, "cmk-backing-key-rotation-enabled", keys["kms-asymmetric"]) == "NOT_APPLICABLE"


def test_kms_key_ids_parameter(estate):
    store, keys = estate["store"], estate["keys"]
    pending = stored(store, "AWS::KMS::Key", keys["kms-pending-deletion"]["KeyId"])
    on = stored(store, "AWS::KMS::Key", keys["kms-rotation-on"]["KeyId"])
    params = {"kmsKeyIds": f"{keys['kms-rotation-on']['KeyId']}, alias/kms-rotation-off"}
    assert compliance("kms-cmk-not-scheduled-for-deletion", pending, params) is None  # not listed: not checked
    assert compliance("kms-cmk-not-scheduled-for-deletion", on, params) == "COMPLIANT"
    assert compliance("kms-cmk-not-scheduled-for-deletion", pending, {"kmsKeyIds": "alias/kms-pending-deletion"}) == "NON_COMPLIANT"


def test_kms_insufficient_when_describe_key_failed():
    key = ConfigurationItem(
        resourceType="AWS::KMS::Key",
        resourceId="1234abcd-12ab-34cd-56ef-1234567890ab",
        accountId=ACCOUNT,
        awsRegion="us-east-1",
        configuration={"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"},
        supplementaryConfiguration={"Aliases": []},
        collectionErrors=failed("DescribeKey", "kms:DescribeKey"),
    )
    for rule_id in ("kms-cmk-not-scheduled-for-deletion", "cmk-backing-key-rotation-enabled"):
        result = evaluate(rule_id, key)
        assert result.compliance.value == "INSUFFICIENT_DATA" and "kms:DescribeKey" in result.annotation


# -- CloudWatch alarms and log groups -------------------------------------------------------------------


def test_alarm_action_check(estate):
    v, store = estate["phase2"], estate["store"]
    assert verdict(v, "cloudwatch-alarm-action-check", "alarm-actions-ok") == "COMPLIANT"
    assert verdict(v, "cloudwatch-alarm-action-check", "alarm-no-actions") == "NON_COMPLIANT"
    e = v[("cloudwatch-alarm-action-check", "alarm-alarm-action-only", "us-east-1")]
    assert e["compliance"] == "NON_COMPLIANT" and "INSUFFICIENT_DATA" in e["annotation"]
    ok = stored(store, "AWS::CloudWatch::Alarm", "alarm-actions-ok")
    only = stored(store, "AWS::CloudWatch::Alarm", "alarm-alarm-action-only")
    assert compliance("cloudwatch-alarm-action-check", ok, {"okActionRequired": True}) == "NON_COMPLIANT"
    assert compliance("cloudwatch-alarm-action-check", only, {"insufficientDataActionRequired": False}) == "COMPLIANT"
    assert compliance("cloudwatch-alarm-action-check", ok, {"action1": estate["topics"]["topic-kms"]}) == "COMPLIANT"
    assert compliance("cloudwatch-alarm-action-check", ok, {"action2": estate["topics"]["topic-plain"]}) == "NON_COMPLIANT"


def test_log_group_rules(estate):
    v = estate["phase2"]
    retention, encrypted = "cw-loggroup-retention-period-check", "cloudwatch-log-group-encrypted"
    assert verdict(v, retention, "/phi/retention-365-kms") == "COMPLIANT"
    assert verdict(v, retention, "/phi/never-expires-plain") == "COMPLIANT"
    assert verdict(v, retention, "/phi/retention-30-plain") == "NON_COMPLIANT"
    assert "30 days" in v[(retention, "/phi/retention-30-plain", "us-east-1")]["annotation"]
    assert verdict(v, encrypted, "/phi/retention-365-kms") == "COMPLIANT"
    assert verdict(v, encrypted, "/phi/retention-30-plain") == "NON_COMPLIANT"
    assert RULES[retention].pack == RULES[encrypted].pack == "hipaa-extras"


def test_log_group_parameters(estate):
    store = estate["store"]
    short = stored(store, "AWS::Logs::LogGroup", "/phi/retention-30-plain")
    kms_group = stored(store, "AWS::Logs::LogGroup", "/phi/retention-365-kms")
    assert compliance("cw-loggroup-retention-period-check", short, {"MinRetentionTime": 30}) == "COMPLIANT"
    assert compliance("cw-loggroup-retention-period-check", kms_group, {"MinRetentionTime": 400}) == "NON_COMPLIANT"
    assert compliance("cw-loggroup-retention-period-check", short, {"LogGroupNames": "/phi/retention-365-kms"}) is None
    assert compliance("cloudwatch-log-group-encrypted", kms_group, {"KmsKeyId": estate["key_on"]}, store) == "COMPLIANT"
    assert compliance("cloudwatch-log-group-encrypted", kms_group, {"KmsKeyId": "alias/kms-rotation-on"}, store) == "COMPLIANT"
    assert compliance("cloudwatch-log-group-encrypted", kms_group, {"KmsKeyId": estate["key_off"]}, store) == "NON_COMPLIANT"


# -- SNS ----------------------------------------------------------------------------------------------


def test_sns_encrypted_kms(estate):
    v, store, topics = estate["phase2"], estate["store"], estate["topics"]
    assert verdict(v, "sns-encrypted-kms", topics["topic-kms"]) == "COMPLIANT"
    assert verdict(v, "sns-encrypted-kms", topics["topic-aws-managed-key"]) == "COMPLIANT"
    assert verdict(v, "sns-encrypted-kms", topics["topic-plain"]) == "NON_COMPLIANT"
    kms_topic = stored(store, "AWS::SNS::Topic", topics["topic-kms"])
    aws_topic = stored(store, "AWS::SNS::Topic", topics["topic-aws-managed-key"])
    # the topic names the key by ARN, the parameter by alias (and vice versa): resolved through the KMS inventory
    assert compliance("sns-encrypted-kms", kms_topic, {"kmsKeyIds": "alias/kms-rotation-on"}, store) == "COMPLIANT"
    assert compliance("sns-encrypted-kms", kms_topic, {"kmsKeyIds": estate["keys"]["kms-rotation-on"]["KeyId"]}, store) == "COMPLIANT"
    assert compliance("sns-encrypted-kms", aws_topic, {"kmsKeyIds": "alias/kms-rotation-on"}, store) == "NON_COMPLIANT"
    assert compliance("sns-encrypted-kms", aws_topic, {"kmsKeyIds": "alias/aws/sns"}, store) == "COMPLIANT"


def test_sns_insufficient_when_attributes_failed():
    arn = f"arn:aws:sns:us-east-1:{ACCOUNT}:topic-denied"
    topic = ConfigurationItem(
        resourceType="AWS::SNS::Topic",
        resourceId=arn,
        arn=arn,
        accountId=ACCOUNT,
        awsRegion="us-east-1",
        configuration={"TopicArn": arn},
        collectionErrors=failed("GetTopicAttributes", "sns:GetTopicAttributes"),
    )
    result = evaluate("sns-encrypted-kms", topic)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "sns:GetTopicAttributes" in result.annotation


# -- Secrets Manager ------------------------------------------------------------------------------------


def test_secrets_rules(estate):
    v, arns = estate["phase2"], estate["secrets"]
    rotation, cmk = "secretsmanager-rotation-enabled-check", "secretsmanager-using-cmk"
    assert verdict(v, rotation, arns["secret-rotated-30-cmk"]) == "COMPLIANT"
    assert verdict(v, rotation, arns["secret-rotated-120-alias"]) == "COMPLIANT"
    assert verdict(v, rotation, arns["secret-unrotated-default-key"]) == "NON_COMPLIANT"
    assert verdict(v, cmk, arns["secret-rotated-30-cmk"]) == "COMPLIANT"
    assert verdict(v, cmk, arns["secret-rotated-120-alias"]) == "COMPLIANT"
    assert verdict(v, cmk, arns["secret-unrotated-default-key"]) == "NON_COMPLIANT"


def test_secrets_parameters(estate):
    store, arns = estate["store"], estate["secrets"]
    every_30 = stored(store, "AWS::SecretsManager::Secret", arns["secret-rotated-30-cmk"])
    every_120 = stored(store, "AWS::SecretsManager::Secret", arns["secret-rotated-120-alias"])
    rotation = "secretsmanager-rotation-enabled-check"
    assert compliance(rotation, every_30, {"maximumAllowedRotationFrequency": 90}) == "COMPLIANT"
    result = evaluate(rotation, every_120, {"maximumAllowedRotationFrequency": 90})
    assert result.compliance.value == "NON_COMPLIANT" and "120 days" in result.annotation
    assert compliance(rotation, every_30, {"maximumAllowedRotationFrequencyInHours": 24}) == "NON_COMPLIANT"
    key_on = estate["key_on"]
    assert compliance("secretsmanager-using-cmk", every_30, {"kmsKeyArns": key_on}, store) == "COMPLIANT"
    # the secret names its key by alias; the parameter lists ARNs
    assert compliance("secretsmanager-using-cmk", every_120, {"kmsKeyArns": key_on}, store) == "NON_COMPLIANT"
    assert compliance("secretsmanager-using-cmk", every_120, {"kmsKeyArns": f"{key_on},{estate['key_off']}"}, store) == "COMPLIANT"


def _secret(name, **configuration):
    arn = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{name}-AbCdEf"
    return ConfigurationItem(
        resourceType="AWS::SecretsManager::Secret",
        resourceId=arn,
        arn=arn,
        resourceName=name,
        accountId=ACCOUNT,
        awsRegion="us-east-1",
        configuration={"ARN": arn, "Name": name, **configuration},
    )


def test_secret_schedule_expressions_and_keys():
    rotation = "secretsmanager-rotation-enabled-check"
    hourly = _secret("secret-rate-10-hours", RotationEnabled=True, RotationRules={"ScheduleExpression": "rate(10 hours)"})
    assert compliance(rotation, hourly, {"maximumAllowedRotationFrequencyInHours": 12}) == "COMPLIANT"
    assert compliance(rotation, hourly, {"maximumAllowedRotationFrequencyInHours": 8}) == "NON_COMPLIANT"
    twice_monthly = _secret(
        "secret-cron", RotationEnabled=True, RotationRules={"ScheduleExpression": "cron(0 16 1,15 * ? *)", "Duration": "2h"}
    )
    assert compliance(rotation, twice_monthly, {"maximumAllowedRotationFrequency": 14}) == "NON_COMPLIANT"
    assert compliance(rotation, twice_monthly, {"maximumAllowedRotationFrequency": 17}) == "COMPLIANT"
    unreadable = _secret("secret-cron-w", RotationEnabled=True, RotationRules={"ScheduleExpression": "cron(0 8 15W * ? *)"})
    assert compliance(rotation, unreadable, {"maximumAllowedRotationFrequency": 30}) == "INSUFFICIENT_DATA"
    assert compliance(rotation, unreadable) == "COMPLIANT"
    cross_account = _secret("secret-cross-account", KmsKeyId="arn:aws:kms:us-east-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    result = evaluate("secretsmanager-using-cmk", cross_account)
    assert result.compliance.value == "NON_COMPLIANT" and "999999999999" in result.annotation
    cross_alias = _secret("secret-cross-account-alias", KmsKeyId="arn:aws:kms:us-east-1:999999999999:alias/shared")
    assert compliance("secretsmanager-using-cmk", cross_alias) == "NON_COMPLIANT"
    own_alias = _secret("secret-own-alias", KmsKeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app")
    assert compliance("secretsmanager-using-cmk", own_alias) == "COMPLIANT"
    explicit_default = _secret("secret-explicit-default", KmsKeyId="alias/aws/secretsmanager")
    assert compliance("secretsmanager-using-cmk", explicit_default) == "NON_COMPLIANT"


@pytest.mark.parametrize(
    "rules,hours",
    [
        ({"ScheduleExpression": "rate(30 days)"}, 720),
        ({"ScheduleExpression": "cron(0 */4 * * ? *)"}, 4),
        ({"ScheduleExpression": "cron(0 0 ? * MON *)"}, 168),
        ({"ScheduleExpression": "cron(0 8 ? * 2#1 *)"}, 35 * 24),
        ({"ScheduleExpression": "cron(0 8 L * ? *)"}, 31 * 24),
        ({"ScheduleExpression": "cron(0 8 15W * ? *)", "AutomaticallyAfterDays": 30}, 720),
        ({"AutomaticallyAfterDays": 7}, 168),
        ({}, None),
    ],
)
def test_rotation_interval(rules, hours):
    assert rotation_interval_hours(rules, dt.date(2026, 1, 1)) == hours
