"""ElastiCache: cache clusters (AWS::ElastiCache::CacheCluster) and replication groups
(AWS::ElastiCache::ReplicationGroup), regional.

Item layout:

* ``AWS::ElastiCache::CacheCluster`` (DescribeCacheClusters): resourceId and resourceName the
  ``CacheClusterId`` (AWS Config's id), arn its ``ARN``. ``configuration`` = the listing element
  in boto3 shape; keys rules read: ``Engine`` (``redis``, ``valkey`` or ``memcached``),
  ``SnapshotRetentionLimit`` (days of automatic backups; 0 = off; memcached has none),
  ``ReplicationGroupId`` (set for members of a replication group, whose backups are the
  group's), ``AtRestEncryptionEnabled``, ``TransitEncryptionEnabled``.
* ``AWS::ElastiCache::ReplicationGroup`` (DescribeReplicationGroups): resourceId and
  resourceName the ``ReplicationGroupId``, arn its ``ARN``. ``configuration`` = the listing
  element: ``SnapshotRetentionLimit``, ``SnapshottingClusterId``, ``MemberClusters``, ``Engine``
  (newer API versions), ``AtRestEncryptionEnabled``, ``TransitEncryptionEnabled``, ...
* ``tags``: ListTagsForResource per ARN (``{}`` and an error on the item when it failed).
* ``relationships``: a member cluster names its replication group.

A targeted run (``watch``) describes the wanted ids (an ARN's last part) with the describe
call's own id parameter instead of listing (hook :mod:`phiwatch.collect.elasticache`).
No account-level keys.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

CLUSTER = "AWS::ElastiCache::CacheCluster"
GROUP = "AWS::ElastiCache::ReplicationGroup"


def _cluster_relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    """A member cluster is contained in its replication group."""
    group = configuration.get("ReplicationGroupId")
    return [{"resourceType": GROUP, "resourceId": group, "name": "Is contained in ReplicationGroup"}] if group else []


SERVICE = Service(
    "elasticache",
    resources=(
        ResourceSpec(
            CLUSTER,
            client="elasticache",
            listing=Call("DescribeCacheClusters", "elasticache:DescribeCacheClusters", result="CacheClusters"),
            id="CacheClusterId",
            arn=("ARN", "arn:{partition}:elasticache:{region}:{account}:cluster:{id}"),
            tags=Call("ListTagsForResource", "elasticache:ListTagsForResource", {"ResourceName": "ARN"}, result="TagList"),
            relationships=_cluster_relationships,
            events=(
                on(
                    "elasticache.amazonaws.com",
                    "CreateCacheCluster ModifyCacheCluster DeleteCacheCluster",
                    P("requestParameters.cacheClusterId"),
                ),
                on(
                    "elasticache.amazonaws.com",
                    (
                        "CreateReplicationGroup ModifyReplicationGroup DeleteReplicationGroup "
                        "IncreaseReplicaCount DecreaseReplicaCount "
                        "ModifyReplicationGroupShardConfiguration"
                    ),
                ),
                on(
                    "elasticache.amazonaws.com",
                    "AddTagsToResource RemoveTagsFromResource",
                    R("requestParameters.resourceName", "^arn:[^:]+:elasticache:[^:]*:[^:]*:cluster:(.+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            GROUP,
            client="elasticache",
            listing=Call("DescribeReplicationGroups", "elasticache:DescribeReplicationGroups", result="ReplicationGroups"),
            id="ReplicationGroupId",
            arn=("ARN", "arn:{partition}:elasticache:{region}:{account}:replicationgroup:{id}"),
            tags=Call("ListTagsForResource", "elasticache:ListTagsForResource", {"ResourceName": "ARN"}, result="TagList"),
            events=(
                on(
                    "elasticache.amazonaws.com",
                    (
                        "CreateReplicationGroup ModifyReplicationGroup DeleteReplicationGroup "
                        "IncreaseReplicaCount DecreaseReplicaCount "
                        "ModifyReplicationGroupShardConfiguration"
                    ),
                    P("requestParameters.replicationGroupId"),
                ),
                on(
                    "elasticache.amazonaws.com",
                    "AddTagsToResource RemoveTagsFromResource",
                    R("requestParameters.resourceName", "^arn:[^:]+:elasticache:[^:]*:[^:]*:replicationgroup:(.+)$"),
                    optional=True,
                ),
            ),
        ),
    ),
    iam=(
        "elasticache:DescribeCacheClusters",
        "elasticache:DescribeReplicationGroups",
    ),
)
