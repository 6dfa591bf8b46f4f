"""RDS rules: the HIPAA pack's and other AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.rds`: ``configuration`` is the describe API's element
(DescribeDBInstances / DescribeDBClusters / DescribeDBSnapshots / DescribeDBClusterSnapshots),
so an item exists only when its listing succeeded; the snapshots' ``restore`` attribute is in
``supplementaryConfiguration`` (absent = the attribute call failed).

The AWS Backup rules of RDS and Aurora (``rds-in-backup-plan``, ``*-resources-protected-by-backup-plan``,
``*-last-backup-recovery-point-created``) are in :mod:`phiwatch.rules.backup`.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.rds import CLUSTER, CLUSTER_SNAPSHOT, DB_SECURITY_GROUP, INSTANCE, SNAPSHOT
from phiwatch.rules.base import (
    Result,
    RuleContext,
    compliant,
    csv_list,
    describe_failure,
    get,
    has,
    insufficient,
    non_compliant,
    not_applicable,
    rule,
)

CONF = "configuration."
SUP = "supplementaryConfiguration."

# rds-logging-enabled: the log types AWS checks per engine (Security Hub control RDS.9, which
# is this rule): MySQL/MariaDB/Aurora MySQL audit, error, general, slowquery; PostgreSQL
# postgresql, upgrade; Aurora PostgreSQL postgresql; Oracle alert, audit, trace, listener;
# SQL Server error, agent.
MYSQL_LOGS = ("audit", "error", "general", "slowquery")
DEFAULT_LOGS: dict[str, tuple[str, ...]] = {
    "mysql": MYSQL_LOGS,
    "mariadb": MYSQL_LOGS,
    "aurora": MYSQL_LOGS,
    "aurora-mysql": MYSQL_LOGS,
    "aurora-postgresql": ("postgresql",),
    "postgres": ("postgresql", "upgrade"),
    "oracle": ("alert", "audit", "trace", "listener"),
    "sqlserver": ("error", "agent"),
}
# rds-logging-enabled: instances in any other state evaluate NOT_APPLICABLE (AWS docs).
LOGGING_STATES = ("available", "backing-up", "storage-optimization", "storage-full")


def _engine(item: ConfigurationItem) -> str:
    return str(get(item, CONF + "Engine") or "").lower()


def _family(engine: str) -> str:
    """oracle-ee / oracle-se2-cdb -> oracle, sqlserver-se -> sqlserver; other engines as they are."""
    for family in ("oracle", "sqlserver"):
        if engine.startswith(family + "-") or engine == family:
            return family
    return engine


def _key_matches(actual: Any, wanted: str) -> bool:
    """A KMS key given as id or ARN matches the key ARN AWS reports."""
    actual = str(actual or "")
    return bool(actual) and (actual == wanted or actual.endswith("/" + wanted))


def _absent(item: ConfigurationItem, api: str) -> Result | None:
    """A key is missing: INSUFFICIENT_DATA when its API failed, else the rule does not apply."""
    if api in item.failed_apis():
        return insufficient(describe_failure(item, [api]))
    return None


# -- DB instances --------------------------------------------------------------------------------


@rule(
    "db-instance-backup-enabled",
    reads={CONF + "BackupRetentionPeriod": "DescribeDBInstances"},
    aws_identifier="DB_INSTANCE_BACKUP_ENABLED",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when="Automated backups are enabled on the RDS DB instance (optional retention/window parameters not set by the pack).",
    parameters={
        "backupRetentionMinimum": ("int", None),
        "backupRetentionPeriod": ("int", None),
        "checkReadReplicas": ("bool", None),
        "preferredBackupWindow": ("str", None),
    },
    aws_runbook="AWSConfigRemediation-EnableRDSInstanceBackup",
)
def db_instance_backup_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    replica = get(item, CONF + "ReadReplicaSourceDBInstanceIdentifier") or get(item, CONF + "ReadReplicaSourceDBClusterIdentifier")
    if replica and not params.get("checkReadReplicas"):
        return not_applicable("read replica: checked only when checkReadReplicas is true")
    days = int(get(item, CONF + "BackupRetentionPeriod") or 0)
    if days <= 0:
        return non_compliant("automated backups are off (backup retention period 0)")
    problems = []
    period, minimum = params.get("backupRetentionPeriod"), params.get("backupRetentionMinimum")
    if period is not None and days != period:
        problems.append(f"backup retention is {days} day(s), not backupRetentionPeriod {period}")
    if minimum is not None and days < minimum:
        problems.append(f"backup retention {days} day(s) is below backupRetentionMinimum {minimum}")
    window, actual_window = params.get("preferredBackupWindow"), get(item, CONF + "PreferredBackupWindow")
    if window and str(actual_window or "") != window:
        problems.append(f"backup window is {actual_window}, not preferredBackupWindow {window}")
    if problems:
        return non_compliant("; ".join(problems))
    return compliant(f"automated backups kept {days} day(s)")


@rule(
    "rds-automatic-minor-version-upgrade-enabled",
    reads={CONF + "AutoMinorVersionUpgrade": "DescribeDBInstances"},
    aws_identifier="RDS_AUTOMATIC_MINOR_VERSION_UPGRADE_ENABLED",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when="autoMinorVersionUpgrade is true on the RDS DB instance.",
    aws_runbook="AWSConfigRemediation-EnableMinorVersionUpgradeOnRDSDBInstance",
)
def rds_automatic_minor_version_upgrade_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "AutoMinorVersionUpgrade") is True:
        return compliant("AutoMinorVersionUpgrade is on")
    return non_compliant("AutoMinorVersionUpgrade is off")


@rule(
    "rds-enhanced-monitoring-enabled",
    reads={CONF + "MonitoringInterval": "DescribeDBInstances"},
    aws_identifier="RDS_ENHANCED_MONITORING_ENABLED",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="low",
    compliant_when="Enhanced Monitoring is enabled on the RDS DB instance (monitoringInterval not set by the pack).",
    parameters={"monitoringInterval": ("int", None)},
    aws_runbook="AWSConfigRemediation-EnableEnhancedMonitoringOnRDSInstance",
)
def rds_enhanced_monitoring_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    interval = int(get(item, CONF + "MonitoringInterval") or 0)
    if interval <= 0:
        return non_compliant("Enhanced Monitoring is off (MonitoringInterval 0)")
    wanted = params.get("monitoringInterval")
    if wanted is not None and interval != wanted:
        return non_compliant(f"MonitoringInterval is {interval}s, not monitoringInterval {wanted}s")
    return compliant(f"Enhanced Monitoring every {interval}s")


@rule(
    "rds-instance-public-access-check",
    reads={CONF + "DBInstanceIdentifier": "DescribeDBInstances"},
    aws_identifier="RDS_INSTANCE_PUBLIC_ACCESS_CHECK",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="critical",
    compliant_when="The RDS DB instance has publiclyAccessible = false.",
    aws_runbook="AWSConfigRemediation-DisablePublicAccessToRDSInstance",
)
def rds_instance_public_access_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """NON_COMPLIANT only when PubliclyAccessible is true, as AWS's page says. AWS always reports the
    key; an emulator that leaves it out (moto does when the create call did not set it) gives an
    instance that is judged, not skipped: absent is not true, so COMPLIANT."""
    if get(item, CONF + "PubliclyAccessible") is True:
        return non_compliant("PubliclyAccessible is true")
    return compliant("PubliclyAccessible is false")


def _cluster_of(item: ConfigurationItem, ctx: RuleContext) -> ConfigurationItem | None:
    name = get(item, CONF + "DBClusterIdentifier")
    if not name:
        return None
    for cluster in ctx.items(CLUSTER, account_id=item.accountId, region=item.awsRegion):
        if get(cluster, CONF + "DBClusterIdentifier") == name:
            return cluster
    return None


def _additional_logs(value: Any) -> dict[str, list[str]]:
    """'oracle: general, slowquery ; aurora: alert' -> {'oracle': ['general', 'slowquery'], 'aurora': ['alert']}."""
    out: dict[str, list[str]] = {}
    for entry in str(value or "").split(";"):
        if not entry.strip():
            continue
        engine, sep, logs = entry.partition(":")
        if not sep or not engine.strip():
            raise ValueError(entry.strip())
        out.setdefault(engine.strip().lower(), []).extend(x.strip() for x in logs.split(",") if x.strip())
    return out


@rule(
    "rds-logging-enabled",
    reads={CONF + "Engine": "DescribeDBInstances"},
    aws_identifier="RDS_LOGGING_ENABLED",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when="All respective log types for the RDS DB instance engine are enabled (exported).",
    parameters={"additionalLogs": ("str", None)},
)
def rds_logging_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    status = str(get(item, CONF + "DBInstanceStatus") or "")
    if status and status not in LOGGING_STATES:
        return not_applicable(f"instance status is {status}")
    engine = _engine(item)
    family = _family(engine)
    try:
        extra = _additional_logs(params.get("additionalLogs"))
    except ValueError:
        return insufficient("additionalLogs is not of the form 'engine: log, log; engine: log'")
    wanted = list(DEFAULT_LOGS.get(family, ()))
    for key in {engine, family}:
        wanted.extend(log for log in extra.get(key, []) if log not in wanted)
    if not wanted:
        return not_applicable(f"no log types to check for engine {engine or 'unknown'}")
    exported = set(get(item, CONF + "EnabledCloudwatchLogsExports") or [])
    cluster = _cluster_of(item, ctx)
    if cluster is not None:  # Aurora and Multi-AZ DB clusters export logs at the cluster level
        exported |= set(get(cluster, CONF + "EnabledCloudwatchLogsExports") or [])
    missing = [log for log in wanted if log not in exported]
    if missing:
        return non_compliant(f"log types not exported to CloudWatch Logs: {', '.join(missing)}")
    return compliant(f"exports {', '.join(wanted)}")


@rule(
    "rds-multi-az-support",
    reads={CONF + "MultiAZ": "DescribeDBInstances"},
    aws_identifier="RDS_MULTI_AZ_SUPPORT",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when="The RDS DB instance is deployed Multi-AZ.",
    aws_runbook="AWSConfigRemediation-EnableMultiAZOnRDSInstance",
)
def rds_multi_az_support(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    engine = _engine(item)
    if engine.startswith(("aurora", "docdb", "neptune")):
        return not_applicable(f"the rule does not evaluate {engine} instances")
    if get(item, CONF + "MultiAZ") is True:
        return compliant("Multi-AZ deployment")
    return non_compliant("not a Multi-AZ deployment")


@rule(
    "rds-storage-encrypted",
    reads={CONF + "StorageEncrypted": "DescribeDBInstances"},
    aws_identifier="RDS_STORAGE_ENCRYPTED",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="high",
    compliant_when="Storage encryption is enabled on the RDS DB instance.",
    parameters={"kmsKeyId": ("str", None)},
)
def rds_storage_encrypted(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "StorageEncrypted") is not True:
        return non_compliant("storage encryption is off")
    wanted = params.get("kmsKeyId")
    if wanted and not _key_matches(get(item, CONF + "KmsKeyId"), wanted):
        return non_compliant("storage is encrypted with a KMS key other than kmsKeyId")
    return compliant("storage is encrypted")


# -- DB clusters ---------------------------------------------------------------------------------


@rule(
    "rds-cluster-deletion-protection-enabled",
    reads={CONF + "DeletionProtection": "DescribeDBClusters"},
    aws_identifier="RDS_CLUSTER_DELETION_PROTECTION_ENABLED",
    service="Amazon RDS / Aurora",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="medium",
    compliant_when="Deletion protection is enabled on the RDS DB cluster.",
    aws_runbook="AWSConfigRemediation-EnableRDSClusterDeletionProtection",
)
def rds_cluster_deletion_protection_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "DeletionProtection") is True:
        return compliant("deletion protection is on")
    return non_compliant("deletion protection is off")


@rule(
    "rds-cluster-multi-az-enabled",
    reads={CONF + "MultiAZ": "DescribeDBClusters"},
    aws_identifier="RDS_CLUSTER_MULTI_AZ_ENABLED",
    service="Amazon RDS / Aurora",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="medium",
    compliant_when="Multi-AZ replication is enabled on the Aurora / Multi-AZ RDS DB cluster.",
)
def rds_cluster_multi_az_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    engine = _engine(item)
    if engine.startswith(("docdb", "neptune")):
        return not_applicable(f"the rule evaluates Aurora and Multi-AZ DB clusters, not {engine}")
    if get(item, CONF + "MultiAZ") is True:
        return compliant("Multi-AZ: instances in more than one Availability Zone")
    return non_compliant("not Multi-AZ")


# -- snapshots -----------------------------------------------------------------------------------


@rule(
    "rds-snapshot-encrypted",
    aws_identifier="RDS_SNAPSHOT_ENCRYPTED",
    service="Amazon RDS / Aurora",
    resource_types=(
        CLUSTER_SNAPSHOT,
        SNAPSHOT,
    ),
    trigger="change",
    severity="high",
    compliant_when="The RDS DB (cluster) snapshot is encrypted.",
)
def rds_snapshot_encrypted(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    key = "Encrypted" if item.resourceType == SNAPSHOT else "StorageEncrypted"
    if not has(item, CONF + key):
        return None
    if get(item, CONF + key) is True:
        return compliant("snapshot is encrypted")
    return non_compliant("snapshot is not encrypted")


@rule(
    "rds-snapshots-public-prohibited",
    aws_identifier="RDS_SNAPSHOTS_PUBLIC_PROHIBITED",
    service="Amazon RDS / Aurora",
    resource_types=(
        CLUSTER_SNAPSHOT,
        SNAPSHOT,
    ),
    trigger="change",
    severity="critical",
    compliant_when="The RDS DB (cluster) snapshot is not public.",
    remediation="phiwatch-MakeRdsSnapshotPrivate",
    aws_runbook="AWSSupport-ModifyRDSSnapshotPermission",
)
def rds_snapshots_public_prohibited(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if item.resourceType == SNAPSHOT:
        path, api = SUP + "DBSnapshotAttributes", "DescribeDBSnapshotAttributes"
    else:
        path, api = SUP + "DBClusterSnapshotAttributes", "DescribeDBClusterSnapshotAttributes"
    if not has(item, path):
        return _absent(item, api)
    for attribute in get(item, path) or []:
        if attribute.get("AttributeName") == "restore" and "all" in (attribute.get("AttributeValues") or []):
            return non_compliant("snapshot is public (restore attribute includes 'all')")
    return compliant("snapshot is not public")


# -- AWS Config managed rules beyond the HIPAA pack -----------------------------------------------

#: the master user names RDS proposes (``admin`` for MySQL, MariaDB, Oracle, SQL Server and Aurora
#: MySQL; ``postgres`` for PostgreSQL and Aurora PostgreSQL): never accepted, even when listed
DEFAULT_ADMIN_NAMES = ("admin", "postgres")
# rds-instance-iam-authentication-enabled: the engines and instance states AWS's page names; any
# other instance is NOT_APPLICABLE
IAM_AUTH_ENGINES = ("mysql", "postgres", "aurora", "aurora-mysql", "aurora-postgresql")
IAM_AUTH_STATES = ("available", "backing-up", "storage-optimization", "storage-full")


def _admin_name_check(item: ConfigurationItem, params: dict, what: str) -> Result:
    """NON_COMPLIANT when the master user name is a default one, or not one of validAdminUserNames."""
    name = get(item, CONF + "MasterUsername")
    if not name:
        return not_applicable(f"the {what} reports no master user name")
    if str(name).lower() in DEFAULT_ADMIN_NAMES:
        return non_compliant(f"the master user name is the default '{str(name).lower()}'")
    valid = [v for v in csv_list(params.get("validAdminUserNames")) if v.lower() not in DEFAULT_ADMIN_NAMES]
    if valid and name not in valid:
        return non_compliant("the master user name is not one of validAdminUserNames")
    return compliant("the master user name is not a default one")


@rule(
    "rds-instance-default-admin-check",
    reads={CONF + "DBInstanceIdentifier": "DescribeDBInstances"},
    aws_identifier="RDS_INSTANCE_DEFAULT_ADMIN_CHECK",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when="The RDS DB instance's master user name is not a default one (admin, postgres) and is one of validAdminUserNames if set.",
    parameters={"validAdminUserNames": ("str", None)},
)
def rds_instance_default_admin_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS's defaults are ``admin`` and ``postgres`` (its page says validAdminUserNames cannot include
    them): they are NON_COMPLIANT even when listed, compared without case (``Admin`` is the default too)."""
    return _admin_name_check(item, params, "instance")


@rule(
    "rds-cluster-default-admin-check",
    reads={CONF + "DBClusterIdentifier": "DescribeDBClusters"},
    aws_identifier="RDS_CLUSTER_DEFAULT_ADMIN_CHECK",
    service="Amazon RDS / Aurora",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="medium",
    compliant_when="The RDS DB cluster's master user name is not a default one (admin, postgres) and is one of validAdminUserNames if set.",
    parameters={"validAdminUserNames": ("str", None)},
)
def rds_cluster_default_admin_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """As rds-instance-default-admin-check, on DB clusters."""
    return _admin_name_check(item, params, "cluster")


@rule(
    "rds-instance-deletion-protection-enabled",
    reads={CONF + "DBInstanceIdentifier": "DescribeDBInstances"},
    aws_identifier="RDS_INSTANCE_DELETION_PROTECTION_ENABLED",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when="Deletion protection is enabled on the RDS DB instance (only engines in databaseEngines when set).",
    parameters={"databaseEngines": ("str", None)},
)
def rds_instance_deletion_protection_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """databaseEngines (``mysql, postgres``) limits the rule to those engines (exact engine names, any
    case); other instances are NOT_APPLICABLE. Instances of Aurora and DocumentDB clusters carry their
    own DeletionProtection (false; the cluster holds the setting): AWS's page says they show as
    NON_COMPLIANT, and so they do here."""
    engine = _engine(item)
    engines = [e.lower() for e in csv_list(params.get("databaseEngines"))]
    if engines and engine not in engines:
        return not_applicable(f"engine {engine or 'unknown'} is not one of databaseEngines")
    if get(item, CONF + "DeletionProtection") is True:
        return compliant("deletion protection is on")
    return non_compliant("deletion protection is off")


@rule(
    "rds-instance-iam-authentication-enabled",
    reads={CONF + "DBInstanceIdentifier": "DescribeDBInstances"},
    aws_identifier="RDS_INSTANCE_IAM_AUTHENTICATION_ENABLED",
    service="Amazon RDS / Aurora",
    resource_types=(INSTANCE,),
    trigger="change",
    severity="medium",
    compliant_when="IAM database authentication is enabled on the RDS DB instance (MySQL, PostgreSQL and Aurora engines).",
)
def rds_instance_iam_authentication_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS's current page: only engines mysql, postgres, aurora, aurora-mysql and aurora-postgresql in
    state available, backing-up, storage-optimization or storage-full are judged; any other instance
    is NOT_APPLICABLE (an instance without a recorded state is judged)."""
    engine = _engine(item)
    if engine not in IAM_AUTH_ENGINES:
        return not_applicable(f"the rule does not evaluate {engine or 'unknown'} instances")
    status = str(get(item, CONF + "DBInstanceStatus") or "")
    if status and status not in IAM_AUTH_STATES:
        return not_applicable(f"instance status is {status}")
    if get(item, CONF + "IAMDatabaseAuthenticationEnabled") is True:
        return compliant("IAM database authentication is on")
    return non_compliant("IAM database authentication is off")


@rule(
    "rds-cluster-iam-authentication-enabled",
    reads={CONF + "DBClusterIdentifier": "DescribeDBClusters"},
    aws_identifier="RDS_CLUSTER_IAM_AUTHENTICATION_ENABLED",
    service="Amazon RDS / Aurora",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="medium",
    compliant_when="IAM database authentication is enabled on the RDS DB cluster.",
)
def rds_cluster_iam_authentication_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "IAMDatabaseAuthenticationEnabled") is True:
        return compliant("IAM database authentication is on")
    return non_compliant("IAM database authentication is off")


@rule(
    "aurora-mysql-backtracking-enabled",
    reads={CONF + "DBClusterIdentifier": "DescribeDBClusters"},
    aws_identifier="AURORA_MYSQL_BACKTRACKING_ENABLED",
    service="Amazon RDS / Aurora",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="low",
    compliant_when="The Aurora MySQL cluster has backtracking enabled (a window of at least BacktrackWindowInHours when set).",
    parameters={"BacktrackWindowInHours": ("float", None)},
)
def aurora_mysql_backtracking_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Aurora MySQL clusters only (engine ``aurora-mysql``, or ``aurora`` for MySQL 5.6); other clusters
    are NOT_APPLICABLE. BacktrackWindowInHours (up to 72) is read as a minimum: a longer window than
    asked for is compliant."""
    engine = _engine(item)
    if engine not in ("aurora", "aurora-mysql"):
        return not_applicable(f"engine {engine or 'unknown'} is not Aurora MySQL")
    seconds = int(get(item, CONF + "BacktrackWindow") or 0)
    if seconds <= 0:
        return non_compliant("backtracking is off")
    hours = params.get("BacktrackWindowInHours")
    if hours is not None and seconds < float(hours) * 3600:
        return non_compliant(f"backtrack window is {seconds / 3600:g} hour(s), below BacktrackWindowInHours {float(hours):g}")
    return compliant(f"backtrack window is {seconds / 3600:g} hour(s)")


@rule(
    "rds-db-security-group-not-allowed",
    reads={CONF + "DBSecurityGroupName": "DescribeDBSecurityGroups"},
    aws_identifier="RDS_DB_SECURITY_GROUP_NOT_ALLOWED",
    service="Amazon RDS / Aurora",
    resource_types=(DB_SECURITY_GROUP,),
    trigger="change",
    severity="medium",
    compliant_when="The DB security group is the default one (EC2-Classic DB security groups other than default are not allowed).",
)
def rds_db_security_group_not_allowed(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """One evaluation per DB security group: ``default`` is COMPLIANT, any other NON_COMPLIANT."""
    if get(item, CONF + "DBSecurityGroupName") == "default":
        return compliant("the default DB security group")
    return non_compliant("a DB security group other than default (use VPC security groups)")
