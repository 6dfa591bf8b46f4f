"""RDS: DB instances, DB clusters, manual DB snapshots and manual DB cluster snapshots.

``configuration`` is the describe API's element in boto3's shape (``TagList`` included); tags
come from ``TagList`` (no extra call). Item layout per type:

* ``AWS::RDS::DBInstance`` (DescribeDBInstances): resourceId is ``DbiResourceId`` (AWS Config's
  id) when that value is unique within the region's listing, else ``DBInstanceIdentifier``
  (moto gives every instance the same ``DbiResourceId``; real AWS never does, so against AWS the
  id is always ``DbiResourceId``). resourceName ``DBInstanceIdentifier``, arn ``DBInstanceArn``.
  Keys rules read: ``StorageEncrypted``, ``KmsKeyId``, ``PubliclyAccessible``, ``MultiAZ``,
  ``BackupRetentionPeriod`` (0 = automated backups off), ``AutoMinorVersionUpgrade``,
  ``DeletionProtection``, ``EnabledCloudwatchLogsExports`` (AWS omits it when no log type is
  exported: absent = none), ``IAMDatabaseAuthenticationEnabled``, ``MonitoringInterval``
  (0 = enhanced monitoring off), ``DBClusterIdentifier`` (Aurora members).
  relationships: ``AWS::EC2::SecurityGroup`` and ``AWS::RDS::DBSubnetGroup`` (by name).
  Instances and clusters leave out ``LatestRestorableTime`` and ``EarliestRestorableTime``: they
  move every few minutes with the backups, which is not a configuration change.
* ``AWS::RDS::DBCluster`` (DescribeDBClusters): resourceId ``DbClusterResourceId`` (AWS Config's
  id) with the same uniqueness fallback to ``DBClusterIdentifier``; resourceName
  ``DBClusterIdentifier``, arn ``DBClusterArn``. Keys: ``StorageEncrypted``, ``MultiAZ``,
  ``DeletionProtection``, ``BackupRetentionPeriod``, ``EnabledCloudwatchLogsExports``, ...
  relationships: member instances (``AWS::RDS::DBInstance``, only when the instance listing of
  this run succeeded), security groups.
* ``AWS::RDS::DBSnapshot`` (DescribeDBSnapshots ``SnapshotType=manual``: automated snapshots
  cannot be shared, so they are not recorded): resourceId ``DBSnapshotIdentifier`` (the last
  part of ``DBSnapshotArn``, unique per account and region), arn ``DBSnapshotArn``. Keys:
  ``Encrypted``, ``KmsKeyId``, ``DBInstanceIdentifier``.
  ``supplementaryConfiguration.DBSnapshotAttributes``: DescribeDBSnapshotAttributes' list
  ``[{"AttributeName": "restore", "AttributeValues": [...]}]``; the snapshot is **public** when
  the ``restore`` attribute's values contain ``"all"`` (other values are account ids it is
  shared with).
* ``AWS::RDS::DBClusterSnapshot`` (DescribeDBClusterSnapshots ``SnapshotType=manual``):
  resourceId ``DBClusterSnapshotIdentifier``, arn ``DBClusterSnapshotArn``; keys
  ``StorageEncrypted``, ``KmsKeyId``; ``supplementaryConfiguration.DBClusterSnapshotAttributes``
  as above (from DescribeDBClusterSnapshotAttributes).

A supplementary key that is absent means its call failed (see ``collectionErrors``).
No account-level keys.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.rds import CLUSTER, CLUSTER_SNAPSHOT, INSTANCE, SNAPSHOT

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


@dataclass(frozen=True)
class _SnapshotKind:
    resource_type: str
    list_api: str
    result_key: str
    id_key: str
    arn_key: str
    attr_api: str
    attr_result: str
    attr_list: str
    target: str
    parent_key: str
    parent_type: str


_SNAPSHOT_KINDS = (
    _SnapshotKind(
        SNAPSHOT,
        "DescribeDBSnapshots",
        "DBSnapshots",
        "DBSnapshotIdentifier",
        "DBSnapshotArn",
        "DescribeDBSnapshotAttributes",
        "DBSnapshotAttributesResult",
        "DBSnapshotAttributes",
        "DBSnapshotAttributes",
        "DBInstanceIdentifier",
        INSTANCE,
    ),
    _SnapshotKind(
        CLUSTER_SNAPSHOT,
        "DescribeDBClusterSnapshots",
        "DBClusterSnapshots",
        "DBClusterSnapshotIdentifier",
        "DBClusterSnapshotArn",
        "DescribeDBClusterSnapshotAttributes",
        "DBClusterSnapshotAttributesResult",
        "DBClusterSnapshotAttributes",
        "DBClusterSnapshotAttributes",
        "DBClusterIdentifier",
        CLUSTER,
    ),
)


@register
class RdsCollector(Collector):
    name = "rds"
    resource_types = (INSTANCE, CLUSTER, SNAPSHOT, CLUSTER_SNAPSHOT)
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
        for kind in _SNAPSHOT_KINDS:
            if not ctx.wants(kind.resource_type):
                continue
            parents = instance_ids if kind.resource_type == SNAPSHOT else cluster_ids
            try:
                snapshots = list(
                    ctx.paginate(
                        "rds", kind.list_api, kind.result_key, resource_type=kind.resource_type, id_key=kind.id_key, SnapshotType="manual"
                    )
                )
            except ListFailed:
                continue
            snapshots = [s for s in snapshots if ctx.selected(kind.resource_type, s.get(kind.id_key), s.get(kind.arn_key))]
            yield from ctx.map(functools.partial(self._snapshot, ctx, kind, parents=parents), snapshots)
            ctx.mark_complete(kind.resource_type)

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

    def _snapshot(
        self, ctx: CollectContext, kind: _SnapshotKind, element: dict[str, Any], parents: dict[str, str] | None
    ) -> ConfigurationItem:
        name = element[kind.id_key]
        relationships = []
        parent = element.get(kind.parent_key)
        if parents is not None and parent in parents:
            relationships.append(
                {
                    "resourceType": kind.parent_type,
                    "resourceId": parents[parent],
                    "resourceName": parent,
                    "name": f"Is associated with {kind.parent_type.rsplit(':', 1)[-1]}",
                }
            )
        item = ctx.item(
            kind.resource_type,
            name,
            resourceName=name,
            arn=element.get(kind.arn_key),
            configuration=element,
            tags=tags_from_list(element.get("TagList")),
            relationships=relationships,
        )
        response = ctx.call("rds", kind.attr_api, item=item, **{kind.id_key: name})
        if response is not FAILED:
            item.supplementaryConfiguration[kind.target] = (response.get(kind.attr_result) or {}).get(kind.attr_list, [])
        item.refresh_state_id()
        return item
