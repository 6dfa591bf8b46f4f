"""Redshift: clusters (AWS::Redshift::Cluster) and cluster parameter groups"""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

CLUSTER = "AWS::Redshift::Cluster"
PARAMETER_GROUP = "AWS::Redshift::ClusterParameterGroup"

SERVICE = Service(
    "redshift",
    resources=(
        ResourceSpec(
            CLUSTER,
            events=(
                on(
                    "redshift.amazonaws.com",
                    ("CreateCluster DeleteCluster ModifyCluster EnableLogging DisableLogging RestoreFromClusterSnapshot"),
                    P("requestParameters.clusterIdentifier"),
                ),
                on(
                    "redshift.amazonaws.com",
                    ("CreateClusterParameterGroup DeleteClusterParameterGroup ModifyClusterParameterGroup ResetClusterParameterGroup"),
                ),
                on(
                    "redshift.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourceName", "^arn:[^:]+:redshift:[^:]*:[^:]*:cluster:(.+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            PARAMETER_GROUP,
            events=(
                on(
                    "redshift.amazonaws.com",
                    ("CreateClusterParameterGroup DeleteClusterParameterGroup ModifyClusterParameterGroup ResetClusterParameterGroup"),
                    P("requestParameters.parameterGroupName"),
                ),
                on(
                    "redshift.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourceName", "^arn:[^:]+:redshift:[^:]*:[^:]*:parametergroup:(.+)$"),
                    optional=True,
                ),
            ),
        ),
    ),
    iam=(
        "redshift:DescribeClusterParameterGroups",
        "redshift:DescribeClusterParameters",
        "redshift:DescribeClusters",
        "redshift:DescribeLoggingStatus",
    ),
)
