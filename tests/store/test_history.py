"""Configuration history: versions only on change, deletions kept, readable diffs, point-in-time."""

from __future__ import annotations

import datetime as dt
import threading

from phiwatch.collect.runner import collect
from phiwatch.model import ConfigurationItem
from phiwatch.store.diff import diff_items


def test_new_version_only_when_state_changes(aws_env, store):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="bucket-versioning-changes")
    ctx = aws_env.context()
    collect(ctx, store, services=["s3"])
    collect(ctx, store, services=["s3"])
    row = store.resolve("bucket-versioning-changes")
    assert row["version"] == 1
    s3.put_bucket_versioning(Bucket="bucket-versioning-changes", VersioningConfiguration={"Status": "Enabled"})
    result = collect(ctx, store, services=["s3"])
    assert result.changed == 1
    versions = store.history(row["id"])
    assert [v["version"] for v in versions] == [1, 2]
    changes = diff_items(versions[0]["item"], versions[1]["item"])
    texts = [c.describe() for c in changes]
    assert "supplementaryConfiguration.BucketVersioningConfiguration.status: Off -> Enabled" in texts


def test_deleted_resource_is_kept_with_status(aws_env, store):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="bucket-soon-deleted")
    ctx = aws_env.context()
    collect(ctx, store, services=["s3"])
    s3.delete_bucket(Bucket="bucket-soon-deleted")
    result = collect(ctx, store, services=["s3"])
    assert result.deleted == 1
    row = store.resolve("bucket-soon-deleted")
    assert row["status"] == "ResourceDeleted"
    assert store.inventory(resource_type="AWS::S3::Bucket") == []
    assert len(store.inventory(resource_type="AWS::S3::Bucket", include_deleted=True)) == 1
    # evidence of what it was before deletion stays
    first = store.history(row["id"])[0]["item"]
    assert first["supplementaryConfiguration"]["BucketVersioningConfiguration"]["status"] == "Off"


def test_point_in_time_item(store):
    item = ConfigurationItem(
        resourceType="AWS::EC2::SecurityGroup",
        resourceId="sg-1",
        awsRegion="us-east-1",
        accountId="111122223333",
        configuration={"IpPermissions": []},
        configurationItemCaptureTime="2026-01-01T00:00:00Z",
    )
    later = ConfigurationItem(
        resourceType="AWS::EC2::SecurityGroup",
        resourceId="sg-1",
        awsRegion="us-east-1",
        accountId="111122223333",
        configuration={"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]},
        configurationItemCaptureTime="2026-02-01T00:00:00Z",
    )
    with store.writer(None) as w:
        w.record(item)
        w.record(later, changed_by="arn:aws:iam::111122223333:user/alice")
    row = store.resolve("sg-1")
    jan = store.item_at(row["id"], dt.datetime(2026, 1, 15, tzinfo=dt.UTC))
    assert jan["version"] == 1 and jan["item"]["configuration"]["IpPermissions"] == []
    now = store.item_at(row["id"])
    assert now["version"] == 2 and now["changed_by"].endswith("user/alice")
    assert store.item_at(row["id"], dt.datetime(2025, 12, 1, tzinfo=dt.UTC)) is None
    texts = [c.describe() for c in diff_items(jan["item"], now["item"])]
    assert texts == ["configuration.IpPermissions: added tcp/22 from 0.0.0.0/0"]


def test_older_observation_never_overwrites_newer(store):
    newer = ConfigurationItem(
        resourceType="AWS::EC2::Volume",
        resourceId="vol-1",
        awsRegion="us-east-1",
        accountId="111122223333",
        configuration={"Encrypted": True},
        configurationItemCaptureTime="2026-03-01T00:00:00Z",
    )
    older = ConfigurationItem(
        resourceType="AWS::EC2::Volume",
        resourceId="vol-1",
        awsRegion="us-east-1",
        accountId="111122223333",
        configuration={"Encrypted": False},
        configurationItemCaptureTime="2026-02-01T00:00:00Z",
    )
    with store.writer(None) as w:
        w.record(newer)
        assert w.record(older) == "stale"
    row = store.resolve("vol-1")
    assert row["version"] == 1
    assert store.item_at(row["id"])["item"]["configuration"] == {"Encrypted": True}


def test_tag_search(store):
    with store.writer(None) as w:
        for i, owner in enumerate(["a@example.org", "b@example.org", "a@example.org"]):
            w.record(
                ConfigurationItem(
                    resourceType="AWS::EC2::Instance",
                    resourceId=f"i-{i}",
                    awsRegion="us-east-1",
                    accountId="111122223333",
                    tags={"InstanceOwnerEmail": owner},
                )
            )
    found = store.inventory(resource_type="AWS::EC2::Instance", tags={"InstanceOwnerEmail": "a@example.org"})
    assert sorted(r["resource_id"] for r in found) == ["i-0", "i-2"]
    assert len(store.inventory(tags={"InstanceOwnerEmail": "*"})) == 3


def test_in_memory_store_keeps_everything_between_collections(aws_env):
    """``sqlite://`` is one database for every thread of the process, not one per connection."""
    from phiwatch.store import Store

    store = Store("sqlite://")
    aws_env.client("ec2").enable_ebs_encryption_by_default()
    ctx = aws_env.context()
    first = collect(ctx, store, services=["ec2"])
    results = []
    worker = threading.Thread(target=lambda: results.append(collect(ctx, store, services=["ec2"])))  # e.g. a watch thread
    worker.start()
    worker.join()
    [second] = results
    assert first.created > 0 and (second.created, second.changed, second.deleted) == (0, 0, 0)
    account = [r for r in store.inventory(resource_type="AWS::::Account") if r["region"] == "us-east-1"]
    assert len(account) == 1
