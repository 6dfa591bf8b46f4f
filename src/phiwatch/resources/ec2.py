"""EC2 and EBS: volumes, snapshots, instances, security groups, Elastic IPs, EBS account defaults."""

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
