"""AWS Config managed rules of AWS Backup: each service's *-resources-protected-by-backup-plan and
*-last-backup-recovery-point-created, and backup-recovery-point-minimum-retention-check.

One estate in moto's server built with boto3 and collected once: the resources of every service
these rules judge (EC2, EBS, RDS, Aurora, DynamoDB, EFS, FSx, S3) in a region without a backup
vault (no recovery point can exist: NON_COMPLIANT) and a region with a vault whose recovery
points and protected resources the scanner may not read (could not check). moto makes no backups (no recovery point, no protected
resource, no backup selection) and has no Storage Gateway or Backup gateway: the COMPLIANT cases
join the collected items with constructed AWS Backup items, and Storage Gateway volumes and Backup
gateway virtual machines are constructed items."""

from __future__ import annotations

import datetime as dt
import functools
import json

import pytest

from denied import Denied
from phiwatch.aws.session import AwsContext, make_client
from phiwatch.collect.runner import collect
from phiwatch.model import ACCOUNT_TYPE, Compliance, ConfigurationItem, utcnow
from phiwatch.resources.backup import PLAN, RECOVERY_POINT, VAULT
from phiwatch.resources.backupgateway import VIRTUAL_MACHINE
from phiwatch.resources.dynamodb import TABLE
from phiwatch.resources.ec2 import INSTANCE as EC2_INSTANCE
from phiwatch.resources.ec2 import VOLUME
from phiwatch.resources.efs import FILE_SYSTEM
from phiwatch.resources.fsx import FILE_SYSTEM as FSX_FILE_SYSTEM
from phiwatch.resources.rds import CLUSTER, INSTANCE
from phiwatch.resources.s3 import BUCKET
from phiwatch.resources.storagegateway import VOLUME as SG_VOLUME
from phiwatch.rules.active import ActiveRule, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.rules.registry import catalogue
from phiwatch.store import Store

REGION = "us-east-1"
VAULT_REGION = "us-west-2"
ACCOUNT = "123456789012"
NOW = utcnow()
SERVICES = ["ec2", "rds", "dynamodb", "efs", "fsx", "s3", "backup"]
# a tag value that must never reach an annotation
OWNER = {"Key": "Owner", "Value": "jane.doe@example.org"}
KEY = {"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}
SUBNET = "subnet-0123456789abcdef0"


@functools.cache
def rules():
    return catalogue()


def judge_rule(rule_id, item, *, estate=(), params=None, now=NOW):
    """One rule on one item seeing ``estate`` (the catalogue read once for the module)."""
    rule = rules()[rule_id]
    items = [item, *estate]
    lookup = lambda resource_type: [i for i in items if i.resourceType == resource_type]  # noqa: E731
    return run_rule(ActiveRule(rule, {**rule.defaults(), **(params or {})}, None), item, RuleContext(now=now, lookup=lookup))


def build(client, region) -> None:
    ec2 = client("ec2", region)
    image = ec2.describe_images(Owners=["amazon"])["Images"]
    image_id = image[0]["ImageId"] if image else "ami-12c6146b"
    tags = [{"ResourceType": "instance", "Tags": [OWNER, {"Key": "Name", "Value": "ehr-app"}]}]
    ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, InstanceType="t3.micro", TagSpecifications=tags)
    stopped = ec2.run_instances(
        ImageId=image_id,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "ehr-stopped"}]}],
    )
    ec2.stop_instances(InstanceIds=[stopped["Instances"][0]["InstanceId"]])
    ec2.create_volume(
        AvailabilityZone=f"{region}a",
        Size=8,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [OWNER, {"Key": "Name", "Value": "ehr-data"}]}],
    )
    rds = client("rds", region)
    rds.create_db_instance(
        DBInstanceIdentifier="ehr-postgres",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="ehr_owner",
        MasterUserPassword="not-stored-1234",
        Tags=[OWNER],
    )
    rds.create_db_cluster(
        DBClusterIdentifier="ehr-aurora", Engine="aurora-postgresql", MasterUsername="ehr_owner", MasterUserPassword="not-stored-1234"
    )
    rds.create_db_instance(
        DBInstanceIdentifier="ehr-aurora-1", Engine="aurora-postgresql", DBInstanceClass="db.r6g.large", DBClusterIdentifier="ehr-aurora"
    )
    rds.create_db_cluster(DBClusterIdentifier="graph-neptune", Engine="neptune")
    client("dynamodb", region).create_table(TableName="patients", BillingMode="PAY_PER_REQUEST", Tags=[OWNER], **KEY)
    client("efs", region).create_file_system(CreationToken="ehr-files", Tags=[OWNER, {"Key": "Name", "Value": "ehr-files"}])
    fsx = client("fsx", region)
    fsx.create_file_system(
        FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=[SUBNET], Tags=[OWNER, {"Key": "Name", "Value": "scratch"}]
    )
    s3 = client("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=f"ehr-records-{region}")
    else:
        s3.create_bucket(Bucket=f"ehr-records-{region}", CreateBucketConfiguration={"LocationConstraint": region})


@pytest.fixture(scope="module")
def estate(emulator, tmp_path_factory):
    emulator.reset()

    def client(service, region):
        return make_client(emulator.session(region), service, emulator.endpoint, region)

    build(client, REGION)
    build(client, VAULT_REGION)
    backup = client("backup", VAULT_REGION)
    backup.create_backup_vault(BackupVaultName="phi-vault")
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('managed-backup') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=[REGION, VAULT_REGION], session=emulator.session(REGION))
    # the vault's recovery points and the region's protected resources cannot be read there
    for operation in ("ListRecoveryPointsByBackupVault", "ListProtectedResources"):
        ctx.client("backup", VAULT_REGION).meta.events.register("before-call", Denied(operation))
    result = collect(ctx, store, services=SERVICES)
    items = list(store.current_items())
    yield {"result": result, "items": items}
    store.close()


def stored(estate, resource_type, name, region=REGION):
    found = [
        i
        for i in estate["items"]
        if i.resourceType == resource_type and i.awsRegion == region and name in (i.resourceName, i.resourceId, i.tags.get("Name"))
    ]
    assert len(found) == 1, (resource_type, name, region, [i.resourceName for i in estate["items"] if i.resourceType == resource_type])
    return found[0]


def backup_items(estate, region=REGION):
    """What the collection recorded of AWS Backup in ``region``: its account item and vaults."""
    return [i for i in estate["items"] if i.resourceType in (ACCOUNT_TYPE, VAULT, PLAN, RECOVERY_POINT) and i.awsRegion == region]


def judged(estate, rule_id, item, extra=(), params=None, region=REGION):
    result = judge_rule(rule_id, item, estate=[*backup_items(estate, region), *extra], params=params)
    assert result is not None, (rule_id, item.resourceId)
    return result


# -- constructed AWS Backup data ----------------------------------------------------------------


def point(resource_arn, *, age=dt.timedelta(hours=2), vault="phi-vault", status="COMPLETED", region=REGION, lifecycle=None, **extra):
    arn = f"arn:aws:backup:{region}:{ACCOUNT}:recovery-point:{abs(hash((resource_arn, age, vault, status))):x}"
    configuration = {
        "RecoveryPointArn": arn,
        "ResourceArn": resource_arn,
        "BackupVaultName": vault,
        "Status": status,
        "CreationDate": (NOW - age).isoformat(),
        "IsEncrypted": True,
        **({"Lifecycle": lifecycle} if lifecycle is not None else {}),
        **extra,
    }
    return ConfigurationItem(
        resourceType=RECOVERY_POINT, resourceId=arn, arn=arn, awsRegion=region, accountId=ACCOUNT, configuration=configuration
    )


def vault_item(name="phi-vault", region=REGION, errors=(), **configuration):
    arn = f"arn:aws:backup:{region}:{ACCOUNT}:backup-vault:{name}"
    return ConfigurationItem(
        resourceType=VAULT,
        resourceId=name,
        resourceName=name,
        arn=arn,
        awsRegion=region,
        accountId=ACCOUNT,
        configuration={"BackupVaultName": name, "BackupVaultArn": arn, **configuration},
        collectionErrors=list(errors),
    )


def account_item(region=REGION, errors=(), **configuration):
    return ConfigurationItem(
        resourceType=ACCOUNT_TYPE,
        resourceId=ACCOUNT,
        awsRegion=region,
        accountId=ACCOUNT,
        configuration=configuration,
        collectionErrors=list(errors),
    )


def protected_estate(*arns, points=(), vaults=(), selections=(), plans=()):
    """AWS Backup as the collector records it when the region has a vault holding recovery points of ``arns``."""
    return [
        account_item(backupProtectedResourceArns=sorted(arns), backupSelections=list(selections)),
        *(vaults or [vault_item()]),
        *points,
        *plans,
    ]


def built(resource_type, resource_id, arn, tags=None, configuration=None):
    return ConfigurationItem(
        resourceType=resource_type,
        resourceId=resource_id,
        resourceName=resource_id,
        arn=arn,
        awsRegion=REGION,
        accountId=ACCOUNT,
        tags=tags or {},
        configuration=configuration or {"Name": resource_id},
    )


SG_ARN = f"arn:aws:storagegateway:{REGION}:{ACCOUNT}:gateway/sgw-12A3456B/volume/vol-1122AABB"
VM_ARN = f"arn:aws:backup-gateway:{REGION}:{ACCOUNT}:vm/vm-0123456789abcdef0"
SG_ITEM = built(SG_VOLUME, "vol-1122AABB", SG_ARN, configuration={"VolumeARN": SG_ARN, "VolumeType": "CACHED"})
VM_ITEM = built(VIRTUAL_MACHINE, "vm-0123456789abcdef0", VM_ARN, tags={"Owner": "jane.doe@example.org"}, configuration={"Name": "ehr-vm"})

#: (service's resources rule, type, name of the collected resource)
SUBJECTS = [
    ("ec2", EC2_INSTANCE, "ehr-app"),
    ("ebs", VOLUME, "ehr-data"),
    ("rds", INSTANCE, "ehr-postgres"),
    ("aurora", CLUSTER, "ehr-aurora"),
    ("dynamodb", TABLE, "patients"),
    ("efs", FILE_SYSTEM, "ehr-files"),
    ("fsx", FSX_FILE_SYSTEM, "scratch"),
    ("s3", BUCKET, f"ehr-records-{REGION}"),
]
PROTECTED = [f"{prefix}-resources-protected-by-backup-plan" for prefix, _, _ in SUBJECTS]
LAST_POINT = [f"{prefix}-last-backup-recovery-point-created" for prefix, _, _ in SUBJECTS]


def test_collection_records_every_subject_and_what_moto_lacks(estate):
    for _, resource_type, name in SUBJECTS:
        for region in (REGION, VAULT_REGION):
            name_here = name.replace(REGION, region)
            assert stored(estate, resource_type, name_here, region).arn
    fsx = stored(estate, FSX_FILE_SYSTEM, "scratch")
    assert fsx.arn.startswith(f"arn:aws:fsx:{REGION}:{ACCOUNT}:file-system/fs-") and fsx.tags["Name"] == "scratch"
    assert "Tags" not in fsx.configuration and fsx.configuration["FileSystemType"] == "LUSTRE"
    # no vault in us-east-1: no recovery point can exist there, and none is asked for
    (account,) = [i for i in backup_items(estate) if i.resourceType == ACCOUNT_TYPE]
    assert account.configuration["backupProtectedResourceArns"] == []
    # a vault in us-west-2 whose recovery points and protected resources were refused
    failed = {(e.api, e.region, e.iam_action) for e in estate["result"].errors}
    assert {
        ("ListRecoveryPointsByBackupVault", VAULT_REGION, "backup:ListRecoveryPointsByBackupVault"),
        ("ListProtectedResources", VAULT_REGION, "backup:ListProtectedResources"),
    } <= failed
    assert not any(e.region == REGION and e.service == "backup" and e.api != "ListBackupSelections" for e in estate["result"].errors)


@pytest.mark.parametrize("rule_id", PROTECTED + LAST_POINT)
def test_no_vault_means_no_recovery_point(estate, rule_id):
    prefix = rule_id.split("-", 1)[0]
    _, resource_type, name = next(s for s in SUBJECTS if s[0] == prefix)
    result = judged(estate, rule_id, stored(estate, resource_type, name))
    assert result.compliance is Compliance.NON_COMPLIANT and "no recovery point" in result.annotation


@pytest.mark.parametrize("rule_id", PROTECTED + LAST_POINT)
def test_recovery_points_not_read_are_could_not_check(estate, rule_id):
    prefix = rule_id.split("-", 1)[0]
    _, resource_type, name = next(s for s in SUBJECTS if s[0] == prefix)
    item = stored(estate, resource_type, name.replace(REGION, VAULT_REGION), VAULT_REGION)
    result = judged(estate, rule_id, item, region=VAULT_REGION)
    assert result.compliance is Compliance.INSUFFICIENT_DATA, result.annotation
    api = "ListProtectedResources" if "protected" in rule_id else "ListRecoveryPointsByBackupVault"
    assert api in result.annotation and f"backup:{api}" in result.annotation


@pytest.mark.parametrize("prefix,resource_type,name", SUBJECTS)
def test_collected_resources_with_a_recent_recovery_point_are_compliant(estate, prefix, resource_type, name):
    item = stored(estate, resource_type, name)
    backup = protected_estate(item.arn, points=[point(item.arn, age=dt.timedelta(hours=3))])
    for rule_id in (f"{prefix}-resources-protected-by-backup-plan", f"{prefix}-last-backup-recovery-point-created"):
        result = judge_rule(rule_id, item, estate=backup)
        assert result.compliance is Compliance.COMPLIANT, (rule_id, result.annotation)
        assert "jane.doe" not in result.annotation


@pytest.mark.parametrize(
    "rule_id,resource_type,name,why",
    [
        ("ec2-resources-protected-by-backup-plan", EC2_INSTANCE, "ehr-stopped", "stopped"),
        ("ec2-last-backup-recovery-point-created", EC2_INSTANCE, "ehr-stopped", "stopped"),
        ("rds-resources-protected-by-backup-plan", INSTANCE, "ehr-aurora-1", "Aurora"),
        ("rds-last-backup-recovery-point-created", INSTANCE, "ehr-aurora-1", "Aurora"),
        ("aurora-resources-protected-by-backup-plan", CLUSTER, "graph-neptune", "not an Aurora"),
        ("aurora-last-backup-recovery-point-created", CLUSTER, "graph-neptune", "not an Aurora"),
    ],
)
def test_not_applicable(estate, rule_id, resource_type, name, why):
    result = judged(estate, rule_id, stored(estate, resource_type, name))
    assert result.compliance is Compliance.NOT_APPLICABLE and why in result.annotation


# -- Storage Gateway volumes and Backup gateway virtual machines (not in the emulator) -------------


@pytest.mark.parametrize("item", [SG_ITEM, VM_ITEM], ids=["storagegateway", "virtualmachine"])
def test_constructed_gateway_resources(item):
    prefix = "storagegateway" if item.resourceType == SG_VOLUME else "virtualmachine"
    protected, last = f"{prefix}-resources-protected-by-backup-plan", f"{prefix}-last-backup-recovery-point-created"
    fresh = protected_estate(item.arn, points=[point(item.arn)])
    assert judge_rule(protected, item, estate=fresh).compliance is Compliance.COMPLIANT
    assert judge_rule(last, item, estate=fresh).compliance is Compliance.COMPLIANT
    nothing = protected_estate()
    assert judge_rule(protected, item, estate=nothing).compliance is Compliance.NON_COMPLIANT
    assert judge_rule(last, item, estate=nothing).compliance is Compliance.NON_COMPLIANT
    stale = protected_estate(item.arn, points=[point(item.arn, age=dt.timedelta(days=3))])
    result = judge_rule(last, item, estate=stale)
    assert result.compliance is Compliance.NON_COMPLIANT and "3 days" in result.annotation and "jane.doe" not in result.annotation
    # AWS Backup not collected in the region: the rules do not apply
    assert judge_rule(protected, item) is None and judge_rule(last, item) is None


# -- last recovery point: age, parameters, states ---------------------------------------------------

VOLUME_ARN = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0aaaaaaaaaaaaaaa1"
EBS = built(
    VOLUME, "vol-0aaaaaaaaaaaaaaa1", VOLUME_ARN, tags={"PHI": "Yes"}, configuration={"VolumeId": "vol-0aaaaaaaaaaaaaaa1", "State": "in-use"}
)
LAST = "ebs-last-backup-recovery-point-created"


@pytest.mark.parametrize(
    "age,params,expected",
    [
        (dt.timedelta(hours=23), {}, "COMPLIANT"),
        (dt.timedelta(hours=25), {}, "NON_COMPLIANT"),  # default: 1 day
        (dt.timedelta(hours=25), {"recoveryPointAgeValue": 2}, "COMPLIANT"),
        (dt.timedelta(hours=5), {"recoveryPointAgeValue": 4, "recoveryPointAgeUnit": "hours"}, "NON_COMPLIANT"),
        (dt.timedelta(hours=3), {"recoveryPointAgeValue": 4, "recoveryPointAgeUnit": "Hours"}, "COMPLIANT"),
        (dt.timedelta(days=30), {"recoveryPointAgeValue": 31}, "COMPLIANT"),
        (dt.timedelta(hours=1), {"recoveryPointAgeValue": 32}, "INSUFFICIENT_DATA"),  # at most 31 days
        (dt.timedelta(hours=1), {"recoveryPointAgeValue": 745, "recoveryPointAgeUnit": "hours"}, "INSUFFICIENT_DATA"),
        (dt.timedelta(hours=1), {"recoveryPointAgeValue": 0}, "INSUFFICIENT_DATA"),
        (dt.timedelta(hours=1), {"recoveryPointAgeUnit": "weeks"}, "INSUFFICIENT_DATA"),
        (dt.timedelta(hours=1), {"recoveryPointAgeValue": ""}, "COMPLIANT"),  # empty: the default
    ],
)
def test_last_recovery_point_age_and_parameters(age, params, expected):
    result = judge_rule(LAST, EBS, estate=protected_estate(VOLUME_ARN, points=[point(VOLUME_ARN, age=age)]), params=params)
    assert result.compliance.value == expected, result.annotation


def test_the_newest_usable_recovery_point_counts():
    points = [
        point(VOLUME_ARN, age=dt.timedelta(days=9)),
        point(VOLUME_ARN, age=dt.timedelta(hours=2), status="CREATING"),  # not a backup yet
        point(VOLUME_ARN, age=dt.timedelta(hours=3), status="PARTIAL"),
        point(VOLUME_ARN, age=dt.timedelta(hours=4), status="EXPIRED"),
    ]
    result = judge_rule(LAST, EBS, estate=protected_estate(VOLUME_ARN, points=points))
    assert result.compliance is Compliance.NON_COMPLIANT and "9 days" in result.annotation
    newer = [*points, point(VOLUME_ARN, age=dt.timedelta(hours=20), status="AVAILABLE", vault="second-vault")]
    assert judge_rule(LAST, EBS, estate=protected_estate(VOLUME_ARN, points=newer)).compliance is Compliance.COMPLIANT
    # another resource's recovery point, or one in another region, is not this volume's
    others = [point(VOLUME_ARN.replace("aaaa1", "bbbb2")), point(VOLUME_ARN, region="eu-west-1")]
    assert judge_rule(LAST, EBS, estate=protected_estate(VOLUME_ARN, points=others)).compliance is Compliance.NON_COMPLIANT


def test_last_recovery_point_when_one_vault_could_not_be_read():
    denied = [
        {"api": "ListRecoveryPointsByBackupVault", "error": "AccessDeniedException", "iam_action": "backup:ListRecoveryPointsByBackupVault"}
    ]
    vaults = [vault_item(), vault_item("second-vault", errors=denied)]
    result = judge_rule(LAST, EBS, estate=protected_estate(VOLUME_ARN, vaults=vaults))
    assert result.compliance is Compliance.INSUFFICIENT_DATA and "backup:ListRecoveryPointsByBackupVault" in result.annotation
    # a fresh recovery point in the readable vault decides whatever the other vault holds
    fresh = protected_estate(VOLUME_ARN, vaults=vaults, points=[point(VOLUME_ARN)])
    assert judge_rule(LAST, EBS, estate=fresh).compliance is Compliance.COMPLIANT
    vault_listing = [{"api": "ListBackupVaults", "error": "AccessDeniedException", "iam_action": "backup:ListBackupVaults"}]
    result = judge_rule(LAST, EBS, estate=[account_item(errors=vault_listing)])
    assert result.compliance is Compliance.INSUFFICIENT_DATA and "backup:ListBackupVaults" in result.annotation


@pytest.mark.parametrize("rule_id", ["ebs-resources-protected-by-backup-plan", LAST])
def test_resource_tags_and_resource_id_scope(rule_id):
    backup = protected_estate(VOLUME_ARN, points=[point(VOLUME_ARN)])
    assert (
        judge_rule(rule_id, EBS, estate=backup, params={"resourceTags": json.dumps({"PHI": "No"})}).compliance is Compliance.NOT_APPLICABLE
    )
    assert judge_rule(rule_id, EBS, estate=backup, params={"resourceTags": '{"PHI": "Yes"}'}).compliance is Compliance.COMPLIANT
    assert judge_rule(rule_id, EBS, estate=backup, params={"resourceId": "vol-0bbbbbbbbbbbbbbb2"}).compliance is Compliance.NOT_APPLICABLE
    assert judge_rule(rule_id, EBS, estate=backup, params={"resourceId": "vol-0aaaaaaaaaaaaaaa1"}).compliance is Compliance.COMPLIANT
    assert judge_rule(rule_id, EBS, estate=backup, params={"resourceTags": ""}).compliance is Compliance.COMPLIANT  # empty: every volume
    result = judge_rule(rule_id, EBS, estate=backup, params={"resourceTags": "PHI=Yes"})
    assert result.compliance is Compliance.INSUFFICIENT_DATA and "resourceTags" in result.annotation


def test_s3_resource_id_is_the_bucket_name(estate):
    bucket = stored(estate, BUCKET, f"ehr-records-{REGION}")
    backup = protected_estate(bucket.arn, points=[point(bucket.arn)])
    rule_id = "s3-resources-protected-by-backup-plan"
    assert judge_rule(rule_id, bucket, estate=backup, params={"resourceId": f"ehr-records-{REGION}"}).compliance is Compliance.COMPLIANT
    assert judge_rule(rule_id, bucket, estate=backup, params={"resourceId": "other-bucket"}).compliance is Compliance.NOT_APPLICABLE


# -- protection: vault lock and copies ------------------------------------------------------------

PROTECTED_EBS = "ebs-resources-protected-by-backup-plan"
LOCKED = {"Locked": True, "MinRetentionDays": 35, "MaxRetentionDays": 365}


@pytest.mark.parametrize(
    "vault_configuration,params,expected",
    [
        ({}, {"backupVaultLockCheck": "True"}, "NON_COMPLIANT"),
        (LOCKED, {"backupVaultLockCheck": "True"}, "COMPLIANT"),
        ({}, {"backupVaultLockCheck": "false"}, "COMPLIANT"),  # not asked
        (LOCKED, {"backupVaultLockCheck": True, "minRetentionDays": 30, "maxRetentionDays": 400}, "COMPLIANT"),
        (LOCKED, {"backupVaultLockCheck": True, "minRetentionDays": 90}, "NON_COMPLIANT"),  # the lock keeps only 35 days
        (LOCKED, {"maxRetentionDays": 100}, "NON_COMPLIANT"),  # the lock allows 365 days
        ({"Locked": True, "MinRetentionDays": 35}, {"maxRetentionDays": 100}, "NON_COMPLIANT"),  # no maximum at all
        ({}, {"minRetentionDays": 7}, "NON_COMPLIANT"),  # a lock retention asks for a locked vault
    ],
)
def test_vault_lock_parameters(vault_configuration, params, expected):
    backup = protected_estate(VOLUME_ARN, points=[point(VOLUME_ARN)], vaults=[vault_item(**vault_configuration)])
    result = judge_rule(PROTECTED_EBS, EBS, estate=backup, params=params)
    assert result.compliance.value == expected, result.annotation


def test_vault_lock_of_a_recovery_point_not_read_is_could_not_check():
    # ListProtectedResources names the volume but no recovery point of it was read
    result = judge_rule(PROTECTED_EBS, EBS, estate=protected_estate(VOLUME_ARN), params={"backupVaultLockCheck": True})
    assert result.compliance is Compliance.INSUFFICIENT_DATA and "backupVaultLockCheck" in result.annotation


def _plan(plan_id, *destinations, errors=()):
    rules_ = [
        {"RuleName": "daily", "TargetBackupVaultName": "phi-vault", "CopyActions": [{"DestinationBackupVaultArn": d} for d in destinations]}
    ]
    configuration = {} if errors else {"BackupPlanId": plan_id, "Rules": rules_}
    return ConfigurationItem(
        resourceType=PLAN,
        resourceId=plan_id,
        awsRegion=REGION,
        accountId=ACCOUNT,
        configuration=configuration,
        collectionErrors=list(errors),
    )


DR_VAULT = "arn:aws:backup:us-west-2:210987654321:backup-vault:dr-vault"
SELECT_PHI = {"BackupPlanId": "plan-1", "BackupPlanName": "phi-daily", "Resources": ["*"], "ListOfTags": []}


@pytest.mark.parametrize(
    "params,destinations,expected",
    [
        ({"crossRegionList": "us-west-2"}, [DR_VAULT], "COMPLIANT"),
        ({"crossRegionList": "us-west-2, eu-west-1"}, [DR_VAULT], "NON_COMPLIANT"),
        ({"crossAccountList": "210987654321"}, [DR_VAULT], "COMPLIANT"),
        ({"crossAccountList": "111111111111"}, [DR_VAULT], "NON_COMPLIANT"),
        ({"crossRegionList": "us-west-2"}, [], "NON_COMPLIANT"),
        ({"crossRegionList": ""}, [], "COMPLIANT"),  # empty: not asked
    ],
)
def test_copy_parameters_read_the_plans_selecting_the_resource(params, destinations, expected):
    backup = protected_estate(VOLUME_ARN, points=[point(VOLUME_ARN)], selections=[SELECT_PHI], plans=[_plan("plan-1", *destinations)])
    result = judge_rule(PROTECTED_EBS, EBS, estate=backup, params=params)
    assert result.compliance.value == expected, result.annotation
    if expected == "NON_COMPLIANT":
        assert "copies" in result.annotation


def test_copy_parameters_could_not_check():
    failed_plan = [{"api": "GetBackupPlan", "error": "AccessDeniedException", "iam_action": "backup:GetBackupPlan"}]
    backup = protected_estate(VOLUME_ARN, points=[point(VOLUME_ARN)], selections=[SELECT_PHI], plans=[_plan("plan-1", errors=failed_plan)])
    result = judge_rule(PROTECTED_EBS, EBS, estate=backup, params={"crossRegionList": "us-west-2"})
    assert result.compliance is Compliance.INSUFFICIENT_DATA and "backup:GetBackupPlan" in result.annotation
    denied = [{"api": "ListBackupSelections", "error": "AccessDeniedException", "iam_action": "backup:ListBackupSelections"}]
    backup = [account_item(backupProtectedResourceArns=[VOLUME_ARN], errors=denied), vault_item(), point(VOLUME_ARN)]
    result = judge_rule(PROTECTED_EBS, EBS, estate=backup, params={"crossAccountList": "210987654321"})
    assert result.compliance is Compliance.INSUFFICIENT_DATA and "backup:ListBackupSelections" in result.annotation


def test_protected_could_not_check_when_the_protected_resources_were_not_read():
    denied = [{"api": "ListProtectedResources", "error": "AccessDeniedException", "iam_action": "backup:ListProtectedResources"}]
    result = judge_rule(PROTECTED_EBS, EBS, estate=[account_item(errors=denied)])
    assert result.compliance is Compliance.INSUFFICIENT_DATA and "backup:ListProtectedResources" in result.annotation
    assert judge_rule(PROTECTED_EBS, EBS) is None  # AWS Backup not collected: the rule does not apply


# -- recovery point minimum retention ------------------------------------------------------------

RETENTION = "backup-recovery-point-minimum-retention-check"


@pytest.mark.parametrize(
    "configuration,params,expected",
    [
        ({"Lifecycle": {"DeleteAfterDays": 35}}, {}, "COMPLIANT"),
        ({"Lifecycle": {"DeleteAfterDays": 7}}, {}, "NON_COMPLIANT"),
        ({"Lifecycle": {"DeleteAfterDays": 7}}, {"requiredRetentionDays": 7}, "COMPLIANT"),
        ({"Lifecycle": {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 120}}, {"requiredRetentionDays": 90}, "COMPLIANT"),
        ({}, {}, "COMPLIANT"),  # no lifecycle: kept until deleted
        ({"Lifecycle": {"MoveToColdStorageAfterDays": 30}}, {}, "COMPLIANT"),
        ({"CalculatedLifecycle": {"DeleteAt": (NOW + dt.timedelta(days=8)).isoformat()}}, {}, "NON_COMPLIANT"),
        ({"CalculatedLifecycle": {"DeleteAt": (NOW + dt.timedelta(days=40)).isoformat()}}, {}, "COMPLIANT"),
        ({"Lifecycle": {"DeleteAfterDays": 30}}, {"requiredRetentionDays": ""}, "NON_COMPLIANT"),  # empty: the default 35
    ],
)
def test_minimum_retention(configuration, params, expected):
    lifecycle = configuration.pop("Lifecycle", None)
    item = point(VOLUME_ARN, age=dt.timedelta(days=2), lifecycle=lifecycle, **configuration)
    result = judge_rule(RETENTION, item, params=params)
    assert result.compliance.value == expected, result.annotation


def test_rules_are_declared_as_aws_declares_them():
    for rule_id in [*PROTECTED, *LAST_POINT, RETENTION]:
        rule = rules()[rule_id]
        assert rule.aws_identifier == rule_id.upper().replace("-", "_")
        assert rule.trigger == ("change" if rule_id == RETENTION else "periodic")
    assert rules()["virtualmachine-last-backup-recovery-point-created"].resource_types == (VIRTUAL_MACHINE,)
    assert rules()["storagegateway-resources-protected-by-backup-plan"].resource_types == (SG_VOLUME,)
