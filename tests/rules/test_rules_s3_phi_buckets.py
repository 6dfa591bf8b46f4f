"""hipaa-extras S3 rules on constructed items: Object Lock and cross-region replication of PHI buckets."""

from __future__ import annotations

import datetime as dt

from phiwatch.model import ConfigurationItem
from rule_runner import judge_rule, verdict_and_annotation

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def judge(rule_id, item, items=()):
    return verdict_and_annotation(judge_rule(rule_id, item, lookup=lambda t: [i for i in items if i.resourceType == t], now=NOW))


def bucket(name, region="us-east-1", tags=None, **sup):
    return ConfigurationItem(
        resourceType="AWS::S3::Bucket",
        resourceId=name,
        resourceName=name,
        awsRegion=region,
        accountId="111122223333",
        tags=tags or {},
        supplementaryConfiguration=sup,
    )


PHI = {"PHI": "Yes"}


def test_object_lock_on_phi_buckets():
    locked = bucket("phi-locked", tags=PHI, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    unlocked = bucket("phi-unlocked", tags=PHI, ObjectLockConfiguration=None)
    assert judge("s3-phi-bucket-object-lock-enabled", locked)[0] == "COMPLIANT"
    assert judge("s3-phi-bucket-object-lock-enabled", unlocked)[0] == "NON_COMPLIANT"
    assert judge("s3-phi-bucket-object-lock-enabled", bucket("not-phi", ObjectLockConfiguration=None)) is None


def _replicating(name, dest):
    return bucket(
        name, tags=PHI, BucketReplicationConfiguration={"Rules": [{"Status": "Enabled", "Destination": {"Bucket": f"arn:aws:s3:::{dest}"}}]}
    )


def test_cross_region_replication():
    west = bucket("dr-copy-west", region="us-west-2")
    east = bucket("copy-east")
    assert judge("s3-phi-bucket-cross-region-replication", _replicating("phi-crr", "dr-copy-west"), [west, east])[0] == "COMPLIANT"
    verdict, why = judge("s3-phi-bucket-cross-region-replication", _replicating("phi-srr", "copy-east"), [west, east])
    assert verdict == "NON_COMPLIANT" and "own region" in why
    verdict, why = judge("s3-phi-bucket-cross-region-replication", _replicating("phi-unknown", "elsewhere"), [west])
    assert verdict == "NON_COMPLIANT" and "outside the inventory" in why
    assert (
        judge("s3-phi-bucket-cross-region-replication", bucket("phi-none", tags=PHI, BucketReplicationConfiguration=None))[0]
        == "NON_COMPLIANT"
    )
