"""ElastiCache rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.elasticache`: ``configuration`` is the
DescribeCacheClusters / DescribeReplicationGroups element. AWS's rule checks Redis clusters
only: Memcached (no backups) and Valkey clusters are not applicable, and a cluster that is a
member of a replication group is judged on its group, where backups are configured.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.elasticache import CLUSTER, GROUP
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, not_applicable, rule


# absent SnapshotRetentionLimit means no automatic backups.
@rule(
    "elasticache-redis-cluster-automatic-backup-check",
    reads={},
    aws_identifier="ELASTICACHE_REDIS_CLUSTER_AUTOMATIC_BACKUP_CHECK",
    service="Amazon ElastiCache",
    resource_types=(
        CLUSTER,
        GROUP,
    ),
    trigger="periodic",
    severity="medium",
    compliant_when="The ElastiCache Redis cluster has automatic backups with SnapshotRetentionLimit >= snapshotRetentionPeriod (docs default 15 days).",
    parameters={"snapshotRetentionPeriod": ("int", 15)},
)
def elasticache_redis_cluster_automatic_backup_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    engine = str(get(item, "configuration.Engine") or "redis").lower()
    if engine != "redis":
        return not_applicable(f"engine is {engine}, not Redis")
    if item.resourceType == CLUSTER and get(item, "configuration.ReplicationGroupId"):
        return not_applicable(f"backups are set on replication group {get(item, 'configuration.ReplicationGroupId')}")
    days = int(get(item, "configuration.SnapshotRetentionLimit") or 0)
    wanted = params.get("snapshotRetentionPeriod")
    wanted = 15 if wanted is None else wanted
    if days <= 0:
        return non_compliant("automatic backups are off (SnapshotRetentionLimit 0)")
    if days < wanted:
        return non_compliant(f"automatic backups kept {days} day(s), below snapshotRetentionPeriod {wanted}")
    return compliant(f"automatic backups kept {days} day(s)")
