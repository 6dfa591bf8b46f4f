"""Every built-in runbook end to end on moto's server, through execute().

For each: seed the violation with boto3, plan it (dry run: nothing changes), run it, check the
fix with independent boto3 reads, run it again (nothing changes; runbooks that read before
writing send no write at all), and check that a neighbouring resource was left untouched.
"""

from __future__ import annotations

import json
import re

import pytest

from aws_state import ON_DEMAND_TABLE, _backdate_keys, _bpa, _encryption, _ingress, _policy
from phiwatch.emulator import EMULATOR_ACCOUNT
from phiwatch.remediate import builtin, builtin_ids, execute

pytestmark = pytest.mark.server

REGION = "us-east-1"


@pytest.fixture
def aws(aws_env):
    return aws_env.context([REGION])


def remediate(aws, runbook_id: str, params: dict, state, *, writes_again: bool = False, region: str = REGION):
    """Plan, apply, re-apply; returns (state before, state after, first execution)."""
    doc = builtin(runbook_id)
    before = state()
    plan = execute(doc, params, aws, region, dry_run=True)
    assert plan.status == "DryRun", plan.error
    assert plan.write_calls and all(c.planned and c.response is None for c in plan.write_calls)
    assert state() == before, "a dry run changed something"
    first = execute(doc, params, aws, region, dry_run=False)
    assert first.status == "Success", first.error
    assert first.write_calls and all(c.error is None and not c.planned for c in first.write_calls)
    after = state()
    assert after != before
    second = execute(doc, params, aws, region, dry_run=False)
    assert second.status == "Success", second.error
    assert state() == after, "the second run changed something"
    if not writes_again:
        assert second.write_calls == [], [c.api for c in second.write_calls]
    return before, after, first


# ----------------------------------------------------------------------------- EC2 / EBS


def test_enable_ebs_encryption_by_default(aws_env, aws):
    east, west = aws_env.client("ec2"), aws_env.client("ec2", "us-west-2")

    def state():
        return (
            east.get_ebs_encryption_by_default()["EbsEncryptionByDefault"],
            west.get_ebs_encryption_by_default()["EbsEncryptionByDefault"],
        )

    before, after, _ = remediate(aws, "phiwatch-EnableEbsEncryptionByDefault", {"ResourceId": EMULATOR_ACCOUNT}, state)
    assert before == (False, False) and after == (True, False)  # the other Region untouched


def test_make_ebs_snapshot_private(aws_env, aws):
    ec2 = aws_env.client("ec2")
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    public = ec2.create_snapshot(VolumeId=volume, Description="ebs-snapshot-public")["SnapshotId"]
    other = ec2.create_snapshot(VolumeId=volume, Description="ebs-snapshot-public-other")["SnapshotId"]
    for snap in (public, other):
        ec2.modify_snapshot_attribute(
            SnapshotId=snap, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"], UserIds=["111122223333"]
        )

    def perms(snap):
        return sorted(
            json.dumps(p, sort_keys=True)
            for p in ec2.describe_snapshot_attribute(SnapshotId=snap, Attribute="createVolumePermission")["CreateVolumePermissions"]
        )

    def state():
        return perms(public), perms(other)

    before, after, _ = remediate(aws, "phiwatch-MakeEbsSnapshotPrivate", {"ResourceId": public}, state)
    assert after[0] == ['{"UserId": "111122223333"}']  # the explicit share stays
    assert after[1] == before[1] and '{"Group": "all"}' in after[1]


def test_require_imdsv2(aws_env, aws):
    ec2 = aws_env.client("ec2")
    image = ec2.register_image(Name="runbook-base-image", RootDeviceName="/dev/xvda")["ImageId"]
    optional, other = (
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, MetadataOptions={"HttpTokens": "optional"})["Instances"][0]["InstanceId"]
        for _ in range(2)
    )

    def state():
        found = ec2.describe_instances(InstanceIds=[optional, other])["Reservations"]
        tokens = {i["InstanceId"]: i["MetadataOptions"]["HttpTokens"] for r in found for i in r["Instances"]}
        return tokens[optional], tokens[other]

    before, after, _ = remediate(aws, "phiwatch-RequireImdsV2", {"ResourceId": optional}, state)
    assert before == ("optional", "optional") and after == ("required", "optional")


SG_RULES = [
    {
        "IpProtocol": "tcp",
        "FromPort": 22,
        "ToPort": 22,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "10.0.0.0/8"}],
        "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
    },
    {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    {"IpProtocol": "udp", "FromPort": 5000, "ToPort": 6000, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
]


def _security_groups(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    groups = []
    for name in ("sg-open-ssh-rdp", "sg-open-other"):
        gid = ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=SG_RULES)
        groups.append(gid)
    return groups


def test_revoke_open_ingress_default_ports(aws_env, aws):
    ec2 = aws_env.client("ec2")
    target, other = _security_groups(ec2)

    def state():
        return _ingress(ec2, target), _ingress(ec2, other)

    before, after, first = remediate(aws, "phiwatch-RevokeOpenIngress", {"ResourceId": target}, state)
    assert after[0] == ["tcp:22-22 10.0.0.0/8", "tcp:443-443 0.0.0.0/0", "udp:5000-6000 0.0.0.0/0"]
    assert after[1] == before[1]  # the other group untouched
    revoke = next(c for c in first.write_calls if c.api == "RevokeSecurityGroupIngress")
    assert revoke.params["IpPermissions"] == [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
        {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    ]


def test_revoke_open_ingress_all_but_authorized_ports(aws_env, aws):
    ec2 = aws_env.client("ec2")
    target, other = _security_groups(ec2)

    def state():
        return _ingress(ec2, target), _ingress(ec2, other)

    params = {"ResourceId": target, "Ports": ["all"], "AuthorizedTcpPorts": "443", "AuthorizedUdpPorts": ""}
    before, after, _ = remediate(aws, "phiwatch-RevokeOpenIngress", params, state)
    assert after[0] == ["tcp:22-22 10.0.0.0/8", "tcp:443-443 0.0.0.0/0"]
    assert after[1] == before[1]


def test_enable_vpc_flow_logs_to_s3_and_cloudwatch(aws_env, aws):
    ec2, s3 = aws_env.client("ec2"), aws_env.client("s3")
    s3.create_bucket(Bucket="phi-flow-logs")
    vpc_s3, vpc_cw, other = (ec2.create_vpc(CidrBlock=f"10.{n}.0.0/16")["Vpc"]["VpcId"] for n in (31, 32, 33))

    def state():
        logs = ec2.describe_flow_logs()["FlowLogs"]
        return sorted((f["ResourceId"], f["TrafficType"], f["LogDestinationType"], f.get("FlowLogStatus")) for f in logs)

    _, after, _ = remediate(
        aws,
        "phiwatch-EnableVpcFlowLogs",
        {"ResourceId": vpc_s3, "LogDestinationType": "s3", "LogDestination": "arn:aws:s3:::phi-flow-logs"},
        state,
    )
    assert after == [(vpc_s3, "ALL", "s3", "ACTIVE")]
    role = f"arn:aws:iam::{EMULATOR_ACCOUNT}:role/flow-logs-delivery"
    _, after, _ = remediate(
        aws, "phiwatch-EnableVpcFlowLogs", {"ResourceId": vpc_cw, "TrafficType": "REJECT", "DeliverLogsPermissionArn": role}, state
    )
    assert (vpc_cw, "REJECT", "cloud-watch-logs", "ACTIVE") in after
    assert not any(f[0] == other for f in after)
    # A destination that does not exist: CreateFlowLogs answers 200 with "Unsuccessful"; the check catches it.
    failed = execute(
        builtin("phiwatch-EnableVpcFlowLogs"),
        {"ResourceId": other, "LogDestinationType": "s3", "LogDestination": "arn:aws:s3:::phi-deleted-bucket"},
        aws,
        REGION,
        dry_run=False,
    )
    assert failed.status == "Failed" and failed.failed_step == "VerifyFlowLog"
    assert failed.steps[-2].calls[0].response["Unsuccessful"][0]["ResourceId"] == other
    assert not any(f[0] == other for f in state())


# ----------------------------------------------------------------------------- S3


def test_enable_s3_bucket_logging(aws_env, aws):
    s3 = aws_env.client("s3")
    for bucket in ("phi-records", "phi-records-other"):
        s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket="phi-access-logs", ACL="log-delivery-write")

    def state():
        return (
            s3.get_bucket_logging(Bucket="phi-records").get("LoggingEnabled"),
            s3.get_bucket_logging(Bucket="phi-records-other").get("LoggingEnabled"),
        )

    _, after, _ = remediate(aws, "phiwatch-EnableS3BucketLogging", {"ResourceId": "phi-records", "TargetBucket": "phi-access-logs"}, state)
    assert after == ({"TargetBucket": "phi-access-logs", "TargetPrefix": "phi-records/"}, None)
    _, after, _ = remediate(
        aws,
        "phiwatch-EnableS3BucketLogging",
        {"ResourceId": "phi-records", "TargetBucket": "phi-access-logs", "TargetPrefix": "s3/phi-records/"},
        state,
    )
    assert after[0]["TargetPrefix"] == "s3/phi-records/" and after[1] is None


def test_enable_s3_bucket_encryption_sse_s3_and_kms(aws_env, aws):
    s3, kms = aws_env.client("s3"), aws_env.client("kms")
    for bucket in ("phi-unencrypted", "phi-kms-wanted", "phi-untouched"):
        s3.create_bucket(Bucket=bucket)
    key = kms.create_key(Description="phi-s3-key")["KeyMetadata"]["KeyId"]

    def state():
        return {b: _encryption(s3, b) for b in ("phi-unencrypted", "phi-kms-wanted", "phi-untouched")}

    _, after, _ = remediate(aws, "phiwatch-EnableS3BucketEncryption", {"ResourceId": "phi-unencrypted"}, state)
    assert after["phi-unencrypted"] == {"SSEAlgorithm": "AES256"}
    _, after, _ = remediate(aws, "phiwatch-EnableS3BucketEncryption", {"ResourceId": "phi-kms-wanted", "KmsKeyId": key}, state)
    assert after["phi-kms-wanted"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
    assert after["phi-untouched"] == "ServerSideEncryptionConfigurationNotFoundError"
    # SSE-KMS is never downgraded to SSE-S3: nothing is written.
    again = execute(builtin("phiwatch-EnableS3BucketEncryption"), {"ResourceId": "phi-kms-wanted"}, aws, REGION, dry_run=False)
    assert again.status == "Success" and again.write_calls == []
    assert _encryption(s3, "phi-kms-wanted")["SSEAlgorithm"] == "aws:kms"


def test_block_s3_bucket_public_access(aws_env, aws):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="phi-public-read", ACL="public-read")
    s3.create_bucket(Bucket="phi-public-other", ACL="public-read")

    def state():
        return _bpa(s3, "phi-public-read"), _bpa(s3, "phi-public-other")

    _, after, _ = remediate(
        aws, "phiwatch-BlockS3BucketPublicAccess", {"ResourceId": "phi-public-read"}, state, writes_again=True
    )  # PutPublicAccessBlock is naturally idempotent
    assert after[0] == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert after[1] == "NoSuchPublicAccessBlockConfiguration"


def test_block_s3_account_public_access(aws_env, aws):
    s3control, s3 = aws_env.client("s3control"), aws_env.client("s3")
    s3.create_bucket(Bucket="phi-bucket-bpa-untouched")

    def state():
        try:
            account = s3control.get_public_access_block(AccountId=EMULATOR_ACCOUNT)["PublicAccessBlockConfiguration"]
        except s3control.exceptions.ClientError as exc:
            account = exc.response["Error"]["Code"]
        return account, _bpa(s3, "phi-bucket-bpa-untouched")

    params = {"ResourceId": EMULATOR_ACCOUNT, "BlockPublicPolicy": "true"}
    _, after, _ = remediate(aws, "phiwatch-BlockS3AccountPublicAccess", params, state, writes_again=True)
    assert after[0] == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert after[1] == "NoSuchPublicAccessBlockConfiguration"


def test_enable_s3_bucket_versioning(aws_env, aws):
    s3 = aws_env.client("s3")
    s3.create_bucket(Bucket="phi-unversioned")
    s3.create_bucket(Bucket="phi-suspended")
    s3.put_bucket_versioning(Bucket="phi-suspended", VersioningConfiguration={"Status": "Suspended"})

    def state():
        return (
            s3.get_bucket_versioning(Bucket="phi-unversioned").get("Status"),
            s3.get_bucket_versioning(Bucket="phi-suspended").get("Status"),
        )

    before, after, _ = remediate(aws, "phiwatch-EnableS3BucketVersioning", {"ResourceId": "phi-unversioned"}, state)
    assert before == (None, "Suspended") and after == ("Enabled", "Suspended")


def test_restrict_s3_bucket_to_tls_merges_into_the_existing_policy(aws_env, aws):
    s3 = aws_env.client("s3")
    existing = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{EMULATOR_ACCOUNT}:root"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::phi-shared/*",
            },
        ],
    }
    other_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{EMULATOR_ACCOUNT}:root"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::phi-shared-other/*",
            },
        ],
    }
    for bucket, policy in (("phi-shared", existing), ("phi-shared-other", other_policy), ("phi-no-policy", None)):
        s3.create_bucket(Bucket=bucket)
        if policy:
            s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    def state():
        return {b: _policy(s3, b) for b in ("phi-shared", "phi-shared-other", "phi-no-policy")}

    tls = {
        "Sid": "DenyInsecureTransport2",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::phi-shared", "arn:aws:s3:::phi-shared/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    _, after, _ = remediate(aws, "phiwatch-RestrictS3BucketToTLS", {"ResourceId": "phi-shared"}, state)
    assert after["phi-shared"]["Statement"] == existing["Statement"] + [tls]  # merged, not replaced
    assert after["phi-shared-other"] == other_policy and after["phi-no-policy"] == "NoSuchBucketPolicy"

    _, after, _ = remediate(aws, "phiwatch-RestrictS3BucketToTLS", {"ResourceId": "phi-no-policy"}, state)
    statements = after["phi-no-policy"]["Statement"]
    assert len(statements) == 1 and statements[0]["Sid"] == "DenyInsecureTransport"
    assert statements[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# ----------------------------------------------------------------------------- CloudTrail, KMS, logs, DynamoDB, RDS


def test_enable_cloudtrail_log_file_validation(aws_env, aws):
    s3, ct = aws_env.client("s3"), aws_env.client("cloudtrail")
    s3.create_bucket(Bucket="phi-trail-logs")
    for name in ("trail-no-validation", "trail-no-validation-other"):
        ct.create_trail(Name=name, S3BucketName="phi-trail-logs")

    def state():
        trails = {t["Name"]: t["LogFileValidationEnabled"] for t in ct.describe_trails()["trailList"]}
        return trails["trail-no-validation"], trails["trail-no-validation-other"]

    before, after, _ = remediate(aws, "phiwatch-EnableCloudTrailLogFileValidation", {"ResourceId": "trail-no-validation"}, state)
    assert before == (False, False) and after == (True, False)


def test_enable_cloudtrail_multi_region_creates_or_converts(aws_env, aws):
    s3, ct = aws_env.client("s3"), aws_env.client("cloudtrail")
    s3.create_bucket(Bucket="phi-trail-logs")
    ct.create_trail(Name="trail-single-region", S3BucketName="phi-trail-logs")
    ct.create_trail(Name="trail-single-region-other", S3BucketName="phi-trail-logs")

    def state():
        out = {}
        for t in ct.describe_trails()["trailList"]:
            out[t["Name"]] = (t["IsMultiRegionTrail"], ct.get_trail_status(Name=t["Name"])["IsLogging"])
        return out

    _, after, _ = remediate(
        aws, "phiwatch-EnableCloudTrailMultiRegion", {"ResourceId": EMULATOR_ACCOUNT, "S3BucketName": "phi-trail-logs"}, state
    )
    assert after["phiwatch-multi-region-trail"] == (True, True)
    assert after["trail-single-region"] == (False, False)
    trail = ct.get_trail(Name="phiwatch-multi-region-trail")["Trail"]
    assert trail["LogFileValidationEnabled"] and trail["IncludeGlobalServiceEvents"]

    _, after, _ = remediate(
        aws,
        "phiwatch-EnableCloudTrailMultiRegion",
        {"ResourceId": EMULATOR_ACCOUNT, "S3BucketName": "phi-trail-logs", "TrailName": "trail-single-region"},
        state,
    )
    assert after["trail-single-region"] == (True, True)
    assert after["trail-single-region-other"] == (False, False)


def test_enable_kms_key_rotation(aws_env, aws):
    kms = aws_env.client("kms")
    key, other = (kms.create_key(Description=d)["KeyMetadata"]["KeyId"] for d in ("cmk-no-rotation", "cmk-other"))

    def state():
        return tuple(kms.get_key_rotation_status(KeyId=k)["KeyRotationEnabled"] for k in (key, other))

    before, after, _ = remediate(aws, "phiwatch-EnableKmsKeyRotation", {"ResourceId": key}, state)
    assert before == (False, False) and after == (True, False)


def test_set_log_group_retention_never_shortens(aws_env, aws):
    logs = aws_env.client("logs")
    groups = {"/phi/app": 30, "/phi/app-other": 30, "/phi/long": 3653, "/phi/forever": None}
    for name, days in groups.items():
        logs.create_log_group(logGroupName=name)
        if days:
            logs.put_retention_policy(logGroupName=name, retentionInDays=days)

    def state():
        return {g["logGroupName"]: g.get("retentionInDays") for g in logs.describe_log_groups(logGroupNamePrefix="/phi/")["logGroups"]}

    _, after, _ = remediate(aws, "phiwatch-SetLogGroupRetention", {"ResourceId": "/phi/app"}, state)
    assert after == {"/phi/app": 365, "/phi/app-other": 30, "/phi/long": 3653, "/phi/forever": None}
    for name in ("/phi/long", "/phi/forever"):
        run = execute(builtin("phiwatch-SetLogGroupRetention"), {"ResourceId": name}, aws, REGION, dry_run=False)
        assert run.status == "Success" and run.write_calls == [] and run.steps[-1].name == "NothingToChange"
    assert state() == after
    missing = execute(builtin("phiwatch-SetLogGroupRetention"), {"ResourceId": "/phi/missing"}, aws, REGION, dry_run=False)
    assert missing.status == "Failed" and missing.failed_step == "SetRetention"
    assert missing.steps[-1].calls[0].error_code == "ResourceNotFoundException"


def test_enable_dynamodb_pitr(aws_env, aws):
    ddb = aws_env.client("dynamodb")
    for name in ("phi-table-no-pitr", "phi-table-other"):
        ddb.create_table(
            TableName=name,
            **ON_DEMAND_TABLE,
        )

    def state():
        return tuple(
            ddb.describe_continuous_backups(TableName=t)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"][
                "PointInTimeRecoveryStatus"
            ]
            for t in ("phi-table-no-pitr", "phi-table-other")
        )

    before, after, _ = remediate(aws, "phiwatch-EnableDynamoDbPitr", {"ResourceId": "phi-table-no-pitr"}, state)
    assert before == ("DISABLED", "DISABLED") and after == ("ENABLED", "DISABLED")


def test_make_rds_snapshots_private(aws_env, aws):
    rds = aws_env.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="phi-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        AllocatedStorage=20,
    )
    rds.create_db_cluster(
        DBClusterIdentifier="phi-cluster", Engine="aurora-postgresql", MasterUsername="admin1", MasterUserPassword="password123"
    )
    for snap in ("snap-public", "snap-public-other"):
        rds.create_db_snapshot(DBInstanceIdentifier="phi-db", DBSnapshotIdentifier=snap)
        rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=snap, AttributeName="restore", ValuesToAdd=["all", "111122223333"])
    rds.create_db_cluster_snapshot(DBClusterIdentifier="phi-cluster", DBClusterSnapshotIdentifier="cluster-snap-public")
    rds.modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="cluster-snap-public", AttributeName="restore", ValuesToAdd=["all"]
    )

    def restore(snap):
        attrs = rds.describe_db_snapshot_attributes(DBSnapshotIdentifier=snap)["DBSnapshotAttributesResult"]
        return sorted(v for a in attrs["DBSnapshotAttributes"] for v in a["AttributeValues"])

    def state():
        cluster = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier="cluster-snap-public")
        values = cluster["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
        return restore("snap-public"), restore("snap-public-other"), sorted(v for a in values for v in a["AttributeValues"])

    _, after, _ = remediate(aws, "phiwatch-MakeRdsSnapshotPrivate", {"ResourceId": "snap-public"}, state)
    assert after == (["111122223333"], ["111122223333", "all"], ["all"])
    _, after, _ = remediate(
        aws, "phiwatch-MakeRdsSnapshotPrivate", {"ResourceId": "cluster-snap-public", "SnapshotType": "DBClusterSnapshot"}, state
    )
    assert after == (["111122223333"], ["111122223333", "all"], [])


# ----------------------------------------------------------------------------- IAM


def test_set_iam_password_policy_never_weakens(aws_env, aws):
    iam = aws_env.client("iam")
    iam.update_account_password_policy(MinimumPasswordLength=20, RequireNumbers=True, MaxPasswordAge=30, HardExpiry=True)

    def state():
        policy = iam.get_account_password_policy()["PasswordPolicy"]
        return {
            k: policy.get(k)
            for k in (
                "MinimumPasswordLength",
                "RequireSymbols",
                "RequireNumbers",
                "RequireUppercaseCharacters",
                "RequireLowercaseCharacters",
                "MaxPasswordAge",
                "PasswordReusePrevention",
                "HardExpiry",
                "AllowUsersToChangePassword",
            )
        }

    _, after, _ = remediate(aws, "phiwatch-SetIamPasswordPolicy", {"ResourceId": EMULATOR_ACCOUNT}, state)
    assert after == {
        "MinimumPasswordLength": 20,
        "RequireSymbols": True,
        "RequireNumbers": True,
        "RequireUppercaseCharacters": True,
        "RequireLowercaseCharacters": True,
        "MaxPasswordAge": 30,
        "PasswordReusePrevention": 24,
        "HardExpiry": True,
        "AllowUsersToChangePassword": True,
    }


def test_set_iam_password_policy_when_none_exists(aws_env, aws):
    iam = aws_env.client("iam")

    def state():
        try:
            return iam.get_account_password_policy()["PasswordPolicy"]
        except iam.exceptions.NoSuchEntityException:
            return None

    before, after, _ = remediate(
        aws, "phiwatch-SetIamPasswordPolicy", {"ResourceId": EMULATOR_ACCOUNT, "MinimumPasswordLength": "16"}, state
    )
    assert before is None
    assert after["MinimumPasswordLength"] == 16 and after["MaxPasswordAge"] == 90
    assert after["PasswordReusePrevention"] == 24 and after["RequireSymbols"]


def test_deactivate_old_access_keys(aws_env, aws):
    iam = aws_env.client("iam")
    for user in ("alice-old-keys", "bob-old-keys"):
        iam.create_user(UserName=user)
        iam.create_access_key(UserName=user)
        iam.create_access_key(UserName=user)
        _backdate_keys(user, 200)
    iam.create_user(UserName="carol-fresh-key")
    fresh = iam.create_access_key(UserName="carol-fresh-key")["AccessKey"]["AccessKeyId"]
    alice = iam.get_user(UserName="alice-old-keys")["User"]["UserId"]

    def state():
        return {
            u: sorted(k["Status"] for k in iam.list_access_keys(UserName=u)["AccessKeyMetadata"])
            for u in ("alice-old-keys", "bob-old-keys", "carol-fresh-key")
        }

    before, after, first = remediate(aws, "phiwatch-DeactivateOldAccessKeys", {"ResourceId": alice, "UserName": "alice-old-keys"}, state)
    assert before["alice-old-keys"] == ["Active", "Active"]
    assert after == {"alice-old-keys": ["Inactive", "Inactive"], "bob-old-keys": ["Active", "Active"], "carol-fresh-key": ["Active"]}
    assert [c.api for c in first.write_calls] == ["UpdateAccessKey", "UpdateAccessKey"]

    carol = iam.get_user(UserName="carol-fresh-key")["User"]["UserId"]
    run = execute(
        builtin("phiwatch-DeactivateOldAccessKeys"), {"ResourceId": carol, "UserName": "carol-fresh-key"}, aws, REGION, dry_run=False
    )
    assert run.status == "Success" and run.write_calls == []
    assert iam.list_access_keys(UserName="carol-fresh-key")["AccessKeyMetadata"][0]["AccessKeyId"] == fresh


MISSING_RESOURCES = {
    "phiwatch-EnableS3BucketLogging": {"ResourceId": "phi-deleted-bucket", "TargetBucket": "phi-deleted-logs"},
    "phiwatch-EnableS3BucketEncryption": {"ResourceId": "phi-deleted-bucket"},
    "phiwatch-BlockS3BucketPublicAccess": {"ResourceId": "phi-deleted-bucket"},
    "phiwatch-EnableS3BucketVersioning": {"ResourceId": "phi-deleted-bucket"},
    "phiwatch-RestrictS3BucketToTLS": {"ResourceId": "phi-deleted-bucket"},
    "phiwatch-EnableCloudTrailLogFileValidation": {"ResourceId": "trail-deleted"},
    "phiwatch-EnableCloudTrailMultiRegion": {"ResourceId": EMULATOR_ACCOUNT, "S3BucketName": "phi-deleted-bucket"},
    "phiwatch-EnableKmsKeyRotation": {"ResourceId": "0d6e1a3c-1111-4222-8333-944455556666"},
    "phiwatch-RevokeOpenIngress": {"ResourceId": "sg-0123456789abcdef0"},
    "phiwatch-DeactivateOldAccessKeys": {"ResourceId": "AIDADELETEDUSER0001", "UserName": "deleted-user"},
    "phiwatch-EnableDynamoDbPitr": {"ResourceId": "phi-deleted-table"},
    "phiwatch-MakeRdsSnapshotPrivate": {"ResourceId": "snap-deleted"},
    "phiwatch-MakeEbsSnapshotPrivate": {"ResourceId": "snap-0123456789abcdef0"},
    "phiwatch-RequireImdsV2": {"ResourceId": "i-0123456789abcdef0"},
    "phiwatch-SetLogGroupRetention": {"ResourceId": "/phi/deleted"},
}


def test_a_resource_deleted_before_the_run_fails_cleanly(aws):
    """The run fails at the step that meets the missing resource; no write succeeds; no retry storm."""
    for runbook_id, params in MISSING_RESOURCES.items():
        doc = builtin(runbook_id)
        plan = execute(doc, params, aws, REGION, dry_run=True)
        run = execute(doc, params, aws, REGION, dry_run=False)
        assert run.status == "Failed" and run.failed_step and run.error, runbook_id
        assert all(c.error for c in run.write_calls), (runbook_id, run.write_calls)
        assert len(run.calls) <= 4, (runbook_id, [c.api for c in run.calls])
        assert run.steps[-1].name == run.failed_step or run.steps[-1].status == "Failed", runbook_id
        assert plan.status in ("Failed", "DryRun"), runbook_id
        assert not any(c.response is not None for c in plan.write_calls), runbook_id


def test_rule_parameters_match_runbook_parameters_ignoring_case():
    doc = builtin("phiwatch-DeactivateOldAccessKeys")
    assert doc.match_parameters({"maxAccessKeyAge": 45, "maxCredentialUsageAge": None, "other": 1}) == {"MaxAccessKeyAge": 45}
    logging = builtin("phiwatch-EnableS3BucketLogging")
    assert logging.match_parameters({"targetBucket": "logs-bucket", "targetPrefix": None}) == {"TargetBucket": "logs-bucket"}


def test_every_builtin_runbook_is_tested_end_to_end():
    """Every built-in goes through remediate() in a test of this file (read from the source, so the
    check holds however the tests are spread over workers)."""
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    called = set(re.findall(r'remediate\(\s*aws,\s*"(phiwatch-[A-Za-z0-9]+)"', source))
    assert called == set(builtin_ids()), sorted(set(builtin_ids()) ^ called)


@pytest.mark.parametrize("runbook_id", builtin_ids())
def test_builtin_runbooks_pass_the_strict_reader_of_users_files(runbook_id):
    """Built-in runbooks are read with libyaml's parser; each must read the same with the strict
    reader users' runbooks go through (duplicate keys, tags, depth), and validate the same."""
    from phiwatch.runbooks.document import RUNBOOK_DIR
    from phiwatch.runbooks.validate import load_document

    path = RUNBOOK_DIR / f"{runbook_id}.yaml"
    assert builtin(runbook_id) == load_document(path, doc_id=runbook_id)
