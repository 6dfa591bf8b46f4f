"""Targeted re-collection against moto's server: ``collect(only={type: ids})`` asks AWS for just
those resources, writes their new versions, records a targeted resource that is gone as deleted,
and leaves every other resource alone, even ones that changed or vanished meanwhile.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import select

from aws_state import ON_DEMAND_TABLE
from phiwatch.collect.runner import collect
from phiwatch.model import ACCOUNT_TYPE
from phiwatch.policy import parse_policy
from phiwatch.resources.ec2 import PAGE
from phiwatch.store.tables import resources
from phiwatch.watch.events import service_for_type
from phiwatch.watch.service import WatchOptions, WatchService
from phiwatch.watch.setup import SetupOptions, run_setup

SG = "AWS::EC2::SecurityGroup"
OPEN_SSH = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
ACCOUNT = "123456789012"


class Calls:
    """Every API call the context's clients make, with its parameters (botocore event hook)."""

    def __init__(self, aws, *services: str) -> None:
        self.seen: list[tuple[str, dict]] = []
        for service in services:
            client = aws.client(service)
            client.meta.events.register(f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}", self._hook)

    def _hook(self, model, params, **_):
        self.seen.append((model.name, dict(params)))

    def named(self, api: str) -> list[dict]:
        return [p for name, p in self.seen if name == api]

    def clear(self) -> None:
        self.seen.clear()


def row(store, resource_type: str, resource_id: str) -> dict:
    with store.engine.connect() as conn:
        found = (
            conn.execute(select(resources).where(resources.c.resource_type == resource_type, resources.c.resource_id == resource_id))
            .mappings()
            .first()
        )
    assert found is not None, (resource_type, resource_id)
    return dict(found)


@pytest.fixture
def estate(aws_env, store):
    ec2 = aws_env.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    groups = {
        name: ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        for name in ("app-target", "app-other", "app-vanishing")
    }
    aws = aws_env.context()
    collect(aws, store, services=["ec2"])
    return aws, ec2, groups


def test_one_security_group_is_asked_for_by_id_and_gets_its_new_version(estate, store):
    aws, ec2, groups = estate
    for group in ("app-target", "app-other"):
        ec2.authorize_security_group_ingress(GroupId=groups[group], IpPermissions=OPEN_SSH)
    calls = Calls(aws, "ec2")
    result = collect(aws, store, services=["ec2"], only={SG: {groups["app-target"]}})
    described = calls.named("DescribeSecurityGroups")
    assert described == [{"MaxResults": PAGE, "Filters": [{"Name": "group-id", "Values": [groups["app-target"]]}]}]
    # the group and the interfaces that use it (ec2-security-group-attached-to-eni): no volumes, instances, EBS defaults...
    assert {name for name, _ in calls.seen} == {"DescribeSecurityGroups", "DescribeNetworkInterfaces"}
    [interfaces] = calls.named("DescribeNetworkInterfaces")
    assert interfaces["Filters"] == [{"Name": "group-id", "Values": [groups["app-target"]]}]
    assert result.requests == 2
    target = row(store, SG, groups["app-target"])
    assert target["version"] == 2
    with store.engine.connect() as conn:
        from phiwatch.store.tables import versions

        item = conn.execute(select(versions.c.item).where(versions.c.resource_pk == target["id"], versions.c.version == 2)).scalar_one()
    assert any(p.get("FromPort") == 22 for p in item["configuration"]["IpPermissions"])
    assert row(store, SG, groups["app-other"])["version"] == 1  # changed in AWS, not targeted: untouched


def test_a_targeted_group_that_is_gone_is_deleted_and_nothing_else(estate, store):
    aws, ec2, groups = estate
    ec2.delete_security_group(GroupId=groups["app-target"])
    ec2.delete_security_group(GroupId=groups["app-vanishing"])
    result = collect(aws, store, services=["ec2"], only={SG: {groups["app-target"]}})
    assert result.deleted == 1
    assert row(store, SG, groups["app-target"])["status"] == "ResourceDeleted"
    assert row(store, SG, groups["app-vanishing"])["status"] != "ResourceDeleted"  # gone too, but not asked about
    assert row(store, SG, groups["app-other"])["status"] != "ResourceDeleted"


def test_a_group_named_in_the_event_is_found_by_name(estate, store):
    aws, ec2, groups = estate
    ec2.authorize_security_group_ingress(GroupId=groups["app-other"], IpPermissions=OPEN_SSH)
    calls = Calls(aws, "ec2")
    collect(aws, store, services=["ec2"], only={SG: {"app-other"}})  # a name (requestParameters.groupName)
    assert calls.named("DescribeSecurityGroups") == [{"MaxResults": PAGE, "Filters": [{"Name": "group-name", "Values": ["app-other"]}]}]
    assert row(store, SG, groups["app-other"])["version"] == 2
    assert row(store, SG, groups["app-target"])["status"] != "ResourceDeleted"


def test_the_account_part_alone_keeps_the_other_services_keys(aws_env, store):
    aws = aws_env.context()
    collect(aws, store, services=["ec2", "dynamodb"])
    aws_env.client("ec2").enable_ebs_encryption_by_default()
    calls = Calls(aws, "ec2", "dynamodb")
    collect(aws, store, services=["ec2"], only={ACCOUNT_TYPE: set()})
    assert {name for name, _ in calls.seen} <= {"GetEbsEncryptionByDefault", "GetEbsDefaultKmsKeyId"}
    item = next(i for i in store.current_items(ACCOUNT_TYPE) if i.awsRegion == "us-east-1")
    assert item.configuration["ebsEncryptionByDefault"] is True
    assert "dynamodbLimits" in item.configuration  # kept from the earlier collection


def test_one_bucket_gets_detail_calls_and_the_others_none(aws_env, store):
    s3 = aws_env.client("s3")
    for name in ("bucket-target", "bucket-other"):
        s3.create_bucket(Bucket=name)
    aws = aws_env.context()
    collect(aws, store, services=["s3"])
    for name in ("bucket-target", "bucket-other"):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    calls = Calls(aws, "s3", "s3control")
    collect(aws, store, services=["s3"], only={"AWS::S3::Bucket": {"bucket-target"}})
    assert {p["Bucket"] for p in calls.named("GetBucketLocation")} == {"bucket-target"}
    assert {p.get("Bucket") for p in calls.named("GetPublicAccessBlock")} == {"bucket-target"}  # no account-level call
    assert row(store, "AWS::S3::Bucket", "bucket-target")["version"] == 2
    assert row(store, "AWS::S3::Bucket", "bucket-other")["version"] == 1


def test_one_iam_user_by_name_and_no_calls_for_the_others(aws_env, store):
    iam = aws_env.client("iam")
    ids = {name: iam.create_user(UserName=name)["User"]["UserId"] for name in ("alice", "bob")}
    aws = aws_env.context()
    collect(aws, store, services=["iam"])
    for name in ids:
        iam.create_access_key(UserName=name)
    calls = Calls(aws, "iam")
    collect(aws, store, services=["iam"], only={"AWS::IAM::User": {"alice"}})
    assert {p["UserName"] for p in calls.named("ListAccessKeys")} == {"alice"}
    assert not calls.named("GenerateCredentialReport")  # the account part was not asked for
    assert row(store, "AWS::IAM::User", ids["alice"])["version"] == 2
    assert row(store, "AWS::IAM::User", ids["bob"])["version"] == 1


def seed_one_of_each(aws_env) -> dict[str, str]:
    """One resource of every targetable type; returns type -> an identifier an event would carry."""
    ec2, iam = aws_env.client("ec2"), aws_env.client("iam")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    aws_env.client("s3").create_bucket(Bucket="audit-logs")
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    iam.create_user(UserName="carol")
    iam.create_policy(
        PolicyName="read-only",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}),
    )
    for trail in ("main", "secondary"):
        aws_env.client("cloudtrail").create_trail(Name=trail, S3BucketName="audit-logs")
    aws_env.client("logs").create_log_group(logGroupName="/app/audit")
    aws_env.client("dynamodb").create_table(
        TableName="patients",
        **ON_DEMAND_TABLE,
    )
    aws_env.client("rds").create_db_instance(
        DBInstanceIdentifier="records",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin1",
        MasterUserPassword="not-a-secret-1",
        AllocatedStorage=20,
    )
    return {
        "AWS::EC2::SecurityGroup": ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"],
        "AWS::EC2::Instance": ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=subnet)["Instances"][0][
            "InstanceId"
        ],
        "AWS::EC2::Volume": volume,
        "AWS::EC2::Snapshot": ec2.create_snapshot(VolumeId=volume)["SnapshotId"],
        "AWS::S3::Bucket": "audit-logs",
        "AWS::IAM::User": "carol",
        "AWS::IAM::Role": "app",
        "AWS::IAM::Policy": "read-only",
        "AWS::KMS::Key": [aws_env.client("kms").create_key()["KeyMetadata"]["Arn"] for _ in range(2)][0],
        "AWS::CloudTrail::Trail": "main",
        "AWS::Logs::LogGroup": "/app/audit",
        "AWS::DynamoDB::Table": "patients",
        "AWS::RDS::DBInstance": "records",
    }


def test_a_targeted_item_is_the_item_a_full_collection_makes(aws_env, store):
    """Same configuration state as the full collection (so: no new version), and fewer requests."""
    wanted = seed_one_of_each(aws_env)
    aws = aws_env.context()
    services = {t: service_for_type(t) for t in wanted}
    full = collect(aws, store, services=sorted(set(services.values())))
    assert not full.errors, full.errors[:3]
    for resource_type, identifier in wanted.items():
        service = services[resource_type]
        whole = collect(aws, store, services=[service])
        targeted = collect(aws, store, services=[service], only={resource_type: {identifier}})
        assert targeted.types_seen.get(resource_type) == 1, (resource_type, targeted.types_seen)
        assert set(targeted.types_seen) == {resource_type}, resource_type
        assert targeted.changed_keys == [] and targeted.deleted == 0, (resource_type, targeted.changed_keys)
        assert targeted.requests < whole.requests, (resource_type, targeted.requests, whole.requests)


def test_the_watch_service_recollects_just_the_group_in_the_event(aws_env, store):
    aws = aws_env.context()
    queue_url = run_setup(aws, SetupOptions(visibility_timeout=30, max_receive_count=2)).queue_url
    ec2 = aws_env.client("ec2")
    target = ec2.create_security_group(GroupName="app", Description="app")["GroupId"]
    other = ec2.create_security_group(GroupName="db", Description="db")["GroupId"]
    collect(aws, store)
    ec2.authorize_security_group_ingress(GroupId=target, IpPermissions=OPEN_SSH)
    ec2.authorize_security_group_ingress(GroupId=other, IpPermissions=OPEN_SSH)  # no event for this one
    detail = {
        "eventVersion": "1.08",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "AuthorizeSecurityGroupIngress",
        "awsRegion": "us-east-1",
        "eventTime": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/mallory", "accountId": ACCOUNT},
        "requestParameters": {"groupId": target},
        "responseElements": {"_return": True},
    }
    aws_env.client("events").put_events(
        Entries=[{"Source": "aws.ec2", "DetailType": "AWS API Call via CloudTrail", "Detail": json.dumps(detail)}]
    )
    service = WatchService(
        aws,
        store,
        parse_policy(""),
        WatchOptions(queue_url=queue_url, wait_seconds=1, full_sweep_seconds=0, periodic_check_seconds=0, sweep_on_start=False),
    )
    calls = Calls(aws, "ec2")
    for _ in range(5):
        service.run(max_polls=1)
        if row(store, SG, target)["version"] == 2:
            break
    assert row(store, SG, target)["version"] == 2
    assert row(store, SG, target)["state_id"]
    assert row(store, SG, other)["version"] == 1
    assert calls.named("DescribeSecurityGroups")
    assert all(p.get("Filters") or p.get("GroupIds") for p in calls.named("DescribeSecurityGroups"))  # never all groups
