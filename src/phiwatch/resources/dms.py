"""DMS: replication instances (AWS::DMS::ReplicationInstance), regional.

Item layout:

* ``resourceId`` and ``resourceName``: the ``ReplicationInstanceIdentifier``; ``arn``: the
  ``ReplicationInstanceArn``.
* ``configuration``: DescribeReplicationInstances' element in boto3 shape; keys rules read:
  ``PubliclyAccessible`` (bool), ``ReplicationInstancePublicIpAddresses``, ``KmsKeyId``,
  ``MultiAZ``, ``AutoMinorVersionUpgrade``, ``ReplicationSubnetGroup``.
* ``tags``: ListTagsForResource (``{}`` and an error on the item when it failed).
* ``relationships``: the KMS key when ``KmsKeyId`` is a key ARN or KeyId.

A targeted run (``watch``) filters DescribeReplicationInstances by the wanted identifiers, or by
the wanted ARNs (DMS answers ``ResourceNotFoundFault`` when none matches: none exists); wanting
both kinds at once lists every instance and keeps the wanted ones. No account-level keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phiwatch.resources.kms import kms_key_relationship
from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

REPLICATION_INSTANCE = "AWS::DMS::ReplicationInstance"


def _wanted_filter(wanted: frozenset[str], env: Mapping[str, str]) -> dict[str, Any]:
    """DescribeReplicationInstances' filter for a targeted run: by identifier or by ARN. DMS's filters
    of different names must all match, so wanting both kinds lists everything (the wanted are kept)."""
    arns = sorted(i for i in wanted if i.startswith("arn:"))
    names = sorted(i for i in wanted if not i.startswith("arn:"))
    if arns and names:
        return {}
    name, values = ("replication-instance-arn", arns) if arns else ("replication-instance-id", names)
    return {"Filters": [{"Name": name, "Values": values}]} if values else {}


SERVICE = Service(
    "dms",
    resources=(
        ResourceSpec(
            REPLICATION_INSTANCE,
            client="dms",
            listing=Call("DescribeReplicationInstances", "dms:DescribeReplicationInstances", result="ReplicationInstances"),
            id="ReplicationInstanceIdentifier",
            arn=("ReplicationInstanceArn", "arn:{partition}:dms:{region}:{account}:rep:{id}"),
            target_listing=_wanted_filter,
            gone=("ResourceNotFoundFault",),
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
