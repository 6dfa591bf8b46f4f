"""Every built-in runbook end to end through a scan on moto's server.

For each runbook, one rule that names it: seed with boto3 a violating resource in the rule's
scope, a violating resource the policy excepts and (for rules that are not account-level) a
violating resource outside the scope (``scope: {tags: {Environment: PROD}}``); scan with that
rule in remediation mode ``auto``; then check with independent boto3 reads that the resource is
fixed and the others are untouched, that the store has the finding as remediated, and that the
audit chain verifies. Then an audit entry edited with SQL must make ``audit verify`` fail.

Every case is seeded into one estate and remediated by one scan (each case's rule in mode auto):
that keeps the file fast, and a case reads only its own resources' state, so cases stay
independent. Account-level rules have no other resource to except or leave out of scope: their
cases check what else must stay as it was (another Region, a bucket's own setting, a trail).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from aws_state import ON_DEMAND_TABLE, _backdate_keys, _bpa, _encryption, _ingress, _policy
from conftest import STORE_KINDS, AwsEnv, _drop_pg, _pg_store_url
from phiwatch.emulator import EMULATOR_ACCOUNT
from phiwatch.policy import parse_policy
from phiwatch.remediate import audit, builtin_ids
from phiwatch.scan import run_scan
from phiwatch.store import Store
from phiwatch.store.tables import findings, resources

REGION = "us-east-1"
PROD = [("Environment", "PROD")]
DEV = [("Environment", "DEV")]
LOG_BUCKET = "phi-access-logs"
TRAIL_BUCKET = "phi-trail-logs"


@dataclass
class Seeded:
    """What a case seeded: the resource ids (AWS Config's) of the target and the others."""

    target: str
    excepted: str | None = None  # excepted in the policy (None: account-level rule)
    outside: str | None = None  # out of the rule's scope (None: account-level rule)
    exception: str | None = None  # how the exception names the excepted resource (default: its id)


@dataclass
class Case:
    runbook: str
    rule: str
    services: list[str]
    seed: Callable[[Any], Seeded]
    read: Callable[[Any, str], Any]  # boto3 read of one resource's relevant state
    fixed: Callable[[Any], bool]
    packs: list[str] = field(default_factory=lambda: ["hipaa"])
    parameters: dict[str, Any] = field(default_factory=dict)  # the rule's
    runbook_parameters: dict[str, Any] = field(default_factory=dict)  # remediation.rules.RULE.parameters
    regions: list[str] = field(default_factory=lambda: [REGION])
    scope: dict[str, Any] | None = None  # default: PROD-tagged resources for resource-level rules
    account_level: bool = False
    untouched: Callable[[Any], Any] | None = None  # for account-level rules: something else that must not change


def _tags(pairs, key="Key", value="Value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in pairs]


# -- S3 ----------------------------------------------------------------------------------------


def _buckets(env, case: str, names: tuple[str, str, str], **create: Any) -> Seeded:
    """Buckets tagged ``Case``: every bucket violates every S3 rule, each case's rule sees only its own."""
    s3 = env.client("s3")
    for name, tags in zip(names, (PROD, PROD, DEV)):
        s3.create_bucket(Bucket=name, **create)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": _tags([*tags, ("Case", case)])})
    return Seeded(*names)


def bucket_scope(case: str) -> dict[str, Any]:
    return {"tags": {"Environment": "PROD", "Case": case}}


def seed_logging(env) -> Seeded:
    env.client("s3").create_bucket(Bucket=LOG_BUCKET, ACL="log-delivery-write")  # untagged: out of scope
    return _buckets(env, "logging", ("phi-logging-off", "phi-logging-off-excepted", "dev-logging-off"))


def read_logging(env, bucket):
    return env.client("s3").get_bucket_logging(Bucket=bucket).get("LoggingEnabled")


def seed_public_read(env) -> Seeded:
    return _buckets(env, "public-read", ("phi-public-read", "phi-public-read-excepted", "dev-public-read"), ACL="public-read")


def read_versioning(env, bucket):
    return env.client("s3").get_bucket_versioning(Bucket=bucket).get("Status")


EXISTING_STATEMENT = {
    "Sid": "ReadByAccount",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{EMULATOR_ACCOUNT}:root"},
    "Action": "s3:GetObject",
}


def seed_tls(env) -> Seeded:
    seeded = _buckets(env, "tls", ("phi-no-tls", "phi-no-tls-excepted", "dev-no-tls"))
    s3 = env.client("s3")
    for bucket in (seeded.target, seeded.excepted, seeded.outside):
        s3.put_bucket_policy(
            Bucket=bucket,
            Policy=json.dumps({"Version": "2012-10-17", "Statement": [{**EXISTING_STATEMENT, "Resource": f"arn:aws:s3:::{bucket}/*"}]}),
        )
    return seeded


def tls_enforced(policy) -> bool:
    statements = policy["Statement"]
    kept = any(s.get("Sid") == "ReadByAccount" and s["Effect"] == "Allow" for s in statements)  # merged, not replaced
    deny = any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in statements)
    return kept and deny


def read_account_bpa(env, _account):
    s3control = env.client("s3control")
    try:
        return s3control.get_public_access_block(AccountId=EMULATOR_ACCOUNT)["PublicAccessBlockConfiguration"]
    except s3control.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"]


def seed_account_bpa(env) -> Seeded:
    env.client("s3").create_bucket(Bucket="phi-bucket-bpa-untouched")
    return Seeded(EMULATOR_ACCOUNT)


ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}

# -- EC2 / VPC ---------------------------------------------------------------------------------


def _vpc(env) -> str:
    return env.client("ec2").create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]


def _ec2_tags(resource_type: str, name: str, tags) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": _tags([("Name", name), *tags])}]


def seed_open_ssh(env) -> Seeded:
    ec2, vpc = env.client("ec2"), _vpc(env)
    ids = []
    for name, tags in (("sg-ssh-open", PROD), ("sg-ssh-open-excepted", PROD), ("sg-ssh-open-dev", DEV)):
        gid = ec2.create_security_group(
            GroupName=name, Description=name, VpcId=vpc, TagSpecifications=_ec2_tags("security-group", name, tags)
        )["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=gid,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            ],
        )
        ids.append(gid)
    return Seeded(*ids)


def seed_vpcs(env) -> Seeded:
    ec2 = env.client("ec2")
    ids = [
        ec2.create_vpc(CidrBlock=f"10.{n}.0.0/16", TagSpecifications=_ec2_tags("vpc", name, tags))["Vpc"]["VpcId"]
        for n, name, tags in ((41, "vpc-phi", PROD), (42, "vpc-phi-excepted", PROD), (43, "vpc-dev", DEV))
    ]
    env.client("s3").create_bucket(Bucket="phi-flow-logs")
    return Seeded(*ids)


def read_flow_logs(env, vpc):
    logs = env.client("ec2").describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc]}])["FlowLogs"]
    return sorted((f["TrafficType"], f["LogDestinationType"], f.get("FlowLogStatus")) for f in logs)


def seed_public_snapshots(env) -> Seeded:
    ec2 = env.client("ec2")
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    ids = []
    for name, tags in (("snap-public", PROD), ("snap-public-excepted", PROD), ("snap-public-dev", DEV)):
        sid = ec2.create_snapshot(VolumeId=volume, Description=name, TagSpecifications=_ec2_tags("snapshot", name, tags))["SnapshotId"]
        ec2.modify_snapshot_attribute(SnapshotId=sid, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"])
        ids.append(sid)
    return Seeded(*ids)


def read_snapshot_permissions(env, snapshot):
    perms = env.client("ec2").describe_snapshot_attribute(SnapshotId=snapshot, Attribute="createVolumePermission")
    return sorted(json.dumps(p, sort_keys=True) for p in perms["CreateVolumePermissions"])


def seed_imds_optional(env) -> Seeded:
    ec2 = env.client("ec2")
    image = ec2.register_image(Name="e2e-base-image", RootDeviceName="/dev/xvda")["ImageId"]
    ids = []
    for name, tags in (("app-imds-v1", PROD), ("app-imds-v1-excepted", PROD), ("dev-imds-v1", DEV)):
        ids.append(
            ec2.run_instances(
                ImageId=image,
                MinCount=1,
                MaxCount=1,
                MetadataOptions={"HttpTokens": "optional"},
                TagSpecifications=_ec2_tags("instance", name, tags),
            )["Instances"][0]["InstanceId"]
        )
    return Seeded(*ids)


def read_http_tokens(env, instance):
    found = env.client("ec2").describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    return found["MetadataOptions"]["HttpTokens"]


# -- CloudTrail, KMS, logs, DynamoDB, RDS ------------------------------------------------------


def seed_trails(env) -> Seeded:
    env.client("s3").create_bucket(Bucket=TRAIL_BUCKET)
    ct = env.client("cloudtrail")
    names = ("trail-phi", "trail-phi-excepted", "trail-dev")
    for name, tags in zip(names, (PROD, PROD, DEV)):
        ct.create_trail(Name=name, S3BucketName=TRAIL_BUCKET, TagsList=_tags(tags))
    return Seeded(*names)


def read_validation(env, trail):
    return env.client("cloudtrail").get_trail(Name=trail)["Trail"]["LogFileValidationEnabled"]


def seed_single_region_trail(env) -> Seeded:
    env.client("s3").create_bucket(Bucket=TRAIL_BUCKET)
    env.client("cloudtrail").create_trail(Name="trail-single-region", S3BucketName=TRAIL_BUCKET)
    return Seeded(EMULATOR_ACCOUNT)


def read_multi_region(env, _account):
    ct = env.client("cloudtrail")
    return sorted(
        t["Name"] for t in ct.describe_trails()["trailList"] if t["IsMultiRegionTrail"] and ct.get_trail_status(Name=t["Name"])["IsLogging"]
    )


def read_single_region_trail(env):
    trail = env.client("cloudtrail").get_trail(Name="trail-single-region")["Trail"]
    return trail["IsMultiRegionTrail"], trail["LogFileValidationEnabled"]


def seed_keys(env) -> Seeded:
    kms = env.client("kms")
    return Seeded(
        *(
            kms.create_key(Description=name, Tags=_tags(tags, "TagKey", "TagValue"))["KeyMetadata"]["KeyId"]
            for name, tags in (("cmk-phi", PROD), ("cmk-phi-excepted", PROD), ("cmk-dev", DEV))
        )
    )


def read_rotation(env, key):
    return env.client("kms").get_key_rotation_status(KeyId=key)["KeyRotationEnabled"]


def seed_log_groups(env) -> Seeded:
    logs = env.client("logs")
    names = ("/phi/app", "/phi/app-excepted", "/dev/app")
    for name, tags in zip(names, (PROD, PROD, DEV)):
        logs.create_log_group(logGroupName=name, tags=dict(tags))
        logs.put_retention_policy(logGroupName=name, retentionInDays=30)
    return Seeded(*names)


def read_retention(env, group):
    found = env.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    return next(g.get("retentionInDays") for g in found if g["logGroupName"] == group)


def seed_tables(env) -> Seeded:
    ddb = env.client("dynamodb")
    names = ("phi-table", "phi-table-excepted", "dev-table")
    for name, tags in zip(names, (PROD, PROD, DEV)):
        ddb.create_table(
            TableName=name,
            **ON_DEMAND_TABLE,
            Tags=_tags(tags),
        )
    return Seeded(*names)


def read_pitr(env, table):
    backups = env.client("dynamodb").describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    return backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]


def seed_rds_snapshots(env) -> Seeded:
    rds = env.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="phi-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        AllocatedStorage=20,
    )
    names = ("snap-phi-public", "snap-phi-public-excepted", "snap-dev-public")
    for name, tags in zip(names, (PROD, PROD, DEV)):
        rds.create_db_snapshot(DBInstanceIdentifier="phi-db", DBSnapshotIdentifier=name, Tags=_tags(tags))
        rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=name, AttributeName="restore", ValuesToAdd=["all"])
    return Seeded(*names)


def read_restore(env, snapshot):
    attrs = env.client("rds").describe_db_snapshot_attributes(DBSnapshotIdentifier=snapshot)["DBSnapshotAttributesResult"]
    return sorted(v for a in attrs["DBSnapshotAttributes"] for v in a["AttributeValues"])


# -- IAM ---------------------------------------------------------------------------------------


def seed_old_keys(env) -> Seeded:
    iam = env.client("iam")
    ids = []
    for name, tags in (("alice-old-key", PROD), ("bob-old-key", PROD), ("dev-old-key", DEV)):
        ids.append(iam.create_user(UserName=name, Tags=_tags(tags))["User"]["UserId"])
        iam.create_access_key(UserName=name)
        _backdate_keys(name, 200)
    return Seeded(*ids, exception="bob-old-key")


def read_key_status(env, user_id):
    iam = env.client("iam")
    name = next(u["UserName"] for u in iam.list_users()["Users"] if u["UserId"] == user_id)
    return sorted(k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"])


PASSWORD_KEYS = (
    "MinimumPasswordLength",
    "RequireSymbols",
    "RequireNumbers",
    "RequireUppercaseCharacters",
    "RequireLowercaseCharacters",
    "MaxPasswordAge",
    "PasswordReusePrevention",
)


def seed_weak_password_policy(env) -> Seeded:
    env.client("iam").update_account_password_policy(MinimumPasswordLength=8, MaxPasswordAge=30)
    return Seeded(EMULATOR_ACCOUNT)


def read_password_policy(env, _account):
    policy = env.client("iam").get_account_password_policy()["PasswordPolicy"]
    return {k: policy.get(k) for k in PASSWORD_KEYS}


def read_ebs_default(env, _account):
    return env.client("ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"]


# -- the cases ---------------------------------------------------------------------------------

CASES = [
    Case(
        "phiwatch-EnableS3BucketLogging",
        "s3-bucket-logging-enabled",
        ["s3"],
        seed_logging,
        read_logging,
        lambda s: s == {"TargetBucket": LOG_BUCKET, "TargetPrefix": "phi-logging-off/"},
        parameters={"targetBucket": LOG_BUCKET},
        scope=bucket_scope("logging"),
    ),
    Case(
        "phiwatch-EnableS3BucketEncryption",
        "s3-bucket-server-side-encryption-enabled",
        ["s3"],
        lambda env: _buckets(env, "encryption", ("phi-unencrypted", "phi-unencrypted-excepted", "dev-unencrypted")),
        lambda env, b: _encryption(env.client("s3"), b),
        lambda s: isinstance(s, dict) and s["SSEAlgorithm"] == "AES256",
        scope=bucket_scope("encryption"),
    ),
    Case(
        "phiwatch-BlockS3BucketPublicAccess",
        "s3-bucket-public-read-prohibited",
        ["s3"],
        seed_public_read,
        lambda env, b: _bpa(env.client("s3"), b),
        lambda s: s == ALL_BLOCKED,
        scope=bucket_scope("public-read"),
    ),
    Case(
        "phiwatch-EnableS3BucketVersioning",
        "s3-bucket-versioning-enabled",
        ["s3"],
        lambda env: _buckets(env, "versioning", ("phi-unversioned", "phi-unversioned-excepted", "dev-unversioned")),
        read_versioning,
        lambda s: s == "Enabled",
        scope=bucket_scope("versioning"),
    ),
    Case(
        "phiwatch-RestrictS3BucketToTLS",
        "s3-bucket-ssl-requests-only",
        ["s3"],
        seed_tls,
        lambda env, b: _policy(env.client("s3"), b),
        tls_enforced,
        scope=bucket_scope("tls"),
    ),
    Case(
        "phiwatch-BlockS3AccountPublicAccess",
        "s3-account-level-public-access-blocks-periodic",
        ["s3"],
        seed_account_bpa,
        read_account_bpa,
        lambda s: s == ALL_BLOCKED,
        account_level=True,
        untouched=lambda env: _bpa(env.client("s3"), "phi-bucket-bpa-untouched"),
    ),
    Case(
        "phiwatch-EnableEbsEncryptionByDefault",
        "ec2-ebs-encryption-by-default",
        ["ec2"],
        lambda env: Seeded(EMULATOR_ACCOUNT),
        read_ebs_default,
        lambda s: s is True,
        account_level=True,
        regions=[REGION, "us-west-2"],
        scope={"regions": [REGION]},
        untouched=lambda env: env.client("ec2", "us-west-2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"],
    ),
    Case(
        "phiwatch-RevokeOpenIngress",
        "restricted-ssh",
        ["ec2"],
        seed_open_ssh,
        lambda env, g: _ingress(env.client("ec2"), g),
        lambda s: s == ["tcp:443-443 10.0.0.0/8"],
    ),
    Case(
        "phiwatch-EnableVpcFlowLogs",
        "vpc-flow-logs-enabled",
        ["vpc"],
        seed_vpcs,
        read_flow_logs,
        lambda s: s == [("ALL", "s3", "ACTIVE")],
        runbook_parameters={"LogDestinationType": "s3", "LogDestination": "arn:aws:s3:::phi-flow-logs"},
    ),
    Case(
        "phiwatch-MakeEbsSnapshotPrivate",
        "ebs-snapshot-public-restorable-check",
        ["ec2"],
        seed_public_snapshots,
        read_snapshot_permissions,
        lambda s: s == [],
    ),
    Case("phiwatch-RequireImdsV2", "ec2-imdsv2-check", ["ec2"], seed_imds_optional, read_http_tokens, lambda s: s == "required"),
    Case(
        "phiwatch-EnableCloudTrailLogFileValidation",
        "cloud-trail-log-file-validation-enabled",
        ["cloudtrail"],
        seed_trails,
        read_validation,
        lambda s: s is True,
    ),
    Case(
        "phiwatch-EnableCloudTrailMultiRegion",
        "multi-region-cloudtrail-enabled",
        ["cloudtrail"],
        seed_single_region_trail,
        read_multi_region,
        lambda s: s == ["phiwatch-multi-region-trail"],
        account_level=True,
        scope={"regions": [REGION]},
        parameters={"s3BucketName": TRAIL_BUCKET},
        untouched=read_single_region_trail,
    ),
    Case(
        "phiwatch-EnableKmsKeyRotation",
        "cmk-backing-key-rotation-enabled",
        ["kms"],
        seed_keys,
        read_rotation,
        lambda s: s is True,
        packs=["hipaa", "hipaa-extras"],
    ),
    Case(
        "phiwatch-SetLogGroupRetention",
        "cw-loggroup-retention-period-check",
        ["logs"],
        seed_log_groups,
        read_retention,
        lambda s: s == 365,
        packs=["hipaa", "hipaa-extras"],
    ),
    Case("phiwatch-EnableDynamoDbPitr", "dynamodb-pitr-enabled", ["dynamodb"], seed_tables, read_pitr, lambda s: s == "ENABLED"),
    Case(
        "phiwatch-MakeRdsSnapshotPrivate", "rds-snapshots-public-prohibited", ["rds"], seed_rds_snapshots, read_restore, lambda s: s == []
    ),
    Case("phiwatch-DeactivateOldAccessKeys", "access-keys-rotated", ["iam"], seed_old_keys, read_key_status, lambda s: s == ["Inactive"]),
    Case(
        "phiwatch-SetIamPasswordPolicy",
        "iam-password-policy",
        ["iam"],
        seed_weak_password_policy,
        read_password_policy,
        lambda s: (
            s
            == {
                "MinimumPasswordLength": 14,
                "RequireSymbols": True,
                "RequireNumbers": True,
                "RequireUppercaseCharacters": True,
                "RequireLowercaseCharacters": True,
                "MaxPasswordAge": 30,  # stricter than the rule's 90: kept, never weakened
                "PasswordReusePrevention": 24,
            }
        ),
        account_level=True,
    ),
]
BY_RUNBOOK = {c.runbook: c for c in CASES}


def test_every_builtin_runbook_has_an_end_to_end_case():
    assert len(BY_RUNBOOK) == len(CASES)
    assert set(BY_RUNBOOK) == set(builtin_ids()), sorted(set(builtin_ids()) ^ set(BY_RUNBOOK))


def test_the_documented_runbook_table_matches_the_code():
    """docs/remediation.md lists every built-in runbook with exactly the rules that name it."""
    import re
    from pathlib import Path

    from phiwatch.rules.registry import catalogue

    doc = (Path(__file__).resolve().parents[2] / "docs" / "remediation.md").read_text()
    documented = {}
    for line in doc.splitlines():
        if line.startswith("| `phiwatch-"):
            cells = line.split("|")
            documented[cells[1].strip(" `")] = set(re.findall(r"`([a-z0-9-]+)`", cells[2]))
    named: dict[str, set[str]] = {rid: set() for rid in builtin_ids()}
    for rule in catalogue().values():
        if rule.remediation:
            named.setdefault(rule.remediation, set()).add(rule.id)
    assert documented == named


def policy_text(seeded: dict[str, Seeded]) -> str:
    """One policy for every case: each case's rule in mode auto, with its scope, parameters and exception."""
    rules: dict[str, Any] = {}
    modes: dict[str, Any] = {}
    exceptions = []
    for case in CASES:
        scope = case.scope if case.scope is not None else (None if case.account_level else {"tags": {"Environment": "PROD"}})
        rules[case.rule] = {k: v for k, v in (("parameters", case.parameters), ("scope", scope)) if v}
        modes[case.rule] = {"mode": "auto", "parameters": case.runbook_parameters}
        found = seeded[case.runbook]
        if found.excepted:
            exceptions.append(
                {
                    "rule": case.rule,
                    "resource": found.exception or found.excepted,
                    "justification": "Change ticket CHG-42",
                    "owner": "security@example.org",
                    "expires": "2099-12-31",
                }
            )
    policy = {
        "packs": ["hipaa", "hipaa-extras"],
        "rules": rules,
        "exceptions": exceptions,
        "remediation": {"mode": "off", "max_per_run": 100, "rules": modes},
    }
    return json.dumps(policy)  # JSON is YAML


@dataclass
class Result:
    """What the shared scan did and what boto3 read before and after it."""

    seeded: dict[str, Seeded]
    before: dict[str, dict[str, Any]]
    after: dict[str, dict[str, Any]]
    untouched_before: dict[str, Any]
    untouched_after: dict[str, Any]
    outcome: Any
    store: Store
    url: str


class CachedAwsEnv(AwsEnv):
    """AwsEnv that makes each boto3 client once (a new client loads botocore's models again)."""

    def __init__(self, emu) -> None:
        super().__init__(emu)
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str = REGION):
        if (service, region) not in self._clients:
            self._clients[(service, region)] = super().client(service, region)
        return self._clients[(service, region)]


@pytest.fixture(scope="module", params=STORE_KINDS)
def scanned(request, emulator, tmp_path_factory) -> Result:
    """Seed every case, scan once with every case's rule in mode auto, read every state back.

    One scan for all runbooks keeps the file fast; every read is taken here, so nothing depends on
    the emulator's state after this fixture (other tests reset it).
    """
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'phiwatch.db'}" if request.param == "sqlite" else _pg_store_url()
    store = Store(url)
    emulator.reset()
    env = CachedAwsEnv(emulator)
    seeded = {c.runbook: c.seed(env) for c in CASES}

    def states() -> dict[str, dict[str, Any]]:
        out = {}
        for case in CASES:
            ids = seeded[case.runbook]
            out[case.runbook] = {r: case.read(env, r) for r in (ids.target, ids.excepted, ids.outside) if r}
        return out

    def extra() -> dict[str, Any]:
        return {c.runbook: c.untouched(env) for c in CASES if c.untouched}

    before, untouched_before = states(), extra()
    regions = sorted({r for c in CASES for r in c.regions})
    services = sorted({s for c in CASES for s in c.services})
    outcome = run_scan(env.context(regions), store, parse_policy(policy_text(seeded)), services=services)
    yield Result(seeded, before, states(), untouched_before, extra(), outcome, store, url)
    store.close()
    if request.param != "sqlite":
        _drop_pg(url)


READS_ACCOUNT_BPA = {"s3-bucket-public-read-prohibited", "s3-bucket-public-write-prohibited"}


def finding_status(store, rule_id: str, resource_id: str) -> list[str]:
    with store.engine.connect() as conn:
        return [
            r.status
            for r in conn.execute(
                select(findings.c.status)
                .join(resources, resources.c.id == findings.c.resource_pk)
                .where(findings.c.rule_id == rule_id, resources.c.resource_id == resource_id)
            )
        ]


@pytest.mark.server
@pytest.mark.parametrize("runbook_id", sorted(BY_RUNBOOK))
def test_runbook_end_to_end_through_a_scan(runbook_id, scanned):
    case, ids = BY_RUNBOOK[runbook_id], scanned.seeded[runbook_id]
    before, after = scanned.before[runbook_id], scanned.after[runbook_id]
    outcomes = [o for o in scanned.outcome.remediation.outcomes if o.rule_id == case.rule]
    # an account-wide runbook whose rule is evaluated per region runs once; the other regions' findings are covered by it
    covered = [o for o in outcomes if o.reason.startswith("covered by remediation ")]
    assert all(o.status == "applied" and o.resource_id == ids.target for o in covered)
    outcomes = [o for o in outcomes if o not in covered]
    assert [(o.status, o.resource_id) for o in outcomes] == [("applied", ids.target)], [
        (o.status, o.resource_id, o.region, o.reason) for o in outcomes
    ]
    # independent reads: the violation was there, now it is fixed; the others are untouched
    assert not case.fixed(before[ids.target]), before
    assert case.fixed(after[ids.target]), after[ids.target]
    for other in (ids.excepted, ids.outside):
        if other:
            assert after[other] == before[other], other
    if case.untouched:
        assert scanned.untouched_after[runbook_id] == scanned.untouched_before[runbook_id]
    # the store: remediated; the excepted finding stays excepted; out of scope: no finding at all
    assert set(finding_status(scanned.store, case.rule, ids.target)) == {"remediated"}  # one finding per region of an account rule
    if ids.excepted:
        # the same scan blocks public access account-wide (the account case): bucket rules that read the
        # account setting are re-evaluated on every bucket, and the excepted bucket is now compliant too
        expected = ["resolved"] if case.rule in READS_ACCOUNT_BPA else ["excepted"]
        assert finding_status(scanned.store, case.rule, ids.excepted) == expected
    if ids.outside:
        assert finding_status(scanned.store, case.rule, ids.outside) == []
    compliance = {
        e["compliance"] for e in scanned.outcome.scan["evaluations"] if (e["rule_id"], e["resource_id"]) == (case.rule, ids.target)
    }
    assert compliance == {"COMPLIANT"}
    # the audit chain verifies and holds this execution, with the configuration before and after
    with scanned.store.engine.connect() as conn:
        verified = audit.verify(conn)
        executed = [e for e in audit.entries(conn) if e["action"] == "execute" and e["data"]["rule_id"] == case.rule]
    assert verified.ok, verified.reason
    # one entry holds the calls; the other regions' findings of an account rule are recorded as covered by it
    made_calls = [e for e in executed if e["data"]["steps"]]
    assert len(made_calls) == 1 and len(executed) == 1 + len(covered)
    data = made_calls[0]["data"]
    assert data["resource_id"] == ids.target and data["status"] == "applied" and data["compliance_after"] == "COMPLIANT"
    assert data["state_before"] and data["state_after"] and data["state_before"] != data["state_after"]
    assert any(c["result"] == "ok" for step in data["steps"] for c in step["calls"])


@pytest.mark.server
def test_editing_an_audit_entry_makes_audit_verify_fail(scanned):
    from phiwatch.cli import app

    cli = CliRunner()
    intact = cli.invoke(app, ["audit", "verify", "--db", scanned.url])
    assert intact.exit_code == 0, intact.output
    with scanned.store.engine.connect() as conn:
        entry = audit.entries(conn)[2]
    with scanned.store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'someone-else' WHERE id = :id"), {"id": entry["id"]})
    try:
        with scanned.store.engine.connect() as conn:
            broken = audit.verify(conn)
        assert not broken.ok and broken.bad_id == entry["id"] and "edited" in broken.reason
        refused = cli.invoke(app, ["audit", "verify", "--db", scanned.url])
        assert refused.exit_code == 1
        assert f"entry {entry['id']}" in refused.output
    finally:  # put it back: the chain verifies again
        with scanned.store.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = :actor WHERE id = :id"), {"actor": entry["actor"], "id": entry["id"]})
    with scanned.store.engine.connect() as conn:
        assert audit.verify(conn).ok


def test_unknown_runbook_parameters_in_the_policy_are_reported_with_their_line():
    from phiwatch.errors import UsageError
    from phiwatch.rules.active import resolve_rules

    text = """remediation:
  rules:
    vpc-flow-logs-enabled:
      mode: auto
      parameters: {LogDestinationType: s3, LogDestinaton: "arn:aws:s3:::phi-flow-logs"}
"""
    with pytest.raises(UsageError) as exc:
        resolve_rules(parse_policy(text, "policy.yaml"))
    assert "policy.yaml:5: remediation.rules.vpc-flow-logs-enabled.parameters.LogDestinaton: unknown parameter" in str(exc.value)
    assert "LogDestinationType" not in str(exc.value).split("unknown parameter")[0]
