"""EC2/EBS collector against moto's server: volumes, snapshots, instances, security groups, EIPs,
EBS encryption by default, deletions and security-group history."""

from __future__ import annotations

import pytest

from phiwatch.collect.runner import collect
from phiwatch.model import ACCOUNT_TYPE
from phiwatch.resources.ec2 import VOLUME_PAGE
from phiwatch.store.diff import diff_items
from stored import stored_item

ACCOUNT = "123456789012"


def _name(resource_type: str, name: str, **extra: str) -> list[dict]:
    tags = [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in extra.items()]
    return [{"ResourceType": resource_type, "Tags": tags}]


@pytest.fixture
def image_id(aws_env) -> str:
    """An image of our own: run_instances works without moto's default AMIs."""
    return aws_env.client("ec2").register_image(Name="test-base-image", RootDeviceName="/dev/xvda")["ImageId"]


def test_volumes_encrypted_and_unencrypted_then_deleted(aws_env, store):
    ec2 = aws_env.client("ec2")
    encrypted = ec2.create_volume(
        Size=8, AvailabilityZone="us-east-1a", Encrypted=True, TagSpecifications=_name("volume", "ebs-encrypted", PHI="Yes")
    )["VolumeId"]
    unencrypted = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a", TagSpecifications=_name("volume", "ebs-unencrypted"))["VolumeId"]
    ctx = aws_env.context()
    result = collect(ctx, store, services=["ec2"])
    assert result.errors == []
    assert result.types_seen["AWS::EC2::Volume"] == 2

    good = stored_item(store, "ebs-encrypted")
    assert good["resourceId"] == encrypted and encrypted.startswith("vol-")
    assert good["arn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/{encrypted}"
    assert good["configuration"]["Encrypted"] is True
    assert good["tags"] == {"Name": "ebs-encrypted", "PHI": "Yes"}
    assert "Tags" not in good["configuration"]
    assert good["collectionErrors"] == []
    bad = stored_item(store, "ebs-unencrypted")
    assert bad["configuration"]["Encrypted"] is False

    ec2.delete_volume(VolumeId=unencrypted)
    result = collect(ctx, store, services=["ec2"])
    assert result.deleted == 1
    assert store.resolve(unencrypted)["status"] == "ResourceDeleted"
    assert store.resolve(encrypted)["status"] != "ResourceDeleted"
    # what it was before deletion stays in its history
    first = store.history(store.resolve(unencrypted)["id"])[0]["item"]
    assert first["configuration"]["Encrypted"] is False


def test_snapshot_public_vs_private_permission(aws_env, store):
    ec2 = aws_env.client("ec2")
    volume = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"]
    public = ec2.create_snapshot(VolumeId=volume, TagSpecifications=_name("snapshot", "snapshot-public"))["SnapshotId"]
    private = ec2.create_snapshot(VolumeId=volume, TagSpecifications=_name("snapshot", "snapshot-private"))["SnapshotId"]
    shared = ec2.create_snapshot(VolumeId=volume, TagSpecifications=_name("snapshot", "snapshot-shared-one-account"))["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=public, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"])
    ec2.modify_snapshot_attribute(SnapshotId=shared, Attribute="createVolumePermission", OperationType="add", UserIds=["111122223333"])
    result = collect(aws_env.context(), store, services=["ec2"])
    assert result.errors == []

    pub = stored_item(store, "snapshot-public")
    assert pub["resourceType"] == "AWS::EC2::Snapshot"
    assert pub["resourceId"] == public
    assert pub["arn"] == f"arn:aws:ec2:us-east-1::snapshot/{public}"
    assert pub["configuration"]["VolumeId"] == volume
    assert pub["supplementaryConfiguration"]["CreateVolumePermissions"] == [{"Group": "all"}]
    priv = stored_item(store, "snapshot-private")
    assert priv["resourceId"] == private
    assert priv["supplementaryConfiguration"]["CreateVolumePermissions"] == []
    assert stored_item(store, "snapshot-shared-one-account")["supplementaryConfiguration"]["CreateVolumePermissions"] == [
        {"UserId": "111122223333"}
    ]


def test_instance_imds_public_ip_and_profile(aws_env, store, image_id):
    ec2 = aws_env.client("ec2")
    iam = aws_env.client("iam")
    iam.create_instance_profile(InstanceProfileName="app-profile")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    required = ec2.run_instances(
        ImageId=image_id,
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        MetadataOptions={"HttpTokens": "required"},
        IamInstanceProfile={"Name": "app-profile"},
        TagSpecifications=_name("instance", "instance-imdsv2-required", InstanceOwnerEmail="owner@example.org"),
    )["Instances"][0]["InstanceId"]
    ec2.run_instances(
        ImageId=image_id,
        MinCount=1,
        MaxCount=1,
        MetadataOptions={"HttpTokens": "optional"},
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": True}],
        TagSpecifications=_name("instance", "instance-imdsv1-public-ip"),
    )
    terminated = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, TagSpecifications=_name("instance", "instance-terminated"))[
        "Instances"
    ][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[terminated])

    result = collect(aws_env.context(), store, services=["ec2"])
    assert result.errors == []
    assert result.types_seen["AWS::EC2::Instance"] == 2

    good = stored_item(store, "instance-imdsv2-required")
    cfg = good["configuration"]
    assert good["resourceId"] == required
    assert good["arn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{required}"
    assert cfg["MetadataOptions"]["HttpTokens"] == "required"
    assert cfg["PublicIpAddress"] is None  # explicit None: no public IPv4 address
    assert cfg["IamInstanceProfile"]["Arn"].endswith(":instance-profile/app-profile")
    assert cfg["State"]["Name"] == "running"
    assert good["tags"]["InstanceOwnerEmail"] == "owner@example.org"
    rels = {(r["resourceType"], r["resourceId"]) for r in good["relationships"]}
    assert ("AWS::EC2::Subnet", subnet) in rels and ("AWS::EC2::VPC", vpc) in rels
    assert any(t == "AWS::EC2::Volume" for t, _ in rels)

    bad = stored_item(store, "instance-imdsv1-public-ip")["configuration"]
    assert bad["MetadataOptions"]["HttpTokens"] == "optional"
    assert bad["PublicIpAddress"]
    assert bad["IamInstanceProfile"] is None

    # terminated instances are not in the inventory
    assert store.find(terminated) == []


def test_security_group_rules_and_history_diff(aws_env, store):
    ec2 = aws_env.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    internal = ec2.create_security_group(GroupName="sg-https-internal", Description="https", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=internal,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
    )
    later_open = ec2.create_security_group(GroupName="sg-ssh-open-later", Description="ssh", VpcId=vpc)["GroupId"]
    ctx = aws_env.context()
    result = collect(ctx, store, services=["ec2"])
    assert result.errors == []

    https = stored_item(store, internal)
    assert https["resourceName"] == "sg-https-internal"
    assert https["arn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{internal}"
    perms = https["configuration"]["IpPermissions"]
    assert len(perms) == 1
    assert (perms[0]["IpProtocol"], perms[0]["FromPort"], perms[0]["ToPort"]) == ("tcp", 443, 443)
    assert perms[0]["IpRanges"] == [{"CidrIp": "10.0.0.0/8"}]
    assert https["configuration"]["IpPermissionsEgress"][0]["IpProtocol"] == "-1"
    assert {"resourceType": "AWS::EC2::VPC", "resourceId": vpc, "relationshipName": "Is contained in Vpc"} in https["relationships"]
    closed = stored_item(store, later_open)
    assert closed["configuration"]["IpPermissions"] == []

    ec2.authorize_security_group_ingress(
        GroupId=later_open,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    result = collect(ctx, store, services=["ec2"])
    assert result.changed == 1  # only the group that changed gets a new version
    versions = store.history(store.resolve(later_open)["id"])
    assert [v["version"] for v in versions] == [1, 2]
    texts = [c.describe() for c in diff_items(versions[0]["item"], versions[1]["item"])]
    assert texts == ["configuration.IpPermissions: added tcp/22 from 0.0.0.0/0"]


def _account_config(store, region="us-east-1"):
    rows = [r for r in store.inventory(resource_type=ACCOUNT_TYPE) if r["region"] == region]
    assert len(rows) == 1
    return store.item_at(rows[0]["id"])["item"]


def test_ebs_encryption_by_default_off(aws_env, store):
    result = collect(aws_env.context(), store, services=["ec2"])
    assert result.errors == []
    off = _account_config(store)
    assert off["resourceId"] == ACCOUNT
    assert off["arn"] == f"arn:aws:::{ACCOUNT}"
    assert off["configuration"]["ebsEncryptionByDefault"] is False
    assert off["configuration"]["ebsDefaultKmsKeyId"] is None  # off: no default key in use
    assert off["collectionErrors"] == []


def test_ebs_encryption_by_default_on(aws_env, store):
    aws_env.client("ec2").enable_ebs_encryption_by_default()
    result = collect(aws_env.context(), store, services=["ec2"])
    on = _account_config(store)
    assert on["configuration"]["ebsEncryptionByDefault"] is True
    # the embedded emulator answers GetEbsDefaultKmsKeyId (moto lacks it): AWS's managed aws/ebs key
    assert result.errors == []
    assert on["configuration"]["ebsDefaultKmsKeyId"].startswith("arn:aws:kms:us-east-1:")


def test_ebs_encryption_by_default_is_per_region(aws_env, store):
    aws_env.client("ec2", "eu-west-1").enable_ebs_encryption_by_default()
    collect(aws_env.context(["us-east-1", "eu-west-1"]), store, services=["ec2"])
    assert _account_config(store, "us-east-1")["configuration"]["ebsEncryptionByDefault"] is False
    assert _account_config(store, "eu-west-1")["configuration"]["ebsEncryptionByDefault"] is True


def test_elastic_ip(aws_env, store):
    ec2 = aws_env.client("ec2")
    allocation = ec2.allocate_address(Domain="vpc", TagSpecifications=_name("elastic-ip", "eip-unattached"))["AllocationId"]
    result = collect(aws_env.context(), store, services=["ec2"])
    assert result.errors == []
    eip = stored_item(store, "eip-unattached")
    assert eip["resourceType"] == "AWS::EC2::EIP"
    assert eip["resourceId"] == allocation and allocation.startswith("eipalloc-")
    assert eip["arn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:elastic-ip/{allocation}"
    assert eip["configuration"]["PublicIp"]
    assert not eip["configuration"].get("InstanceId")
    assert eip["relationships"] == []


def test_denied_list_call_is_an_error_and_deletes_nothing(aws_env, store):
    ec2 = aws_env.client("ec2")
    volume = ec2.create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"]
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ctx = aws_env.context()
    collect(ctx, store, services=["ec2"])
    ec2.delete_snapshot(SnapshotId=snapshot)  # gone, but the listing that would show it is denied

    from botocore.exceptions import ClientError

    def deny(model, **_):
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "denied"}}, model.name)

    events = ctx.client("ec2", "us-east-1").meta.events
    events.register("before-call.ec2.DescribeVolumes", deny)
    events.register("before-call.ec2.DescribeSnapshots", deny)
    result = collect(ctx, store, services=["ec2"])
    assert sorted((e.api, e.iam_action, e.error) for e in result.errors) == [
        ("DescribeSnapshots", "ec2:DescribeSnapshots", "UnauthorizedOperation"),
        ("DescribeVolumes", "ec2:DescribeVolumes", "UnauthorizedOperation"),
    ]
    assert result.deleted == 0
    assert store.resolve(volume)["status"] != "ResourceDeleted"
    assert store.resolve(snapshot)["status"] != "ResourceDeleted"


def test_volumes_are_listed_in_pages_and_every_page_is_collected(aws_env, store):
    ec2 = aws_env.client("ec2")
    created = {ec2.create_volume(Size=8, AvailabilityZone="us-east-1a")["VolumeId"] for _ in range(VOLUME_PAGE + 3)}
    ctx = aws_env.context()
    asked: list[dict] = []
    client = ctx.client("ec2")
    client.meta.events.register(
        "before-parameter-build.ec2.DescribeVolumes",
        lambda params, **_: asked.append({k: v for k, v in params.items() if k != "NextToken"}),
    )
    result = collect(ctx, store, services=["ec2"])
    assert result.errors == []
    assert result.types_seen["AWS::EC2::Volume"] == VOLUME_PAGE + 3
    assert asked == [{"MaxResults": VOLUME_PAGE}, {"MaxResults": VOLUME_PAGE}]  # two pages, no more
    assert {row["resource_id"] for row in store.inventory(resource_type="AWS::EC2::Volume")} == created
