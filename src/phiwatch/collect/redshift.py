"""Redshift's hook (both types): the item layout, and the specs that read each cluster and
parameter group, are in :mod:`phiwatch.resources.redshift`.

Still needed for one irregular part: a cluster's ``supplementaryConfiguration.ParameterGroupSettings``
copies its parameter groups' parameters (and their errors) onto the cluster item. Each group's
parameters are read once (the group spec's ``Parameters`` detail) for the group's item and every
cluster using it, including the groups a failed or targeted group listing did not give.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, register
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ConfigurationItem
from phiwatch.resources.redshift import CLUSTER, PARAMETER_GROUP, SERVICE

SECURITY_PARAMETERS = ("require_ssl", "use_fips_ssl", "enable_user_activity_logging")

_SPECS = {spec.type: spec for spec in SERVICE.resources}


@register
class RedshiftCollector(Collector):
    name = "redshift"
    resource_types = (CLUSTER, PARAMETER_GROUP)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        group_run = SpecRun(ctx, _SPECS[PARAMETER_GROUP], "redshift")
        cluster_run = SpecRun(ctx, _SPECS[CLUSTER], "redshift")
        groups = group_run.elements() if ctx.wants(PARAMETER_GROUP) else None
        clusters = cluster_run.elements() if ctx.wants(CLUSTER) else None

        # One item (one DescribeClusterParameters) per group: every listed group, plus any group a
        # cluster uses that the group listing did not give (only read for its clusters).
        elements: dict[str, dict[str, Any]] = {g["ParameterGroupName"]: g for g in groups or []}
        for cluster in clusters or []:
            for ref in cluster.get("ClusterParameterGroups") or []:
                name = ref.get("ParameterGroupName")
                if name and name not in elements:
                    elements[name] = {"ParameterGroupName": name}
        group_items: dict[str, ConfigurationItem] = {}
        for item in ctx.map(group_run.item, list(elements.values())):
            if item is not None:
                group_items[item.resourceId] = item
        if groups is not None:
            for group in groups:
                yield group_items[group["ParameterGroupName"]]
            ctx.mark_complete(PARAMETER_GROUP)
        if clusters is not None:
            for item in ctx.map(cluster_run.item, clusters):
                if item is not None:
                    yield self._settings(item, group_items)
            ctx.mark_complete(CLUSTER)

    def _settings(self, item: ConfigurationItem, group_items: dict[str, ConfigurationItem]) -> ConfigurationItem:
        """The cluster's ``ParameterGroupSettings`` from its groups' items (their errors when unread)."""
        settings: dict[str, dict[str, Any]] = {}
        complete = True
        for ref in item.configuration.get("ClusterParameterGroups") or []:
            group = group_items.get(ref.get("ParameterGroupName", ""))
            if group is None:
                continue
            parameters = group.supplementaryConfiguration.get("Parameters")
            if parameters is None:
                complete = False
                item.collectionErrors.extend(
                    {**e, "resource_type": CLUSTER, "resource_id": item.resourceId}
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
