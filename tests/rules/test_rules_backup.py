"""AWS Backup rules. Backup plans in moto's server with one scan; selections, protected resources,
recovery points and vault access policies (moto makes none of them) on constructed items."""

from __future__ import annotations

import json

import pytest

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.policy import Policy
from phiwatch.rules.backup import schedule_interval_hours, selection_covers
from phiwatch.scan import run_scan
from rule_runner import judge_rule

ACCOUNT = "123456789012"
PREFIX = f"arn:aws:ec2:us-east-1:{ACCOUNT}"
VOLUME_ARN = f"{PREFIX}:volume/vol-0aaaaaaaaaaaaaaa1"
INSTANCE_ARN = f"{PREFIX}:instance/i-0aaaaaaaaaaaaaaa1"
CLUSTER_ARN = f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:ehr-aurora"
VAULT_ARN = f"arn:aws:backup:us-east-1:{ACCOUNT}:backup-vault:phi-vault"


def _plan_rule(name, cron, days=None):
    rule = {"RuleName": name, "TargetBackupVaultName": "Default", "ScheduleExpression": cron}
    if days is not None:
        rule["Lifecycle"] = {"DeleteAfterDays": days}
    return rule


def test_plan_verdicts_from_the_emulator(aws_env, store):
    backup = aws_env.client("backup")
    plans = {
        "plan-daily-35-days": [_plan_rule("daily", "cron(0 5 ? * * *)", 35)],
        "plan-daily-kept-forever": [_plan_rule("daily", "cron(0 5 ? * * *)")],
        "plan-weekly-35-days": [_plan_rule("weekly", "cron(0 5 ? * 1 *)", 35)],
        "plan-daily-7-days": [_plan_rule("daily", "cron(0 5 ? * * *)", 7)],
        "plan-monthly-and-daily": [_plan_rule("monthly", "cron(0 5 1 * ? *)", 365), _plan_rule("daily", "cron(0 3 ? * * *)", 35)],
    }
    ids = {
        name: backup.create_backup_plan(BackupPlan={"BackupPlanName": name, "Rules": rules})["BackupPlanId"]
        for name, rules in plans.items()
    }
    outcome = run_scan(aws_env.context(), store, Policy(), services=["backup"])
    assert outcome.scan["errors"] == []
    verdicts = {
        e["resource_id"]: e for e in outcome.scan["evaluations"] if e["rule_id"] == "backup-plan-min-frequency-and-min-retention-check"
    }
    expected = {
        "plan-daily-35-days": "COMPLIANT",
        "plan-daily-kept-forever": "COMPLIANT",
        "plan-monthly-and-daily": "COMPLIANT",
        "plan-weekly-35-days": "NON_COMPLIANT",
        "plan-daily-7-days": "NON_COMPLIANT",
    }
    assert {name: verdicts[ids[name]]["compliance"] for name in plans} == expected
    assert "runs every 168 h" in verdicts[ids["plan-weekly-35-days"]]["annotation"]
    assert "keeps 7 days" in verdicts[ids["plan-daily-7-days"]]["annotation"]


# -- constructed items -------------------------------------------------------------------------


def _run(rule_id, item, others=(), **params):
    return judge_rule(rule_id, item, others=others, params=params)


def _item(resource_type, resource_id, arn=None, tags=None, configuration=None, supplementary=None, errors=()):
    return ConfigurationItem(
        resourceType=resource_type,
        resourceId=resource_id,
        arn=arn,
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        tags=tags or {},
        configuration=configuration or {},
        supplementaryConfiguration=supplementary or {},
        collectionErrors=list(errors),
    )


def _account(**configuration):
    return _item(ACCOUNT_TYPE, ACCOUNT, configuration=configuration)


def _selection(**fields):
    return {"BackupPlanId": "plan-1", "BackupPlanName": "phi-daily", "SelectionName": "s", **fields}


def test_plan_frequency_in_hours():
    plan = _item("AWS::Backup::BackupPlan", "plan-1", configuration={"Rules": [_plan_rule("twice-daily", "cron(0 0/12 * * ? *)", 35)]})
    assert (
        _run(
            "backup-plan-min-frequency-and-min-retention-check", plan, requiredFrequencyValue=12, requiredFrequencyUnit="hours"
        ).compliance.value
        == "COMPLIANT"
    )
    assert (
        _run(
            "backup-plan-min-frequency-and-min-retention-check", plan, requiredFrequencyValue=6, requiredFrequencyUnit="hours"
        ).compliance.value
        == "NON_COMPLIANT"
    )
    continuous = _item(
        "AWS::Backup::BackupPlan",
        "plan-2",
        configuration={"Rules": [{"RuleName": "pitr", "EnableContinuousBackup": True, "Lifecycle": {"DeleteAfterDays": 35}}]},
    )
    assert _run("backup-plan-min-frequency-and-min-retention-check", continuous).compliance.value == "COMPLIANT"
    empty = _item("AWS::Backup::BackupPlan", "plan-3", configuration={"Rules": []})
    assert _run("backup-plan-min-frequency-and-min-retention-check", empty).compliance.value == "NON_COMPLIANT"


@pytest.mark.parametrize(
    "expression,hours",
    [
        ("cron(0 5 ? * * *)", 24),
        ("cron(0 */6 * * ? *)", 6),
        ("cron(0 1,13 ? * * *)", 12),
        ("cron(0 5 ? * MON-FRI *)", 72),
        ("cron(0 5 ? * SUN *)", 168),
        ("cron(0 5 1 * ? *)", 744),
        ("rate(1 day)", None),
        ("cron(0 5 L * ? *)", None),
    ],
)
def test_schedule_interval(expression, hours):
    assert schedule_interval_hours(expression) == hours


@pytest.mark.parametrize(
    "selection,covered",
    [
        ({"Resources": [VOLUME_ARN]}, True),
        ({"Resources": [f"{PREFIX}:volume/*"]}, True),
        ({"Resources": ["*"]}, True),
        ({"Resources": ["arn:aws:elasticfilesystem:*:*:file-system/*"]}, False),
        ({"ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "daily"}]}, True),
        ({"ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "aws:ResourceTag/backup", "ConditionValue": "weekly"}]}, False),
        ({"Resources": ["*"], "NotResources": [VOLUME_ARN]}, False),
        ({"Resources": ["*"], "Conditions": {"StringEquals": [{"ConditionKey": "aws:ResourceTag/PHI", "ConditionValue": "Yes"}]}}, True),
        (
            {"Resources": ["*"], "Conditions": {"StringNotEquals": [{"ConditionKey": "aws:ResourceTag/PHI", "ConditionValue": "Yes"}]}},
            False,
        ),
        ({"Resources": ["*"], "Conditions": {"StringLike": [{"ConditionKey": "aws:ResourceTag/backup", "ConditionValue": "da*"}]}}, True),
    ],
)
def test_selection_matching(selection, covered):
    assert selection_covers(selection, [VOLUME_ARN], {"backup": "daily", "PHI": "Yes"}) is covered


def test_volume_in_backup_plan():
    volume = _item("AWS::EC2::Volume", "vol-0aaaaaaaaaaaaaaa1", VOLUME_ARN, tags={"backup": "daily"})
    result = _run("ebs-in-backup-plan", volume, [_account(backupSelections=[_selection(Resources=[f"{PREFIX}:volume/*"])])])
    assert result.compliance.value == "COMPLIANT" and "phi-daily" in result.annotation
    assert _run("ebs-in-backup-plan", volume, [_account(backupSelections=[])]).compliance.value == "NON_COMPLIANT"
    assert _run("ebs-in-backup-plan", volume, [_account()]) is None  # AWS Backup not collected


def test_insufficient_when_selections_could_not_be_read():
    volume = _item("AWS::EC2::Volume", "vol-0aaaaaaaaaaaaaaa1", VOLUME_ARN)
    account = _account()
    account.collectionErrors.append({"api": "ListBackupSelections", "error": "AccessDenied", "iam_action": "backup:ListBackupSelections"})
    result = _run("ebs-in-backup-plan", volume, [account])
    assert result.compliance.value == "INSUFFICIENT_DATA" and "backup:ListBackupSelections" in result.annotation


@pytest.mark.parametrize(
    "rule_id,resource_type,arn",
    [
        ("efs-in-backup-plan", "AWS::EFS::FileSystem", f"arn:aws:elasticfilesystem:us-east-1:{ACCOUNT}:file-system/fs-0123"),
        ("dynamodb-in-backup-plan", "AWS::DynamoDB::Table", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/patients"),
    ],
)
def test_other_resources_in_backup_plan(rule_id, resource_type, arn):
    item = _item(resource_type, arn.rsplit("/", 1)[1], arn)
    assert _run(rule_id, item, [_account(backupSelections=[_selection(Resources=[arn])])]).compliance.value == "COMPLIANT"
    assert _run(rule_id, item, [_account(backupSelections=[_selection(Resources=[VOLUME_ARN])])]).compliance.value == "NON_COMPLIANT"


def test_rds_in_backup_plan_applies_to_aurora_instances_through_their_cluster():
    arn = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:ehr-aurora-1"
    aurora = _item(
        "AWS::RDS::DBInstance", "db-ABC", arn, configuration={"Engine": "aurora-postgresql", "DBClusterIdentifier": "ehr-aurora"}
    )
    account = _account(backupSelections=[_selection(Resources=[CLUSTER_ARN])])
    assert _run("rds-in-backup-plan", aurora, [account]).compliance.value == "COMPLIANT"
    assert _run("rds-in-backup-plan", aurora, [_account(backupSelections=[])]).compliance.value == "NON_COMPLIANT"
    postgres = _item("AWS::RDS::DBInstance", "db-DEF", arn, configuration={"Engine": "postgres"})
    assert _run("rds-in-backup-plan", postgres, [account]).compliance.value == "NOT_APPLICABLE"


def test_ec2_instance_protected_by_backup_plan():
    instance = _item("AWS::EC2::Instance", "i-0aaaaaaaaaaaaaaa1", INSTANCE_ARN, tags={"PHI": "Yes"})
    protected = _account(backupProtectedResourceArns=[INSTANCE_ARN])
    assert _run("ec2-resources-protected-by-backup-plan", instance, [protected]).compliance.value == "COMPLIANT"
    result = _run("ec2-resources-protected-by-backup-plan", instance, [_account(backupProtectedResourceArns=[])])
    assert result.compliance.value == "NON_COMPLIANT" and "no recovery point" in result.annotation
    # scope parameters
    assert (
        _run("ec2-resources-protected-by-backup-plan", instance, [protected], resourceTags=json.dumps({"PHI": "No"})).compliance.value
        == "NOT_APPLICABLE"
    )
    assert (
        _run("ec2-resources-protected-by-backup-plan", instance, [protected], resourceTags=json.dumps({"PHI": "Yes"})).compliance.value
        == "COMPLIANT"
    )
    assert (
        _run("ec2-resources-protected-by-backup-plan", instance, [protected], resourceId="i-0bbbbbbbbbbbbbbb2").compliance.value
        == "NOT_APPLICABLE"
    )
    # parameters phiwatch cannot check are said so, not passed silently
    result = _run("ec2-resources-protected-by-backup-plan", instance, [protected], minRetentionDays=35)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "minRetentionDays" in result.annotation


def test_aurora_cluster_protected_by_backup_plan():
    cluster = _item("AWS::RDS::DBCluster", "cluster-ABC", CLUSTER_ARN, configuration={"Engine": "aurora-mysql"})
    assert (
        _run("aurora-resources-protected-by-backup-plan", cluster, [_account(backupProtectedResourceArns=[CLUSTER_ARN])]).compliance.value
        == "COMPLIANT"
    )
    assert (
        _run("aurora-resources-protected-by-backup-plan", cluster, [_account(backupProtectedResourceArns=[])]).compliance.value
        == "NON_COMPLIANT"
    )
    other = _item("AWS::RDS::DBCluster", "cluster-DEF", CLUSTER_ARN, configuration={"Engine": "mysql"})
    result = _run("aurora-resources-protected-by-backup-plan", other, [_account(backupProtectedResourceArns=[])])
    assert result.compliance.value == "NOT_APPLICABLE"


def test_recovery_point_encryption():
    arn = "arn:aws:ec2:us-east-1::snapshot/snap-0123"
    encrypted = _item("AWS::Backup::RecoveryPoint", arn, arn, configuration={"IsEncrypted": True})
    plain = _item("AWS::Backup::RecoveryPoint", arn, arn, configuration={"IsEncrypted": False})
    assert _run("backup-recovery-point-encrypted", encrypted).compliance.value == "COMPLIANT"
    assert _run("backup-recovery-point-encrypted", plain).compliance.value == "NON_COMPLIANT"


DENY_ALL = {
    "Effect": "Deny",
    "Principal": "*",
    "Resource": "*",
    "Action": ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle", "backup:PutBackupVaultAccessPolicy"],
}
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/backup-break-glass"


def _vault(*statements, policy="given"):
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)}) if policy == "given" else policy
    return _item("AWS::Backup::BackupVault", "phi-vault", VAULT_ARN, supplementary={"AccessPolicy": text})


@pytest.mark.parametrize(
    "vault,params,expected",
    [
        (_vault(DENY_ALL), {}, "COMPLIANT"),
        (_vault({**DENY_ALL, "Action": "backup:*", "Principal": {"AWS": "*"}, "Resource": VAULT_ARN}), {}, "COMPLIANT"),
        (_vault(policy=None), {}, "NON_COMPLIANT"),
        (_vault({**DENY_ALL, "Action": ["backup:DeleteRecoveryPoint"]}), {}, "NON_COMPLIANT"),
        (_vault({**DENY_ALL, "Effect": "Allow"}), {}, "NON_COMPLIANT"),
        (_vault({**DENY_ALL, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}), {}, "NON_COMPLIANT"),
        (_vault({**DENY_ALL, "Condition": {"ArnNotEquals": {"aws:PrincipalArn": BREAK_GLASS}}}), {}, "NON_COMPLIANT"),
        (
            _vault({**DENY_ALL, "Condition": {"ArnNotEquals": {"aws:PrincipalArn": BREAK_GLASS}}}),
            {"principalArnList": BREAK_GLASS},
            "COMPLIANT",
        ),
    ],
)
def test_vault_manual_deletion_disabled(vault, params, expected):
    assert _run("backup-recovery-point-manual-deletion-disabled", vault, **params).compliance.value == expected


def test_vault_insufficient_when_policy_read_failed():
    error = {"api": "GetBackupVaultAccessPolicy", "error": "AccessDeniedException", "iam_action": "backup:GetBackupVaultAccessPolicy"}
    vault = _item("AWS::Backup::BackupVault", "phi-vault", VAULT_ARN, errors=[error])
    result = _run("backup-recovery-point-manual-deletion-disabled", vault)
    assert result.compliance.value == "INSUFFICIENT_DATA" and "backup:GetBackupVaultAccessPolicy" in result.annotation
