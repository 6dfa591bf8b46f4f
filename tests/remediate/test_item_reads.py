"""Dry runs answer the reads the finding's collected item holds from the item, on moto's server.

A plan made from the item must be the plan AWS's answers give: the same steps, branches, outputs
and calls (each read still listed, marked ``from_item`` and not sent). Checked on buckets in every
state the S3 runbooks branch on.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from aws_state import ON_DEMAND_TABLE
from phiwatch.model import ACCOUNT_TYPE
from phiwatch.policy import parse_policy
from phiwatch.remediate.executor import execute
from phiwatch.remediate.item_reads import NOT_ANSWERED, ItemReads
from phiwatch.remediate.results import execution_steps, plan_calls
from phiwatch.runbooks.document import builtin
from phiwatch.scan import run_scan
from phiwatch.store.tables import remediations
from rule_runner import built_item

REGION = "us-east-1"
ACCOUNT = "123456789012"


def _tls_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecure",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def seed_buckets(aws_env) -> dict[str, str]:
    """Buckets in each state the S3 runbooks read: policy (none, other, TLS-only), default
    encryption (none, AES256, KMS), versioning (never, Enabled, Suspended). Returns the KMS key id."""
    s3 = aws_env.client("s3")
    key = aws_env.client("kms").create_key()["KeyMetadata"]["KeyId"]
    for name in ("plain", "other-policy", "tls-only", "aes", "kms", "versioned", "suspended"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(
        Bucket="other-policy",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Read",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::other-policy/*",
                    }
                ],
            }
        ),
    )
    s3.put_bucket_policy(Bucket="tls-only", Policy=_tls_policy("tls-only"))
    s3.put_bucket_encryption(
        Bucket="aes", ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    )
    s3.put_bucket_encryption(
        Bucket="kms",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}, "BucketKeyEnabled": True}]
        },
    )
    s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket="suspended", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket="suspended", VersioningConfiguration={"Status": "Suspended"})
    return {"key": key}


def _same_plan(execution: Any) -> list[dict[str, Any]]:
    """The execution as stored, less what only says where a read was answered: the from_item
    mark, and the text of an error after its code (AWS's message, or "read from the collected item")."""
    steps = execution_steps(execution)
    for step in steps:
        for call in step["calls"]:
            call.pop("from_item", None)
            if "error" in call:
                call["error"] = call["error"].split(":")[0]
                step["message"] = step["message"].split(":")[0]
    return steps


def test_a_plan_from_the_item_is_the_plan_from_aws(aws_env, store):
    created = seed_buckets(aws_env)
    aws = aws_env.context()
    run_scan(aws, store, parse_policy('{"packs": ["hipaa"], "remediation": {"mode": "off"}}'), services=["s3"])
    items = {i.resourceId: i for i in store.current_items("AWS::S3::Bucket")}
    assert set(items) >= {"plain", "other-policy", "tls-only", "aes", "kms", "versioned", "suspended"}
    cases = [
        ("phiwatch-EnableS3BucketEncryption", {}),
        ("phiwatch-EnableS3BucketEncryption", {"KmsKeyId": created["key"]}),
        ("phiwatch-RestrictS3BucketToTLS", {}),
        ("phiwatch-EnableS3BucketVersioning", {}),
    ]
    answered = 0
    branches: set[tuple[str, str]] = set()
    for runbook_id, extra in cases:
        doc = builtin(runbook_id)
        for name, item in sorted(items.items()):
            params = {"ResourceId": name, **extra}
            from_aws = execute(doc, params, aws, REGION, dry_run=True)
            before = aws.counter.total
            from_item = execute(doc, params, aws, REGION, dry_run=True, item_reads=ItemReads(item, REGION))
            sent = aws.counter.total - before
            assert _same_plan(from_item) == _same_plan(from_aws), (runbook_id, extra, name)
            assert from_item.status == from_aws.status and from_item.outputs == from_aws.outputs
            # every read these runbooks make before their write is one the item holds
            reads = [c for c in plan_calls(from_item) if not c["write"] and c.get("from_item")]
            assert sent == 0 and reads, (runbook_id, name)
            assert all(c["sent"] is False for c in plan_calls(from_item))
            answered += len(reads)
            branches.add((runbook_id, ",".join(s.name for s in from_aws.steps)))
    assert answered >= len(items) * len(cases)
    assert len(branches) >= 7  # the buckets took the runbooks down their different branches


def test_reads_the_item_cannot_answer_go_to_aws():
    bucket = built_item(
        "AWS::S3::Bucket", supplementary={"BucketPolicy": None, "ServerSideEncryptionConfiguration": None}, resource_id="phi-bucket"
    )
    reads = ItemReads(bucket, REGION)
    assert reads.answer("s3", "GetBucketPolicy", {"Bucket": "phi-bucket"}).response["Error"]["Code"] == "NoSuchBucketPolicy"
    assert reads.answer("s3", "GetBucketPolicy", {"Bucket": "another-bucket"}) is NOT_ANSWERED  # not this item
    assert reads.answer("s3", "GetBucketVersioning", {"Bucket": "phi-bucket"}) is NOT_ANSWERED  # the item has no versioning read
    assert reads.answer("s3", "GetBucketLogging", {"Bucket": "phi-bucket"}) is NOT_ANSWERED  # not a listed read
    assert ItemReads(bucket, "eu-west-1").answer("s3", "GetBucketPolicy", {"Bucket": "phi-bucket"}) is NOT_ANSWERED
    bucket.collectionErrors = [{"api": "GetBucketPolicy", "error": "AccessDenied"}]
    assert ItemReads(bucket, REGION).answer("s3", "GetBucketPolicy", {"Bucket": "phi-bucket"}) is NOT_ANSWERED


@pytest.mark.parametrize("fresh", [True, False])
def test_a_scan_plans_from_the_items_it_just_collected(aws_env, store, fresh):
    seed_buckets(aws_env)
    aws = aws_env.context()
    pol = parse_policy('{"packs": ["hipaa"], "remediation": {"mode": "dry-run"}}')
    if not fresh:  # the evaluation is older than fresh_seconds: the plan reads AWS again
        run_scan(aws, store, parse_policy('{"packs": ["hipaa"], "remediation": {"mode": "off"}}'), services=["s3"])
        from phiwatch.scan import remediator

        rem = remediator(aws, store, pol, fresh_seconds=0)
        rem.run(scan_id="later")
    else:
        run_scan(aws, store, pol, services=["s3"])
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(remediations).where(remediations.c.runbook_id.like("phiwatch-%S3Bucket%"))).mappings()]
    reads = [c for r in rows for c in r["plan"] if not c["write"] and c["service"] == "s3"]
    assert reads
    held = [c for c in reads if c["api"] in ("GetBucketPolicy", "GetBucketEncryption", "GetBucketVersioning")]
    if fresh:  # answered by the item (or, after the planned write, planned): none sent
        assert any(c.get("from_item") for c in held) and not any(c["sent"] for c in held)
    else:
        assert not any(c.get("from_item") for c in reads) and any(c["sent"] for c in held)


def test_a_tables_point_in_time_recovery_is_read_from_its_item(aws_env, store):
    ddb = aws_env.client("dynamodb")
    for name in ("phi-claims", "phi-visits"):
        ddb.create_table(
            TableName=name,
            **ON_DEMAND_TABLE,
        )
    ddb.update_continuous_backups(TableName="phi-visits", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    aws = aws_env.context()
    run_scan(aws, store, parse_policy('{"packs": ["hipaa"], "remediation": {"mode": "off"}}'), services=["dynamodb"])
    items = {i.resourceId: i for i in store.current_items("AWS::DynamoDB::Table")}
    doc = builtin("phiwatch-EnableDynamoDbPitr")
    branches = set()
    for name, item in items.items():
        from_aws = execute(doc, {"ResourceId": name}, aws, REGION, dry_run=True)
        before = aws.counter.total
        from_item = execute(doc, {"ResourceId": name}, aws, REGION, dry_run=True, item_reads=ItemReads(item, REGION))
        assert aws.counter.total == before  # nothing sent
        assert _same_plan(from_item) == _same_plan(from_aws) and from_item.outputs == from_aws.outputs
        assert {c["api"] for c in plan_calls(from_item) if c.get("from_item")} == {"DescribeContinuousBackups"}
        branches.add(tuple(s.name for s in from_aws.steps))
    assert len(branches) == 2  # one table is enabled already, the other is not

    claims = items["phi-claims"]
    reads = ItemReads(claims, REGION)
    assert reads.answer("dynamodb", "DescribeContinuousBackups", {"TableName": "phi-visits"}) is NOT_ANSWERED  # another table
    claims.supplementaryConfiguration.pop("ContinuousBackupsDescription")  # the collector's call failed
    assert ItemReads(claims, REGION).answer("dynamodb", "DescribeContinuousBackups", {"TableName": "phi-claims"}) is NOT_ANSWERED


OPEN_INGRESS = [
    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "admins"}]},
    {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
]


def test_instances_and_security_groups_are_read_from_their_items(aws_env, store):
    ec2 = aws_env.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    image = ec2.register_image(Name="phi-ami", RootDeviceName="/dev/xvda")["ImageId"]
    for tokens in ("optional", "required"):
        ec2.run_instances(
            ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, MetadataOptions={"HttpTokens": tokens, "HttpEndpoint": "enabled"}
        )
    open_group = ec2.create_security_group(GroupName="phi-open", Description="open", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=open_group, IpPermissions=OPEN_INGRESS)
    closed_group = ec2.create_security_group(GroupName="phi-closed", Description="closed", VpcId=vpc)["GroupId"]
    aws = aws_env.context()
    run_scan(aws, store, parse_policy('{"packs": ["hipaa"], "remediation": {"mode": "off"}}'), services=["ec2"])
    instances = list(store.current_items("AWS::EC2::Instance"))
    groups = {i.resourceId: i for i in store.current_items("AWS::EC2::SecurityGroup")}
    cases = [("phiwatch-RequireImdsV2", "DescribeInstances", item) for item in instances] + [
        ("phiwatch-RevokeOpenIngress", "DescribeSecurityGroups", groups[gid]) for gid in (open_group, closed_group)
    ]
    assert len(cases) == 4
    branches = set()
    for runbook_id, api, item in cases:
        doc = builtin(runbook_id)
        params = {"ResourceId": item.resourceId}
        from_aws = execute(doc, params, aws, REGION, dry_run=True)
        before = aws.counter.total
        from_item = execute(doc, params, aws, REGION, dry_run=True, item_reads=ItemReads(item, REGION))
        assert aws.counter.total == before, (runbook_id, item.resourceId)  # nothing sent
        assert _same_plan(from_item) == _same_plan(from_aws), (runbook_id, item.resourceId)
        assert from_item.outputs == from_aws.outputs and from_item.status == from_aws.status
        assert {c["api"] for c in plan_calls(from_item) if c.get("from_item")} == {api}
        branches.add((runbook_id, tuple(s.name for s in from_aws.steps)))
    assert len(branches) == 4  # each runbook both changes something and finds nothing to change

    reads = ItemReads(groups[open_group], REGION)
    assert reads.answer("ec2", "DescribeSecurityGroups", {"GroupIds": [closed_group]}) is NOT_ANSWERED  # another group
    assert reads.answer("ec2", "DescribeSecurityGroups", {"GroupIds": [open_group, closed_group]}) is NOT_ANSWERED
    assert reads.answer("ec2", "DescribeSecurityGroups", {"GroupNames": ["phi-open"]}) is NOT_ANSWERED
    assert reads.answer("ec2", "DescribeInstances", {"InstanceIds": [open_group]}) is NOT_ANSWERED  # not an instance


ACCOUNT_READS = [
    ("phiwatch-EnableEbsEncryptionByDefault", REGION, "GetEbsEncryptionByDefault"),
    ("phiwatch-SetIamPasswordPolicy", "global", "GetAccountPasswordPolicy"),
]


def _account_plans(aws, store) -> set[tuple[str, tuple[str, ...]]]:
    """Each account runbook's dry run from AWS and from the account item: the same plan, nothing sent."""
    accounts = {i.awsRegion: i for i in store.current_items(ACCOUNT_TYPE)}
    branches = set()
    for runbook_id, item_region, api in ACCOUNT_READS:
        doc = builtin(runbook_id)
        params = {"ResourceId": ACCOUNT}
        from_aws = execute(doc, params, aws, REGION, dry_run=True)
        before = aws.counter.total
        from_item = execute(doc, params, aws, REGION, dry_run=True, item_reads=ItemReads(accounts[item_region], REGION))
        assert aws.counter.total == before, runbook_id  # nothing sent
        assert _same_plan(from_item) == _same_plan(from_aws), runbook_id
        assert from_item.outputs == from_aws.outputs and from_item.status == from_aws.status
        assert {c["api"] for c in plan_calls(from_item) if c.get("from_item")} == {api}
        branches.add((runbook_id, tuple(s.name for s in from_aws.steps)))
    return branches


def test_account_settings_are_read_from_the_account_item(aws_env, store):
    aws = aws_env.context()
    off = parse_policy('{"packs": ["hipaa"], "remediation": {"mode": "off"}}')
    run_scan(aws, store, off, services=["ec2", "iam"])
    unset = _account_plans(aws, store)  # nothing set: no default encryption, no password policy
    aws_env.client("ec2").enable_ebs_encryption_by_default()
    aws_env.client("iam").update_account_password_policy(  # stricter than the runbook's in every setting
        MinimumPasswordLength=20,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        RequireSymbols=True,
        RequireNumbers=True,
        PasswordReusePrevention=24,
        MaxPasswordAge=60,
        AllowUsersToChangePassword=True,
    )
    run_scan(aws, store, off, services=["ec2", "iam"])
    assert not _account_plans(aws, store) & unset  # each runbook took another branch once the setting existed

    accounts = {i.awsRegion: i for i in store.current_items(ACCOUNT_TYPE)}
    assert ItemReads(accounts[REGION], REGION).answer("ec2", "GetEbsEncryptionByDefault", {"DryRun": True}) is NOT_ANSWERED
    assert ItemReads(accounts[REGION], "eu-west-1").answer("ec2", "GetEbsEncryptionByDefault", {}) is NOT_ANSWERED  # another Region
    assert (
        ItemReads(accounts["global"], "eu-west-1").answer("iam", "GetAccountPasswordPolicy", {})["PasswordPolicy"]["MinimumPasswordLength"]
        == 20
    )  # the account's IAM settings are the same in every Region
    assert ItemReads(accounts["global"], REGION).answer("ec2", "GetEbsEncryptionByDefault", {}) is NOT_ANSWERED  # not on that item
    accounts[REGION].collectionErrors = [{"api": "GetEbsEncryptionByDefault", "error": "AccessDenied"}]
    assert ItemReads(accounts[REGION], REGION).answer("ec2", "GetEbsEncryptionByDefault", {}) is NOT_ANSWERED
