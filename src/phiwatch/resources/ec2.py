"""EC2 and EBS: volumes, snapshots, instances, security groups, Elastic IPs, launch templates, EBS
account defaults.

Item layout (regional; ``configuration`` is the describe API's element in boto3 shape, with
its ``Tags`` list moved to the item's ``tags`` dict; ``resourceName`` is the ``Name`` tag or
the id):

* ``AWS::EC2::Volume`` (id ``vol-…``, arn ``arn:aws:ec2:<region>:<account>:volume/vol-…``):
  ``configuration`` = DescribeVolumes element (``Encrypted``, ``KmsKeyId`` only when encrypted,
  ``State``, ``Attachments``, ``VolumeType``, ``Size``, ...). Relationship "Is attached to
  Instance" for each attachment.
* ``AWS::EC2::Snapshot`` (snapshots the account owns; id ``snap-…``, arn
  ``arn:aws:ec2:<region>::snapshot/snap-…`` — snapshot ARNs carry no account):
  ``configuration`` = DescribeSnapshots element (``Encrypted``, ``VolumeId``, ``State``, ...);
  ``supplementaryConfiguration.CreateVolumePermissions`` = DescribeSnapshotAttribute's list
  (``[]`` = private, ``[{"Group": "all"}]`` = public, ``[{"UserId": "…"}]`` = shared with
  an account). Not an AWS Config type in most packs: phiwatch's own name for it.
* ``AWS::EC2::Instance`` (id ``i-…``; terminated instances are skipped):
  ``configuration`` = DescribeInstances element incl. ``MetadataOptions`` (``HttpTokens``
  ``required`` = IMDSv2 only), ``State``, ``VpcId``, ``SubnetId``, ``SecurityGroups``,
  ``BlockDeviceMappings``. ``PublicIpAddress`` and ``IamInstanceProfile`` are always present:
  ``None`` when the instance has no public IPv4 address / no instance profile (AWS omits them).
  Relationships: Vpc, Subnet, SecurityGroup, Volume.
  ``supplementaryConfiguration.ImageTags`` = the tags of the instance's AMI as a map (``{}``: an
  AMI without tags; ``None``: DescribeImages does not show the AMI any more, e.g. deregistered);
  ``supplementaryConfiguration.EbsOptimizedSupport`` = DescribeInstanceTypes' ``EbsInfo.
  EbsOptimizedSupport`` of its instance type (``unsupported``, ``supported``, ``default``;
  ``None`` when the type is not described). Both come from one call each per region (the
  instances' AMIs and types as ``Filters``), not one per instance.
* ``AWS::EC2::SecurityGroup`` (id ``sg-…``, resourceName = GroupName): ``configuration`` =
  DescribeSecurityGroups element with ``IpPermissions`` / ``IpPermissionsEgress`` in boto3
  shape (``IpProtocol``, ``FromPort``, ``ToPort``, ``IpRanges[].CidrIp``,
  ``Ipv6Ranges[].CidrIpv6``, ``UserIdGroupPairs``, ``PrefixListIds``); the history diff
  relies on those key names. ``GroupName == "default"`` marks a VPC's default group.
  ``supplementaryConfiguration.NetworkInterfaceIds`` = the sorted ids of the network interfaces
  (ENIs, any status) the group is attached to (``[]``: none), from one DescribeNetworkInterfaces
  listing per region (in a targeted run, filtered on the wanted groups' ids).
* ``AWS::EC2::EIP`` (id = ``AllocationId``, or the public IP for a classic address without
  one; an address with neither is skipped; resourceName = the ``Name`` tag or the public IP):
  ``configuration`` = DescribeAddresses element (``PublicIp``, ``InstanceId``,
  ``AssociationId`` only when associated).
* ``AWS::EC2::LaunchTemplate`` (id ``lt-…``, resourceName = LaunchTemplateName):
  ``configuration`` = DescribeLaunchTemplates element (``DefaultVersionNumber``, ...);
  ``supplementaryConfiguration.DefaultVersion`` = the default version's
  DescribeLaunchTemplateVersions element with ``LaunchTemplateData`` without ``UserData`` (it may
  hold secrets; ``UserDataPresent`` says whether there is any).

Account item (``AWS::::Account``, this region):

* ``configuration.ebsEncryptionByDefault``: bool (GetEbsEncryptionByDefault).
* ``configuration.ebsDefaultKmsKeyId``: GetEbsDefaultKmsKeyId's ``KmsKeyId``, read only when
  encryption by default is on; ``None`` when it is off (no default key in use).

As everywhere: a key that is absent means the call failed (see ``collectionErrors``);
``None`` means "not configured". Each API is called at most once per resource.

A targeted run (``watch``) lists only the wanted resources, with ``Filters`` on the id
(``volume-id``, ``snapshot-id``, ``instance-id``, ``group-id``; an ARN counts by its id) and on
the name (``tag:Name``, ``group-name``): :class:`Filtered`. Elastic IPs are not targeted.

The specs are collected by the hook :mod:`phiwatch.collect.ec2` (the account part, the
snapshots' permission call, a targeted run needing several filtered listings), whose own calls
are ``SERVICE.iam``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phiwatch.resources.spec import Call, Event, P, R, ResourceSpec, Service, name_tag, on, relation

VOLUME = "AWS::EC2::Volume"
SNAPSHOT = "AWS::EC2::Snapshot"
INSTANCE = "AWS::EC2::Instance"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
EIP = "AWS::EC2::EIP"
LAUNCH_TEMPLATE = "AWS::EC2::LaunchTemplate"

#: most values of one EC2 filter in one listing call
FILTER_VALUES = 200
#: elements asked per page of an EC2 listing (``MaxResults``; volumes at most 500). Without it EC2
#: answers a Region's whole listing at once, which AWS warns is "susceptible to throttling and
#: timeouts": thousands of volumes in one response of several MB.
PAGE = 1000
VOLUME_PAGE = 500


def tagged(prefix: str) -> Event:
    """EC2's CreateTags/DeleteTags of resources whose id starts with ``prefix`` (``vol-``, ``subnet-``, ...)."""
    return on(
        "ec2.amazonaws.com",
        "CreateTags DeleteTags",
        R("requestParameters.resourcesSet.items[].resourceId", rf"^({prefix}[0-9a-zA-Z]+)$"),
        optional=True,
    )


def ec2_arn(kind: str, account: bool = True) -> str:
    """The ARN template of an EC2 resource (snapshots' ARNs have no account)."""
    return f"arn:{{partition}}:ec2:{{region}}:{'{account}' if account else ''}:{kind}/{{id}}"


@dataclass(frozen=True)
class Filtered:
    """A targeted listing through EC2 ``Filters``: the wanted ids (an ARN by its last part) with
    ``id_filter``, the other wanted identifiers (not ARNs) with ``name_filter``.

    EC2 ANDs different filters, so ids and names need a listing each, and one filter takes at most
    :data:`FILTER_VALUES` values: :meth:`listings` gives every listing's ``Filters``; called as a
    spec's ``target_listing`` it gives the first one's parameters (all of them when the wanted
    identifiers are of one kind and few)."""

    id_filter: str
    prefix: str
    name_filter: str

    def listings(self, wanted: frozenset[str]) -> list[list[dict[str, Any]]]:
        ids = sorted({w.rsplit("/", 1)[-1] for w in wanted if w.rsplit("/", 1)[-1].startswith(self.prefix)})
        names = sorted(w for w in wanted if not w.startswith(self.prefix) and not w.startswith("arn:"))
        return [
            [{"Name": name, "Values": values[start : start + FILTER_VALUES]}]
            for name, values in ((self.id_filter, ids), (self.name_filter, names))
            for start in range(0, len(values), FILTER_VALUES)
        ]

    def __call__(self, wanted: frozenset[str], env: Mapping[str, str]) -> dict[str, Any]:
        listings = self.listings(wanted)
        return {"Filters": listings[0]} if listings else {}


def _volume_relations(volume: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for a in volume.get("Attachments") or [] for r in relation(INSTANCE, a.get("InstanceId"), "Is attached to Instance")]


def _instance_defaults(instance: dict[str, Any]) -> dict[str, Any]:
    """``PublicIpAddress`` and ``IamInstanceProfile`` always present (None when AWS omits them)."""
    configuration = dict(instance)
    configuration.setdefault("PublicIpAddress", None)
    configuration.setdefault("IamInstanceProfile", None)
    return configuration


def _instance_relations(instance: dict[str, Any]) -> list[dict[str, Any]]:
    related = relation("AWS::EC2::VPC", instance.get("VpcId"), "Is contained in Vpc")
    related += relation("AWS::EC2::Subnet", instance.get("SubnetId"), "Is contained in Subnet")
    groups = list(instance.get("SecurityGroups") or [])
    groups += [g for eni in instance.get("NetworkInterfaces") or [] for g in eni.get("Groups") or []]
    group_ids = dict.fromkeys(g.get("GroupId") for g in groups)
    related += [r for g in group_ids for r in relation(SECURITY_GROUP, g, "Is associated with SecurityGroup")]
    related += [
        r
        for m in instance.get("BlockDeviceMappings") or []
        for r in relation(VOLUME, (m.get("Ebs") or {}).get("VolumeId"), "Is attached to Volume")
    ]
    return related


def _group_relations(group: dict[str, Any]) -> list[dict[str, Any]]:
    return relation("AWS::EC2::VPC", group.get("VpcId"), "Is contained in Vpc")


def _address_relations(address: dict[str, Any]) -> list[dict[str, Any]]:
    return relation(INSTANCE, address.get("InstanceId"), "Is attached to Instance") + relation(
        "AWS::EC2::NetworkInterface", address.get("NetworkInterfaceId"), "Is attached to NetworkInterface"
    )


def _version_without_user_data(version: Any) -> Any:
    """A launch template version whose ``LaunchTemplateData.UserData`` (it may hold secrets) is replaced
    by ``UserDataPresent``."""
    if not isinstance(version, dict):
        return None  # no default version in the answer
    data = version.get("LaunchTemplateData")
    if not isinstance(data, dict):
        return version
    shaped = {k: v for k, v in data.items() if k != "UserData"}
    shaped["UserDataPresent"] = bool(data.get("UserData"))
    return {**version, "LaunchTemplateData": shaped}


def _not_terminated(instance: Any) -> bool:
    return (instance.get("State") or {}).get("Name") != "terminated"


def _address_id(address: Any) -> Any:
    return address.get("AllocationId") or address.get("PublicIp")


SERVICE = Service(
    "ec2",
    cost=2,
    resources=(
        ResourceSpec(
            VOLUME,
            client="ec2",
            listing=Call("DescribeVolumes", "ec2:DescribeVolumes", {"MaxResults": VOLUME_PAGE}, result="Volumes"),
            target_listing=Filtered("volume-id", "vol-", "tag:Name"),
            id="VolumeId",
            name=name_tag(),
            arn=ec2_arn("volume"),
            tags="Tags",
            drop=("Tags",),
            relationships=_volume_relations,
            events=(
                on(
                    "ec2.amazonaws.com",
                    "CreateVolume DeleteVolume ModifyVolume ModifyVolumeAttribute EnableVolumeIO",
                    P("requestParameters.volumeId"),
                    P("responseElements.volumeId"),
                    P("requestParameters.ModifyVolumeRequest.VolumeId"),
                ),
                on("ec2.amazonaws.com", "AttachVolume DetachVolume", P("requestParameters.volumeId")),
                tagged("vol-"),
            ),
        ),
        ResourceSpec(
            SNAPSHOT,
            client="ec2",
            listing=Call("DescribeSnapshots", "ec2:DescribeSnapshots", {"OwnerIds": ["self"], "MaxResults": PAGE}, result="Snapshots"),
            target_listing=Filtered("snapshot-id", "snap-", "tag:Name"),
            id="SnapshotId",
            name=name_tag(),
            arn=ec2_arn("snapshot", account=False),
            tags="Tags",
            drop=("Tags",),
            events=(
                on(
                    "ec2.amazonaws.com",
                    ("CreateSnapshot CreateSnapshots CopySnapshot DeleteSnapshot ModifySnapshotAttribute ResetSnapshotAttribute"),
                    P("requestParameters.snapshotId"),
                    P("responseElements.snapshotId"),
                    P("responseElements.snapshotSet.items[].snapshotId"),
                ),
                tagged("snap-"),
            ),
        ),
        ResourceSpec(
            INSTANCE,
            client="ec2",
            listing=Call("DescribeInstances", "ec2:DescribeInstances", {"MaxResults": PAGE}, result="Reservations"),
            unnest="Instances",
            keep=_not_terminated,
            target_listing=Filtered("instance-id", "i-", "tag:Name"),
            id="InstanceId",
            name=name_tag(),
            arn=ec2_arn("instance"),
            tags="Tags",
            drop=("Tags",),
            shape=_instance_defaults,
            relationships=_instance_relations,
            events=(
                on("ec2.amazonaws.com", "AttachVolume DetachVolume", P("requestParameters.instanceId")),
                on(
                    "ec2.amazonaws.com",
                    (
                        "RunInstances TerminateInstances StartInstances StopInstances "
                        "ModifyInstanceAttribute ModifyInstanceMetadataOptions "
                        "AssociateIamInstanceProfile DisassociateIamInstanceProfile "
                        "ReplaceIamInstanceProfileAssociation ModifyNetworkInterfaceAttribute"
                    ),
                    P("requestParameters.instanceId"),
                    P("requestParameters.instancesSet.items[].instanceId"),
                    P("responseElements.instancesSet.items[].instanceId"),
                    P("requestParameters.ModifyInstanceMetadataOptionsRequest.InstanceId"),
                    P("requestParameters.AssociateIamInstanceProfileRequest.InstanceId"),
                ),
                on(
                    "ec2.amazonaws.com",
                    "AllocateAddress ReleaseAddress AssociateAddress DisassociateAddress",
                    P("requestParameters.instanceId"),
                    optional=True,
                ),
                tagged("i-"),
            ),
        ),
        ResourceSpec(
            SECURITY_GROUP,
            client="ec2",
            listing=Call("DescribeSecurityGroups", "ec2:DescribeSecurityGroups", {"MaxResults": PAGE}, result="SecurityGroups"),
            target_listing=Filtered("group-id", "sg-", "group-name"),
            id="GroupId",
            name="GroupName",
            arn=ec2_arn("security-group"),
            tags="Tags",
            drop=("Tags",),
            relationships=_group_relations,
            events=(
                on(
                    "ec2.amazonaws.com",
                    (
                        "AuthorizeSecurityGroupIngress AuthorizeSecurityGroupEgress "
                        "RevokeSecurityGroupIngress RevokeSecurityGroupEgress "
                        "UpdateSecurityGroupRuleDescriptionsIngress "
                        "UpdateSecurityGroupRuleDescriptionsEgress ModifySecurityGroupRules "
                        "CreateSecurityGroup DeleteSecurityGroup"
                    ),
                    P("requestParameters.groupId"),
                    P("responseElements.groupId"),
                    P("requestParameters.ModifySecurityGroupRulesRequest.GroupId"),
                    P("requestParameters.groupName"),
                ),
                # the network interfaces a group is attached to (supplementaryConfiguration.NetworkInterfaceIds);
                # a deleted ENI names no group: the region's groups are re-read. Instances launched or
                # terminated with their interfaces are seen by the next full collection (watch's sweep).
                on(
                    "ec2.amazonaws.com",
                    "CreateNetworkInterface ModifyNetworkInterfaceAttribute DeleteNetworkInterface",
                    P("requestParameters.groupSet.items[].groupId"),
                    P("requestParameters.networkInterfaceSet.items[].groupSet.items[].groupId"),
                ),
                tagged("sg-"),
            ),
        ),
        ResourceSpec(
            EIP,
            client="ec2",
            listing=Call("DescribeAddresses", "ec2:DescribeAddresses", result="Addresses"),
            id=_address_id,
            name=f"{name_tag()} || PublicIp",
            arn=ec2_arn("elastic-ip"),
            tags="Tags",
            drop=("Tags",),
            relationships=_address_relations,
            events=(
                on(
                    "ec2.amazonaws.com",
                    "AllocateAddress ReleaseAddress AssociateAddress DisassociateAddress",
                    P("requestParameters.allocationId"),
                    P("responseElements.allocationId"),
                    P("requestParameters.publicIp"),
                ),
                tagged("eipalloc-"),
            ),
        ),
        ResourceSpec(
            LAUNCH_TEMPLATE,
            client="ec2",
            listing=Call("DescribeLaunchTemplates", "ec2:DescribeLaunchTemplates", result="LaunchTemplates"),
            id="LaunchTemplateId",
            name="LaunchTemplateName",
            arn=ec2_arn("launch-template"),
            tags="Tags",
            drop=("Tags",),
            details={
                "DefaultVersion": Call(
                    "DescribeLaunchTemplateVersions",
                    "ec2:DescribeLaunchTemplateVersions",
                    {"LaunchTemplateId": "LaunchTemplateId", "Versions": ["$Default"]},
                    result="LaunchTemplateVersions[0]",
                    parse=_version_without_user_data,
                ),
            },
            events=(
                on(
                    "ec2.amazonaws.com",
                    "CreateLaunchTemplate CreateLaunchTemplateVersion ModifyLaunchTemplate DeleteLaunchTemplate DeleteLaunchTemplateVersions",
                    P("requestParameters.CreateLaunchTemplateVersionRequest.LaunchTemplateId"),
                    P("requestParameters.ModifyLaunchTemplateRequest.LaunchTemplateId"),
                    P("requestParameters.DeleteLaunchTemplateRequest.LaunchTemplateId"),
                    P("requestParameters.DeleteLaunchTemplateVersionsRequest.LaunchTemplateId"),
                    P("responseElements.CreateLaunchTemplateResponse.launchTemplate.launchTemplateId"),
                    P("requestParameters.CreateLaunchTemplateRequest.LaunchTemplateName"),
                    P("requestParameters.ModifyLaunchTemplateRequest.LaunchTemplateName"),
                    P("requestParameters.CreateLaunchTemplateVersionRequest.LaunchTemplateName"),
                ),
                tagged("lt-"),
            ),
        ),
    ),
    account_events=(
        on(
            "ec2.amazonaws.com",
            ("EnableEbsEncryptionByDefault DisableEbsEncryptionByDefault ModifyEbsDefaultKmsKeyId ResetEbsDefaultKmsKeyId"),
        ),
    ),
    iam=(  # the hook's own calls: the account part, each snapshot's permissions, the instances' AMIs and
        # types, the security groups' network interfaces
        "ec2:DescribeImages",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSnapshotAttribute",
        "ec2:GetEbsDefaultKmsKeyId",  # not in the demo: only when EBS encryption by default is on (moto lacks it)
        "ec2:GetEbsEncryptionByDefault",
    ),
)
