"""EC2 and EBS: volumes, snapshots, instances, security groups, Elastic IPs, EBS account defaults.

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
* ``AWS::EC2::SecurityGroup`` (id ``sg-…``, resourceName = GroupName): ``configuration`` =
  DescribeSecurityGroups element with ``IpPermissions`` / ``IpPermissionsEgress`` in boto3
  shape (``IpProtocol``, ``FromPort``, ``ToPort``, ``IpRanges[].CidrIp``,
  ``Ipv6Ranges[].CidrIpv6``, ``UserIdGroupPairs``, ``PrefixListIds``); the history diff
  relies on those key names. ``GroupName == "default"`` marks a VPC's default group.
* ``AWS::EC2::EIP`` (id = ``AllocationId``, or the public IP for a classic address without
  one): ``configuration`` = DescribeAddresses element (``PublicIp``, ``InstanceId``,
  ``AssociationId`` only when associated).

Account item (``AWS::::Account``, this region):

* ``configuration.ebsEncryptionByDefault``: bool (GetEbsEncryptionByDefault).
* ``configuration.ebsDefaultKmsKeyId``: GetEbsDefaultKmsKeyId's ``KmsKeyId``, read only when
  encryption by default is on; ``None`` when it is off (no default key in use).

As everywhere: a key that is absent means the call failed (see ``collectionErrors``);
``None`` means "not configured". Each API is called at most once per resource.

Collected by the hook :mod:`phiwatch.collect.ec2` (the specs have no listing), whose calls are
``SERVICE.iam``.
"""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

VOLUME = "AWS::EC2::Volume"
SNAPSHOT = "AWS::EC2::Snapshot"
INSTANCE = "AWS::EC2::Instance"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
EIP = "AWS::EC2::EIP"

SERVICE = Service(
    "ec2",
    resources=(
        ResourceSpec(
            VOLUME,
            events=(
                on(
                    "ec2.amazonaws.com",
                    "CreateVolume DeleteVolume ModifyVolume ModifyVolumeAttribute EnableVolumeIO",
                    P("requestParameters.volumeId"),
                    P("responseElements.volumeId"),
                    P("requestParameters.ModifyVolumeRequest.VolumeId"),
                ),
                on("ec2.amazonaws.com", "AttachVolume DetachVolume", P("requestParameters.volumeId")),
                on(
                    "ec2.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourcesSet.items[].resourceId", r"^(vol-[0-9a-zA-Z]+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            SNAPSHOT,
            events=(
                on(
                    "ec2.amazonaws.com",
                    ("CreateSnapshot CreateSnapshots CopySnapshot DeleteSnapshot ModifySnapshotAttribute ResetSnapshotAttribute"),
                    P("requestParameters.snapshotId"),
                    P("responseElements.snapshotId"),
                    P("responseElements.snapshotSet.items[].snapshotId"),
                ),
                on(
                    "ec2.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourcesSet.items[].resourceId", r"^(snap-[0-9a-zA-Z]+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            INSTANCE,
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
                on(
                    "ec2.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourcesSet.items[].resourceId", r"^(i-[0-9a-zA-Z]+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            SECURITY_GROUP,
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
                on(
                    "ec2.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourcesSet.items[].resourceId", r"^(sg-[0-9a-zA-Z]+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            EIP,
            events=(
                on(
                    "ec2.amazonaws.com",
                    "AllocateAddress ReleaseAddress AssociateAddress DisassociateAddress",
                    P("requestParameters.allocationId"),
                    P("responseElements.allocationId"),
                    P("requestParameters.publicIp"),
                ),
                on(
                    "ec2.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourcesSet.items[].resourceId", r"^(eipalloc-[0-9a-zA-Z]+)$"),
                    optional=True,
                ),
            ),
        ),
    ),
    account_events=(
        on(
            "ec2.amazonaws.com",
            ("EnableEbsEncryptionByDefault DisableEbsEncryptionByDefault ModifyEbsDefaultKmsKeyId ResetEbsDefaultKmsKeyId"),
        ),
    ),
    iam=(
        "ec2:DescribeAddresses",
        "ec2:DescribeInstances",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSnapshotAttribute",
        "ec2:DescribeSnapshots",
        "ec2:DescribeVolumes",
        "ec2:GetEbsDefaultKmsKeyId",  # not in the demo: only when EBS encryption by default is on (moto lacks it)
        "ec2:GetEbsEncryptionByDefault",
    ),
)
