"""RDS: DB instances, DB clusters, manual DB snapshots and manual DB cluster snapshots."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

INSTANCE = "AWS::RDS::DBInstance"
CLUSTER = "AWS::RDS::DBCluster"
SNAPSHOT = "AWS::RDS::DBSnapshot"
CLUSTER_SNAPSHOT = "AWS::RDS::DBClusterSnapshot"

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
    ),
    iam=(
        "rds:DescribeDBClusterSnapshots",
        "rds:DescribeDBClusters",
        "rds:DescribeDBInstances",
        "rds:DescribeDBSnapshotAttributes",
        "rds:DescribeDBSnapshots",
    ),
)
