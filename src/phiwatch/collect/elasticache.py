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

No account-level keys.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.elasticache import CLUSTER, GROUP


@register
class ElastiCacheCollector(Collector):
    name = "elasticache"
    resource_types = (CLUSTER, GROUP)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        for resource_type, api, key, id_key, prefix, missing in (
            (CLUSTER, "DescribeCacheClusters", "CacheClusters", "CacheClusterId", "cluster", "CacheClusterNotFound"),
            (
                GROUP,
                "DescribeReplicationGroups",
                "ReplicationGroups",
                "ReplicationGroupId",
                "replicationgroup",
                "ReplicationGroupNotFoundFault",
            ),
        ):
            if not ctx.wants(resource_type):
                continue
            wanted = ctx.targets(resource_type)
            try:
                if wanted is None:
                    elements = list(ctx.paginate("elasticache", api, key, resource_type=resource_type, id_key=id_key))
                else:  # targeted: the describe call's own id parameter, one id (an ARN's last part) at a time
                    elements = []
                    for rid in sorted({i.rsplit(f":{prefix}:", 1)[-1] for i in wanted}):
                        params: dict[str, Any] = {id_key: rid}
                        elements.extend(
                            ctx.paginate(
                                "elasticache", api, key, resource_type=resource_type, not_found=(missing,), id_key=id_key, **params
                            )
                        )
            except ListFailed:
                continue
            yield from ctx.map(functools.partial(self._item, ctx, resource_type, id_key=id_key, prefix=prefix), elements)
            ctx.mark_complete(resource_type)

    def _item(self, ctx: CollectContext, resource_type: str, element: dict[str, Any], id_key: str, prefix: str) -> ConfigurationItem:
        rid = element[id_key]
        arn = element.get("ARN") or ctx.arn("elasticache", f"{prefix}:{rid}")
        relationships = []
        if resource_type == CLUSTER and element.get("ReplicationGroupId"):
            relationships.append(
                {"resourceType": GROUP, "resourceId": element["ReplicationGroupId"], "name": "Is contained in ReplicationGroup"}
            )
        item = ctx.item(resource_type, rid, resourceName=rid, arn=arn, configuration=element, relationships=relationships)
        tags = ctx.call("elasticache", "ListTagsForResource", item=item, ResourceName=arn)
        if tags is not FAILED:
            item.tags = tags_from_list(tags.get("TagList"))
        item.refresh_state_id()
        return item
