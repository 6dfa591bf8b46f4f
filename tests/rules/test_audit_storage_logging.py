"""S3, CloudTrail and AWS Backup rules of the HIPAA pack checked against AWS's rule pages.

Parameters go through a policy (as a user writes them: strings such as "false" or "cross-region"), so
they are coerced exactly as in a scan. Cases moto can represent are built there and collected; the
others are constructed items.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.policy import parse_policy
from phiwatch.rules.active import active_rules, resolve_rules
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import built_item, judge_rule

ACCOUNT = "123456789012"
BUCKET = "AWS::S3::Bucket"
ALL_BPA = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}


def policy_params(rule_id: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters ``rule_id`` receives when a policy sets ``parameters`` (validated and coerced)."""
    policy = parse_policy(json.dumps({"rules": {rule_id: {"parameters": parameters}}}))
    active = active_rules(policy, resolve_rules(policy), only={rule_id})
    assert len(active) == 1
    return active[0].params


def verdict(rule_id: str, item: ConfigurationItem, parameters: dict[str, Any] | None = None, others=()) -> str | None:
    params = policy_params(rule_id, parameters or {})
    result = judge_rule(rule_id, item, params=params, others=others)
    return None if result is None else result.compliance.value


def bucket(name: str, region: str = "us-east-1", **supplementary: Any) -> ConfigurationItem:
    item = built_item(BUCKET, {"name": name}, supplementary, resource_id=name, region=region)
    item.arn = f"arn:aws:s3:::{name}"
    return item


def account_item(region: str, bpa: dict[str, bool] | None) -> ConfigurationItem:
    return built_item(ACCOUNT_TYPE, {"s3AccountPublicAccessBlock": bpa}, resource_id=ACCOUNT, region=region)


# -- s3-account-level-public-access-blocks-periodic ----------------------------------------------------


def test_account_bpa_parameter_false_asks_for_the_setting_off():
    rule_id = "s3-account-level-public-access-blocks-periodic"
    item = account_item("us-east-1", ALL_BPA)
    assert verdict(rule_id, item) == "COMPLIANT"
    # AWS: NON_COMPLIANT when the configuration does not match a setting given as a parameter
    assert verdict(rule_id, item, {"RestrictPublicBuckets": "false"}) == "NON_COMPLIANT"
    off = account_item("us-east-1", {**ALL_BPA, "RestrictPublicBuckets": False})
    assert verdict(rule_id, off, {"RestrictPublicBuckets": "FALSE"}) == "COMPLIANT"
    assert verdict(rule_id, off, {"RestrictPublicBuckets": "True"}) == "NON_COMPLIANT"


def test_account_without_bpa_reads_as_all_off():
    rule_id = "s3-account-level-public-access-blocks-periodic"
    item = account_item("us-east-1", None)
    assert verdict(rule_id, item) == "NON_COMPLIANT"
    all_false = {k: "false" for k in ALL_BPA}
    assert verdict(rule_id, item, all_false) == "COMPLIANT"
    # the global account item is not judged: AWS evaluates the rule per region
    assert verdict(rule_id, account_item("global", ALL_BPA)) is None


# -- s3-bucket-server-side-encryption-enabled ------------------------------------------------------------


def _deny_unencrypted(name: str, condition: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{name}/*",
                    "Condition": condition,
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def s3_estate(emulator, tmp_path_factory):
    """Buckets in moto (no default encryption there, unlike AWS since 2023), collected by a scan."""
    emulator.reset()
    session = emulator.session()
    from phiwatch.aws.session import AwsContext, make_client

    s3 = make_client(session, "s3", emulator.endpoint)
    for name in ("sse-by-policy-null", "sse-by-policy-values", "sse-policy-other", "sse-none", "repl-dest-east"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(
        Bucket="sse-by-policy-null", Policy=_deny_unencrypted("sse-by-policy-null", {"Null": {"s3:x-amz-server-side-encryption": "true"}})
    )
    s3.put_bucket_policy(
        Bucket="sse-by-policy-values",
        Policy=_deny_unencrypted("sse-by-policy-values", {"StringNotEquals": {"s3:x-amz-server-side-encryption": ["AES256", "aws:kms"]}}),
    )
    # denies only one unrelated header: not a requirement for encryption
    s3.put_bucket_policy(
        Bucket="sse-policy-other", Policy=_deny_unencrypted("sse-policy-other", {"StringNotEquals": {"s3:x-amz-acl": "private"}})
    )
    s3.create_bucket(Bucket="repl-dest-west", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    for name in ("repl-source", "repl-two-rules", "repl-dest-east", "repl-dest-west"):
        if name not in ("repl-dest-east", "repl-dest-west"):
            s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})

    def rule(rule_id: str, dest: str, status: str = "Enabled", priority: int = 1) -> dict[str, Any]:
        return {
            "ID": rule_id,
            "Status": status,
            "Priority": priority,
            "Filter": {"Prefix": rule_id},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {"Bucket": f"arn:aws:s3:::{dest}"},
        }

    role = f"arn:aws:iam::{ACCOUNT}:role/replication"
    s3.put_bucket_replication(Bucket="repl-source", ReplicationConfiguration={"Role": role, "Rules": [rule("west", "repl-dest-west")]})
    s3.put_bucket_replication(
        Bucket="repl-two-rules",
        ReplicationConfiguration={"Role": role, "Rules": [rule("on", "repl-dest-west"), rule("off", "repl-dest-east", "Disabled", 2)]},
    )
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('audit-s3') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=["us-east-1", "eu-west-1"], session=session)
    run_scan(ctx, store, parse_policy("{}"), services=["s3"])
    items = {i.resourceId: i for i in store.current_items() if i.resourceType == BUCKET}
    yield items
    store.close()


def test_sse_bucket_policy_denying_unencrypted_puts_is_compliant(s3_estate):
    rule_id = "s3-bucket-server-side-encryption-enabled"
    assert verdict(rule_id, s3_estate["sse-by-policy-null"]) == "COMPLIANT"
    assert verdict(rule_id, s3_estate["sse-by-policy-values"]) == "COMPLIANT"
    assert verdict(rule_id, s3_estate["sse-policy-other"]) == "NON_COMPLIANT"
    assert verdict(rule_id, s3_estate["sse-none"]) == "NON_COMPLIANT"


# -- s3-bucket-replication-enabled -----------------------------------------------------------------------


def test_replication_rule_not_enabled_is_non_compliant(s3_estate):
    rule_id = "s3-bucket-replication-enabled"
    assert verdict(rule_id, s3_estate["repl-source"]) == "COMPLIANT"
    # AWS: NON_COMPLIANT if the bucket has a replication rule that is not enabled
    assert verdict(rule_id, s3_estate["repl-two-rules"]) == "NON_COMPLIANT"


def test_replication_type_is_checked_against_the_destination_region(s3_estate):
    rule_id = "s3-bucket-replication-enabled"
    estate = list(s3_estate.values())
    source = s3_estate["repl-source"]  # us-east-1 -> eu-west-1
    assert verdict(rule_id, source, {"ReplicationType": "CROSS-REGION"}, others=estate) == "COMPLIANT"
    assert verdict(rule_id, source, {"ReplicationType": "same-region"}, others=estate) == "NON_COMPLIANT"
    # a destination outside the inventory: its region is unknown
    assert verdict(rule_id, source, {"ReplicationType": "CROSS-REGION"}) == "INSUFFICIENT_DATA"


# -- s3-bucket-public-read-prohibited / write --------------------------------------------------------------


def test_public_policy_actions_are_matched_without_regard_to_case():
    policy = {
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["S3:GetObject", "s3:putobject"], "Resource": "arn:aws:s3:::b/*"}]
    }
    item = bucket(
        "b",
        AccessControlList={"Owner": {"ID": "o"}, "Grants": []},
        BucketPolicy={"policyText": json.dumps(policy)},
        PublicAccessBlockConfiguration=None,
    )
    assert verdict("s3-bucket-public-read-prohibited", item) == "NON_COMPLIANT"
    assert verdict("s3-bucket-public-write-prohibited", item) == "NON_COMPLIANT"


# -- multi-region-cloudtrail-enabled ---------------------------------------------------------------------


def test_multi_region_read_write_type_any_case():
    arn = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
    trail = built_item(
        "AWS::CloudTrail::Trail",
        {"Name": "main", "TrailARN": arn, "IsMultiRegionTrail": True},
        {"EventSelectors": {"EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True}]}},
        resource_id="main",
    )
    trail.arn = arn
    account = built_item(
        ACCOUNT_TYPE,
        {"cloudTrailTrails": [{"name": "main", "arn": arn, "isMultiRegionTrail": True, "isLogging": True}]},
        resource_id=ACCOUNT,
    )
    rule_id = "multi-region-cloudtrail-enabled"
    assert verdict(rule_id, account, {"readWriteType": "readonly"}, others=[trail]) == "COMPLIANT"
    assert verdict(rule_id, account, {"readWriteType": "WRITEONLY"}, others=[trail]) == "NON_COMPLIANT"
    assert verdict(rule_id, account, {"readWriteType": "sometimes"}, others=[trail]) == "INSUFFICIENT_DATA"


# -- s3-bucket-default-lock-enabled / s3-bucket-ssl-requests-only ------------------------------------------------


def test_object_lock_mode_any_case():
    item = bucket(
        "locked", ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}
    )
    assert verdict("s3-bucket-default-lock-enabled", item, {"mode": "governance"}) == "COMPLIANT"
    assert verdict("s3-bucket-default-lock-enabled", item, {"mode": "COMPLIANCE"}) == "NON_COMPLIANT"


def test_tls_deny_action_any_case():
    policy = {
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "S3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        ]
    }
    item = bucket("tls", BucketPolicy={"policyText": json.dumps(policy)})
    assert verdict("s3-bucket-ssl-requests-only", item) == "COMPLIANT"


# -- backup-plan-min-frequency-and-min-retention-check ------------------------------------------------------


def _plan(schedule: str, delete_after: int | None) -> ConfigurationItem:
    lifecycle = {"DeleteAfterDays": delete_after} if delete_after is not None else {}
    return built_item(
        "AWS::Backup::BackupPlan",
        {"BackupPlanName": "p", "Rules": [{"RuleName": "r", "ScheduleExpression": schedule, "Lifecycle": lifecycle}]},
        resource_id="plan-1",
    )


def test_backup_plan_frequency_parameters_as_aws_accepts_them():
    rule_id = "backup-plan-min-frequency-and-min-retention-check"
    every_12h = _plan("cron(0 */12 ? * * *)", 35)
    assert verdict(rule_id, every_12h, {"requiredFrequencyUnit": "HOURS", "requiredFrequencyValue": "12"}) == "COMPLIANT"
    assert verdict(rule_id, every_12h, {"requiredFrequencyUnit": "hours", "requiredFrequencyValue": 6}) == "NON_COMPLIANT"
    # 'weeks' is not a unit AWS accepts: not silently read as days
    assert verdict(rule_id, every_12h, {"requiredFrequencyUnit": "weeks"}) == "INSUFFICIENT_DATA"
    assert verdict(rule_id, every_12h, {"requiredFrequencyUnit": "hours", "requiredFrequencyValue": 48}) == "INSUFFICIENT_DATA"
    assert verdict(rule_id, every_12h, {"requiredFrequencyValue": 0}) == "INSUFFICIENT_DATA"
    assert verdict(rule_id, every_12h, {"requiredRetentionDays": "36"}) == "NON_COMPLIANT"


# -- s3-event-notifications-enabled -----------------------------------------------------------------------


def test_event_types_covered_by_a_wildcard_event():
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:events"
    item = bucket(
        "notify",
        BucketNotificationConfiguration={"TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]},
    )
    rule_id = "s3-event-notifications-enabled"
    assert verdict(rule_id, item, {"eventTypes": "s3:ObjectCreated:Put, s3:ObjectCreated:Copy"}) == "COMPLIANT"
    assert verdict(rule_id, item, {"eventTypes": "s3:ObjectCreated:Put,s3:ObjectRemoved:*"}) == "NON_COMPLIANT"
