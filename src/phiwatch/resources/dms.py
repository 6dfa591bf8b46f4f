"""DMS: replication instances (AWS::DMS::ReplicationInstance), regional.

Item layout:

* ``resourceId`` and ``resourceName``: the ``ReplicationInstanceIdentifier``; ``arn``: the
  ``ReplicationInstanceArn``.
* ``configuration``: DescribeReplicationInstances' element in boto3 shape; keys rules read:
  ``PubliclyAccessible`` (bool), ``ReplicationInstancePublicIpAddresses``, ``KmsKeyId``,
  ``MultiAZ``, ``AutoMinorVersionUpgrade``, ``ReplicationSubnetGroup``.
* ``tags``: ListTagsForResource (``{}`` and an error on the item when it failed).
* ``relationships``: the KMS key when ``KmsKeyId`` is a key ARN or KeyId.

A targeted run (``watch``) lists the instances and keeps the wanted ones (by identifier or ARN).
No account-level keys.
"""

from __future__ import annotations

from phiwatch.resources.kms import kms_key_relationship
from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

REPLICATION_INSTANCE = "AWS::DMS::ReplicationInstance"

SERVICE = Service(
    "dms",
    resources=(
        ResourceSpec(
            REPLICATION_INSTANCE,
            client="dms",
            listing=Call("DescribeReplicationInstances", "dms:DescribeReplicationInstances", result="ReplicationInstances"),
            id="ReplicationInstanceIdentifier",
            arn=("ReplicationInstanceArn", "arn:{partition}:dms:{region}:{account}:rep:{id}"),
            tags=Call("ListTagsForResource", "dms:ListTagsForResource", {"ResourceArn": "ReplicationInstanceArn"}, result="TagList"),
            relationships=lambda configuration: kms_key_relationship(configuration.get("KmsKeyId")),
            events=(
                on(
                    "dms.amazonaws.com",
                    ("CreateReplicationInstance ModifyReplicationInstance DeleteReplicationInstance ApplyPendingMaintenanceAction"),
                    P("responseElements.replicationInstance.replicationInstanceIdentifier"),
                    P("requestParameters.replicationInstanceIdentifier"),
                    P("requestParameters.replicationInstanceArn"),
                ),
                on(
                    "dms.amazonaws.com",
                    "AddTagsToResource RemoveTagsFromResource",
                    R("requestParameters.resourceArn", "^(arn:[^:]+:dms:[^:]*:[^:]*:rep:.+)$"),
                ),
            ),
        ),
    ),
)
