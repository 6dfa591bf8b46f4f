"""S3 rules on a real estate in moto's server: one estate, one scan, a verdict per named bucket."""

from __future__ import annotations

import json

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.model import ConfigurationItem, utcnow
from phiwatch.policy import Policy, parse_policy
from phiwatch.rules.active import ActiveRule, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.rules.registry import catalogue
from phiwatch.scan import run_scan
from phiwatch.store import Store

ALL_BPA = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}


def _tls_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def s3_scan(emulator, tmp_path_factory):
    emulator.reset()
    session = emulator.session()
    s3 = make_client(session, "s3", emulator.endpoint)
    for name in (
        "bucket-all-good",
        "bucket-all-bad",
        "bucket-public-read",
        "bucket-public-policy",
        "log-target",
        "bucket-kms",
        "bucket-mfa-delete-wanted",
        "bucket-locked",
        "bucket-replicated",
        "bucket-notify",
    ):
        kwargs = {"ObjectLockEnabledForBucket": True} if name == "bucket-locked" else {}
        s3.create_bucket(Bucket=name, **kwargs)
    s3.put_bucket_acl(Bucket="log-target", ACL="log-delivery-write")
    good = "bucket-all-good"
    s3.put_bucket_logging(Bucket=good, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "log-target", "TargetPrefix": "good/"}})
    s3.put_bucket_versioning(Bucket=good, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=good, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    )
    s3.put_public_access_block(Bucket=good, PublicAccessBlockConfiguration=ALL_BPA)
    s3.put_bucket_policy(Bucket=good, Policy=_tls_policy(good))
    s3.put_bucket_ownership_controls(Bucket=good, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    s3.put_bucket_lifecycle_configuration(
        Bucket=good,
        LifecycleConfiguration={
            "Rules": [
                {"ID": "old-versions", "Status": "Enabled", "Filter": {"Prefix": ""}, "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}
            ]
        },
    )
    s3.put_bucket_acl(Bucket="bucket-public-read", ACL="public-read")
    s3.put_bucket_policy(
        Bucket="bucket-public-policy",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": "arn:aws:s3:::bucket-public-policy/*",
                    }
                ],
            }
        ),
    )
    s3.put_bucket_encryption(
        Bucket="bucket-kms",
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": "arn:aws:kms:us-east-1:123456789012:key/abc",
                    }
                }
            ]
        },
    )
    s3.put_bucket_versioning(Bucket="bucket-mfa-delete-wanted", VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(
        Bucket="bucket-locked",
        ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}},
    )
    s3.put_bucket_versioning(Bucket="bucket-replicated", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket="log-target", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(
        Bucket="bucket-replicated",
        ReplicationConfiguration={
            "Role": "arn:aws:iam::123456789012:role/r",
            "Rules": [
                {
                    "ID": "all",
                    "Status": "Enabled",
                    "Priority": 1,
                    "Filter": {"Prefix": ""},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                    "Destination": {"Bucket": "arn:aws:s3:::log-target"},
                }
            ],
        },
    )
    sns = make_client(session, "sns", emulator.endpoint)
    topic = sns.create_topic(Name="bucket-events")["TopicArn"]
    s3.put_bucket_notification_configuration(
        Bucket="bucket-notify", NotificationConfiguration={"TopicConfigurations": [{"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]}
    )
    make_client(session, "s3control", emulator.endpoint).put_public_access_block(
        AccountId="123456789012", PublicAccessBlockConfiguration={**ALL_BPA, "IgnorePublicAcls": False, "RestrictPublicBuckets": False}
    )
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('s3rules') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=["us-east-1"], session=session)
    outcome = run_scan(ctx, store, Policy(), services=["s3"])
    verdicts = {(e["rule_id"], e["resource_id"]): e for e in outcome.scan["evaluations"]}
    yield verdicts, store, ctx
    store.close()


def verdict(verdicts, rule_id, resource_id):
    return verdicts[(rule_id, resource_id)]["compliance"]


@pytest.mark.parametrize(
    "rule_id,compliant,non_compliant",
    [
        ("s3-bucket-logging-enabled", "bucket-all-good", "bucket-all-bad"),
        ("s3-bucket-server-side-encryption-enabled", "bucket-all-good", "bucket-all-bad"),
        ("s3-bucket-versioning-enabled", "bucket-all-good", "bucket-all-bad"),
        ("s3-bucket-ssl-requests-only", "bucket-all-good", "bucket-all-bad"),
        ("s3-bucket-acl-prohibited", "bucket-all-good", "log-target"),
        ("s3-bucket-public-read-prohibited", "bucket-all-good", "bucket-public-read"),
        ("s3-bucket-public-write-prohibited", "bucket-all-good", "bucket-public-policy"),
        ("s3-default-encryption-kms", "bucket-kms", "bucket-all-good"),
        ("s3-bucket-default-lock-enabled", "bucket-locked", "bucket-all-bad"),
        ("s3-bucket-replication-enabled", "bucket-replicated", "bucket-all-bad"),
        ("s3-event-notifications-enabled", "bucket-notify", "bucket-all-bad"),
        ("s3-version-lifecycle-policy-check", "bucket-all-good", "bucket-mfa-delete-wanted"),
    ],
)
def test_bucket_rules(s3_scan, rule_id, compliant, non_compliant):
    verdicts, _, _ = s3_scan
    assert verdict(verdicts, rule_id, compliant) == "COMPLIANT", verdicts[(rule_id, compliant)]["annotation"]
    assert verdict(verdicts, rule_id, non_compliant) == "NON_COMPLIANT"
    assert verdicts[(rule_id, non_compliant)]["annotation"]


def test_public_read_policy_counts_as_public(s3_scan):
    verdicts, _, _ = s3_scan
    assert verdict(verdicts, "s3-bucket-public-read-prohibited", "bucket-public-policy") == "NON_COMPLIANT"
    # the public-read ACL grants READ only: not public write
    assert verdict(verdicts, "s3-bucket-public-write-prohibited", "bucket-public-read") == "COMPLIANT"


def test_lifecycle_rule_not_applicable_to_unversioned(s3_scan):
    verdicts, _, _ = s3_scan
    assert ("s3-version-lifecycle-policy-check", "bucket-all-bad") not in verdicts


def test_account_public_access_block(s3_scan):
    verdicts, _, _ = s3_scan
    e = verdicts[("s3-account-level-public-access-blocks-periodic", "123456789012")]
    assert e["compliance"] == "NON_COMPLIANT"
    assert "RestrictPublicBuckets" in e["annotation"] and "IgnorePublicAcls" in e["annotation"]
    assert e["region"] == "us-east-1"  # AWS Config deploys the rule per region: one evaluation per region of the scan


def test_contract_fields(s3_scan):
    verdicts, _, _ = s3_scan
    e = verdicts[("s3-bucket-logging-enabled", "bucket-all-bad")]
    assert e["arn"] == "arn:aws:s3:::bucket-all-bad"
    assert e["hipaa_sections"] == ["164.308(a)(3)(ii)(A)", "164.312(b)"]
    assert e["severity"] == "medium" and e["account_id"] == "123456789012" and e["region"] == "us-east-1"


def test_parameters_change_verdicts(s3_scan):
    _, store, ctx = s3_scan
    policy = parse_policy("""
rules:
  s3-bucket-versioning-enabled:
    parameters: {isMfaDeleteEnabled: true}
  s3-bucket-logging-enabled:
    parameters: {targetPrefix: other/}
""")
    outcome = run_scan(ctx, store, policy, collect_first=False)
    verdicts = {(e["rule_id"], e["resource_id"]): e for e in outcome.scan["evaluations"]}
    # moto does not keep MFADelete, so no bucket has it: versioned buckets now fail
    assert verdict(verdicts, "s3-bucket-versioning-enabled", "bucket-mfa-delete-wanted") == "NON_COMPLIANT"
    assert verdict(verdicts, "s3-bucket-logging-enabled", "bucket-all-good") == "NON_COMPLIANT"
    # back to defaults: parameters changed again, so everything is re-evaluated
    outcome = run_scan(ctx, store, Policy(), collect_first=False)
    verdicts = {(e["rule_id"], e["resource_id"]): e for e in outcome.scan["evaluations"]}
    assert verdict(verdicts, "s3-bucket-logging-enabled", "bucket-all-good") == "COMPLIANT"


def test_denied_read_is_insufficient_data():
    rules = catalogue()
    item = ConfigurationItem(
        resourceType="AWS::S3::Bucket",
        resourceId="bucket-logging-denied",
        awsRegion="us-east-1",
        accountId="111122223333",
        supplementaryConfiguration={},
        collectionErrors=[{"api": "GetBucketLogging", "error": "AccessDenied", "iam_action": "s3:GetBucketLogging"}],
    )
    rule = rules["s3-bucket-logging-enabled"]
    result = run_rule(ActiveRule(rule, rule.defaults(), None), item, RuleContext(now=utcnow()))
    assert result.compliance.value == "INSUFFICIENT_DATA"
    assert "s3:GetBucketLogging" in result.annotation and "AccessDenied" in result.annotation
    # a key that is missing without a failed call means "not collected": the rule does not apply
    item.collectionErrors = []
    assert run_rule(ActiveRule(rule, rule.defaults(), None), item, RuleContext(now=utcnow())) is None
