"""EC2 and EBS rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.ec2`: volumes, snapshots and instances with their
describe element in ``configuration``; snapshot permissions in
``supplementaryConfiguration.CreateVolumePermissions``; EBS encryption by default on the
regional ``AWS::::Account`` item (``configuration.ebsEncryptionByDefault``). ``None`` means
"not configured", a missing key means the read failed. Security-group rules are in
:mod:`phiwatch.rules.vpc`.

Decisions where AWS's documentation leaves room (each follows the rule's documented wording):

* ec2-ebs-encryption-by-default is judged on the account item of each region (the only one
  carrying ``ebsEncryptionByDefault``); the global account item does not get a verdict.
* encrypted-volumes: a volume without an attachment is NOT_APPLICABLE ("attached EBS
  volumes"). ``kmsId`` (a key id or key ARN; a comma-separated list is accepted too) matches the
  volume's ``KmsKeyId`` ARN exactly or by its ``key/<id>`` suffix; aliases are not resolved.
* ec2-stopped-instance: the stop time is read from ``StateTransitionReason``
  ("User initiated (YYYY-MM-DD HH:MM:SS GMT)"), the only stop time the describe API gives.
  A stopped instance whose stop time cannot be read is NON_COMPLIANT (AWS: "or if the amount
  of time cannot be determined"); an instance in any other state is NOT_APPLICABLE.
* ec2-instances-in-vpc: an instance without ``VpcId`` (EC2-Classic) is NON_COMPLIANT.
"""

from __future__ import annotations

import datetime as dt
import re

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.resources.ec2 import INSTANCE, SNAPSHOT, VOLUME
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, non_compliant, not_applicable, rule

CONF = "configuration."
SUP = "supplementaryConfiguration."

_STOP_TIME = re.compile(r"\((\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\s*(?:GMT|UTC|Z)?\)")


# -- account ------------------------------------------------------------------------------
@rule(
    "ec2-ebs-encryption-by-default",
    reads={CONF + "ebsEncryptionByDefault": "GetEbsEncryptionByDefault"},
    aws_identifier="EC2_EBS_ENCRYPTION_BY_DEFAULT",
    service="Amazon EC2 / EBS",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="high",
    compliant_when="EBS encryption by default is enabled for the account in the Region.",
    remediation="phiwatch-EnableEbsEncryptionByDefault",
    aws_runbook="AWSConfigRemediation-EnableEbsEncryptionByDefault",
)
def ec2_ebs_encryption_by_default(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "ebsEncryptionByDefault") is True:
        return compliant(f"EBS encryption by default is on in {item.awsRegion}")
    return non_compliant(f"EBS encryption by default is off in {item.awsRegion}")


# -- volumes and snapshots ----------------------------------------------------------------
def _key_matches(actual: str, wanted: str) -> bool:
    """Whether a volume's KmsKeyId (normally a key ARN) is the key named by ``wanted`` (id or ARN)."""
    if not actual or not wanted:
        return False
    if actual == wanted:
        return True
    if not wanted.startswith("arn:"):
        return actual.endswith("key/" + wanted)
    return not actual.startswith("arn:") and wanted.endswith("key/" + actual)


@rule(
    "encrypted-volumes",
    reads={CONF + "Encrypted": "DescribeVolumes"},
    aws_identifier="ENCRYPTED_VOLUMES",
    service="Amazon EC2 / EBS",
    resource_types=(VOLUME,),
    trigger="change",
    severity="high",
    compliant_when="Attached EBS volumes are encrypted (with kmsId if provided; not set by the pack).",
    parameters={"kmsId": ("str", None)},
)
def encrypted_volumes(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    attachments = [a for a in get(item, CONF + "Attachments") or [] if a.get("State") != "detached"]
    if not attachments:
        return not_applicable("volume is not attached to an instance")
    if not get(item, CONF + "Encrypted"):
        return non_compliant("attached volume is not encrypted")
    wanted = csv_list(params.get("kmsId"))
    if wanted:
        key = get(item, CONF + "KmsKeyId") or ""
        if not any(_key_matches(key, w) for w in wanted):
            return non_compliant("attached volume is encrypted with a KMS key other than kmsId")
        return compliant("attached volume is encrypted with the kmsId key")
    return compliant("attached volume is encrypted")


@rule(
    "ebs-snapshot-public-restorable-check",
    reads={SUP + "CreateVolumePermissions": "DescribeSnapshotAttribute"},
    aws_identifier="EBS_SNAPSHOT_PUBLIC_RESTORABLE_CHECK",
    service="Amazon EC2 / EBS",
    resource_types=(SNAPSHOT,),
    trigger="periodic",
    severity="critical",
    compliant_when="No EBS snapshot is publicly restorable (RestorableByUserIds is not 'all').",
    remediation="phiwatch-MakeEbsSnapshotPrivate",
    aws_runbook="AWSSupport-ModifyEBSSnapshotPermission",
)
def ebs_snapshot_public_restorable_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    permissions = get(item, SUP + "CreateVolumePermissions") or []
    if any(p.get("Group") == "all" for p in permissions):
        return non_compliant("snapshot is publicly restorable (createVolumePermission group all)")
    shared = sum(1 for p in permissions if p.get("UserId"))
    if shared:
        return compliant(f"snapshot is not public (shared with {shared} account(s))")
    return compliant("snapshot is not public")


# -- instances ----------------------------------------------------------------------------
@rule(
    "ec2-imdsv2-check",
    reads={CONF + "MetadataOptions": "DescribeInstances"},
    aws_identifier="EC2_IMDSV2_CHECK",
    service="Amazon EC2 / EBS",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="high",
    compliant_when="The EC2 instance requires IMDSv2 (metadata HttpTokens = required).",
    remediation="phiwatch-RequireImdsV2",
    aws_runbook="AWSConfigRemediation-EnforceEC2InstanceIMDSv2",
)
def ec2_imdsv2_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    tokens = (get(item, CONF + "MetadataOptions") or {}).get("HttpTokens")
    if tokens == "required":
        return compliant("IMDSv2 is required (HttpTokens required)")
    return non_compliant(f"IMDSv1 is allowed (HttpTokens {tokens or 'not set'})")


@rule(
    "ec2-instance-no-public-ip",
    reads={CONF + "PublicIpAddress": "DescribeInstances"},
    aws_identifier="EC2_INSTANCE_NO_PUBLIC_IP",
    service="Amazon EC2 / EBS",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="critical",
    compliant_when="The EC2 instance has no public IPv4 address (publicIp field absent).",
)
def ec2_instance_no_public_ip(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "PublicIpAddress"):
        return non_compliant("instance has a public IPv4 address")
    return compliant("instance has no public IPv4 address")


@rule(
    "ec2-instance-profile-attached",
    reads={CONF + "IamInstanceProfile": "DescribeInstances"},
    aws_identifier="EC2_INSTANCE_PROFILE_ATTACHED",
    service="Amazon EC2 / EBS",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when="An IAM instance profile is attached to the EC2 instance (optionally one of IamInstanceProfileArnList).",
    parameters={"IamInstanceProfileArnList": ("str", None)},
    aws_runbook="AWS-AttachIAMToInstance",
)
def ec2_instance_profile_attached(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    profile = get(item, CONF + "IamInstanceProfile")
    if not profile:
        return non_compliant("no IAM instance profile is attached")
    allowed = csv_list(params.get("IamInstanceProfileArnList"))
    arn = profile.get("Arn") or ""
    if allowed and arn not in allowed:
        return non_compliant("attached instance profile is not in IamInstanceProfileArnList")
    return compliant(f"instance profile {arn.split('/')[-1] or profile.get('Id', '')} is attached")


@rule(
    "ec2-instances-in-vpc",
    reads={CONF + "InstanceId": "DescribeInstances"},
    aws_identifier="INSTANCES_IN_VPC",
    service="Amazon EC2 / EBS",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when="The EC2 instance belongs to a VPC (vpcId not set by the pack).",
    parameters={"vpcId": ("str", None)},
)
def ec2_instances_in_vpc(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    vpc = get(item, CONF + "VpcId")
    if not vpc:
        return non_compliant("instance is not in a VPC")
    wanted = params.get("vpcId")
    if wanted and vpc != wanted:
        return non_compliant(f"instance is in {vpc}, not {wanted}")
    return compliant(f"instance is in {vpc}")


def stop_time(reason: str | None) -> dt.datetime | None:
    """When a stopped instance stopped, from ``StateTransitionReason`` (None when it does not say)."""
    match = _STOP_TIME.search(reason or "")
    if not match:
        return None
    try:
        return dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


@rule(
    "ec2-stopped-instance",
    reads={CONF + "State": "DescribeInstances"},
    aws_identifier="EC2_STOPPED_INSTANCE",
    service="Amazon EC2 / EBS",
    resource_types=(INSTANCE,),
    trigger="periodic",
    severity="low",
    compliant_when="No EC2 instance has been stopped longer than AllowedDays (docs default 30).",
    parameters={"AllowedDays": ("int", 30)},
)
def ec2_stopped_instance(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    state = (get(item, CONF + "State") or {}).get("Name")
    if state != "stopped":
        return not_applicable(f"instance is {state or 'in an unknown state'}, not stopped")
    allowed = params.get("AllowedDays")
    allowed = 30 if allowed is None else int(allowed)
    stopped_at = stop_time(get(item, CONF + "StateTransitionReason"))
    if stopped_at is None:
        return non_compliant("instance is stopped and its stop time cannot be determined")
    now = ctx.now if ctx.now.tzinfo else ctx.now.replace(tzinfo=dt.UTC)
    stopped_for = now - stopped_at
    days = stopped_for.days
    if stopped_for > dt.timedelta(days=allowed):
        return non_compliant(f"instance stopped {days} day(s) ago, more than AllowedDays {allowed}")
    return compliant(f"instance stopped {days} day(s) ago, within AllowedDays {allowed}")
