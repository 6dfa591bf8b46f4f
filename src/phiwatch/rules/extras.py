"""Rules of the hipaa-extras pack (controls the seeds ask for beyond AWS's HIPAA pack)."""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.phi import phi_patterns_in
from phiwatch.resources.dynamodb import TABLE
from phiwatch.resources.ec2 import INSTANCE, SNAPSHOT, VOLUME
from phiwatch.resources.efs import FILE_SYSTEM
from phiwatch.resources.iam import ROLE, USER
from phiwatch.resources.kms import KEY
from phiwatch.resources.lambda_ import FUNCTION
from phiwatch.resources.logs import LOG_GROUP
from phiwatch.resources.rds import INSTANCE as RDS_INSTANCE
from phiwatch.resources.rds import SNAPSHOT as RDS_SNAPSHOT
from phiwatch.resources.s3 import BUCKET
from phiwatch.resources.secretsmanager import SECRET
from phiwatch.resources.sns import TOPIC
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, rule

SUP = "supplementaryConfiguration."


def _is_phi(item: ConfigurationItem, params: dict) -> bool:
    return (item.tags or {}).get(params.get("phiTagKey") or "PHI") == (params.get("phiTagValue") or "Yes")


@rule(
    "s3-phi-bucket-object-lock-enabled",
    reads={SUP + "ObjectLockConfiguration": "GetObjectLockConfiguration"},
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change",
    severity="high",
    compliant_when="A bucket tagged as holding PHI has S3 Object Lock enabled. Buckets without the PHI tag are not evaluated.",
    parameters={"phiTagKey": ("str", "PHI"), "phiTagValue": ("str", "Yes")},
)
def s3_phi_bucket_object_lock_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if not _is_phi(item, params):
        return None
    lock = get(item, SUP + "ObjectLockConfiguration") or {}
    if lock.get("ObjectLockEnabled") == "Enabled":
        return compliant("PHI bucket has object lock enabled")
    return non_compliant("PHI bucket without object lock")


@rule(
    "s3-phi-bucket-cross-region-replication",
    reads={SUP + "BucketReplicationConfiguration": "GetBucketReplication"},
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change",
    severity="medium",
    compliant_when="A bucket tagged as holding PHI replicates (an enabled rule) to a bucket in another region. When the destination bucket is not in the inventory its region is unknown and the rule says so.",
    parameters={"phiTagKey": ("str", "PHI"), "phiTagValue": ("str", "Yes")},
)
def s3_phi_bucket_cross_region_replication(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if not _is_phi(item, params):
        return None
    config = get(item, SUP + "BucketReplicationConfiguration") or {}
    destinations = [
        ((r.get("Destination") or {}).get("Bucket") or "").split(":::")[-1]
        for r in config.get("Rules", []) or []
        if r.get("Status") == "Enabled"
    ]
    if not destinations:
        return non_compliant("PHI bucket is not replicated")
    regions = {b.resourceId: b.awsRegion for b in ctx.items("AWS::S3::Bucket", account_id=None)}
    unknown = [d for d in destinations if d not in regions]
    if any(regions.get(d) not in (None, item.awsRegion) for d in destinations):
        return compliant("PHI bucket replicates to another region")
    if unknown:
        return non_compliant("PHI bucket replicates to a bucket outside the inventory: its region could not be confirmed")
    return non_compliant("PHI bucket replicates only within its own region")


# Patterns that look like patient identifiers. Annotations name the pattern, never the text.
@rule(
    "no-phi-in-resource-names",
    service="all",
    resource_types=(
        BUCKET,
        INSTANCE,
        VOLUME,
        SNAPSHOT,
        RDS_INSTANCE,
        RDS_SNAPSHOT,
        TABLE,
        LOG_GROUP,
        TOPIC,
        SECRET,
        FUNCTION,
        USER,
        ROLE,
        KEY,
        FILE_SYSTEM,
    ),
    trigger="change",
    severity="high",
    compliant_when="The resource's name and tag values contain nothing that looks like a patient identifier (US SSN, medical record number, date of birth, Medicare beneficiary identifier). The annotation names the pattern, never the matching text.",
)
def no_phi_in_resource_names(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    found: list[str] = []
    for where, text in [("name", item.resourceName or ""), ("id", item.resourceId or "")] + [
        (f"tag {key}", f"{key} {value}") for key, value in (item.tags or {}).items()
    ]:
        for pattern in phi_patterns_in(text):
            found.append(f"{where} looks like a {pattern}")
    if found:
        return non_compliant("; ".join(dict.fromkeys(found)))
    return compliant("no identifier-like text in the name or tags")


@rule(
    "iam-access-keys-rotated-yearly",
    reads={"configuration.accessKeys": "ListAccessKeys"},
    service="AWS IAM",
    resource_types=(USER,),
    trigger="periodic",
    severity="medium",
    compliant_when="Every active access key of the user is younger than maxAccessKeyAge days (default 365).",
    parameters={"maxAccessKeyAge": ("int", 365)},
)
def iam_access_keys_rotated_yearly(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """access-keys-rotated with the seeds' yearly ceiling (maxAccessKeyAge, default 365 days)."""
    from phiwatch.rules.iam import access_keys_rotated

    return access_keys_rotated(item, params, ctx)
