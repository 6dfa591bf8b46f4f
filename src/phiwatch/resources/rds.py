"""RDS: DB instances, DB clusters, manual DB snapshots, manual DB cluster snapshots and DB security groups.

``configuration`` is the describe API's element in boto3's shape (``TagList`` included); tags
come from ``TagList`` (no extra call). Item layout per type:

* ``AWS::RDS::DBInstance`` (DescribeDBInstances): resourceId is ``DbiResourceId`` (AWS Config's
  id) when that value is unique within the region's listing, else ``DBInstanceIdentifier``
  (moto gives every instance the same ``DbiResourceId``; real AWS never does, so against AWS the
  id is always ``DbiResourceId``). resourceName ``DBInstanceIdentifier``, arn ``DBInstanceArn``.
  Keys rules read: ``StorageEncrypted``, ``KmsKeyId``, ``PubliclyAccessible``, ``MultiAZ``,
  ``MasterUsername``, ``Engine``, ``DBInstanceStatus``,
  ``BackupRetentionPeriod`` (0 = automated backups off), ``AutoMinorVersionUpgrade``,
  ``DeletionProtection``, ``EnabledCloudwatchLogsExports`` (AWS omits it when no log type is
  exported: absent = none), ``IAMDatabaseAuthenticationEnabled``, ``MonitoringInterval``
  (0 = enhanced monitoring off), ``DBClusterIdentifier`` (Aurora members).
  relationships: ``AWS::EC2::SecurityGroup`` and ``AWS::RDS::DBSubnetGroup`` (by name).
  Instances and clusters leave out ``LatestRestorableTime`` and ``EarliestRestorableTime``: they
  move every few minutes with the backups, which is not a configuration change.
* ``AWS::RDS::DBCluster`` (DescribeDBClusters): resourceId ``DbClusterResourceId`` (AWS Config's
  id) with the same uniqueness fallback to ``DBClusterIdentifier``; resourceName
  ``DBClusterIdentifier``, arn ``DBClusterArn``. Keys: ``StorageEncrypted``, ``MultiAZ``,
  ``DeletionProtection``, ``BackupRetentionPeriod``, ``EnabledCloudwatchLogsExports``,
  ``MasterUsername``, ``IAMDatabaseAuthenticationEnabled``, ``Engine``, ``BacktrackWindow``
  (seconds; absent or 0 = backtracking off, Aurora MySQL only), ...
  relationships: member instances (``AWS::RDS::DBInstance``, only when the instance listing of
  this run succeeded), security groups.
* ``AWS::RDS::DBSnapshot`` (DescribeDBSnapshots ``SnapshotType=manual``: automated snapshots
  cannot be shared, so they are not recorded): resourceId ``DBSnapshotIdentifier`` (the last
  part of ``DBSnapshotArn``, unique per account and region), arn ``DBSnapshotArn``. Keys:
  ``Encrypted``, ``KmsKeyId``, ``DBInstanceIdentifier``.
  ``supplementaryConfiguration.DBSnapshotAttributes``: DescribeDBSnapshotAttributes' list
  ``[{"AttributeName": "restore", "AttributeValues": [...]}]``; the snapshot is **public** when
  the ``restore`` attribute's values contain ``"all"`` (other values are account ids it is
  shared with).
* ``AWS::RDS::DBClusterSnapshot`` (DescribeDBClusterSnapshots ``SnapshotType=manual``):
  resourceId ``DBClusterSnapshotIdentifier``, arn ``DBClusterSnapshotArn``; keys
  ``StorageEncrypted``, ``KmsKeyId``; ``supplementaryConfiguration.DBClusterSnapshotAttributes``
  as above (from DescribeDBClusterSnapshotAttributes).
* ``AWS::RDS::DBSecurityGroup`` (DescribeDBSecurityGroups: the EC2-Classic DB security groups
  AWS retired in 2022, still listed where they exist): resourceId and resourceName
  ``DBSecurityGroupName``, arn ``DBSecurityGroupArn``; ``configuration`` the listing element
  (``EC2SecurityGroups``, ``IPRanges``, ``VpcId``); tags from ListTagsForResource.

A supplementary key that is absent means its call failed (see ``collectionErrors``).
No account-level keys.

Instances and clusters are collected by the hook :mod:`phiwatch.collect.rds`, which also adds
the snapshots' relationships to their parents (its docstring says why); the snapshots' and DB
security groups' specs do the rest.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

INSTANCE = "AWS::RDS::DBInstance"
CLUSTER = "AWS::RDS::DBCluster"
SNAPSHOT = "AWS::RDS::DBSnapshot"
CLUSTER_SNAPSHOT = "AWS::RDS::DBClusterSnapshot"
DB_SECURITY_GROUP = "AWS::RDS::DBSecurityGroup"

SERVICE = Service(
    "rds",
    resources=(
        ResourceSpec(
            INSTANCE,
            events=(
                on(
                    "rds.amazonaws.com",
                    (
                        "CreateDBInstance CreateDBInstanceReadReplica RestoreDBInstanceFromDBSnapshot "
                        "ModifyDBInstance DeleteDBInstance StartDBInstance StopDBInstance"
                    ),
                    P("requestParameters.dBInstanceIdentifier"),
                ),
                on(
                    "rds.amazonaws.com",
                    "AddTagsToResource RemoveTagsFromResource",
                    R("requestParameters.resourceName", "^arn:[^:]+:rds:[^:]*:[^:]*:db:(.+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            CLUSTER,
            events=(
                on(
                    "rds.amazonaws.com",
                    "CreateDBCluster ModifyDBCluster DeleteDBCluster StartDBCluster StopDBCluster",
                    P("requestParameters.dBClusterIdentifier"),
                ),
                on(
                    "rds.amazonaws.com",
                    "AddTagsToResource RemoveTagsFromResource",
                    R("requestParameters.resourceName", "^arn:[^:]+:rds:[^:]*:[^:]*:cluster:(.+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            SNAPSHOT,
            client="rds",
            listing=Call("DescribeDBSnapshots", "rds:DescribeDBSnapshots", {"SnapshotType": "'manual'"}, result="DBSnapshots"),
            id="DBSnapshotIdentifier",
            arn="DBSnapshotArn",
            details={
                "DBSnapshotAttributes": Call(
                    "DescribeDBSnapshotAttributes",
                    "rds:DescribeDBSnapshotAttributes",
                    {"DBSnapshotIdentifier": "DBSnapshotIdentifier"},
                    result="DBSnapshotAttributesResult.DBSnapshotAttributes || `[]`",
                ),
            },
            tags="TagList",
            events=(
                on(
                    "rds.amazonaws.com",
                    ("CreateDBSnapshot CopyDBSnapshot DeleteDBSnapshot ModifyDBSnapshotAttribute ModifyDBSnapshot"),
                    P("requestParameters.dBSnapshotIdentifier"),
                    P("requestParameters.targetDBSnapshotIdentifier"),
                ),
                on(
                    "rds.amazonaws.com",
                    "AddTagsToResource RemoveTagsFromResource",
                    R("requestParameters.resourceName", "^arn:[^:]+:rds:[^:]*:[^:]*:snapshot:(.+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            CLUSTER_SNAPSHOT,
            client="rds",
            listing=Call(
                "DescribeDBClusterSnapshots", "rds:DescribeDBClusterSnapshots", {"SnapshotType": "'manual'"}, result="DBClusterSnapshots"
            ),
            id="DBClusterSnapshotIdentifier",
            arn="DBClusterSnapshotArn",
            details={
                "DBClusterSnapshotAttributes": Call(
                    "DescribeDBClusterSnapshotAttributes",
                    "rds:DescribeDBClusterSnapshotAttributes",
                    {"DBClusterSnapshotIdentifier": "DBClusterSnapshotIdentifier"},
                    result="DBClusterSnapshotAttributesResult.DBClusterSnapshotAttributes || `[]`",
                ),
            },
            tags="TagList",
            events=(
                on(
                    "rds.amazonaws.com",
                    ("CreateDBClusterSnapshot CopyDBClusterSnapshot DeleteDBClusterSnapshot ModifyDBClusterSnapshotAttribute"),
                    P("requestParameters.dBClusterSnapshotIdentifier"),
                    P("requestParameters.targetDBClusterSnapshotIdentifier"),
                ),
                on(
                    "rds.amazonaws.com",
                    "AddTagsToResource RemoveTagsFromResource",
                    R("requestParameters.resourceName", "^arn:[^:]+:rds:[^:]*:[^:]*:cluster-snapshot:(.+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            DB_SECURITY_GROUP,
            client="rds",
            listing=Call("DescribeDBSecurityGroups", "rds:DescribeDBSecurityGroups", result="DBSecurityGroups"),
            id="DBSecurityGroupName",
            arn=("DBSecurityGroupArn", "arn:{partition}:rds:{region}:{account}:secgrp:{id}"),
            tags=Call("ListTagsForResource", "rds:ListTagsForResource", {"ResourceName": "DBSecurityGroupArn"}, result="TagList"),
            events=(
                on(
                    "rds.amazonaws.com",
                    "CreateDBSecurityGroup DeleteDBSecurityGroup AuthorizeDBSecurityGroupIngress RevokeDBSecurityGroupIngress",
                    P("requestParameters.dBSecurityGroupName"),
                ),
                on(
                    "rds.amazonaws.com",
                    "AddTagsToResource RemoveTagsFromResource",
                    R("requestParameters.resourceName", "^arn:[^:]+:rds:[^:]*:[^:]*:secgrp:(.+)$"),
                    optional=True,
                ),
            ),
        ),
    ),
    iam=("rds:DescribeDBClusters", "rds:DescribeDBInstances"),
)
