"""RDS's hook: the item layout is in :mod:`phiwatch.resources.rds`.

Needed because an instance's (a cluster's) resourceId depends on the whole listing (``DbiResourceId``
only when it is unique in the region's listing, else the identifier), and the relationships of
clusters and snapshots name their members' and parents' resourceIds, known only from the instance
and cluster listings of this run. Instances and clusters are collected here; the manual snapshots
run their specs (:func:`~phiwatch.collect.generic.collect_spec`) and get their parent's
relationship added here; the DB security groups run their spec as they are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.collect.generic import collect_spec
from phiwatch.model import ConfigurationItem
from phiwatch.resources.rds import CLUSTER, CLUSTER_SNAPSHOT, DB_SECURITY_GROUP, INSTANCE, SERVICE, SNAPSHOT

MOVING_KEYS = frozenset({"LatestRestorableTime", "EarliestRestorableTime"})


def _without_moving(element: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in element.items() if k not in MOVING_KEYS}


def unique_ids(elements: list[dict[str, Any]], id_key: str, name_key: str) -> dict[str, str]:
    """name -> resourceId: ``id_key``'s value when unique in the listing, else the name."""
    counts = Counter(e.get(id_key) for e in elements)
    out: dict[str, str] = {}
    for element in elements:
        value = element.get(id_key)
        out[element[name_key]] = value if value and counts[value] == 1 else element[name_key]
    return out


def _security_groups(element: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": sg["VpcSecurityGroupId"], "name": "Is associated with SecurityGroup"}
        for sg in element.get("VpcSecurityGroups") or []
        if sg.get("VpcSecurityGroupId")
    ]


# snapshot type -> (the configuration key naming its parent, the parent's type)
_PARENTS = {SNAPSHOT: ("DBInstanceIdentifier", INSTANCE), CLUSTER_SNAPSHOT: ("DBClusterIdentifier", CLUSTER)}


@register
class RdsCollector(Collector):
    name = "rds"
    resource_types = (INSTANCE, CLUSTER, SNAPSHOT, CLUSTER_SNAPSHOT, DB_SECURITY_GROUP)
    # targeted: the listings stay whole (ids and relationships depend on them), other elements are skipped
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        instance_ids: dict[str, str] | None = None
        cluster_ids: dict[str, str] | None = None
        try:
            instances = list(
                ctx.paginate("rds", "DescribeDBInstances", "DBInstances", resource_type=INSTANCE, id_key="DBInstanceIdentifier")
            )
        except ListFailed:
            pass
        else:
            instance_ids = unique_ids(instances, "DbiResourceId", "DBInstanceIdentifier")
            for element in instances:
                name = element["DBInstanceIdentifier"]
                if ctx.selected(INSTANCE, instance_ids[name], name, element.get("DBInstanceArn")):
                    yield self._instance(ctx, element, instance_ids)
            ctx.mark_complete(INSTANCE)
        try:
            clusters = list(ctx.paginate("rds", "DescribeDBClusters", "DBClusters", resource_type=CLUSTER, id_key="DBClusterIdentifier"))
        except ListFailed:
            pass
        else:
            cluster_ids = unique_ids(clusters, "DbClusterResourceId", "DBClusterIdentifier")
            for element in clusters:
                name = element["DBClusterIdentifier"]
                if ctx.selected(CLUSTER, cluster_ids[name], name, element.get("DBClusterArn")):
                    yield self._cluster(ctx, element, cluster_ids, instance_ids)
            ctx.mark_complete(CLUSTER)
        for spec in SERVICE.resources:
            if spec.type == DB_SECURITY_GROUP:
                yield from collect_spec(ctx, spec, "rds")
            if spec.type not in _PARENTS:
                continue
            parents = instance_ids if spec.type == SNAPSHOT else cluster_ids
            for item in collect_spec(ctx, spec, "rds"):
                yield _with_parent(item, parents)

    def _instance(self, ctx: CollectContext, element: dict[str, Any], ids: dict[str, str]) -> ConfigurationItem:
        name = element["DBInstanceIdentifier"]
        relationships = _security_groups(element)
        subnet_group = (element.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
        if subnet_group:
            relationships.append(
                {
                    "resourceType": "AWS::RDS::DBSubnetGroup",
                    "resourceId": subnet_group,
                    "resourceName": subnet_group,
                    "name": "Is associated with DBSubnetGroup",
                }
            )
        item = ctx.item(
            INSTANCE,
            ids[name],
            resourceName=name,
            arn=element.get("DBInstanceArn") or ctx.arn("rds", f"db:{name}"),
            configuration=_without_moving(element),
            tags=tags_from_list(element.get("TagList")),
            relationships=relationships,
        )
        item.refresh_state_id()
        return item

    def _cluster(
        self, ctx: CollectContext, element: dict[str, Any], ids: dict[str, str], instance_ids: dict[str, str] | None
    ) -> ConfigurationItem:
        name = element["DBClusterIdentifier"]
        relationships = _security_groups(element)
        if instance_ids is not None:
            for member in element.get("DBClusterMembers") or []:
                member_name = member.get("DBInstanceIdentifier")
                if member_name in instance_ids:
                    relationships.append(
                        {
                            "resourceType": INSTANCE,
                            "resourceId": instance_ids[member_name],
                            "resourceName": member_name,
                            "name": "Contains DBInstance",
                        }
                    )
        item = ctx.item(
            CLUSTER,
            ids[name],
            resourceName=name,
            arn=element.get("DBClusterArn") or ctx.arn("rds", f"cluster:{name}"),
            configuration=_without_moving(element),
            tags=tags_from_list(element.get("TagList")),
            relationships=relationships,
        )
        item.refresh_state_id()
        return item


def _with_parent(item: ConfigurationItem, parents: dict[str, str] | None) -> ConfigurationItem:
    """A snapshot's item with its parent instance (cluster) as relationship, when that was listed in this run."""
    parent_key, parent_type = _PARENTS[item.resourceType]
    parent = item.configuration.get(parent_key)
    if parents is not None and parent in parents:
        item.relationships = [
            {
                "resourceType": parent_type,
                "resourceId": parents[parent],
                "resourceName": parent,
                "name": f"Is associated with {parent_type.rsplit(':', 1)[-1]}",
            }
        ]
        item.refresh_state_id()
    return item
