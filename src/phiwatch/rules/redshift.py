"""Redshift rules: the HIPAA pack's and other AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.redshift`: cluster settings are in ``configuration``
(DescribeClusters' element), audit logging in ``supplementaryConfiguration.LoggingStatus`` and
the parameter groups' ``require_ssl`` values in
``supplementaryConfiguration.ParameterGroupSettings``; a missing key means the read failed.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.redshift import CLUSTER, PARAMETER_GROUP
from phiwatch.rules.base import (
    Result,
    RuleContext,
    compliant,
    csv_list,
    describe_failure,
    get,
    insufficient,
    non_compliant,
    not_applicable,
    rule,
)

CONF = "configuration."
SUP = "supplementaryConfiguration."
# AWS documents nodeTypes with this default; the HIPAA pack does not set it, and AWS's rule
# reports only encryption and audit logging. The node type is checked only when a policy sets
# nodeTypes to something else (DC1 node types are retired: no cluster could match this one).
DOCUMENTED_NODE_TYPES = "dc1.large"


@rule(
    "redshift-backup-enabled",
    reads={CONF + "AutomatedSnapshotRetentionPeriod": "DescribeClusters"},
    aws_identifier="REDSHIFT_BACKUP_ENABLED",
    service="Amazon Redshift",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="medium",
    compliant_when="Automated snapshots are enabled (automatedSnapshotRetentionPeriod > 0, within Min/MaxRetentionPeriod if set) on the Redshift cluster.",
    parameters={"MinRetentionPeriod": ("int", None), "MaxRetentionPeriod": ("int", None)},
    aws_runbook="AWSConfigRemediation-EnableRedshiftClusterAutomatedSnapshot",
)
def redshift_backup_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    days = int(get(item, CONF + "AutomatedSnapshotRetentionPeriod") or 0)
    if days <= 0:
        return non_compliant("automated snapshots are off (retention period 0)")
    low, high = params.get("MinRetentionPeriod"), params.get("MaxRetentionPeriod")
    if low is not None and days < low:
        return non_compliant(f"automated snapshot retention {days} day(s) is below MinRetentionPeriod {low}")
    if high is not None and days > high:
        return non_compliant(f"automated snapshot retention {days} day(s) is above MaxRetentionPeriod {high}")
    return compliant(f"automated snapshots kept {days} day(s)")


@rule(
    "redshift-cluster-configuration-check",
    reads={CONF + "Encrypted": "DescribeClusters", SUP + "LoggingStatus": "DescribeLoggingStatus"},
    aws_identifier="REDSHIFT_CLUSTER_CONFIGURATION_CHECK",
    service="Amazon Redshift",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="low",
    compliant_when="The Redshift cluster has database encryption enabled and audit logging enabled (pack: clusterDbEncrypted=true, loggingEnabled=true).",
    parameters={"clusterDbEncrypted": ("bool", True), "loggingEnabled": ("bool", True), "nodeTypes": ("str", "dc1.large")},
    aws_runbook="AWSConfigRemediation-EnableRedshiftClusterEncryption",
)
def redshift_cluster_configuration_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    problems = []
    if params.get("clusterDbEncrypted", True) and not get(item, CONF + "Encrypted"):
        problems.append("database encryption is off")
    if params.get("loggingEnabled", True) and not (get(item, SUP + "LoggingStatus") or {}).get("LoggingEnabled"):
        problems.append("audit logging is off")
    node_types = params.get("nodeTypes")
    node_type = get(item, CONF + "NodeType")
    if node_types and node_types != DOCUMENTED_NODE_TYPES and node_type not in csv_list(node_types):
        problems.append(f"node type {node_type} is not one of nodeTypes")
    if problems:
        return non_compliant("; ".join(problems))
    return compliant("encryption and audit logging are on")


@rule(
    "redshift-cluster-maintenancesettings-check",
    reads={CONF + "AllowVersionUpgrade": "DescribeClusters", CONF + "AutomatedSnapshotRetentionPeriod": "DescribeClusters"},
    aws_identifier="REDSHIFT_CLUSTER_MAINTENANCESETTINGS_CHECK",
    service="Amazon Redshift",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="low",
    compliant_when="The Redshift cluster has allowVersionUpgrade = true (pack) and matches any other maintenance parameters (docs default automatedSnapshotRetentionPeriod 1).",
    parameters={
        "allowVersionUpgrade": ("bool", True),
        "preferredMaintenanceWindow": ("str", None),
        "automatedSnapshotRetentionPeriod": ("int", 1),
    },
    aws_runbook="AWSConfigRemediation-ModifyRedshiftClusterMaintenanceSettings",
)
def redshift_cluster_maintenancesettings_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    problems = []
    wanted_upgrade = params.get("allowVersionUpgrade", True)
    actual_upgrade = bool(get(item, CONF + "AllowVersionUpgrade"))
    if wanted_upgrade is not None and actual_upgrade != wanted_upgrade:
        problems.append(f"AllowVersionUpgrade is {str(actual_upgrade).lower()}, not {str(wanted_upgrade).lower()}")
    window = params.get("preferredMaintenanceWindow")
    actual_window = get(item, CONF + "PreferredMaintenanceWindow")
    if window and str(actual_window or "").lower() != window.lower():
        problems.append(f"maintenance window is {actual_window}, not {window}")
    retention = params.get("automatedSnapshotRetentionPeriod")
    days = int(get(item, CONF + "AutomatedSnapshotRetentionPeriod") or 0)
    if retention is not None and days < retention:
        problems.append(f"automated snapshot retention {days} day(s) is below {retention}")
    if problems:
        return non_compliant("; ".join(problems))
    return compliant("maintenance settings match (version upgrades allowed)")


@rule(
    "redshift-cluster-public-access-check",
    reads={CONF + "PubliclyAccessible": "DescribeClusters"},
    aws_identifier="REDSHIFT_CLUSTER_PUBLIC_ACCESS_CHECK",
    service="Amazon Redshift",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="critical",
    compliant_when="The Redshift cluster has publiclyAccessible = false.",
    aws_runbook="AWSConfigRemediation-DisablePublicAccessToRedshiftCluster",
)
def redshift_cluster_public_access_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "PubliclyAccessible"):
        return non_compliant("cluster is publicly accessible")
    return compliant("cluster is not publicly accessible")


# reads is empty on purpose: the rule also lists AWS::Redshift::ClusterParameterGroup (whose
# items do not carry ParameterGroupSettings) but reports on clusters only, as AWS's does;
# a cluster whose groups could not be read is handled below.
@rule(
    "redshift-require-tls-ssl",
    reads={},
    aws_identifier="REDSHIFT_REQUIRE_TLS_SSL",
    service="Amazon Redshift",
    resource_types=(
        CLUSTER,
        PARAMETER_GROUP,
    ),
    trigger="change",
    severity="high",
    compliant_when="The Redshift cluster's parameter group sets require_SSL = true.",
    aws_runbook="AWSConfigRemediation-EnforceSSLOnlyConnectionsToRedshiftCluster",
)
def redshift_require_tls_ssl(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if item.resourceType != CLUSTER:
        return None
    settings = get(item, SUP + "ParameterGroupSettings")
    if settings is None:
        if "DescribeClusterParameters" in item.failed_apis():
            return insufficient(describe_failure(item, ["DescribeClusterParameters"]))
        return None
    if not settings:
        return non_compliant("no cluster parameter group sets require_ssl")
    off = sorted(name for name, values in settings.items() if str((values or {}).get("require_ssl", "false")).lower() != "true")
    if off:
        return non_compliant(f"parameter group {', '.join(off)} does not set require_ssl=true")
    return compliant(f"parameter group {', '.join(sorted(settings))} sets require_ssl=true")


# -- AWS Config managed rules beyond the HIPAA pack -----------------------------------------------

#: the defaults Redshift proposes: never accepted, even when a parameter lists them
DEFAULT_ADMIN = "awsuser"
DEFAULT_DB_NAME = "dev"


@rule(
    "redshift-audit-logging-enabled",
    reads={SUP + "LoggingStatus": "DescribeLoggingStatus"},
    aws_identifier="REDSHIFT_AUDIT_LOGGING_ENABLED",
    service="Amazon Redshift",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="medium",
    compliant_when="Audit logging is enabled on the Redshift cluster (to one of bucketNames when set).",
    parameters={"bucketNames": ("str", None)},
)
def redshift_audit_logging_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """bucketNames, when set, must name the S3 bucket logs go to: a cluster logging to CloudWatch Logs
    (no bucket) is then NON_COMPLIANT."""
    status = get(item, SUP + "LoggingStatus") or {}
    if not status.get("LoggingEnabled"):
        return non_compliant("audit logging is off")
    buckets = csv_list(params.get("bucketNames"))
    bucket = status.get("BucketName") or ""
    if buckets and bucket not in buckets:
        where = f"bucket {bucket}" if bucket else str(status.get("LogDestinationType") or "no S3 bucket")
        return non_compliant(f"audit logs go to {where}, not one of bucketNames")
    return compliant(f"audit logging to {bucket or status.get('LogDestinationType') or 'S3'}")


@rule(
    "redshift-cluster-kms-enabled",
    reads={CONF + "ClusterIdentifier": "DescribeClusters"},
    aws_identifier="REDSHIFT_CLUSTER_KMS_ENABLED",
    service="Amazon Redshift",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="high",
    compliant_when="The Redshift cluster is encrypted with a KMS key (one of kmsKeyArns when set).",
    parameters={"kmsKeyArns": ("str", None)},
)
def redshift_cluster_kms_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """A cluster encrypted with an HSM (no KmsKeyId) is not encrypted with KMS: NON_COMPLIANT. A
    kmsKeyArns entry matches the cluster's key ARN, or its key id."""
    if not get(item, CONF + "Encrypted"):
        return non_compliant("the cluster is not encrypted")
    key = str(get(item, CONF + "KmsKeyId") or "")
    if not key:
        return non_compliant("the cluster is not encrypted with a KMS key")
    keys = csv_list(params.get("kmsKeyArns"))
    if keys and not any(key == k or key.endswith("/" + k) for k in keys):
        return non_compliant("the cluster is encrypted with a KMS key that is not one of kmsKeyArns")
    return compliant("the cluster is encrypted with a KMS key")


@rule(
    "redshift-default-admin-check",
    reads={CONF + "ClusterIdentifier": "DescribeClusters"},
    aws_identifier="REDSHIFT_DEFAULT_ADMIN_CHECK",
    service="Amazon Redshift",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="medium",
    compliant_when="The Redshift cluster's admin user name is not awsuser and is one of validAdminUserNames if set.",
    parameters={"validAdminUserNames": ("str", None)},
)
def redshift_default_admin_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``awsuser`` (any case) is NON_COMPLIANT even when validAdminUserNames lists it."""
    name = str(get(item, CONF + "MasterUsername") or "")
    if not name:
        return not_applicable("the cluster reports no admin user name")
    if name.lower() == DEFAULT_ADMIN:
        return non_compliant(f"the admin user name is the default '{DEFAULT_ADMIN}'")
    valid = [v for v in csv_list(params.get("validAdminUserNames")) if v.lower() != DEFAULT_ADMIN]
    if valid and name not in valid:
        return non_compliant("the admin user name is not one of validAdminUserNames")
    return compliant("the admin user name is not the default one")


@rule(
    "redshift-default-db-name-check",
    reads={CONF + "ClusterIdentifier": "DescribeClusters"},
    aws_identifier="REDSHIFT_DEFAULT_DB_NAME_CHECK",
    service="Amazon Redshift",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="low",
    compliant_when="The Redshift cluster's database name is not dev and is one of validDatabaseNames if set.",
    parameters={"validDatabaseNames": ("str", None)},
)
def redshift_default_db_name_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``dev`` (any case) is NON_COMPLIANT even when validDatabaseNames lists it; a cluster that reports
    no database name was created with the default one."""
    name = str(get(item, CONF + "DBName") or DEFAULT_DB_NAME)
    if name.lower() == DEFAULT_DB_NAME:
        return non_compliant(f"the database name is the default '{DEFAULT_DB_NAME}'")
    valid = [v for v in csv_list(params.get("validDatabaseNames")) if v.lower() != DEFAULT_DB_NAME]
    if valid and name not in valid:
        return non_compliant("the database name is not one of validDatabaseNames")
    return compliant("the database name is not the default one")


@rule(
    "redshift-enhanced-vpc-routing-enabled",
    reads={CONF + "ClusterIdentifier": "DescribeClusters"},
    aws_identifier="REDSHIFT_ENHANCED_VPC_ROUTING_ENABLED",
    service="Amazon Redshift",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="medium",
    compliant_when="Enhanced VPC routing is enabled on the Redshift cluster.",
)
def redshift_enhanced_vpc_routing_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "EnhancedVpcRouting") is True:
        return compliant("enhanced VPC routing is on")
    return non_compliant("enhanced VPC routing is off")
