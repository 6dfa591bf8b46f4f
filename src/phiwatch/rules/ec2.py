"""EC2 and EBS rules: the HIPAA pack's and the other AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.ec2`: volumes, snapshots and instances with their
describe element in ``configuration``; snapshot permissions in
``supplementaryConfiguration.CreateVolumePermissions``; EBS encryption by default on the
regional ``AWS::::Account`` item (``configuration.ebsEncryptionByDefault``). ``None`` means
"not configured", a missing key means the read failed. Security-group rules are in
:mod:`phiwatch.rules.vpc`.

Decisions where AWS's documentation leaves room (each follows the rule's documented wording):

* ec2-ebs-encryption-by-default is judged on the account item of each region (the only one
  carrying ``ebsEncryptionByDefault``); the global account item does not get a verdict.
* ebs-snapshot-public-restorable-check: AWS's page names no resource type (a periodic check of the
  account's snapshots in the region); phiwatch gives each snapshot the account owns its own verdict
  (``AWS::EC2::Snapshot`` is phiwatch's item type), so a finding names the snapshot to make private.
  Permissions are read with DescribeSnapshotAttribute per snapshot (moto's RestorableByUserIds
  filter also lists private snapshots).
* encrypted-volumes: a volume without an attachment is NOT_APPLICABLE ("attached EBS
  volumes"). ``kmsId`` (a key id or key ARN; a comma-separated list is accepted too) matches the
  volume's ``KmsKeyId`` ARN exactly or by its ``key/<id>`` suffix; aliases are not resolved.
* ec2-stopped-instance: the stop time is read from ``StateTransitionReason``
  ("User initiated (YYYY-MM-DD HH:MM:SS GMT)"), the only stop time the describe API gives.
  A stopped instance whose stop time cannot be read is NON_COMPLIANT (AWS: "or if the amount
  of time cannot be determined"); an instance in any other state is NOT_APPLICABLE.
* ec2-instances-in-vpc: an instance without ``VpcId`` (EC2-Classic) is NON_COMPLIANT.
* A required parameter left unset (approved-amis-by-id ``amiIds``, desired-instance-type
  ``instanceType``, desired-instance-tenancy ``tenancy``): AWS does not deploy such a rule, and
  phiwatch does not run it.
* "Running instances" (approved-amis-by-id, approved-amis-by-tag, ec2-no-amazon-key-pair): an
  instance that is not ``pending`` or ``running`` (stopped, stopping, shutting-down) is
  NOT_APPLICABLE; terminated instances are not recorded.
* Comma-separated parameters are split on commas, each part stripped, empty parts ignored.
"""

from __future__ import annotations

import datetime as dt
import re

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.resources.ec2 import EIP, INSTANCE, LAUNCH_TEMPLATE, SNAPSHOT, VOLUME
from phiwatch.rules.base import REQUIRED, Result, RuleContext, compliant, csv_list, get, insufficient, non_compliant, not_applicable, rule

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
    """``vpcId`` is compared without surrounding spaces; an empty one is unset."""
    vpc = get(item, CONF + "VpcId")
    if not vpc:
        return non_compliant("instance is not in a VPC")
    wanted = str(params.get("vpcId") or "").strip()
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


# -- other managed rules on instances ------------------------------------------------------
_RUNNING = ("pending", "running")
_EC2 = "Amazon EC2 / EBS"


def _state(item: ConfigurationItem) -> str | None:
    return (get(item, CONF + "State") or {}).get("Name")


def _not_running(item: ConfigurationItem) -> Result | None:
    """NOT_APPLICABLE for an instance that is not running (rules about "running instances")."""
    state = _state(item)
    if state in _RUNNING:
        return None
    return not_applicable(f"instance is {state or 'in an unknown state'}, not running")


@rule(
    "approved-amis-by-id",
    reads={CONF + "ImageId": "DescribeInstances"},
    aws_identifier="APPROVED_AMIS_BY_ID",
    service=_EC2,
    resource_types=(INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when="Running EC2 instances use one of the AMIs listed in amiIds.",
    parameters={"amiIds": ("str", REQUIRED)},
)
def approved_amis_by_id(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """``amiIds`` is required: the rule does not run without it."""
    approved = csv_list(params.get("amiIds"))
    if not approved:
        return None
    stopped = _not_running(item)
    if stopped:
        return stopped
    image = get(item, CONF + "ImageId")
    if image in approved:
        return compliant(f"instance runs approved AMI {image}")
    return non_compliant(f"instance runs AMI {image or '(none)'}, not one of amiIds")


def _tag_matches(entry: str, tags: dict[str, str]) -> bool:
    """Whether an ``amisByTagKeyAndValue`` entry names one of ``tags``: ``key`` (any value) or ``key:value``."""
    return any(entry == key or entry == f"{key}:{value}" for key, value in tags.items())


@rule(
    "approved-amis-by-tag",
    reads={SUP + "ImageTags": "DescribeImages"},
    aws_identifier="APPROVED_AMIS_BY_TAG",
    service=_EC2,
    resource_types=(INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when="Running EC2 instances use AMIs that carry at least one of the tags in amisByTagKeyAndValue (key or key:value).",
    parameters={"amisByTagKeyAndValue": ("str", "tag-key:tag-value,other-tag-key")},
)
def approved_amis_by_tag(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """An entry ``key`` matches an AMI tag with that key and any value, ``key:value`` one with that
    key and value; matching both ways, a key that itself holds ``:`` is found either way. An AMI
    DescribeImages no longer shows (deregistered) has no tags: NON_COMPLIANT. Annotations name no
    tag key or value."""
    wanted = csv_list(params.get("amisByTagKeyAndValue"))
    if not wanted:
        return None
    stopped = _not_running(item)
    if stopped:
        return stopped
    image = get(item, CONF + "ImageId") or "(none)"
    tags = get(item, SUP + "ImageTags")
    if tags is None:
        return non_compliant(f"AMI {image} is not visible to DescribeImages (deregistered?), so it has none of the approved tags")
    if any(_tag_matches(entry, tags) for entry in wanted):
        return compliant(f"AMI {image} carries an approved tag")
    return non_compliant(f"AMI {image} carries none of the tags in amisByTagKeyAndValue")


_TENANCIES = ("default", "dedicated", "host")


@rule(
    "desired-instance-tenancy",
    reads={CONF + "Placement": "DescribeInstances"},
    aws_identifier="DESIRED_INSTANCE_TENANCY",
    service=_EC2,
    resource_types=(INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when="EC2 instances (launched from imageId's AMIs, if set) have the tenancy given (and run on one of hostId's Dedicated Hosts, if set).",
    parameters={"tenancy": ("str", REQUIRED), "imageId": ("str", None), "hostId": ("str", None)},
)
def desired_instance_tenancy(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """``tenancy`` is required (DEFAULT, DEDICATED or HOST, any case): the rule does not run without it;
    another value is "could not check". An instance not launched from one of ``imageId``'s AMIs is
    NOT_APPLICABLE. ``hostId`` applies whatever the tenancy."""
    wanted = str(params.get("tenancy") or "").strip().lower()
    if not wanted:
        return None
    if wanted not in _TENANCIES:
        return insufficient(f"invalid parameter: tenancy {params.get('tenancy')!r} is not DEFAULT, DEDICATED or HOST")
    images = csv_list(params.get("imageId"))
    image = get(item, CONF + "ImageId")
    if images and image not in images:
        return not_applicable(f"instance was launched from AMI {image or '(none)'}, not one of imageId")
    placement = get(item, CONF + "Placement") or {}
    tenancy = str(placement.get("Tenancy") or "default").lower()
    if tenancy != wanted:
        return non_compliant(f"instance tenancy is {tenancy}, not {wanted}")
    hosts = csv_list(params.get("hostId"))
    host = placement.get("HostId")
    if hosts and host not in hosts:
        return non_compliant(f"instance runs on host {host or '(none)'}, not one of hostId")
    return compliant(f"instance tenancy is {tenancy}" + (f" on host {host}" if hosts else ""))


@rule(
    "desired-instance-type",
    reads={CONF + "InstanceType": "DescribeInstances"},
    aws_identifier="DESIRED_INSTANCE_TYPE",
    service=_EC2,
    resource_types=(INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when="EC2 instances are of one of the instance types listed in instanceType.",
    parameters={"instanceType": ("str", REQUIRED)},
)
def desired_instance_type(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """``instanceType`` is required: the rule does not run without it. Types compare case-insensitively."""
    wanted = [t.lower() for t in csv_list(params.get("instanceType"))]
    if not wanted:
        return None
    kind = str(get(item, CONF + "InstanceType") or "")
    if kind.lower() in wanted:
        return compliant(f"instance type {kind} is one of instanceType")
    return non_compliant(f"instance type {kind or '(none)'} is not one of instanceType")


@rule(
    "ebs-optimized-instance",
    reads={SUP + "EbsOptimizedSupport": "DescribeInstanceTypes"},
    aws_identifier="EBS_OPTIMIZED_INSTANCE",
    service=_EC2,
    resource_types=(INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when="EBS optimization is enabled on EC2 instances whose type can be EBS-optimized (types EBS-optimized by default always comply).",
)
def ebs_optimized_instance(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Whether the type can be EBS-optimized is DescribeInstanceTypes' ``EbsOptimizedSupport``:
    ``default`` is COMPLIANT (AWS's note), ``unsupported`` NOT_APPLICABLE, ``supported`` needs the
    instance's ``EbsOptimized``. A type DescribeInstanceTypes does not describe is "could not check"
    unless the instance is EBS-optimized anyway."""
    kind = get(item, CONF + "InstanceType") or "(none)"
    support = get(item, SUP + "EbsOptimizedSupport")
    optimized = get(item, CONF + "EbsOptimized") is True
    if support == "default":
        return compliant(f"instance type {kind} is EBS-optimized by default")
    if support == "unsupported":
        return not_applicable(f"instance type {kind} cannot be EBS-optimized")
    if optimized:
        return compliant("EBS optimization is enabled")
    if support == "supported":
        return non_compliant(f"EBS optimization is not enabled (instance type {kind} supports it)")
    return insufficient(f"could not check: DescribeInstanceTypes did not describe instance type {kind}")


@rule(
    "ec2-instance-detailed-monitoring-enabled",
    reads={CONF + "Monitoring": "DescribeInstances"},
    aws_identifier="EC2_INSTANCE_DETAILED_MONITORING_ENABLED",
    service=_EC2,
    resource_types=(INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when="Detailed monitoring is enabled for the EC2 instance (Monitoring.State enabled).",
)
def ec2_instance_detailed_monitoring_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Only ``enabled`` complies; ``pending`` (being switched on) and ``disabling`` do not yet."""
    state = (get(item, CONF + "Monitoring") or {}).get("State")
    if state == "enabled":
        return compliant("detailed monitoring is enabled")
    return non_compliant(f"detailed monitoring is {state or 'not reported'}")


@rule(
    "ec2-instance-multiple-eni-check",
    reads={CONF + "NetworkInterfaces": "DescribeInstances"},
    aws_identifier="EC2_INSTANCE_MULTIPLE_ENI_CHECK",
    service=_EC2,
    resource_types=(INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when="The EC2 instance uses at most one network interface (ENI or EFA), or only interfaces listed in NetworkInterfaceIds.",
    parameters={"NetworkInterfaceIds": ("str", None)},
)
def ec2_instance_multiple_eni_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``NetworkInterfaceIds`` lists interfaces allowed on multi-interface instances: an instance with
    several interfaces complies when every one of them is listed."""
    interfaces = [i.get("NetworkInterfaceId") for i in get(item, CONF + "NetworkInterfaces") or [] if isinstance(i, dict)]
    if len(interfaces) <= 1:
        return compliant(f"instance uses {len(interfaces)} network interface(s)")
    allowed = set(csv_list(params.get("NetworkInterfaceIds")))
    others = [i for i in interfaces if i not in allowed]
    if allowed and not others:
        return compliant(f"instance uses {len(interfaces)} network interfaces, all listed in NetworkInterfaceIds")
    return non_compliant(f"instance uses {len(interfaces)} network interfaces ({', '.join(str(i) for i in others[:4])} not allowed)")


@rule(
    "ec2-no-amazon-key-pair",
    reads={CONF + "State": "DescribeInstances"},
    aws_identifier="EC2_NO_AMAZON_KEY_PAIR",
    service=_EC2,
    resource_types=(INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when="Running EC2 instances were launched without a key pair.",
)
def ec2_no_amazon_key_pair(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """The key pair is the one the instance was launched with (``KeyName``: AWS's "launch-time
    configuration only")."""
    stopped = _not_running(item)
    if stopped:
        return stopped
    key = get(item, CONF + "KeyName")
    if key:
        return non_compliant(f"instance was launched with key pair {key}")
    return compliant("instance was launched without a key pair")


@rule(
    "ec2-paravirtual-instance-check",
    reads={CONF + "InstanceId": "DescribeInstances"},
    aws_identifier="EC2_PARAVIRTUAL_INSTANCE_CHECK",
    service=_EC2,
    resource_types=(INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when="The EC2 instance's virtualization type is not paravirtual.",
)
def ec2_paravirtual_instance_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Only ``paravirtual`` is NON_COMPLIANT; ``hvm`` (or no virtualization type reported) complies."""
    kind = get(item, CONF + "VirtualizationType")
    if kind == "paravirtual":
        return non_compliant("instance uses paravirtual virtualization")
    return compliant(f"instance virtualization type is {kind or 'not paravirtual'}")


@rule(
    "ec2-token-hop-limit-check",
    reads={CONF + "MetadataOptions": "DescribeInstances"},
    aws_identifier="EC2_TOKEN_HOP_LIMIT_CHECK",
    service=_EC2,
    resource_types=(INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when="The EC2 instance's metadata token hop limit is at most tokenHopLimit (1 when not set).",
    parameters={"tokenHopLimit": ("int", 1)},
)
def ec2_token_hop_limit_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``tokenHopLimit`` must be 1..64 (otherwise "could not check"); an instance whose metadata
    options give no hop limit has AWS's default, 1."""
    limit = params.get("tokenHopLimit")
    limit = 1 if limit is None else int(limit)
    if not 1 <= limit <= 64:
        return insufficient(f"invalid parameter: tokenHopLimit {limit} is not between 1 and 64")
    hops = (get(item, CONF + "MetadataOptions") or {}).get("HttpPutResponseHopLimit")
    hops = 1 if hops is None else hops
    if not isinstance(hops, int) or isinstance(hops, bool):
        return insufficient(f"could not check: metadata hop limit {hops!r} is not a number")
    if hops > limit:
        return non_compliant(f"metadata token hop limit is {hops}, above tokenHopLimit {limit}")
    return compliant(f"metadata token hop limit is {hops}, within tokenHopLimit {limit}")


# -- volumes, Elastic IPs, launch templates -------------------------------------------------
@rule(
    "ec2-volume-inuse-check",
    reads={CONF + "Attachments": "DescribeVolumes"},
    aws_identifier="EC2_VOLUME_INUSE_CHECK",
    service=_EC2,
    resource_types=(VOLUME,),
    trigger="change",
    severity="low",
    compliant_when="EBS volumes are attached to an EC2 instance (and, when deleteOnTermination is True, marked for deletion on termination).",
    parameters={"deleteOnTermination": ("str", None)},
)
def ec2_volume_inuse_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS's current page: COMPLIANT when attached to a running or stopped instance, NON_COMPLIANT when
    not attached (a volume whose instance was terminated is detached by then; terminated
    instances are not recorded, so an attachment is not checked against its instance's state).
    An attachment counts while ``attaching`` or ``attached``. ``deleteOnTermination`` is read as
    text, as AWS does: ``true``/``false`` in any case; any other value makes every volume
    NON_COMPLIANT (AWS's documented behaviour), so it is not refused when the policy loads."""
    raw = params.get("deleteOnTermination")
    setting = None if raw is None or str(raw).strip() == "" else str(raw).strip().lower()
    if setting not in (None, "true", "false"):
        return non_compliant(f"deleteOnTermination {raw!r} is not True or False")
    attachments = [a for a in get(item, CONF + "Attachments") or [] if isinstance(a, dict) and a.get("State") in ("attaching", "attached")]
    if not attachments:
        return non_compliant("volume is not attached to an instance")
    instances = ", ".join(str(a.get("InstanceId")) for a in attachments)
    if setting == "true":
        kept = [str(a.get("InstanceId")) for a in attachments if a.get("DeleteOnTermination") is not True]
        if kept:
            return non_compliant(f"volume is attached to {', '.join(kept)} without DeleteOnTermination")
        return compliant(f"volume is attached to {instances} and deleted on termination")
    return compliant(f"volume is attached to {instances}")


@rule(
    "eip-attached",
    reads={CONF + "PublicIp": "DescribeAddresses"},
    aws_identifier="EIP_ATTACHED",
    service=_EC2,
    resource_types=(EIP,),
    trigger="change",
    severity="low",
    compliant_when="The Elastic IP address is associated with an EC2 instance or an in-use network interface (it has an AssociationId).",
)
def eip_attached(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS's current page: NON_COMPLIANT when ``AssociationId`` is null."""
    if get(item, CONF + "AssociationId"):
        target = get(item, CONF + "InstanceId") or get(item, CONF + "NetworkInterfaceId") or "a network interface"
        return compliant(f"Elastic IP is associated with {target}")
    return non_compliant("Elastic IP is not associated with an instance or network interface")


@rule(
    "ec2-launch-template-public-ip-disabled",
    reads={SUP + "DefaultVersion": "DescribeLaunchTemplateVersions"},
    aws_identifier="EC2_LAUNCH_TEMPLATE_PUBLIC_IP_DISABLED",
    service=_EC2,
    resource_types=(LAUNCH_TEMPLATE,),
    trigger="change",
    severity="high",
    compliant_when=(
        "No network interface of the launch template's default version sets AssociatePublicIpAddress to true "
        "(templates listed in exemptedLaunchTemplates are allowed to)."
    ),
    parameters={"exemptedLaunchTemplates": ("str", None)},
)
def ec2_launch_template_public_ip_disabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """An exempted template (by id) is COMPLIANT whatever it sets. A default version the answer
    does not hold is "could not check"."""
    if item.resourceId in csv_list(params.get("exemptedLaunchTemplates")):
        return compliant("launch template is listed in exemptedLaunchTemplates")
    version = get(item, SUP + "DefaultVersion")
    if not isinstance(version, dict):
        return insufficient("could not check: DescribeLaunchTemplateVersions returned no default version")
    interfaces = (version.get("LaunchTemplateData") or {}).get("NetworkInterfaces") or []
    public = [str(i.get("DeviceIndex", "?")) for i in interfaces if isinstance(i, dict) and i.get("AssociatePublicIpAddress") is True]
    number = version.get("VersionNumber")
    if public:
        return non_compliant(f"default version {number} assigns a public IP address (network interface device index {', '.join(public)})")
    return compliant(f"default version {number} assigns no public IP address")
