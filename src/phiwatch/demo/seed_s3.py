"""Demo S3 buckets: PHI buckets done right and wrong, a log bucket, a public website."""

from __future__ import annotations

import json
from typing import Any

import boto3

from phiwatch.aws.session import make_client


def seed(session: boto3.Session, endpoint: str | None, region: str) -> dict[str, Any]:
    s3 = make_client(session, "s3", endpoint, region)
    s3control = make_client(session, "s3control", endpoint, region)

    def bucket(name: str, tags: dict[str, str]) -> None:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})

    logs = "demo-access-logs"
    bucket(logs, {"Environment": "PROD", "PHI": "No"})
    s3.put_bucket_acl(Bucket=logs, ACL="log-delivery-write")

    good = "phi-records-compliant"
    bucket(good, {"PHI": "Yes", "Environment": "PROD", "InstanceOwnerEmail": "records-team@example.org"})
    s3.put_bucket_logging(Bucket=good, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": logs, "TargetPrefix": f"{good}/"}})
    s3.put_bucket_versioning(Bucket=good, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=good,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]},
    )
    s3.put_public_access_block(
        Bucket=good,
        PublicAccessBlockConfiguration={
            k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
        },
    )
    s3.put_bucket_policy(
        Bucket=good,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [f"arn:aws:s3:::{good}", f"arn:aws:s3:::{good}/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            }
        ),
    )

    bad = "phi-imaging-noncompliant"
    bucket(bad, {"PHI": "Yes", "Environment": "PROD", "InstanceOwnerEmail": "imaging-team@example.org"})

    site = "public-site-assets"
    bucket(site, {"PHI": "No", "Environment": "DEV"})
    s3.put_bucket_acl(Bucket=site, ACL="public-read")

    s3control.put_public_access_block(
        AccountId=make_client(session, "sts", endpoint, region).get_caller_identity()["Account"],
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    return {"buckets": [logs, good, bad, site]}
