"""DMS: replication instances (AWS::DMS::ReplicationInstance), regional."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

REPLICATION_INSTANCE = "AWS::DMS::ReplicationInstance"

SERVICE = Service(
    "dms",
    resources=(
        ResourceSpec(
            REPLICATION_INSTANCE,
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
    iam=(
        "dms:DescribeReplicationInstances",
        "dms:ListTagsForResource",
    ),
)
