"""ElastiCache: cache clusters (AWS::ElastiCache::CacheCluster) and replication groups"""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

CLUSTER = "AWS::ElastiCache::CacheCluster"
GROUP = "AWS::ElastiCache::ReplicationGroup"

SERVICE = Service(
    "elasticache",
    resources=(
        ResourceSpec(
            CLUSTER,
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
        "elasticache:ListTagsForResource",
    ),
)
