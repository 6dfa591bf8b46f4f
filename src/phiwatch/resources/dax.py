"""DynamoDB Accelerator (DAX): clusters (AWS::DAX::Cluster), regional.

Item layout:

* ``resourceId`` and ``resourceName``: the ``ClusterName`` (AWS Config's id for DAX clusters);
  ``arn``: the ``ClusterArn`` (``arn:aws:dax:<region>:<account>:cache/<name>``).
* ``configuration``: the DescribeClusters element in boto3 shape. Keys rules read:
  ``SSEDescription`` (``{"Status": "ENABLING" | "ENABLED" | "DISABLING" | "DISABLED"}``: encryption
  at rest; AWS omits it for a cluster created without it), ``ClusterEndpointEncryptionType``
  (``NONE`` or ``TLS``), ``Status``, ``SubnetGroup``, ``SecurityGroups``, ``IamRoleArn``.
* ``tags``: ListTags per cluster ARN (``{}`` and an error on the item when it failed).
* ``relationships``: the cluster's security groups and its IAM role.

A targeted run (``watch``) lists the region's clusters and keeps the wanted ones (DescribeClusters
with ``ClusterNames`` fails as a whole when one name is unknown). No account-level keys.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on, relation

CLUSTER = "AWS::DAX::Cluster"


def _relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    out = [
        rel
        for group in configuration.get("SecurityGroups") or []
        for rel in relation("AWS::EC2::SecurityGroup", (group or {}).get("SecurityGroupIdentifier"), "Is associated with SecurityGroup")
    ]
    return out + relation("AWS::IAM::Role", configuration.get("IamRoleArn"), "Is associated with Role")


SERVICE = Service(
    "dax",
    resources=(
        ResourceSpec(
            CLUSTER,
            client="dax",
            listing=Call("DescribeClusters", "dax:DescribeClusters", result="Clusters"),
            id="ClusterName",
            arn=("ClusterArn", "arn:{partition}:dax:{region}:{account}:cache/{id}"),
            tags=Call("ListTags", "dax:ListTags", {"ResourceName": "ClusterArn"}, result="Tags"),
            relationships=_relationships,
            events=(
                on(
                    "dax.amazonaws.com",
                    "CreateCluster DeleteCluster UpdateCluster IncreaseReplicationFactor DecreaseReplicationFactor",
                    P("requestParameters.clusterName"),
                ),
                on(
                    "dax.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceName", "^arn:[^:]+:dax:[^:]*:[^:]*:cache/(.+)$"),
                ),
            ),
        ),
    ),
)
