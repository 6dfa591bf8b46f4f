"""S3: buckets (AWS::S3::Bucket) and the account's public access block (AWS::::Account)."""

from __future__ import annotations

from phiwatch.resources.spec import P, ResourceSpec, Service, on

BUCKET = "AWS::S3::Bucket"

SERVICE = Service(
    "s3",
    cost=10,
    resources=(
        ResourceSpec(
            BUCKET,
            events=(
                on(
                    "s3.amazonaws.com",
                    (
                        "CreateBucket DeleteBucket PutBucketLogging PutBucketEncryption "
                        "DeleteBucketEncryption PutBucketPolicy DeleteBucketPolicy PutBucketAcl "
                        "PutBucketVersioning PutBucketPublicAccessBlock DeleteBucketPublicAccessBlock "
                        "PutPublicAccessBlock DeletePublicAccessBlock PutBucketOwnershipControls "
                        "DeleteBucketOwnershipControls PutBucketReplication DeleteBucketReplication "
                        "PutObjectLockConfiguration PutBucketObjectLockConfiguration PutBucketLifecycle "
                        "PutBucketLifecycleConfiguration DeleteBucketLifecycle PutBucketNotification "
                        "PutBucketNotificationConfiguration PutBucketTagging DeleteBucketTagging"
                    ),
                    P("requestParameters.bucketName"),
                ),
            ),
        ),
    ),
    scope="global",
    account_events=(on("s3.amazonaws.com", "PutAccountPublicAccessBlock DeleteAccountPublicAccessBlock", region="global"),),
    iam=(
        "s3:GetAccountPublicAccessBlock",
        "s3:GetBucketAcl",
        "s3:GetBucketLocation",
        "s3:GetBucketLogging",
        "s3:GetBucketNotification",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketOwnershipControls",
        "s3:GetBucketPolicy",
        "s3:GetBucketPolicyStatus",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketTagging",
        "s3:GetBucketVersioning",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListAllMyBuckets",
    ),
)
