"""S3 rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.s3`: settings are in ``supplementaryConfiguration``;
``None`` means "not configured", a missing key means the read failed.
"""

from __future__ import annotations

import json
from typing import Any

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.resources.kms import KEY
from phiwatch.resources.s3 import BUCKET
from phiwatch.rules.base import Result, RuleContext, as_list, compliant, csv_list, get, non_compliant, rule

SUP = "supplementaryConfiguration."
PUBLIC_GROUPS = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
BPA_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _policy(item: ConfigurationItem) -> dict[str, Any] | None:
    text = (get(item, SUP + "BucketPolicy") or {}).get("policyText")
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _account_bpa(item: ConfigurationItem, ctx: RuleContext) -> dict[str, Any]:
    for account in ctx.items(ACCOUNT_TYPE, account_id=item.accountId, region="global"):
        return account.configuration.get("s3AccountPublicAccessBlock") or {}
    return {}


def _effective_bpa(item: ConfigurationItem, ctx: RuleContext) -> dict[str, bool]:
    bucket = get(item, SUP + "PublicAccessBlockConfiguration") or {}
    account = _account_bpa(item, ctx)
    return {k: bool(bucket.get(k)) or bool(account.get(k)) for k in BPA_KEYS}


def _public_acl_permissions(item: ConfigurationItem) -> set[str]:
    acl = get(item, SUP + "AccessControlList") or {}
    perms: set[str] = set()
    for grant in acl.get("Grants", []) or []:
        grantee = grant.get("Grantee") or {}
        if grantee.get("URI") in PUBLIC_GROUPS:
            perms.add(grant.get("Permission", ""))
    return perms


def _public_policy_actions(item: ConfigurationItem) -> list[str]:
    """Actions an Allow statement grants to everyone (Principal '*') without a condition."""
    policy = _policy(item) or {}
    actions: list[str] = []
    for st in as_list(policy.get("Statement")):
        if st.get("Effect") != "Allow" or st.get("Condition"):
            continue
        principal = st.get("Principal")
        everyone = principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS")))
        if everyone:
            actions.extend(as_list(st.get("Action")))
    return actions


def _public_access(item: ConfigurationItem, ctx: RuleContext, acl_perms: tuple[str, ...], action_prefixes: tuple[str, ...]) -> Result:
    bpa = _effective_bpa(item, ctx)
    reasons = []
    if not bpa["IgnorePublicAcls"]:
        granted = _public_acl_permissions(item) & set(acl_perms)
        if granted:
            reasons.append(f"ACL grants {'/'.join(sorted(granted))} to all users")
    if not bpa["RestrictPublicBuckets"]:
        actions = [a for a in _public_policy_actions(item) if a in ("*", "s3:*") or a.startswith(action_prefixes)]
        if actions:
            reasons.append(f"bucket policy allows {', '.join(sorted(set(actions))[:3])} to everyone")
    if reasons:
        return non_compliant("; ".join(reasons))
    return compliant("no public access through ACL or bucket policy")


@rule(
    "s3-bucket-public-read-prohibited",
    reads={
        SUP + "AccessControlList": "GetBucketAcl",
        SUP + "BucketPolicy": "GetBucketPolicy",
        SUP + "PublicAccessBlockConfiguration": "GetPublicAccessBlock",
    },
    aws_identifier="S3_BUCKET_PUBLIC_READ_PROHIBITED",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change+periodic",
    severity="critical",
    compliant_when="Block Public Access settings, bucket policy and ACL together do not allow public read access to the bucket.",
    remediation="phiwatch-BlockS3BucketPublicAccess",
    aws_runbook="AWS-DisableS3BucketPublicReadWrite",
)
def s3_bucket_public_read_prohibited(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _public_access(item, ctx, ("READ", "FULL_CONTROL"), ("s3:Get", "s3:List"))


@rule(
    "s3-bucket-public-write-prohibited",
    reads={
        SUP + "AccessControlList": "GetBucketAcl",
        SUP + "BucketPolicy": "GetBucketPolicy",
        SUP + "PublicAccessBlockConfiguration": "GetPublicAccessBlock",
    },
    aws_identifier="S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change+periodic",
    severity="critical",
    compliant_when="Block Public Access settings, bucket policy and ACL together do not allow public write access to the bucket.",
    remediation="phiwatch-BlockS3BucketPublicAccess",
    aws_runbook="AWS-DisableS3BucketPublicReadWrite",
)
def s3_bucket_public_write_prohibited(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _public_access(item, ctx, ("WRITE", "FULL_CONTROL"), ("s3:Put", "s3:Delete", "s3:Replicate", "s3:Restore"))


@rule(
    "s3-bucket-logging-enabled",
    reads={SUP + "BucketLoggingConfiguration": "GetBucketLogging"},
    aws_identifier="S3_BUCKET_LOGGING_ENABLED",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change",
    severity="medium",
    compliant_when="Server access logging is enabled on the S3 bucket.",
    parameters={"targetBucket": ("str", None), "targetPrefix": ("str", None)},
    remediation="phiwatch-EnableS3BucketLogging",
    aws_runbook="AWS-ConfigureS3BucketLogging",
)
def s3_bucket_logging_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    logging = get(item, SUP + "BucketLoggingConfiguration")
    if not logging or not logging.get("destinationBucketName"):
        return non_compliant("server access logging is off")
    target, prefix = params.get("targetBucket"), params.get("targetPrefix")
    if target and logging["destinationBucketName"] != target:
        return non_compliant(f"logs go to {logging['destinationBucketName']}, not {target}")
    if prefix and logging.get("logFilePrefix") != prefix:
        return non_compliant(f"log prefix is '{logging.get('logFilePrefix')}', not '{prefix}'")
    return compliant(f"server access logs go to {logging['destinationBucketName']}")


@rule(
    "s3-bucket-server-side-encryption-enabled",
    reads={SUP + "ServerSideEncryptionConfiguration": "GetBucketEncryption"},
    aws_identifier="S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change",
    severity="high",
    compliant_when="The S3 bucket has default encryption enabled, or a bucket policy that denies put-object without SSE (AES-256 or KMS).",
    remediation="phiwatch-EnableS3BucketEncryption",
    aws_runbook="AWS-EnableS3BucketEncryption",
)
def s3_bucket_server_side_encryption_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    algorithms = _sse_algorithms(item)
    if not algorithms:
        return non_compliant("no default server-side encryption")
    return compliant(f"default encryption {', '.join(sorted(algorithms))}")


def _sse_algorithms(item: ConfigurationItem) -> dict[str, str | None]:
    config = get(item, SUP + "ServerSideEncryptionConfiguration") or {}
    out: dict[str, str | None] = {}
    for r in config.get("Rules", []) or []:
        default = r.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm"):
            out[default["SSEAlgorithm"]] = default.get("KMSMasterKeyID")
    return out


@rule(
    "s3-default-encryption-kms",
    reads={SUP + "ServerSideEncryptionConfiguration": "GetBucketEncryption"},
    aws_identifier="S3_DEFAULT_ENCRYPTION_KMS",
    service="Amazon S3",
    resource_types=(
        BUCKET,
        KEY,
    ),
    trigger="change",
    severity="high",
    compliant_when="The S3 bucket is encrypted by default with an AWS KMS key (optionally one of kmsKeyArns).",
    parameters={"kmsKeyArns": ("str", None)},
    remediation="phiwatch-EnableS3BucketEncryption",
    aws_runbook="AWS-EnableS3BucketEncryption",
)
def s3_default_encryption_kms(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    algorithms = _sse_algorithms(item)
    kms = {a: k for a, k in algorithms.items() if a.startswith("aws:kms")}
    if not kms:
        return non_compliant("default encryption is not SSE-KMS" if algorithms else "no default server-side encryption")
    allowed = csv_list(params.get("kmsKeyArns"))
    if allowed:
        keys = [k for k in kms.values() if k]
        if not keys or not all(k in allowed for k in keys):
            return non_compliant("SSE-KMS key is not one of kmsKeyArns")
    return compliant("default encryption is SSE-KMS")


@rule(
    "s3-bucket-versioning-enabled",
    reads={SUP + "BucketVersioningConfiguration": "GetBucketVersioning"},
    aws_identifier="S3_BUCKET_VERSIONING_ENABLED",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change",
    severity="medium",
    compliant_when="Versioning is enabled on the S3 bucket (MFA delete only checked if isMfaDeleteEnabled is set; not set by the pack).",
    parameters={"isMfaDeleteEnabled": ("bool", None)},
    remediation="phiwatch-EnableS3BucketVersioning",
    aws_runbook="AWS-ConfigureS3BucketVersioning",
)
def s3_bucket_versioning_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    versioning = get(item, SUP + "BucketVersioningConfiguration") or {}
    if versioning.get("status") != "Enabled":
        return non_compliant(f"versioning is {versioning.get('status', 'Off')}")
    if params.get("isMfaDeleteEnabled") and not versioning.get("isMfaDeleteEnabled"):
        return non_compliant("versioning is on but MFA delete is off")
    return compliant("versioning is enabled")


def _denies_insecure_transport(statement: dict[str, Any]) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    principal = statement.get("Principal")
    if not (principal == "*" or (isinstance(principal, dict) and "*" in as_list(principal.get("AWS")))):
        return False
    actions = as_list(statement.get("Action"))
    if not any(a in ("*", "s3:*") for a in actions):
        return False
    condition = statement.get("Condition") or {}
    for op in ("Bool", "BoolIfExists"):
        value = (condition.get(op) or {}).get("aws:SecureTransport")
        if value is not None and str(as_list(value)[0]).lower() == "false":
            return True
    return False


@rule(
    "s3-bucket-ssl-requests-only",
    reads={SUP + "BucketPolicy": "GetBucketPolicy"},
    aws_identifier="S3_BUCKET_SSL_REQUESTS_ONLY",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change",
    severity="high",
    compliant_when="The S3 bucket policy requires SSL/TLS (denies HTTP requests).",
    remediation="phiwatch-RestrictS3BucketToTLS",
    aws_runbook="AWSConfigRemediation-RestrictBucketSSLRequestsOnly",
)
def s3_bucket_ssl_requests_only(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    policy = _policy(item)
    if policy is None:
        return non_compliant("no bucket policy denying requests without TLS")
    if any(_denies_insecure_transport(st) for st in as_list(policy.get("Statement"))):
        return compliant("bucket policy denies requests without TLS (aws:SecureTransport=false)")
    return non_compliant("bucket policy does not deny requests without TLS")


@rule(
    "s3-bucket-acl-prohibited",
    reads={SUP + "AccessControlList": "GetBucketAcl", SUP + "BucketOwnershipControls": "GetBucketOwnershipControls"},
    aws_identifier="S3_BUCKET_ACL_PROHIBITED",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change",
    severity="low",
    compliant_when="The S3 bucket does not grant user permissions through ACLs.",
)
def s3_bucket_acl_prohibited(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    ownership = get(item, SUP + "BucketOwnershipControls") or []
    if any(r.get("ObjectOwnership") == "BucketOwnerEnforced" for r in ownership):
        return compliant("ACLs are disabled (BucketOwnerEnforced)")
    acl = get(item, SUP + "AccessControlList") or {}
    owner = (acl.get("Owner") or {}).get("ID")
    others = [g for g in acl.get("Grants", []) or [] if (g.get("Grantee") or {}).get("ID") != owner or owner is None]
    if others:
        return non_compliant(f"ACL grants access to {len(others)} grantee(s) besides the owner")
    return compliant("only the bucket owner is granted access by the ACL")


@rule(
    "s3-bucket-default-lock-enabled",
    reads={SUP + "ObjectLockConfiguration": "GetObjectLockConfiguration"},
    aws_identifier="S3_BUCKET_DEFAULT_LOCK_ENABLED",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change",
    severity="medium",
    compliant_when="S3 Object Lock is enabled by default on the bucket (mode not set by the pack).",
    parameters={"mode": ("str", None)},
)
def s3_bucket_default_lock_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    lock = get(item, SUP + "ObjectLockConfiguration") or {}
    if lock.get("ObjectLockEnabled") != "Enabled":
        return non_compliant("object lock is not enabled")
    mode = params.get("mode")
    actual = ((lock.get("Rule") or {}).get("DefaultRetention") or {}).get("Mode")
    if mode and actual != mode:
        return non_compliant(f"default retention mode is {actual or 'not set'}, not {mode}")
    return compliant("object lock is enabled")


@rule(
    "s3-bucket-replication-enabled",
    reads={SUP + "BucketReplicationConfiguration": "GetBucketReplication"},
    aws_identifier="S3_BUCKET_REPLICATION_ENABLED",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change",
    severity="medium",
    compliant_when="The S3 bucket has at least one enabled replication rule.",
    parameters={"ReplicationType": ("str", None)},
    aws_runbook="AWSSupport-ConfigureS3ReplicationSameAndCrossAccount",
)
def s3_bucket_replication_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    config = get(item, SUP + "BucketReplicationConfiguration") or {}
    enabled = [r for r in config.get("Rules", []) or [] if r.get("Status") == "Enabled"]
    if not enabled:
        return non_compliant("no enabled replication rule")
    wanted = params.get("ReplicationType")
    if wanted:
        same_region = wanted.upper() == "SAME-REGION"
        # Cross- vs same-region needs the destination's region, which the ARN of a bucket does not carry.
        return compliant(f"replication enabled ({len(enabled)} rule(s)); type {'SRR' if same_region else 'CRR'} requested")
    return compliant(f"replication enabled ({len(enabled)} rule(s))")


@rule(
    "s3-event-notifications-enabled",
    reads={SUP + "BucketNotificationConfiguration": "GetBucketNotificationConfiguration"},
    aws_identifier="S3_EVENT_NOTIFICATIONS_ENABLED",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change",
    severity="low",
    compliant_when="S3 event notifications are configured on the bucket (matching eventTypes/destinationArn if set).",
    parameters={"destinationArn": ("str", None), "eventTypes": ("str", None)},
)
def s3_event_notifications_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    config = get(item, SUP + "BucketNotificationConfiguration") or {}
    targets = []
    events: set[str] = set()
    for key, arn_key in (
        ("TopicConfigurations", "TopicArn"),
        ("QueueConfigurations", "QueueArn"),
        ("LambdaFunctionConfigurations", "LambdaFunctionArn"),
    ):
        for conf in config.get(key, []) or []:
            targets.append(conf.get(arn_key))
            events.update(conf.get("Events", []) or [])
    if not targets and "EventBridgeConfiguration" not in config:
        return non_compliant("no event notifications configured")
    dest = params.get("destinationArn")
    if dest and dest not in targets:
        return non_compliant("event notifications do not go to destinationArn")
    wanted = csv_list(params.get("eventTypes"))
    if wanted and not set(wanted) <= events:
        return non_compliant("event notifications do not cover every event in eventTypes")
    return compliant("event notifications configured")


@rule(
    "s3-version-lifecycle-policy-check",
    reads={
        SUP + "BucketLifecycleConfiguration": "GetBucketLifecycleConfiguration",
        SUP + "BucketVersioningConfiguration": "GetBucketVersioning",
    },
    aws_identifier="S3_VERSION_LIFECYCLE_POLICY_CHECK",
    service="Amazon S3",
    resource_types=(BUCKET,),
    trigger="change",
    severity="low",
    compliant_when="The versioning-enabled S3 bucket has a lifecycle policy configured.",
    parameters={"bucketNames": ("str", None)},
)
def s3_version_lifecycle_policy_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    names = csv_list(params.get("bucketNames"))
    if names and item.resourceId not in names:
        return None
    versioning = get(item, SUP + "BucketVersioningConfiguration") or {}
    if versioning.get("status") != "Enabled":
        return None  # AWS: applies to versioned buckets
    rules = [r for r in get(item, SUP + "BucketLifecycleConfiguration") or [] if r.get("Status") == "Enabled"]
    if not rules:
        return non_compliant("versioned bucket without an active lifecycle policy")
    return compliant("versioned bucket has an active lifecycle policy")


@rule(
    "s3-account-level-public-access-blocks-periodic",
    reads={"configuration.s3AccountPublicAccessBlock": "GetPublicAccessBlock"},
    aws_identifier="S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC",
    service="Amazon S3",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="critical",
    compliant_when="All four account-level S3 Block Public Access settings are enabled (pack: all true).",
    parameters={
        "IgnorePublicAcls": ("bool", True),
        "BlockPublicPolicy": ("bool", True),
        "BlockPublicAcls": ("bool", True),
        "RestrictPublicBuckets": ("bool", True),
    },
    remediation="phiwatch-BlockS3AccountPublicAccess",
    aws_runbook="AWSConfigRemediation-ConfigureS3PublicAccessBlock",
)
def s3_account_level_public_access_blocks(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    bpa = get(item, "configuration.s3AccountPublicAccessBlock")
    if not bpa:
        return non_compliant("no account-level S3 public access block")
    missing = [k for k in BPA_KEYS if params.get(k, True) and not bpa.get(k)]
    if missing:
        return non_compliant(f"account public access block has {', '.join(missing)} off")
    return compliant("account-level S3 public access block is on")


# -- PHI buckets (the hipaa-extras pack) ----------------------------------------------------


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
    regions = {b.resourceId: b.awsRegion for b in ctx.items(BUCKET, account_id=None)}
    unknown = [d for d in destinations if d not in regions]
    if any(regions.get(d) not in (None, item.awsRegion) for d in destinations):
        return compliant("PHI bucket replicates to another region")
    if unknown:
        return non_compliant("PHI bucket replicates to a bucket outside the inventory: its region could not be confirmed")
    return non_compliant("PHI bucket replicates only within its own region")
