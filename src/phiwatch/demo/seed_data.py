"""Demo data stores: RDS, DynamoDB, EFS, an ALB and Lambda functions, done right and wrong.

Names say the verdict: ``rds-phi-encrypted`` vs ``rds-phi-public-unencrypted``,
``ddb-phi-pitr-on`` / ``-off``, ``efs-encrypted`` / ``efs-unencrypted``, an ALB that serves plain
HTTP without access logs, ``lambda-public`` (resource policy ``Principal "*"``, and an
environment variable holding a fake secret that the collector must redact) and ``lambda-in-vpc``.
This module creates its own VPC, subnets and Lambda role: it depends on no other seed.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import boto3

from phiwatch.aws.session import make_client

PHI_PROD = {"PHI": "Yes", "Environment": "PROD"}


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buf.getvalue()


def seed(session: boto3.Session, endpoint: str | None, region: str) -> dict[str, Any]:
    def client(service: str) -> Any:
        return make_client(session, service, endpoint, region)

    ec2, rds, ddb, efs, elbv2, iam, lam = (client(s) for s in ("ec2", "rds", "dynamodb", "efs", "elbv2", "iam", "lambda"))

    # Network for the ALB and the VPC Lambda (our own: no dependency on other seeds).
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=_tag_list({"Name": "demo-data-vpc", "Environment": "PROD"}))
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=f"{region}{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    sg = ec2.create_security_group(GroupName="demo-data-app", Description="demo data app tier", VpcId=vpc)["GroupId"]

    # RDS
    common = dict(
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="phiadmin",
        MasterUserPassword="demo-only-password",
        AllocatedStorage=20,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="rds-phi-encrypted",
        StorageEncrypted=True,
        PubliclyAccessible=False,
        MultiAZ=True,
        BackupRetentionPeriod=7,
        DeletionProtection=True,
        EnableCloudwatchLogsExports=["postgresql"],
        Tags=_tag_list({**PHI_PROD, "InstanceOwnerEmail": "ehr-dba@example.org"}),
        **common,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="rds-phi-public-unencrypted",
        StorageEncrypted=False,
        PubliclyAccessible=True,
        MultiAZ=False,
        BackupRetentionPeriod=0,
        Tags=_tag_list({"PHI": "Yes", "Environment": "DEV", "InstanceOwnerEmail": "analytics@example.org"}),
        **common,
    )
    rds.create_db_snapshot(DBInstanceIdentifier="rds-phi-encrypted", DBSnapshotIdentifier="rds-snapshot-public", Tags=_tag_list(PHI_PROD))
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="rds-snapshot-public", AttributeName="restore", ValuesToAdd=["all"])
    rds.create_db_snapshot(DBInstanceIdentifier="rds-phi-encrypted", DBSnapshotIdentifier="rds-snapshot-private", Tags=_tag_list(PHI_PROD))

    # DynamoDB
    key = dict(
        KeySchema=[{"AttributeName": "patientId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "patientId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.create_table(
        TableName="ddb-phi-pitr-on",
        SSESpecification={"Enabled": True, "SSEType": "KMS"},
        Tags=_tag_list({**PHI_PROD, "InstanceOwnerEmail": "claims-team@example.org"}),
        **key,
    )
    ddb.update_continuous_backups(TableName="ddb-phi-pitr-on", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    ddb.create_table(TableName="ddb-phi-pitr-off", Tags=_tag_list({"PHI": "Yes", "Environment": "DEV"}), **key)

    # EFS
    file_systems = []
    for name, encrypted in (("efs-encrypted", True), ("efs-unencrypted", False)):
        fs = efs.create_file_system(
            CreationToken=name,
            Encrypted=encrypted,
            Backup=encrypted,
            Tags=_tag_list({"Name": name, **PHI_PROD, "InstanceOwnerEmail": "imaging-team@example.org"}),
        )
        file_systems.append(fs["FileSystemId"])

    # ALB serving plain HTTP, no access logs
    alb = elbv2.create_load_balancer(
        Name="alb-http-no-access-logs",
        Subnets=subnets,
        SecurityGroups=[sg],
        Tags=_tag_list({"PHI": "Yes", "Environment": "PROD", "InstanceOwnerEmail": "portal-team@example.org"}),
    )["LoadBalancers"][0]["LoadBalancerArn"]
    target_group = elbv2.create_target_group(Name="demo-portal", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    elbv2.create_listener(
        LoadBalancerArn=alb,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group["TargetGroupArn"]}],
    )

    # Lambda
    role = iam.create_role(
        RoleName="demo-data-lambda-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
            }
        ),
    )["Role"]["Arn"]
    code = {"ZipFile": _zip()}
    lam.create_function(
        FunctionName="lambda-in-vpc",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code=code,
        VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [sg]},
        Tags={**PHI_PROD, "InstanceOwnerEmail": "integration-team@example.org"},
    )
    lam.create_function(
        FunctionName="lambda-public",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code=code,
        Environment={"Variables": {"DB_PASSWORD": "example-secret", "LOG_LEVEL": "INFO"}},
        Tags={"PHI": "No", "Environment": "DEV", "InstanceOwnerEmail": "integration-team@example.org"},
    )
    lam.add_permission(FunctionName="lambda-public", StatementId="public-invoke", Action="lambda:InvokeFunction", Principal="*")

    return {
        "db_instances": ["rds-phi-encrypted", "rds-phi-public-unencrypted"],
        "db_snapshots": ["rds-snapshot-public", "rds-snapshot-private"],
        "tables": ["ddb-phi-pitr-on", "ddb-phi-pitr-off"],
        "file_systems": file_systems,
        "load_balancers": [alb],
        "functions": ["lambda-in-vpc", "lambda-public"],
        "vpcs": [vpc],
    }
