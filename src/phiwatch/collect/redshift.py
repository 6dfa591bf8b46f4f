"""Redshift: clusters (AWS::Redshift::Cluster) and cluster parameter groups
(AWS::Redshift::ClusterParameterGroup), regional.

Item layout:

* ``AWS::Redshift::ClusterParameterGroup`` (DescribeClusterParameterGroups; default groups
  included): resourceId and resourceName ``ParameterGroupName`` (AWS Config's id), arn
  ``arn:aws:redshift:<region>:<account>:parametergroup:<name>``. ``configuration`` = the
  listing element (``ParameterGroupFamily``, ``Description``); tags from its ``Tags``.
  ``supplementaryConfiguration.Parameters``: DescribeClusterParameters' list
  (``[{"ParameterName", "ParameterValue", "Source", ...}]``; ``require_ssl`` is among them),
  absent when that call failed.
* ``AWS::Redshift::Cluster`` (DescribeClusters): resourceId and resourceName
  ``ClusterIdentifier`` (AWS Config's id), arn
  ``arn:aws:redshift:<region>:<account>:cluster:<id>``. ``configuration`` = the
  DescribeClusters element in boto3 shape; keys rules read: ``Encrypted``, ``KmsKeyId``,
  ``PubliclyAccessible``, ``AutomatedSnapshotRetentionPeriod`` (0 = automated snapshots off),
  ``AllowVersionUpgrade``, ``PreferredMaintenanceWindow``, ``NodeType``,
  ``ClusterParameterGroups`` (``[{"ParameterGroupName", "ParameterApplyStatus"}]``). Tags from
  its ``Tags``.
  ``supplementaryConfiguration.LoggingStatus``: DescribeLoggingStatus's answer
  (``{"LoggingEnabled": bool, "BucketName", "S3KeyPrefix", "LogDestinationType",
  "LogExports"}``), as in AWS Config's cluster item.
  ``supplementaryConfiguration.ParameterGroupSettings``: for each parameter group of the
  cluster, ``{<group name>: {<parameter name>: <value>}}`` for the security-relevant
  parameters ``require_ssl``, ``use_fips_ssl`` and ``enable_user_activity_logging`` (read once
  per group with DescribeClusterParameters). A change of a group's parameters therefore
  changes its clusters' items too. Absent when a group's parameters could not be read (the
  error is copied onto the cluster item).
  relationships: parameter groups, VPC, VPC security groups.

A key that is absent means its call failed (see ``collectionErrors``). No account-level keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.redshift import CLUSTER, PARAMETER_GROUP

SECURITY_PARAMETERS = ("require_ssl", "use_fips_ssl", "enable_user_activity_logging")


def _cluster_relationships(cluster: dict[str, Any]) -> list[dict[str, Any]]:
    out = [
        {"resourceType": PARAMETER_GROUP, "resourceId": g["ParameterGroupName"], "name": "Is associated with ClusterParameterGroup"}
        for g in cluster.get("ClusterParameterGroups") or []
        if g.get("ParameterGroupName")
    ]
    if cluster.get("VpcId"):
        out.append({"resourceType": "AWS::EC2::VPC", "resourceId": cluster["VpcId"], "name": "Is contained in Vpc"})
    out.extend(
        {"resourceType": "AWS::EC2::SecurityGroup", "resourceId": g["VpcSecurityGroupId"], "name": "Is associated with SecurityGroup"}
        for g in cluster.get("VpcSecurityGroups") or []
        if g.get("VpcSecurityGroupId")
    )
    return out


@register
class RedshiftCollector(Collector):
    name = "redshift"
    resource_types = (CLUSTER, PARAMETER_GROUP)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        groups: list[dict[str, Any]] | None = None
        if ctx.wants(PARAMETER_GROUP):
            try:
                groups = [
                    g
                    for g in ctx.paginate(
                        "redshift",
                        "DescribeClusterParameterGroups",
                        "ParameterGroups",
                        resource_type=PARAMETER_GROUP,
                        id_key="ParameterGroupName",
                    )
                    if ctx.selected(
                        PARAMETER_GROUP, g["ParameterGroupName"], ctx.arn("redshift", f"parametergroup:{g['ParameterGroupName']}")
                    )
                ]
            except ListFailed:
                groups = None
        clusters: list[dict[str, Any]] | None = None
        if ctx.wants(CLUSTER):
            try:
                clusters = [
                    c
                    for c in ctx.paginate("redshift", "DescribeClusters", "Clusters", resource_type=CLUSTER, id_key="ClusterIdentifier")
                    if ctx.selected(CLUSTER, c["ClusterIdentifier"], ctx.arn("redshift", f"cluster:{c['ClusterIdentifier']}"))
                ]
            except ListFailed:
                clusters = None

        # One DescribeClusterParameters per group: every listed group, plus any group a cluster
        # uses that the (failed) group listing did not give.
        group_items: dict[str, ConfigurationItem] = {g["ParameterGroupName"]: self._group_item(ctx, g) for g in groups or []}
        for cluster in clusters or []:
            for ref in cluster.get("ClusterParameterGroups") or []:
                name = ref.get("ParameterGroupName")
                if name and name not in group_items:
                    group_items[name] = self._group_item(ctx, {"ParameterGroupName": name})
        for _ in ctx.map(lambda item: self._parameters(ctx, item), list(group_items.values())):
            pass
        if groups is not None:
            for group in groups:
                yield group_items[group["ParameterGroupName"]]
            ctx.mark_complete(PARAMETER_GROUP)
        if clusters is not None:
            yield from ctx.map(lambda c: self._cluster(ctx, c, group_items), clusters)
            ctx.mark_complete(CLUSTER)

    def _group_item(self, ctx: CollectContext, group: dict[str, Any]) -> ConfigurationItem:
        name = group["ParameterGroupName"]
        configuration = {k: v for k, v in group.items() if k != "Tags"}
        return ctx.item(
            PARAMETER_GROUP,
            name,
            resourceName=name,
            arn=ctx.arn("redshift", f"parametergroup:{name}"),
            configuration=configuration,
            tags=tags_from_list(group.get("Tags")),
        )

    def _parameters(self, ctx: CollectContext, item: ConfigurationItem) -> None:
        try:
            parameters = list(
                ctx.paginate("redshift", "DescribeClusterParameters", "Parameters", item=item, ParameterGroupName=item.resourceId)
            )
        except ListFailed:
            return
        item.supplementaryConfiguration["Parameters"] = parameters
        item.refresh_state_id()

    def _cluster(self, ctx: CollectContext, cluster: dict[str, Any], group_items: dict[str, ConfigurationItem]) -> ConfigurationItem:
        cid = cluster["ClusterIdentifier"]
        configuration = {k: v for k, v in cluster.items() if k != "Tags"}
        item = ctx.item(
            CLUSTER,
            cid,
            resourceName=cid,
            arn=ctx.arn("redshift", f"cluster:{cid}"),
            configuration=configuration,
            tags=tags_from_list(cluster.get("Tags")),
            relationships=_cluster_relationships(cluster),
        )
        logging = ctx.call("redshift", "DescribeLoggingStatus", item=item, ClusterIdentifier=cid)
        if logging is not FAILED:
            item.supplementaryConfiguration["LoggingStatus"] = logging
        settings: dict[str, dict[str, Any]] = {}
        complete = True
        for ref in cluster.get("ClusterParameterGroups") or []:
            group = group_items.get(ref.get("ParameterGroupName", ""))
            if group is None:
                continue
            parameters = group.supplementaryConfiguration.get("Parameters")
            if parameters is None:
                complete = False
                item.collectionErrors.extend(
                    {**e, "resource_type": CLUSTER, "resource_id": cid}
                    for e in group.collectionErrors
                    if e.get("api") == "DescribeClusterParameters"
                )
                continue
            settings[group.resourceId] = {
                p["ParameterName"]: p.get("ParameterValue") for p in parameters if p.get("ParameterName") in SECURITY_PARAMETERS
            }
        if complete:
            item.supplementaryConfiguration["ParameterGroupSettings"] = settings
        item.refresh_state_id()
        return item
