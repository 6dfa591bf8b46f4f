"""Redshift's hook (both types): the item layout is in :mod:`phiwatch.resources.redshift`.

Needed because no part of it fits the generic collector:

* a cluster's ``supplementaryConfiguration.ParameterGroupSettings`` copies its parameter groups'
  parameters (and their errors) onto the cluster item, reading also the groups a failed group
  listing did not give, once per group for every cluster using it;
* a parameter group's ``Parameters`` come from a paginated call (DescribeClusterParameters);
* both types read their tags from the element's ``Tags`` but leave ``Tags`` out of
  ``configuration`` (a spec's ``tags`` path is read after ``drop``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.redshift import CLUSTER, PARAMETER_GROUP, cluster_relationships

SECURITY_PARAMETERS = ("require_ssl", "use_fips_ssl", "enable_user_activity_logging")


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
            relationships=cluster_relationships(cluster),
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
