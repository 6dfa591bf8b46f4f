"""Seed an AWS endpoint (moto's server) with a synthetic healthcare estate of about N resources.

The estate is a weighted mix of resource types (see ``SHARES``). A type is seeded only when a
registered phiwatch collector declares it (``Collector.resource_types``), so the bench measures
what phiwatch can collect today; the weights of the types left out are spread over the others,
so the estate still has about N resources. Resources moto creates by itself (default VPC,
subnets, security group; root volumes of instances; AWS-managed KMS keys) come on top.

Names and tags look like a hospital's estate (``ehr-prod-...``, ``PHI=Yes``,
``InstanceOwnerEmail=...@example.org``) and settings vary by index (encrypted or not,
versioning on or off, ...), deterministically, so two runs of one size seed the same estate.

Used by ``bench/run.py``; standalone it seeds an endpoint for manual profiling::

    .venv/bin/python bench/seed.py --size 1000 --endpoint-url http://127.0.0.1:5000
    .venv/bin/python bench/seed.py --size 1000          # starts an emulator and keeps it up

No secret values are stored: secrets get a fixed placeholder string.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import sys
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_REGION = "us-east-1"
APPS = ("ehr", "claims", "imaging", "billing", "patient-portal", "analytics", "lab-results", "pharmacy")
TEAMS = ("records-team", "claims-team", "imaging-team", "billing-team", "portal-team", "data-team", "lab-team", "pharmacy-team")
ENVS = ("PROD", "PROD", "DEV", "TEST")
FAKE_AMI = "ami-0abcdef1234567890"
PLACEHOLDER_SECRET = "bench-placeholder-not-a-secret"


# -- the estate ------------------------------------------------------------------------
@dataclass
class Share:
    """One resource type of the mix: its weight and how to create resources of it."""

    resource_type: str
    weight: float
    #: create(seeder, index, region, count) -> resources created; count > 1 only for batched shares
    create: Callable[[Seeder, int, str, int], int]
    #: resources created per call (run_instances creates several at once)
    batch: int = 1
    #: global types (IAM) are created once, in the default region
    global_type: bool = False
    #: optional once-per-region preparation (default VPC id, log target bucket, lambda role)
    setup: Callable[[Seeder, str], None] | None = None


def _tags(index: int, salt: int) -> dict[str, str]:
    rng = random.Random(index * 7919 + salt)
    app = APPS[rng.randrange(len(APPS))]
    env = ENVS[rng.randrange(len(ENVS))]
    return {
        "Application": app,
        "Environment": env,
        "PHI": "Yes" if rng.random() < 0.4 else "No",
        "InstanceOwnerEmail": f"{TEAMS[APPS.index(app)]}@example.org",
        "CostCenter": f"CC-{1000 + rng.randrange(40)}",
    }


def _name(seeder: Seeder, index: int, tags: dict[str, str], kind: str) -> str:
    return f"{seeder.prefix}-{tags['Application']}-{tags['Environment'].lower()}-{kind}-{index:05d}"


def _tag_list(tags: dict[str, str], key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags.items()]


def _rng(index: int, salt: int) -> random.Random:
    return random.Random(index * 104729 + salt * 31)


# S3 ------------------------------------------------------------------------------------
def _s3_setup(seeder: Seeder, region: str) -> None:
    name = f"{seeder.prefix}-access-logs-{region}"
    _create_bucket(seeder, name, region)
    seeder.call("s3", region, "put_bucket_acl", Bucket=name, ACL="log-delivery-write")
    seeder.state[("log-bucket", region)] = name


def _create_bucket(seeder: Seeder, name: str, region: str) -> None:
    kwargs: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    seeder.call("s3", region, "create_bucket", **kwargs)


def _s3(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 1)
    rng = _rng(index, 1)
    name = _name(seeder, index, tags, "data")
    _create_bucket(seeder, name, region)
    seeder.call("s3", region, "put_bucket_tagging", Bucket=name, Tagging={"TagSet": _tag_list(tags)})
    if rng.random() < 0.7:
        algorithm = "aws:kms" if rng.random() < 0.5 else "AES256"
        seeder.call(
            "s3",
            region,
            "put_bucket_encryption",
            Bucket=name,
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm}}]},
        )
    if rng.random() < 0.5:
        seeder.call("s3", region, "put_bucket_versioning", Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if rng.random() < 0.6:
        seeder.call(
            "s3",
            region,
            "put_public_access_block",
            Bucket=name,
            PublicAccessBlockConfiguration={
                k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
            },
        )
    if rng.random() < 0.25:
        seeder.call(
            "s3",
            region,
            "put_bucket_logging",
            Bucket=name,
            BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": seeder.state[("log-bucket", region)], "TargetPrefix": f"{name}/"}},
        )
    if rng.random() < 0.15:
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
        seeder.call("s3", region, "put_bucket_policy", Bucket=name, Policy=json.dumps(policy))
    return 1


# EC2 -----------------------------------------------------------------------------------
def _ec2_setup(seeder: Seeder, region: str) -> None:
    if ("vpc", region) in seeder.state:
        return
    vpcs = seeder.call("ec2", region, "describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    seeder.state[("vpc", region)] = vpcs[0]["VpcId"]
    subnets = seeder.call("ec2", region, "describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}])["Subnets"]
    seeder.state[("subnets", region)] = sorted((s["AvailabilityZone"], s["SubnetId"]) for s in subnets)


def _security_group(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 2)
    rng = _rng(index, 2)
    name = _name(seeder, index, tags, "sg")
    group = seeder.call(
        "ec2",
        region,
        "create_security_group",
        GroupName=name,
        Description=f"{tags['Application']} tier",
        VpcId=seeder.state[("vpc", region)],
        TagSpecifications=[{"ResourceType": "security-group", "Tags": _tag_list(tags | {"Name": name})}],
    )
    permissions = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}]
    draw = rng.random()
    if draw < 0.1:
        permissions.append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    elif draw < 0.3:
        permissions.append({"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]})
    if rng.random() < 0.9:
        seeder.call("ec2", region, "authorize_security_group_ingress", GroupId=group["GroupId"], IpPermissions=permissions)
    return 1


def _volume(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 3)
    rng = _rng(index, 3)
    zone = seeder.state[("subnets", region)][index % len(seeder.state[("subnets", region)])][0]
    volume_type = rng.choice(("gp3", "gp3", "gp2", "io2"))
    seeder.call(
        "ec2",
        region,
        "create_volume",
        AvailabilityZone=zone,
        Size=rng.choice((8, 20, 100, 500)),
        VolumeType=volume_type,
        Encrypted=rng.random() < 0.75,
        **({"Iops": 4000} if volume_type == "io2" else {}),
        TagSpecifications=[{"ResourceType": "volume", "Tags": _tag_list(tags | {"Name": _name(seeder, index, tags, "vol")})}],
    )
    return 1


def _instances(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 4)
    rng = _rng(index, 4)
    subnet = seeder.state[("subnets", region)][index % len(seeder.state[("subnets", region)])][1]
    name = _name(seeder, index, tags, "app")
    seeder.call(
        "ec2",
        region,
        "run_instances",
        ImageId=FAKE_AMI,
        InstanceType=rng.choice(("t3.medium", "m5.large", "r5.xlarge")),
        MinCount=count,
        MaxCount=count,
        SubnetId=subnet,
        MetadataOptions={"HttpTokens": "required" if rng.random() < 0.6 else "optional", "HttpEndpoint": "enabled"},
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": _tag_list(tags | {"Name": name})},
            {"ResourceType": "volume", "Tags": _tag_list(tags | {"Name": f"{name}-root"})},
        ],
    )
    return count


# IAM (global) --------------------------------------------------------------------------
def _user(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 5)
    rng = _rng(index, 5)
    name = f"{seeder.prefix}-{tags['Application']}-user-{index:05d}"
    seeder.call("iam", region, "create_user", UserName=name, Tags=_tag_list(tags))
    if rng.random() < 0.4:
        seeder.call("iam", region, "create_access_key", UserName=name)
    if rng.random() < 0.3:
        seeder.call("iam", region, "create_login_profile", UserName=name, Password="Bench-Passw0rd!x9")
    if rng.random() < 0.2:
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
        seeder.call("iam", region, "put_user_policy", UserName=name, PolicyName="read-objects", PolicyDocument=json.dumps(document))
    return 1


_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _role(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 6)
    name = f"{seeder.prefix}-{tags['Application']}-role-{index:05d}"
    seeder.call("iam", region, "create_role", RoleName=name, AssumeRolePolicyDocument=json.dumps(_TRUST), Tags=_tag_list(tags))
    return 1


# KMS, logs, DynamoDB, SNS, Secrets Manager ----------------------------------------------
def _kms_key(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 7)
    rng = _rng(index, 7)
    key = seeder.call(
        "kms", region, "create_key", Description=f"{tags['Application']} data key", Tags=_tag_list(tags, "TagKey", "TagValue")
    )
    key_id = key["KeyMetadata"]["KeyId"]
    if rng.random() < 0.6:
        seeder.call("kms", region, "enable_key_rotation", KeyId=key_id)
    if rng.random() < 0.5:
        seeder.call("kms", region, "create_alias", AliasName=f"alias/{_name(seeder, index, tags, 'key')}", TargetKeyId=key_id)
    return 1


def _log_group(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 8)
    rng = _rng(index, 8)
    name = f"/{seeder.prefix}/{tags['Application']}/{tags['Environment'].lower()}/service-{index:05d}"
    seeder.call("logs", region, "create_log_group", logGroupName=name, tags=tags)
    if rng.random() < 0.7:
        seeder.call("logs", region, "put_retention_policy", logGroupName=name, retentionInDays=rng.choice((30, 365, 2192)))
    return 1


def _table(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 9)
    rng = _rng(index, 9)
    name = _name(seeder, index, tags, "table")
    kwargs: dict[str, Any] = {}
    if rng.random() < 0.5:
        kwargs["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
    seeder.call(
        "dynamodb",
        region,
        "create_table",
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=_tag_list(tags),
        **kwargs,
    )
    if rng.random() < 0.5:
        seeder.call(
            "dynamodb",
            region,
            "update_continuous_backups",
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return 1


def _topic(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 10)
    rng = _rng(index, 10)
    attributes = {"KmsMasterKeyId": "alias/aws/sns"} if rng.random() < 0.5 else {}
    seeder.call("sns", region, "create_topic", Name=_name(seeder, index, tags, "alerts"), Attributes=attributes, Tags=_tag_list(tags))
    return 1


def _secret(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 11)
    name = f"{seeder.prefix}/{tags['Application']}/{tags['Environment'].lower()}/db-credentials-{index:05d}"
    seeder.call("secretsmanager", region, "create_secret", Name=name, SecretString=PLACEHOLDER_SECRET, Tags=_tag_list(tags))
    return 1


# Lambda, RDS, EFS, ELBv2 ---------------------------------------------------------------
def _lambda_setup(seeder: Seeder, region: str) -> None:
    if "lambda-role" in seeder.state:  # setups run one after the other, before the pool starts
        return
    role = seeder.call(
        "iam",
        DEFAULT_REGION,
        "create_role",
        RoleName=f"{seeder.prefix}-lambda-exec",
        AssumeRolePolicyDocument=json.dumps(_TRUST),
    )
    seeder.state["lambda-role"] = role["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {'ok': True}\n")
    seeder.state["lambda-zip"] = buffer.getvalue()


def _function(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 12)
    rng = _rng(index, 12)
    seeder.call(
        "lambda",
        region,
        "create_function",
        FunctionName=_name(seeder, index, tags, "fn"),
        Runtime="python3.12",
        Role=seeder.state["lambda-role"],
        Handler="handler.handler",
        Code={"ZipFile": seeder.state["lambda-zip"]},
        Environment={"Variables": {"TABLE_NAME": f"{tags['Application']}-table", "LOG_LEVEL": "INFO"}},
        TracingConfig={"Mode": "Active" if rng.random() < 0.5 else "PassThrough"},
        Tags=tags,
    )
    return 1


def _db_instance(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 13)
    rng = _rng(index, 13)
    seeder.call(
        "rds",
        region,
        "create_db_instance",
        DBInstanceIdentifier=_name(seeder, index, tags, "db"),
        DBInstanceClass=rng.choice(("db.t3.medium", "db.r5.large")),
        Engine=rng.choice(("postgres", "mysql")),
        MasterUsername="benchadmin",
        MasterUserPassword=PLACEHOLDER_SECRET,
        AllocatedStorage=20,
        StorageEncrypted=rng.random() < 0.75,
        PubliclyAccessible=rng.random() < 0.1,
        BackupRetentionPeriod=rng.choice((0, 7, 35)),
        MultiAZ=rng.random() < 0.5,
        Tags=_tag_list(tags),
    )
    return 1


def _file_system(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 14)
    rng = _rng(index, 14)
    seeder.call(
        "efs",
        region,
        "create_file_system",
        CreationToken=f"{seeder.prefix}-fs-{index:05d}",
        Encrypted=rng.random() < 0.7,
        Tags=_tag_list(tags | {"Name": _name(seeder, index, tags, "fs")}),
    )
    return 1


def _load_balancer(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 15)
    rng = _rng(index, 15)
    subnets = [s for _, s in seeder.state[("subnets", region)][:2]]
    seeder.call(
        "elbv2",
        region,
        "create_load_balancer",
        Name=f"{seeder.prefix}-alb-{index:05d}"[:32],
        Subnets=subnets,
        Scheme="internet-facing" if rng.random() < 0.3 else "internal",
        Type="application",
        Tags=_tag_list(tags),
    )
    return 1


def _snapshot_setup(seeder: Seeder, region: str) -> None:
    _ec2_setup(seeder, region)
    zone = seeder.state[("subnets", region)][0][0]
    volume = seeder.call(
        "ec2",
        region,
        "create_volume",
        AvailabilityZone=zone,
        Size=100,
        Encrypted=True,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": f"{seeder.prefix}-backup-source"}]}],
    )
    seeder.state[("snapshot-source", region)] = volume["VolumeId"]


def _snapshot(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 16)
    seeder.call(
        "ec2",
        region,
        "create_snapshot",
        VolumeId=seeder.state[("snapshot-source", region)],
        Description=f"nightly backup {index:05d}",
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": _tag_list(tags | {"Name": _name(seeder, index, tags, "snap")})}],
    )
    return 1


def _address(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 17)
    seeder.call(
        "ec2",
        region,
        "allocate_address",
        Domain="vpc",
        TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": _tag_list(tags | {"Name": _name(seeder, index, tags, "eip")})}],
    )
    return 1


def _group(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 18)
    seeder.call("iam", region, "create_group", GroupName=f"{seeder.prefix}-{tags['Application']}-group-{index:05d}")
    return 1


def _policy(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 19)
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                "Resource": f"arn:aws:dynamodb:*:*:table/{tags['Application']}-*",
            }
        ],
    }
    seeder.call(
        "iam",
        region,
        "create_policy",
        PolicyName=f"{seeder.prefix}-{tags['Application']}-read-{index:05d}",
        PolicyDocument=json.dumps(document),
        Tags=_tag_list(tags),
    )
    return 1


def _alarm(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 20)
    seeder.call(
        "cloudwatch",
        region,
        "put_metric_alarm",
        AlarmName=_name(seeder, index, tags, "cpu-high"),
        MetricName="CPUUtilization",
        Namespace="AWS/EC2",
        Statistic="Average",
        Period=300,
        EvaluationPeriods=2,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
        Tags=_tag_list(tags),
    )
    return 1


def _classic_load_balancer(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 21)
    zone = seeder.state[("subnets", region)][0][0]
    seeder.call(
        "elb",
        region,
        "create_load_balancer",
        LoadBalancerName=f"{seeder.prefix}-elb-{index:05d}"[:32],
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP", "InstancePort": 8080}],
        AvailabilityZones=[zone],
        Tags=_tag_list(tags),
    )
    return 1


def _trail_setup(seeder: Seeder, region: str) -> None:
    name = f"{seeder.prefix}-cloudtrail-{region}"
    _create_bucket(seeder, name, region)
    seeder.state[("trail-bucket", region)] = name


def _trail(seeder: Seeder, index: int, region: str, count: int) -> int:
    name = f"{seeder.prefix}-audit-trail-{index:05d}"
    seeder.call(
        "cloudtrail",
        region,
        "create_trail",
        Name=name,
        S3BucketName=seeder.state[("trail-bucket", region)],
        IsMultiRegionTrail=index == 0,
        EnableLogFileValidation=True,
    )
    seeder.call("cloudtrail", region, "start_logging", Name=name)
    return 1


def _certificate(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 22)
    seeder.call(
        "acm",
        region,
        "request_certificate",
        DomainName=f"{tags['Application']}-{index:05d}.example.org",
        ValidationMethod="DNS",
        Tags=_tag_list(tags),
    )
    return 1


def _rest_stage(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 23)
    api = seeder.call("apigateway", region, "create_rest_api", name=_name(seeder, index, tags, "api"), tags=tags)
    root = seeder.call("apigateway", region, "get_resources", restApiId=api["id"])["items"][0]["id"]
    seeder.call("apigateway", region, "put_method", restApiId=api["id"], resourceId=root, httpMethod="GET", authorizationType="NONE")
    seeder.call("apigateway", region, "put_integration", restApiId=api["id"], resourceId=root, httpMethod="GET", type="MOCK")
    seeder.call("apigateway", region, "create_deployment", restApiId=api["id"], stageName="prod")
    return 1


def _http_stage(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 24)
    api = seeder.call("apigatewayv2", region, "create_api", Name=_name(seeder, index, tags, "http-api"), ProtocolType="HTTP", Tags=tags)
    seeder.call("apigatewayv2", region, "create_stage", ApiId=api["ApiId"], StageName="prod", Tags=tags)
    return 1


def _search_domain(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 25)
    rng = _rng(index, 25)
    encrypted = rng.random() < 0.7
    seeder.call(
        "opensearch",
        region,
        "create_domain",
        DomainName=f"{tags['Application'][:12]}-search-{index:05d}",
        EngineVersion="OpenSearch_2.11",
        EncryptionAtRestOptions={"Enabled": encrypted},
        NodeToNodeEncryptionOptions={"Enabled": encrypted},
        DomainEndpointOptions={"EnforceHTTPS": encrypted},
        TagList=_tag_list(tags),
    )
    return 1


def _warehouse(seeder: Seeder, index: int, region: str, count: int) -> int:
    tags = _tags(index, 26)
    rng = _rng(index, 26)
    seeder.call(
        "redshift",
        region,
        "create_cluster",
        ClusterIdentifier=_name(seeder, index, tags, "dw"),
        NodeType="dc2.large",
        ClusterType="single-node",
        MasterUsername="benchadmin",
        MasterUserPassword="Bench-Placeholder-0",
        Encrypted=rng.random() < 0.7,
        PubliclyAccessible=rng.random() < 0.1,
        Tags=_tag_list(tags),
    )
    return 1


#: The mix as relative weights (about percent); types without a collector are left out and the
#: others scaled up.
SHARES: tuple[Share, ...] = (
    Share("AWS::EC2::Volume", 15, _volume, setup=_ec2_setup),
    Share("AWS::EC2::Instance", 8, _instances, batch=5, setup=_ec2_setup),
    Share("AWS::EC2::SecurityGroup", 12, _security_group, setup=_ec2_setup),
    Share("AWS::S3::Bucket", 10, _s3, setup=_s3_setup),
    Share("AWS::IAM::User", 12, _user, global_type=True),
    Share("AWS::IAM::Role", 5, _role, global_type=True),
    Share("AWS::KMS::Key", 5, _kms_key),
    Share("AWS::Logs::LogGroup", 12, _log_group),
    Share("AWS::DynamoDB::Table", 6, _table),
    Share("AWS::SNS::Topic", 4, _topic),
    Share("AWS::SecretsManager::Secret", 4, _secret),
    Share("AWS::Lambda::Function", 3, _function, setup=_lambda_setup),
    Share("AWS::RDS::DBInstance", 2, _db_instance),
    Share("AWS::EFS::FileSystem", 1, _file_system),
    Share("AWS::ElasticLoadBalancingV2::LoadBalancer", 1, _load_balancer, setup=_ec2_setup),
    Share("AWS::EC2::Snapshot", 3, _snapshot, setup=_snapshot_setup),
    Share("AWS::EC2::EIP", 0.5, _address),
    Share("AWS::IAM::Group", 1, _group, global_type=True),
    Share("AWS::IAM::Policy", 2, _policy, global_type=True),
    Share("AWS::CloudWatch::Alarm", 2, _alarm),
    Share("AWS::ElasticLoadBalancing::LoadBalancer", 0.5, _classic_load_balancer, setup=_ec2_setup),
    Share("AWS::CloudTrail::Trail", 0.1, _trail, setup=_trail_setup),
    Share("AWS::ACM::Certificate", 1, _certificate),
    Share("AWS::ApiGateway::Stage", 0.5, _rest_stage),
    Share("AWS::ApiGatewayV2::Stage", 0.5, _http_stage),
    Share("AWS::OpenSearch::Domain", 0.3, _search_domain),
    Share("AWS::Redshift::Cluster", 0.3, _warehouse),
)


def collectable_types() -> dict[str, str]:
    """Resource type -> collector name, for every collector registered right now."""
    import importlib

    from phiwatch.collect.base import REGISTRY
    from phiwatch.collect.registry import collector_modules

    for module in collector_modules():
        try:  # a collector being written right now may not import yet: seed without it
            importlib.import_module(f"phiwatch.collect.{module}")
        except Exception as exc:  # noqa: BLE001
            print(f"warning: collector module {module} does not import: {exc}", file=sys.stderr)
    out: dict[str, str] = {}
    for name, cls in sorted(REGISTRY.items()):
        for resource_type in cls.resource_types:
            out.setdefault(resource_type, name)
    return out


def plan(size: int, types: set[str] | None = None, skip: set[str] = frozenset()) -> dict[str, int]:
    """How many resources of each type make an estate of about ``size``.

    Only types in ``types`` (default: the collectable ones) and not in ``skip`` are seeded;
    their weights are scaled up to fill the estate. When instances and volumes are both seeded,
    the instances' root volumes count towards the volumes.
    """
    types = collectable_types().keys() if types is None else types
    chosen = [s for s in SHARES if s.resource_type in types and s.resource_type not in skip]
    total = sum(s.weight for s in chosen)
    if not chosen or size <= 0:
        return {}
    exact = {s.resource_type: size * s.weight / total for s in chosen}
    counts = {t: math.floor(v) for t, v in exact.items()}
    # largest remainders get the leftover units, so the counts add up to ``size``
    for t in sorted(exact, key=lambda t: exact[t] - counts[t], reverse=True)[: size - sum(counts.values())]:
        counts[t] += 1
    if "AWS::EC2::Instance" in counts and "AWS::EC2::Volume" in counts:
        counts["AWS::EC2::Volume"] = max(0, counts["AWS::EC2::Volume"] - counts["AWS::EC2::Instance"])
    return {t: n for t, n in counts.items() if n > 0}


# -- seeding -----------------------------------------------------------------------------
@dataclass
class SeedResult:
    planned: dict[str, int]
    created: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    seconds: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)
    skipped_types: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.created.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "created": self.created,
            "total": self.total,
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "requests_per_second": round(self.requests / self.seconds, 1) if self.seconds else None,
            "errors": self.errors,
            "first_errors": self.first_errors,
            "skipped_types": self.skipped_types,
        }


class Seeder:
    """Creates the planned resources on ``workers`` threads through shared (thread-safe) clients."""

    def __init__(self, endpoint: str, regions: list[str], workers: int = 16, prefix: str = "bench") -> None:
        self.endpoint = endpoint
        self.regions = regions
        self.workers = workers
        self.prefix = prefix
        self.session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=regions[0])
        self.lock = threading.Lock()
        self.state: dict[Any, Any] = {}
        self._clients: dict[tuple[str, str], Any] = {}
        self._requests = 0
        self._config = Config(
            max_pool_connections=workers + 4,
            retries={"mode": "standard", "max_attempts": 5},
            read_timeout=120,
        )

    def _count(self, **_: Any) -> None:
        with self.lock:
            self._requests += 1

    def client(self, service: str, region: str) -> Any:
        from phiwatch.aws.session import adapt_client, endpoint_config

        key = (service, region)
        with self.lock:
            if key not in self._clients:
                config = self._config
                extra = endpoint_config(service, self.endpoint)
                if extra is not None:
                    config = config.merge(extra)
                client = self.session.client(service, region_name=region, endpoint_url=self.endpoint, config=config)
                adapt_client(client, service, self.endpoint)
                client.meta.events.register("before-send", self._count)
                self._clients[key] = client
            return self._clients[key]

    def call(self, service: str, region: str, method: str, **kwargs: Any) -> Any:
        return getattr(self.client(service, region), method)(**kwargs)

    def seed(self, counts: dict[str, int], progress: Callable[[int, int], None] | None = None) -> SeedResult:
        """Create ``counts`` resources per type; errors are counted, not raised."""
        result = SeedResult(planned=dict(counts))
        shares = {s.resource_type: s for s in SHARES}
        t0 = time.monotonic()
        self._requests = 0
        # (share, first index, region, how many) in round-robin order across types
        queues: list[list[tuple[Share, int, str, int]]] = []
        for resource_type, n in counts.items():
            share = shares[resource_type]
            tasks = []
            for index in range(0, n, share.batch):
                region = DEFAULT_REGION if share.global_type else self.regions[(index // share.batch) % len(self.regions)]
                tasks.append((share, index, region, min(share.batch, n - index)))
            queues.append(tasks)
        tasks = _interleave(queues)
        setups = {(s.setup, r) for s, _, r, _ in tasks if s.setup is not None}
        for setup, region in sorted(setups, key=lambda x: (x[0].__name__, x[1])):
            setup(self, region)
        created: Counter[str] = Counter()
        errors: Counter[str] = Counter()
        done = 0

        def run(task: tuple[Share, int, str, int]) -> None:
            nonlocal done
            share, index, region, n = task
            try:
                made = share.create(self, index, region, n)
                with self.lock:
                    created[share.resource_type] += made
            except Exception as exc:  # noqa: BLE001 - count and go on: a bench needs the estate, not perfection
                with self.lock:
                    errors[f"{share.resource_type}: {type(exc).__name__}"] += 1
                    if len(result.first_errors) < 10:
                        result.first_errors.append(f"{share.resource_type}#{index}: {exc}"[:300])
            with self.lock:
                done += 1
                current = done
            if progress and (current % 200 == 0 or current == len(tasks)):
                progress(current, len(tasks))

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            list(pool.map(run, tasks))
        result.created = dict(created)
        result.errors = dict(errors)
        result.requests = self._requests
        result.seconds = time.monotonic() - t0
        return result


def _interleave(queues: list[list[Any]]) -> list[Any]:
    """Round-robin across the lists proportionally, so every type is being created all along."""
    longest = max((len(q) for q in queues), default=0)
    if not longest:
        return []
    keyed = [(i / len(q), n, item) for n, q in enumerate(queues) for i, item in enumerate(q)]
    keyed.sort(key=lambda x: (x[0], x[1]))
    return [item for _, _, item in keyed]


def seed_estate(
    endpoint: str,
    size: int,
    regions: list[str] | None = None,
    workers: int = 16,
    skip: set[str] = frozenset(),
    prefix: str = "bench",
    quiet: bool = False,
) -> SeedResult:
    """Plan and seed an estate of about ``size`` resources of the collectable types."""
    regions = regions or [DEFAULT_REGION]
    collectable = collectable_types()
    counts = plan(size, set(collectable), skip)

    def progress(done: int, total: int) -> None:
        if not quiet:
            print(f"  seeded {done}/{total} tasks", file=sys.stderr, flush=True)

    result = Seeder(endpoint, regions, workers, prefix).seed(counts, progress)
    result.skipped_types = sorted(s.resource_type for s in SHARES if s.resource_type not in collectable or s.resource_type in skip)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1000, help="about this many resources (default 1000)")
    parser.add_argument("--endpoint-url", help="seed this endpoint (default: start an emulator and keep it running)")
    parser.add_argument("--regions", default=DEFAULT_REGION, help="comma-separated regions for regional resources")
    parser.add_argument("--workers", type=int, default=16, help="seeding threads (default 16)")
    parser.add_argument("--skip", default="", help="comma-separated resource types not to seed")
    parser.add_argument("--prefix", default="bench", help="name prefix (use another one to seed an endpoint twice)")
    parser.add_argument("--plan", action="store_true", help="only print the plan")
    args = parser.parse_args(argv)
    skip = {s for s in args.skip.split(",") if s}
    regions = [r for r in args.regions.split(",") if r]
    if args.plan:
        print(json.dumps(plan(args.size, set(collectable_types()), skip), indent=2))
        return 0
    emulator = None
    endpoint = args.endpoint_url
    if not endpoint:
        import logging

        from phiwatch.emulator import Emulator

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        emulator = Emulator().start()
        endpoint = emulator.endpoint
    result = seed_estate(endpoint, args.size, regions, args.workers, skip, args.prefix)
    print(json.dumps(result.to_dict(), indent=2))
    if emulator is not None:
        print(f"Emulator with the seeded estate on {endpoint} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
