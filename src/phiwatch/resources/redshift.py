"""Redshift: clusters (AWS::Redshift::Cluster) and cluster parameter groups
(AWS::Redshift::ClusterParameterGroup), regional.

Item layout:

* ``AWS::Redshift::ClusterParameterGroup`` (DescribeClusterParameterGroups; default groups
  included): resourceId and resourceName ``ParameterGroupName`` (AWS Config's id), arn
  ``arn:aws:redshift:<region>:<account>:parametergroup:<name>``. ``configuration`` = the
  listing element (``ParameterGroupFamily``, ``Description``); tags from its ``Tags``.
  ``supplementaryConfiguration.Parameters``: DescribeClusterParameters' list
  (``[{"ParameterName", "ParameterValue", "Source", ...}]``; ``require_ssl`` is among them),
  absent when that call failed.
* ``AWS::Redshift::Cluster`` (DescribeClusters): resourceId and resourceName
  ``ClusterIdentifier`` (AWS Config's id), arn
  ``arn:aws:redshift:<region>:<account>:cluster:<id>``. ``configuration`` = the
  DescribeClusters element in boto3 shape; keys rules read: ``Encrypted``, ``KmsKeyId``,
  ``PubliclyAccessible``, ``AutomatedSnapshotRetentionPeriod`` (0 = automated snapshots off),
  ``AllowVersionUpgrade``, ``PreferredMaintenanceWindow``, ``NodeType``,
  ``ClusterParameterGroups`` (``[{"ParameterGroupName", "ParameterApplyStatus"}]``). Tags from
  its ``Tags``.
  ``supplementaryConfiguration.LoggingStatus``: DescribeLoggingStatus's answer
  (``{"LoggingEnabled": bool, "BucketName", "S3KeyPrefix", "LogDestinationType",
  "LogExports"}``), as in AWS Config's cluster item.
  ``supplementaryConfiguration.ParameterGroupSettings``: for each parameter group of the
  cluster, ``{<group name>: {<parameter name>: <value>}}`` for the security-relevant
  parameters ``require_ssl``, ``use_fips_ssl`` and ``enable_user_activity_logging`` (read once
  per group with DescribeClusterParameters). A change of a group's parameters therefore
  changes its clusters' items too. Absent when a group's parameters could not be read (the
  error is copied onto the cluster item).
  relationships: parameter groups, VPC, VPC security groups.

A key that is absent means its call failed (see ``collectionErrors``). No account-level keys.

Both types are read by their specs (listing, identifiers, tags, ``Parameters``, ``LoggingStatus``,
relationships); the hook :mod:`phiwatch.collect.redshift` runs them and adds the clusters'
``ParameterGroupSettings`` (its docstring says why).
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

CLUSTER = "AWS::Redshift::Cluster"
PARAMETER_GROUP = "AWS::Redshift::ClusterParameterGroup"


def cluster_relationships(cluster: dict[str, Any]) -> list[dict[str, Any]]:
    """A cluster's parameter groups, VPC and VPC security groups."""
    out = [
        {"resourceType": PARAMETER_GROUP, "resourceId": g["ParameterGroupName"], "name": "Is associated with ClusterParameterGroup"}
        for g in cluster.get("ClusterParameterGroups") or []
        if g.get("ParameterGroupName")
    ]
    if cluster.get("VpcId"):
        out.append({"resourceType": "AWS::EC2::VPC", "resourceId": cluster["VpcId"], "name": "Is contained in Vpc"})
    out.extend(
        {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": g["VpcSecurityGroupId"], "name": "Is associated with SecurityGroup"}
        for g in cluster.get("VpcSecurityGroups") or []
        if g.get("VpcSecurityGroupId")
    )
    return out


SERVICE = Service(
    "redshift",
    cost=2,
    resources=(
        ResourceSpec(
            CLUSTER,
            client="redshift",
            listing=Call("DescribeClusters", "redshift:DescribeClusters", result="Clusters"),
            id="ClusterIdentifier",
            arn="arn:{partition}:redshift:{region}:{account}:cluster:{id}",
            details={
                "LoggingStatus": Call(
                    "DescribeLoggingStatus", "redshift:DescribeLoggingStatus", {"ClusterIdentifier": "ClusterIdentifier"}
                ),
            },
            tags="Tags",
            drop=("Tags",),
            relationships=cluster_relationships,
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
            client="redshift",
            listing=Call("DescribeClusterParameterGroups", "redshift:DescribeClusterParameterGroups", result="ParameterGroups"),
            id="ParameterGroupName",
            arn="arn:{partition}:redshift:{region}:{account}:parametergroup:{id}",
            details={
                "Parameters": Call(
                    "DescribeClusterParameters",
                    "redshift:DescribeClusterParameters",
                    {"ParameterGroupName": "ParameterGroupName"},
                    result="Parameters",
                    pages=True,
                ),
            },
            tags="Tags",
            drop=("Tags",),
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
)
