"""ElastiCache rules: the HIPAA pack's and other AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.elasticache`: ``configuration`` is the
DescribeCacheClusters / DescribeReplicationGroups element. The backup rule checks Redis clusters
only: Memcached (no backups) and Valkey clusters are not applicable, and a cluster that is a
member of a replication group is judged on its group, where backups are configured. A replication
group's engine version is its member clusters' (DescribeReplicationGroups gives none).
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.elasticache import CLUSTER, GROUP
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, insufficient, non_compliant, not_applicable, rule


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


# -- AWS Config managed rules beyond the HIPAA pack -----------------------------------------------

CONF = "configuration."
CLUSTER_READS = {CONF + "CacheClusterId": "DescribeCacheClusters"}
GROUP_READS = {CONF + "ReplicationGroupId": "DescribeReplicationGroups"}


def _major(version: object) -> int | None:
    """The major version of ``7.1``, ``6.x`` or ``5.0.6`` (None when it is not a version)."""
    head = str(version or "").split(".", 1)[0].strip()
    return int(head) if head.isdigit() else None


def _member_version(group: ConfigurationItem, ctx: RuleContext) -> tuple[int | None, str]:
    """(the lowest major engine version of the group's recorded member clusters, the reason when unknown).

    DescribeReplicationGroups gives no engine version: it is the member clusters' (DescribeCacheClusters),
    found by the group's MemberClusters or their ReplicationGroupId.
    """
    members = set(get(group, CONF + "MemberClusters") or [])
    versions = []
    for cluster in ctx.items(CLUSTER, account_id=group.accountId, region=group.awsRegion):
        if cluster.resourceId in members or get(cluster, CONF + "ReplicationGroupId") == group.resourceId:
            major = _major(get(cluster, CONF + "EngineVersion"))
            if major is not None:
                versions.append(major)
    if versions:
        return min(versions), ""
    return None, "could not check: no member cache cluster with an engine version is recorded for this group"


@rule(
    "elasticache-auto-minor-version-upgrade-check",
    reads=CLUSTER_READS,
    aws_identifier="ELASTICACHE_AUTO_MINOR_VERSION_UPGRADE_CHECK",
    service="Amazon ElastiCache",
    resource_types=(CLUSTER,),
    trigger="periodic",
    severity="low",
    compliant_when="The ElastiCache Redis cluster has AutoMinorVersionUpgrade set to true.",
)
def elasticache_auto_minor_version_upgrade_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Redis clusters only (as the page says): Memcached and Valkey clusters are NOT_APPLICABLE."""
    engine = str(get(item, CONF + "Engine") or "").lower()
    if engine != "redis":
        return not_applicable(f"engine is {engine or 'unknown'}, not Redis")
    if get(item, CONF + "AutoMinorVersionUpgrade") is True:
        return compliant("auto minor version upgrade is on")
    return non_compliant("auto minor version upgrade is not on")


@rule(
    "elasticache-subnet-group-check",
    reads=CLUSTER_READS,
    aws_identifier="ELASTICACHE_SUBNET_GROUP_CHECK",
    service="Amazon ElastiCache",
    resource_types=(CLUSTER,),
    trigger="periodic",
    severity="low",
    compliant_when="The ElastiCache cluster uses a custom cache subnet group (not 'default').",
)
def elasticache_subnet_group_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Every engine. A cluster with no cache subnet group (outside a VPC) uses no custom one: NON_COMPLIANT."""
    group = get(item, CONF + "CacheSubnetGroupName")
    if not group:
        return non_compliant("no cache subnet group")
    if group == "default":
        return non_compliant("uses the default cache subnet group")
    return compliant(f"uses cache subnet group {group}")


@rule(
    "elasticache-repl-grp-auto-failover-enabled",
    reads=GROUP_READS,
    aws_identifier="ELASTICACHE_REPL_GRP_AUTO_FAILOVER_ENABLED",
    service="Amazon ElastiCache",
    resource_types=(GROUP,),
    trigger="periodic",
    severity="medium",
    compliant_when="The ElastiCache replication group has AutomaticFailover 'enabled'.",
)
def elasticache_repl_grp_auto_failover_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Only ``enabled`` is compliant (``enabling`` is not yet, ``disabling`` and ``disabled`` are not)."""
    state = str(get(item, CONF + "AutomaticFailover") or "disabled")
    if state == "enabled":
        return compliant("automatic failover is enabled")
    return non_compliant(f"automatic failover is {state}")


@rule(
    "elasticache-repl-grp-encrypted-at-rest",
    reads=GROUP_READS,
    aws_identifier="ELASTICACHE_REPL_GRP_ENCRYPTED_AT_REST",
    service="Amazon ElastiCache",
    resource_types=(GROUP,),
    trigger="periodic",
    severity="high",
    compliant_when="The ElastiCache replication group is encrypted at rest (with one of approvedKMSKeyIds when set).",
    parameters={"approvedKMSKeyIds": ("str", None)},
)
def elasticache_repl_grp_encrypted_at_rest(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """approvedKMSKeyIds entries (key ids or ARNs) are matched against the group's KmsKeyId; a group
    encrypted with the default ElastiCache key (no KmsKeyId) does not match any."""
    if get(item, CONF + "AtRestEncryptionEnabled") is not True:
        return non_compliant("encryption at rest is off")
    approved = csv_list(params.get("approvedKMSKeyIds"))
    key = str(get(item, CONF + "KmsKeyId") or "")
    if approved and not any(key and (key == k or key.endswith("/" + k)) for k in approved):
        return non_compliant("encrypted at rest with a key that is not one of approvedKMSKeyIds")
    return compliant("encryption at rest is on")


@rule(
    "elasticache-repl-grp-encrypted-in-transit",
    reads=GROUP_READS,
    aws_identifier="ELASTICACHE_REPL_GRP_ENCRYPTED_IN_TRANSIT",
    service="Amazon ElastiCache",
    resource_types=(GROUP,),
    trigger="periodic",
    severity="high",
    compliant_when="The ElastiCache replication group has TransitEncryptionEnabled true.",
)
def elasticache_repl_grp_encrypted_in_transit(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "TransitEncryptionEnabled") is True:
        return compliant("encryption in transit is on")
    return non_compliant("encryption in transit is off")


@rule(
    "elasticache-repl-grp-redis-auth-enabled",
    reads=GROUP_READS,
    aws_identifier="ELASTICACHE_REPL_GRP_REDIS_AUTH_ENABLED",
    service="Amazon ElastiCache",
    resource_types=(GROUP,),
    trigger="periodic",
    severity="high",
    compliant_when="The ElastiCache replication group running Redis below 6 has Redis AUTH (an auth token) enabled.",
)
def elasticache_repl_grp_redis_auth_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """The version is the member clusters' (the group's own description has none); groups on version 6
    or later use ACLs (elasticache-rbac-auth-enabled checks them) and are NOT_APPLICABLE. With no member
    recorded the version is unknown: INSUFFICIENT_DATA."""
    major, reason = _member_version(item, ctx)
    if major is None:
        return insufficient(reason)
    if major >= 6:
        return not_applicable(f"engine version {major} uses ACLs, not AUTH tokens")
    if get(item, CONF + "AuthTokenEnabled") is True:
        return compliant("Redis AUTH is enabled")
    return non_compliant(f"engine version {major} without Redis AUTH")


@rule(
    "elasticache-rbac-auth-enabled",
    reads=GROUP_READS,
    aws_identifier="ELASTICACHE_RBAC_AUTH_ENABLED",
    service="Amazon ElastiCache",
    resource_types=(GROUP,),
    trigger="periodic",
    severity="high",
    compliant_when="The ElastiCache replication group running Redis 6 or later has a user group (one of allowedUserGroupIDs when set).",
    parameters={"allowedUserGroupIDs": ("str", None)},
)
def elasticache_rbac_auth_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """The version is the member clusters' (Valkey's 7.2 and later count as 6 or later); groups below 6
    are NOT_APPLICABLE, and with no member recorded the version is unknown: INSUFFICIENT_DATA. With
    allowedUserGroupIDs set, every user group of the group must be in it."""
    major, reason = _member_version(item, ctx)
    if major is None:
        return insufficient(reason)
    if major < 6:
        return not_applicable(f"engine version {major} has no role-based access control")
    groups = [g for g in get(item, CONF + "UserGroupIds") or [] if g]
    if not groups:
        return non_compliant("no user group: RBAC authentication is off")
    allowed = csv_list(params.get("allowedUserGroupIDs"))
    outside = sorted(g for g in groups if allowed and g not in allowed)
    if outside:
        return non_compliant(f"user group {', '.join(outside)} is not one of allowedUserGroupIDs")
    return compliant(f"RBAC authentication with user group {', '.join(sorted(groups))}")
