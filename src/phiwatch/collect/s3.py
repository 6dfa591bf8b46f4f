"""S3: buckets (AWS::S3::Bucket) and the account's public access block (AWS::::Account).

Item layout (boto3 response shapes, keys named as in AWS Config's S3 bucket item):

* ``configuration``: ``name``, ``creationDate``, ``owner``
* ``supplementaryConfiguration``:
  ``BucketLoggingConfiguration`` (``{"destinationBucketName", "logFilePrefix"}`` or ``None`` when off),
  ``BucketVersioningConfiguration`` (``{"status": Off|Enabled|Suspended, "isMfaDeleteEnabled": bool}``),
  ``ServerSideEncryptionConfiguration`` (boto3's, or ``None``),
  ``PublicAccessBlockConfiguration`` (boto3's, or ``None``),
  ``BucketPolicy`` (``{"policyText": str}`` or ``None``), ``BucketPolicyStatus`` (``{"IsPublic": bool}`` or ``None``),
  ``AccessControlList`` (``{"Owner", "Grants"}``), ``BucketOwnershipControls`` (rules list or ``None``),
  ``ObjectLockConfiguration`` (boto3's, or ``None``), ``BucketReplicationConfiguration`` (boto3's, or ``None``),
  ``BucketNotificationConfiguration`` (``{"TopicConfigurations": [...], ...}``, empty dict when none),
  ``BucketLifecycleConfiguration`` (list of lifecycle rules, or ``None``)

A key that is absent means the call failed (see ``collectionErrors``); ``None`` means "not configured".
The account item gets ``configuration.s3AccountPublicAccessBlock`` in region ``global`` and, as AWS
Config records it, in each region of the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import (
    FAILED,
    GLOBAL_REGION,
    CollectContext,
    Collector,
    Detail,
    ListFailed,
    register,
    tags_from_list,
)
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.resources.s3 import BUCKET


def _bucket(item: ConfigurationItem) -> dict[str, Any]:
    return {"Bucket": item.resourceId}


def _logging(resp: dict[str, Any]) -> dict[str, Any] | None:
    enabled = resp.get("LoggingEnabled")
    if not enabled:
        return None
    return {"destinationBucketName": enabled.get("TargetBucket"), "logFilePrefix": enabled.get("TargetPrefix", "")}


def _versioning(resp: dict[str, Any]) -> dict[str, Any]:
    return {"status": resp.get("Status", "Off"), "isMfaDeleteEnabled": resp.get("MFADelete") == "Enabled"}


def _policy(resp: dict[str, Any]) -> dict[str, Any] | None:
    text = resp.get("Policy")
    return {"policyText": text} if text else None


#: ListBuckets' page size (AWS's largest MaxBuckets). Asking with it also makes AWS name each
#: bucket's Region (``BucketRegion``), which it does only for a request with a parameter.
LIST_PAGE = 10_000

BUCKET_DETAILS: tuple[Detail, ...] = (
    Detail("s3", "GetBucketLogging", _bucket, "supplementaryConfiguration.BucketLoggingConfiguration", _logging),
    Detail("s3", "GetBucketVersioning", _bucket, "supplementaryConfiguration.BucketVersioningConfiguration", _versioning),
    Detail(
        "s3",
        "GetBucketEncryption",
        _bucket,
        "supplementaryConfiguration.ServerSideEncryptionConfiguration",
        "ServerSideEncryptionConfiguration",
        not_found=("ServerSideEncryptionConfigurationNotFoundError",),
    ),
    Detail(
        "s3",
        "GetPublicAccessBlock",
        _bucket,
        "supplementaryConfiguration.PublicAccessBlockConfiguration",
        "PublicAccessBlockConfiguration",
        not_found=("NoSuchPublicAccessBlockConfiguration",),
    ),
    Detail("s3", "GetBucketPolicy", _bucket, "supplementaryConfiguration.BucketPolicy", _policy, not_found=("NoSuchBucketPolicy",)),
    Detail(
        "s3",
        "GetBucketPolicyStatus",
        _bucket,
        "supplementaryConfiguration.BucketPolicyStatus",
        "PolicyStatus",
        not_found=("NoSuchBucketPolicy",),
        # a bucket without a policy has no policy status (AWS answers NoSuchBucketPolicy): not asked
        answered=lambda item: "BucketPolicy" in item.supplementaryConfiguration and item.supplementaryConfiguration["BucketPolicy"] is None,
    ),
    Detail(
        "s3",
        "GetBucketAcl",
        _bucket,
        "supplementaryConfiguration.AccessControlList",
        lambda r: {"Owner": r.get("Owner"), "Grants": r.get("Grants", [])},
    ),
    Detail(
        "s3",
        "GetBucketOwnershipControls",
        _bucket,
        "supplementaryConfiguration.BucketOwnershipControls",
        lambda r: r.get("OwnershipControls", {}).get("Rules", []),
        not_found=("OwnershipControlsNotFoundError",),
    ),
    Detail(
        "s3",
        "GetObjectLockConfiguration",
        _bucket,
        "supplementaryConfiguration.ObjectLockConfiguration",
        "ObjectLockConfiguration",
        not_found=("ObjectLockConfigurationNotFoundError",),
    ),
    Detail(
        "s3",
        "GetBucketNotificationConfiguration",
        _bucket,
        "supplementaryConfiguration.BucketNotificationConfiguration",
        lambda r: {k: v for k, v in r.items() if k.endswith("Configurations") or k == "EventBridgeConfiguration"},
    ),
    Detail(
        "s3",
        "GetBucketLifecycleConfiguration",
        _bucket,
        "supplementaryConfiguration.BucketLifecycleConfiguration",
        "Rules",
        not_found=("NoSuchLifecycleConfiguration",),
    ),
    Detail(
        "s3",
        "GetBucketReplication",
        _bucket,
        "supplementaryConfiguration.BucketReplicationConfiguration",
        "ReplicationConfiguration",
        not_found=("ReplicationConfigurationNotFoundError",),
    ),
)


def bucket_region(location: Any) -> str:
    """GetBucketLocation's answer as a region name (None means us-east-1, 'EU' eu-west-1)."""
    if not location:
        return "us-east-1"
    if location == "EU":
        return "eu-west-1"
    return str(location)


@register
class S3Collector(Collector):
    name = "s3"
    resource_types = (BUCKET,)
    # ListBuckets returns every region's buckets: list once, keep the requested regions.
    global_service = True
    targetable = frozenset({ACCOUNT_TYPE, BUCKET})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.wants(ACCOUNT_TYPE):
            yield from self._account(ctx)
        if not ctx.wants(BUCKET):
            return
        try:
            # with a parameter (any), AWS names each bucket's Region in the listing: no GetBucketLocation
            buckets = list(ctx.paginate("s3", "ListBuckets", "Buckets", resource_type=BUCKET, id_key="Name", MaxBuckets=LIST_PAGE))
        except ListFailed:
            return
        buckets = [b for b in buckets if ctx.selected(BUCKET, b["Name"], f"arn:{ctx.partition}:s3:::{b['Name']}")]
        owner = None
        wanted = set(ctx.regions)
        for item in ctx.map(lambda b: self._bucket(ctx, b, owner), buckets):
            if item is not None and item.awsRegion in wanted:
                yield item
        if any(e.api == "GetBucketLocation" for e in ctx.errors):
            return  # some buckets could not be placed in a region: no deletions this run
        for region in wanted:
            ctx.mark_complete(BUCKET, region=region)

    def _bucket(self, ctx: CollectContext, bucket: dict[str, Any], owner: Any) -> ConfigurationItem | None:
        name = bucket["Name"]
        if bucket.get("BucketRegion"):  # ListBuckets named the bucket's Region (AWS since 2024, asked with a parameter)
            region = str(bucket["BucketRegion"])
        else:
            location = ctx.call("s3", "GetBucketLocation", resource_type=BUCKET, resource_id=name, Bucket=name)
            if location is FAILED:
                # Region unknown: the bucket cannot be placed, so its region's listing is incomplete.
                return None
            region = bucket_region(location.get("LocationConstraint"))
        if region not in ctx.regions:
            return None
        item = ctx.item(
            BUCKET,
            name,
            awsRegion=region,
            resourceName=name,
            arn=f"arn:{ctx.partition}:s3:::{name}",
            configuration={"name": name, "creationDate": bucket.get("CreationDate"), "owner": owner},
        )
        for detail in BUCKET_DETAILS:
            detail.apply(ctx, item)
        tagging = ctx.call("s3", "GetBucketTagging", item=item, not_found=("NoSuchTagSet",), absent={}, Bucket=name)
        if tagging is not FAILED:
            item.tags = tags_from_list(tagging.get("TagSet"))
        item.refresh_state_id()
        return item

    def _account(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        account = ctx.account_item(GLOBAL_REGION)
        response = ctx.call(
            "s3control",
            "GetPublicAccessBlock",
            item=account,
            not_found=("NoSuchPublicAccessBlockConfiguration",),
            absent={},
            AccountId=ctx.account_id,
        )
        if response is not FAILED:
            account.configuration["s3AccountPublicAccessBlock"] = response.get("PublicAccessBlockConfiguration")
        yield account
        # AWS Config records the account's public access block in every region (and evaluates its
        # rules per region): each region of the run gets the same value, or the same error
        for region in ctx.regions:
            regional = ctx.account_item(region)
            regional.configuration.update(account.configuration)
            regional.collectionErrors.extend(account.collectionErrors)
            yield regional
