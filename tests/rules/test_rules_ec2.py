"""EC2/EBS rules on a real estate in moto's server: one estate, one scan, a verdict per named resource.

Where moto cannot show a case (an instance outside a VPC, a stop time weeks ago, a denied read)
the rule runs on a ConfigurationItem built here.
"""

from __future__ import annotations

import datetime as dt
import functools
import json

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem, utcnow
from phiwatch.policy import Policy, parse_policy
from phiwatch.rules.ec2 import stop_time
from phiwatch.rules.registry import catalogue
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import judge_rule

ACCOUNT = "123456789012"
ZONE = "us-east-1a"


def _name(resource_type: str, name: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}, {"Key": "PHI", "Value": "Yes"}]}]


def _verdicts(outcome) -> dict:
    return {(e["rule_id"], e["resource_name"], e["region"]): e for e in outcome.scan["evaluations"]}


@pytest.fixture(scope="module")
def ec2_scan(emulator, tmp_path_factory):
    emulator.reset()
    session = emulator.session("us-east-1")
    ec2 = make_client(session, "ec2", emulator.endpoint, "us-east-1")
    iam = make_client(session, "iam", emulator.endpoint, "us-east-1")
    kms = make_client(session, "kms", emulator.endpoint, "us-east-1")
    # EBS encryption by default: off in us-east-1 (moto's default), on in us-west-2
    make_client(emulator.session("us-west-2"), "ec2", emulator.endpoint, "us-west-2").enable_ebs_encryption_by_default()

    image = ec2.register_image(Name="rules-base-image", RootDeviceName="/dev/xvda")["ImageId"]
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    private_subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24", AvailabilityZone=ZONE)["Subnet"]["SubnetId"]
    iam.create_role(
        RoleName="app-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }
        ),
    )
    profile_arn = iam.create_instance_profile(InstanceProfileName="app-profile")["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app-role")

    def run(name: str, tokens: str, **kwargs) -> str:
        return ec2.run_instances(
            ImageId=image,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            MetadataOptions={"HttpTokens": tokens, "HttpEndpoint": "enabled"},
            TagSpecifications=_name("instance", name),
            **kwargs,
        )["Instances"][0]["InstanceId"]

    good = run("ec2-all-good", "required", SubnetId=private_subnet, IamInstanceProfile={"Name": "app-profile"})
    run("ec2-all-bad", "optional", NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": private_subnet, "AssociatePublicIpAddress": True}])
    stopped = run("ec2-stopped-recently", "required", SubnetId=private_subnet)
    ec2.stop_instances(InstanceIds=[stopped])

    key_id = kms.create_key(Description="ebs")["KeyMetadata"]["KeyId"]
    volumes = {
        "ebs-attached-encrypted": ec2.create_volume(
            Size=8, AvailabilityZone=ZONE, Encrypted=True, TagSpecifications=_name("volume", "ebs-attached-encrypted")
        ),
        "ebs-attached-unencrypted": ec2.create_volume(
            Size=8, AvailabilityZone=ZONE, TagSpecifications=_name("volume", "ebs-attached-unencrypted")
        ),
        "ebs-attached-encrypted-cmk": ec2.create_volume(
            Size=8, AvailabilityZone=ZONE, Encrypted=True, KmsKeyId=key_id, TagSpecifications=_name("volume", "ebs-attached-encrypted-cmk")
        ),
        "ebs-unattached-unencrypted": ec2.create_volume(
            Size=8, AvailabilityZone=ZONE, TagSpecifications=_name("volume", "ebs-unattached-unencrypted")
        ),
    }
    for device, name in zip(
        ("/dev/sdf", "/dev/sdg", "/dev/sdh"), ("ebs-attached-encrypted", "ebs-attached-unencrypted", "ebs-attached-encrypted-cmk")
    ):
        ec2.attach_volume(VolumeId=volumes[name]["VolumeId"], InstanceId=good, Device=device)

    source = volumes["ebs-unattached-unencrypted"]["VolumeId"]
    public = ec2.create_snapshot(VolumeId=source, TagSpecifications=_name("snapshot", "snapshot-public"))["SnapshotId"]
    shared = ec2.create_snapshot(VolumeId=source, TagSpecifications=_name("snapshot", "snapshot-shared-one-account"))["SnapshotId"]
    ec2.create_snapshot(VolumeId=source, TagSpecifications=_name("snapshot", "snapshot-private"))
    ec2.modify_snapshot_attribute(SnapshotId=public, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"])
    ec2.modify_snapshot_attribute(SnapshotId=shared, Attribute="createVolumePermission", OperationType="add", UserIds=["111122223333"])

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('ec2rules') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=["us-east-1", "us-west-2"], session=session)
    outcome = run_scan(ctx, store, Policy(), services=["ec2", "iam"])
    now = _verdicts(outcome)
    # the same estate 40 days later: the stopped instance has been stopped too long
    later = _verdicts(run_scan(ctx, store, Policy(), collect_first=False, now=utcnow() + dt.timedelta(days=40)))
    info = {"vpc": vpc, "profile_arn": profile_arn, "key_id": key_id, "volumes": volumes}
    yield now, later, store, ctx, info
    store.close()


def verdict(verdicts, rule_id, name, region="us-east-1"):
    return verdicts[(rule_id, name, region)]["compliance"]


@pytest.mark.parametrize(
    "rule_id,compliant,non_compliant",
    [
        ("ec2-imdsv2-check", "ec2-all-good", "ec2-all-bad"),
        ("ec2-instance-no-public-ip", "ec2-all-good", "ec2-all-bad"),
        ("ec2-instance-profile-attached", "ec2-all-good", "ec2-all-bad"),
        ("encrypted-volumes", "ebs-attached-encrypted", "ebs-attached-unencrypted"),
        ("ebs-snapshot-public-restorable-check", "snapshot-private", "snapshot-public"),
    ],
)
def test_resource_rules(ec2_scan, rule_id, compliant, non_compliant):
    verdicts = ec2_scan[0]
    assert verdict(verdicts, rule_id, compliant) == "COMPLIANT", verdicts[(rule_id, compliant, "us-east-1")]["annotation"]
    assert verdict(verdicts, rule_id, non_compliant) == "NON_COMPLIANT"
    assert verdicts[(rule_id, non_compliant, "us-east-1")]["annotation"]


def test_instances_in_vpc(ec2_scan):
    verdicts, _, _, _, info = ec2_scan
    e = verdicts[("ec2-instances-in-vpc", "ec2-all-good", "us-east-1")]
    assert e["compliance"] == "COMPLIANT" and info["vpc"] in e["annotation"]


def test_snapshot_shared_with_one_account_is_not_public(ec2_scan):
    verdicts = ec2_scan[0]
    assert verdict(verdicts, "ebs-snapshot-public-restorable-check", "snapshot-shared-one-account") == "COMPLIANT"
    assert "group all" in verdicts[("ebs-snapshot-public-restorable-check", "snapshot-public", "us-east-1")]["annotation"]


def test_unattached_volume_not_applicable(ec2_scan):
    verdicts = ec2_scan[0]
    assert verdict(verdicts, "encrypted-volumes", "ebs-unattached-unencrypted") == "NOT_APPLICABLE"


def test_ebs_encryption_by_default_per_region_only(ec2_scan):
    verdicts, _, store = ec2_scan[:3]
    accounts = {i.awsRegion: i for i in store.current_items(ACCOUNT_TYPE)}
    assert set(accounts) == {"global", "us-east-1", "us-west-2"}
    assert "ebsEncryptionByDefault" not in accounts["global"].configuration
    assert verdict(verdicts, "ec2-ebs-encryption-by-default", ACCOUNT, "us-west-2") == "COMPLIANT"
    off = verdicts[("ec2-ebs-encryption-by-default", ACCOUNT, "us-east-1")]
    assert off["compliance"] == "NON_COMPLIANT" and "us-east-1" in off["annotation"]
    assert off["resource_type"] == ACCOUNT_TYPE
    # the global account item (IAM settings) carries no EBS setting: no verdict there
    assert ("ec2-ebs-encryption-by-default", ACCOUNT, "global") not in verdicts
    assert {r for (rule_id, _, r) in verdicts if rule_id == "ec2-ebs-encryption-by-default"} == {"us-east-1", "us-west-2"}


def test_stopped_instance(ec2_scan):
    now, later, _, _, _ = ec2_scan
    assert verdict(now, "ec2-stopped-instance", "ec2-stopped-recently") == "COMPLIANT"
    assert verdict(now, "ec2-stopped-instance", "ec2-all-good") == "NOT_APPLICABLE"
    e = later[("ec2-stopped-instance", "ec2-stopped-recently", "us-east-1")]
    assert e["compliance"] == "NON_COMPLIANT" and "AllowedDays 30" in e["annotation"]
    assert verdict(later, "ec2-stopped-instance", "ec2-all-good") == "NOT_APPLICABLE"


def test_parameters_change_verdicts(ec2_scan):
    _, _, store, ctx, info = ec2_scan
    policy = parse_policy(f"""
rules:
  encrypted-volumes:
    parameters: {{kmsId: {info["key_id"]}}}
  ec2-instance-profile-attached:
    parameters: {{IamInstanceProfileArnList: "arn:aws:iam::{ACCOUNT}:instance-profile/other,{info["profile_arn"]}"}}
  ec2-instances-in-vpc:
    parameters: {{vpcId: vpc-0000000000000000}}
  ec2-stopped-instance:
    parameters: {{AllowedDays: 90}}
""")
    verdicts = _verdicts(run_scan(ctx, store, policy, collect_first=False, now=utcnow() + dt.timedelta(days=40)))
    assert verdict(verdicts, "encrypted-volumes", "ebs-attached-encrypted-cmk") == "COMPLIANT"
    assert verdict(verdicts, "encrypted-volumes", "ebs-attached-encrypted") == "NON_COMPLIANT"  # the AWS managed key
    assert verdict(verdicts, "ec2-instance-profile-attached", "ec2-all-good") == "COMPLIANT"
    assert verdict(verdicts, "ec2-instances-in-vpc", "ec2-all-good") == "NON_COMPLIANT"
    assert verdict(verdicts, "ec2-stopped-instance", "ec2-stopped-recently") == "COMPLIANT"
    policy = parse_policy(f"""
rules:
  ec2-instance-profile-attached:
    parameters: {{IamInstanceProfileArnList: "arn:aws:iam::{ACCOUNT}:instance-profile/other"}}
  ec2-instances-in-vpc:
    parameters: {{vpcId: {info["vpc"]}}}
""")
    verdicts = _verdicts(run_scan(ctx, store, policy, collect_first=False))
    assert verdict(verdicts, "ec2-instance-profile-attached", "ec2-all-good") == "NON_COMPLIANT"
    assert verdict(verdicts, "ec2-instances-in-vpc", "ec2-all-good") == "COMPLIANT"


# -- constructed items ----------------------------------------------------------------------
@functools.cache
def _rules():
    return catalogue()


def _run(rule_id: str, item: ConfigurationItem, now: dt.datetime | None = None, **params):
    return judge_rule(rule_id, item, lookup=lambda t: [], now=now, params=params)


def _instance(name: str, **configuration) -> ConfigurationItem:
    base = {
        "InstanceId": "i-0123456789abcdef0",
        "State": {"Name": "running"},
        "PublicIpAddress": None,
        "IamInstanceProfile": None,
        "MetadataOptions": {"HttpTokens": "required"},
    }
    return ConfigurationItem(
        resourceType="AWS::EC2::Instance",
        resourceId=name,
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration={**base, **configuration},
    )


def test_stop_time_parsing():
    assert stop_time("User initiated (2019-03-04 05:06:07 GMT)") == dt.datetime(2019, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    assert stop_time("User initiated (2026-11-23 10:33:38 UTC)") == dt.datetime(2026, 11, 23, 10, 33, 38, tzinfo=dt.UTC)
    assert stop_time("Server.ScheduledStop") is None
    assert stop_time("") is None and stop_time(None) is None


def test_stopped_instance_on_constructed_items():
    now = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
    old = _instance("ec2-stopped-long-ago", State={"Name": "stopped"}, StateTransitionReason="User initiated (2024-04-01 09:00:00 GMT)")
    assert _run("ec2-stopped-instance", old, now).compliance.value == "NON_COMPLIANT"
    assert _run("ec2-stopped-instance", old, now, AllowedDays=90).compliance.value == "COMPLIANT"
    exactly = _instance("ec2-stopped-30-days", State={"Name": "stopped"}, StateTransitionReason="User initiated (2024-05-02 12:00:00 GMT)")
    assert _run("ec2-stopped-instance", exactly, now).compliance.value == "COMPLIANT"  # not longer than 30 days
    unknown = _instance("ec2-stopped-time-unknown", State={"Name": "stopped"}, StateTransitionReason="")
    result = _run("ec2-stopped-instance", unknown, now)
    assert result.compliance.value == "NON_COMPLIANT" and "cannot be determined" in result.annotation
    stopping = _instance("ec2-stopping", State={"Name": "stopping"})
    assert _run("ec2-stopped-instance", stopping, now).compliance.value == "NOT_APPLICABLE"


def test_instance_outside_vpc_and_imds_unset():
    classic = _instance("ec2-classic-no-vpc", MetadataOptions={})
    assert _run("ec2-instances-in-vpc", classic).compliance.value == "NON_COMPLIANT"
    assert _run("ec2-imdsv2-check", classic).compliance.value == "NON_COMPLIANT"


def test_kms_id_matches_key_id_or_arn():
    arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    volume = ConfigurationItem(
        resourceType="AWS::EC2::Volume",
        resourceId="vol-cmk",
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration={"Encrypted": True, "KmsKeyId": arn, "Attachments": [{"InstanceId": "i-1", "State": "attached"}]},
    )
    assert _run("encrypted-volumes", volume, kmsId="1234abcd-12ab-34cd-56ef-1234567890ab").compliance.value == "COMPLIANT"
    assert _run("encrypted-volumes", volume, kmsId=arn).compliance.value == "COMPLIANT"
    assert _run("encrypted-volumes", volume, kmsId="ffffffff-12ab-34cd-56ef-1234567890ab").compliance.value == "NON_COMPLIANT"


def test_denied_reads_are_insufficient_data():
    account = ConfigurationItem(
        resourceType=ACCOUNT_TYPE,
        resourceId=ACCOUNT,
        awsRegion="eu-west-1",
        accountId=ACCOUNT,
        configuration={},
        collectionErrors=[{"api": "GetEbsEncryptionByDefault", "error": "AccessDenied", "iam_action": "ec2:GetEbsEncryptionByDefault"}],
    )
    result = _run("ec2-ebs-encryption-by-default", account)
    assert result.compliance.value == "INSUFFICIENT_DATA"
    assert "ec2:GetEbsEncryptionByDefault" in result.annotation and "AccessDenied" in result.annotation
    snapshot = ConfigurationItem(
        resourceType="AWS::EC2::Snapshot",
        resourceId="snap-denied",
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration={"SnapshotId": "snap-denied"},
        supplementaryConfiguration={},
        collectionErrors=[{"api": "DescribeSnapshotAttribute", "error": "AccessDenied", "iam_action": "ec2:DescribeSnapshotAttribute"}],
    )
    assert _run("ebs-snapshot-public-restorable-check", snapshot).compliance.value == "INSUFFICIENT_DATA"
    # the global account item has no EBS key and no failed EBS call: the rule does not apply
    global_account = ConfigurationItem(
        resourceType=ACCOUNT_TYPE, resourceId=ACCOUNT, awsRegion="global", accountId=ACCOUNT, configuration={"iamPasswordPolicy": None}
    )
    assert _run("ec2-ebs-encryption-by-default", global_account) is None
