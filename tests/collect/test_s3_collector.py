"""S3 collector against moto's server: every bucket setting lands in the item, errors are recorded."""

from __future__ import annotations

import json

from botocore.awsrequest import AWSResponse

from phiwatch.collect.runner import collect
from phiwatch.model import ACCOUNT_TYPE


def _bucket_item(store, name):
    row = store.resolve(name, "AWS::S3::Bucket")
    return store.item_at(row["id"])["item"]


def test_bucket_settings_are_collected(aws_env, store):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="bucket-logging-off")
    s3.create_bucket(Bucket="bucket-logging-on")
    s3.create_bucket(Bucket="access-logs")
    s3.put_bucket_acl(Bucket="access-logs", ACL="log-delivery-write")
    s3.put_bucket_logging(
        Bucket="bucket-logging-on",
        BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "access-logs", "TargetPrefix": "x/"}},
    )
    s3.put_bucket_versioning(Bucket="bucket-logging-on", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket="bucket-logging-on",
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
    )
    s3.put_bucket_tagging(Bucket="bucket-logging-on", Tagging={"TagSet": [{"Key": "PHI", "Value": "Yes"}]})
    s3.put_bucket_policy(Bucket="bucket-logging-on", Policy=json.dumps({"Version": "2012-10-17", "Statement": []}))

    result = collect(aws_env.context(), store, services=["s3"])
    assert result.errors == []
    assert result.types_seen["AWS::S3::Bucket"] == 3

    on = _bucket_item(store, "bucket-logging-on")
    sup = on["supplementaryConfiguration"]
    assert on["arn"] == "arn:aws:s3:::bucket-logging-on"
    assert on["awsRegion"] == "us-east-1"
    assert sup["BucketLoggingConfiguration"] == {"destinationBucketName": "access-logs", "logFilePrefix": "x/"}
    assert sup["BucketVersioningConfiguration"]["status"] == "Enabled"
    assert sup["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert json.loads(sup["BucketPolicy"]["policyText"])["Version"] == "2012-10-17"
    assert on["tags"] == {"PHI": "Yes"}

    off = _bucket_item(store, "bucket-logging-off")
    sup = off["supplementaryConfiguration"]
    # "not configured" is an explicit None, not a missing key (missing means "could not read")
    assert sup["BucketLoggingConfiguration"] is None
    assert sup["ServerSideEncryptionConfiguration"] is None
    assert sup["BucketPolicy"] is None
    assert sup["BucketVersioningConfiguration"]["status"] == "Off"
    assert off["collectionErrors"] == []


def test_buckets_outside_requested_regions_are_skipped(aws_env, store):
    aws_env.client("s3").create_bucket(Bucket="bucket-in-virginia")
    aws_env.client("s3", "eu-west-1").create_bucket(
        Bucket="bucket-in-ireland", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    collect(aws_env.context(["eu-west-1"]), store, services=["s3"])
    names = {r["resource_id"]: r["region"] for r in store.inventory(resource_type="AWS::S3::Bucket")}
    assert names == {"bucket-in-ireland": "eu-west-1"}


def test_account_public_access_block_goes_on_account_item(aws_env, store):
    aws_env.client("s3control").put_public_access_block(
        AccountId="123456789012",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    collect(aws_env.context(), store, services=["s3"])
    account = [r for r in store.inventory(resource_type=ACCOUNT_TYPE) if r["region"] == "global"]
    assert len(account) == 1
    item = store.item_at(account[0]["id"])["item"]
    assert item["resourceId"] == "123456789012"
    assert item["configuration"]["s3AccountPublicAccessBlock"]["BlockPublicPolicy"] is True


def test_a_bucket_without_a_policy_is_not_asked_its_policy_status(aws_env, store):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="bucket-with-policy")
    s3.create_bucket(Bucket="bucket-without-policy")
    s3.put_bucket_policy(Bucket="bucket-with-policy", Policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
    aws = aws_env.context()

    result = collect(aws, store, services=["s3"])
    assert result.errors == []
    calls = aws.counter.per_operation()
    assert calls[("s3", "GetBucketPolicy")] == 2
    assert calls[("s3", "GetBucketPolicyStatus")] == 1
    assert _bucket_item(store, "bucket-with-policy")["supplementaryConfiguration"]["BucketPolicyStatus"] == {"IsPublic": False}
    # what AWS answers for a bucket without a policy (NoSuchBucketPolicy), without asking
    without = _bucket_item(store, "bucket-without-policy")["supplementaryConfiguration"]
    assert without["BucketPolicy"] is None and without["BucketPolicyStatus"] is None


def test_a_failed_policy_read_still_asks_the_policy_status(aws_env, store):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="bucket-policy-unreadable")
    aws = aws_env.context()

    def refuse(**_):  # AWS's answer to a caller without s3:GetBucketPolicy, before anything is sent
        return AWSResponse("https://s3.amazonaws.com", 403, {}, None), {
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    aws.client("s3").meta.events.register("before-call.s3.GetBucketPolicy", refuse)
    collect(aws, store, services=["s3"])
    assert aws.counter.per_operation()[("s3", "GetBucketPolicyStatus")] == 1
    item = _bucket_item(store, "bucket-policy-unreadable")
    sup = item["supplementaryConfiguration"]
    assert "BucketPolicy" not in sup and sup["BucketPolicyStatus"] is None
    assert any("GetBucketPolicy" in str(e) and "AccessDenied" in str(e) for e in item["collectionErrors"])


def test_the_region_listbuckets_names_is_used_without_getbucketlocation(aws_env, store):
    """AWS's ListBuckets names each bucket's Region (BucketRegion, since 2024; the emulator does not),
    but only when the request has a parameter: phiwatch asks for MaxBuckets."""
    aws_env.client("s3").create_bucket(Bucket="bucket-in-virginia")
    aws_env.client("s3", "eu-west-1").create_bucket(
        Bucket="bucket-in-ireland", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    aws = aws_env.context(["us-east-1", "eu-west-1"])
    asked: list[dict] = []

    def note_parameters(params, **_):
        asked.append(dict(params.get("query_string") or {}))

    def name_regions(parsed, **_):
        if not asked[-1]:
            return  # "If the request contains at least one valid parameter, it is included in the response"
        for bucket in parsed.get("Buckets", []):
            bucket["BucketRegion"] = "eu-west-1" if bucket["Name"] == "bucket-in-ireland" else "us-east-1"

    aws.client("s3").meta.events.register("before-call.s3.ListBuckets", note_parameters)
    aws.client("s3").meta.events.register("after-call.s3.ListBuckets", name_regions)
    result = collect(aws, store, services=["s3"])
    assert result.errors == []
    assert asked == [{"max-buckets": 10000}]
    assert ("s3", "GetBucketLocation") not in aws.counter.per_operation()
    assert _bucket_item(store, "bucket-in-ireland")["awsRegion"] == "eu-west-1"
    assert _bucket_item(store, "bucket-in-virginia")["awsRegion"] == "us-east-1"
