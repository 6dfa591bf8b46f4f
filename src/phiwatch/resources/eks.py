"""EKS: clusters (AWS::EKS::Cluster), regional.

Item layout:

* ``resourceId`` and ``resourceName``: the cluster ``name`` (AWS Config's id); ``arn``: its ``arn``.
* ``configuration``: DescribeCluster's ``cluster`` in boto3 shape without ``certificateAuthority``
  (public certificate data, large) and ``tags``. Keys rules read: ``version`` (``"1.29"``),
  ``logging.clusterLogging`` (``[{"types": [...], "enabled": bool}]``),
  ``resourcesVpcConfig.endpointPublicAccess`` / ``endpointPrivateAccess`` / ``publicAccessCidrs``,
  ``encryptionConfig`` (``[{"resources": ["secrets"], "provider": {"keyArn"}}]``, absent when
  secrets are not encrypted with KMS).
* ``tags``: the cluster's ``tags`` map.

When DescribeCluster fails the item holds only ``{"name"}`` and the error. No account-level keys.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

CLUSTER = "AWS::EKS::Cluster"

SERVICE = Service(
    "eks",
    resources=(
        ResourceSpec(
            CLUSTER,
            client="eks",
            listing=Call("ListClusters", "eks:ListClusters", result="clusters"),
            id="@",
            target=lambda identifier, env: identifier.rsplit(":cluster/", 1)[-1],
            describe=Call("DescribeCluster", "eks:DescribeCluster", {"name": "@"}, result="cluster"),
            id_key="name",
            gone=("ResourceNotFoundException",),
            arn=("arn", "arn:{partition}:eks:{region}:{account}:cluster/{id}"),
            tags="tags",
            drop=("certificateAuthority", "tags"),
            events=(
                on(
                    "eks.amazonaws.com",
                    "CreateCluster DeleteCluster UpdateClusterConfig UpdateClusterVersion AssociateEncryptionConfig",
                    P("requestParameters.name"),
                    P("requestParameters.clusterName"),
                ),
                on(
                    "eks.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceArn", "^arn:[^:]+:eks:[^:]*:[^:]*:cluster/(.+)$"),
                ),
            ),
        ),
    ),
)
