"""VPC networking hook: the types of :mod:`phiwatch.resources.vpc` (which describes the items)
collected from their specs, then completed here.

Needed because the specs cannot say one thing: give VPCs and subnets their flow logs from ONE
DescribeFlowLogs listing per region (a region-wide call whose elements are spread over the items
by ``ResourceId``, not a per-item call).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import collect_spec
from phiwatch.model import ConfigurationItem
from phiwatch.resources.vpc import SERVICE, SUBNET, VPC

#: the types whose items carry ``supplementaryConfiguration.FlowLogs``
WITH_FLOW_LOGS = (VPC, SUBNET)


@register
class VpcCollector(Collector):
    name = "vpc"
    resource_types = SERVICE.types

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        flow_logs, flow_log_error = self._flow_logs(ctx)

        def with_flow_logs(item: ConfigurationItem) -> None:
            if flow_logs is None:
                if flow_log_error:
                    item.collectionErrors.append(dict(flow_log_error, resource_type=item.resourceType, resource_id=item.resourceId))
                return
            item.supplementaryConfiguration["FlowLogs"] = flow_logs.get(item.resourceId, [])

        for spec in SERVICE.resources:
            for item in collect_spec(ctx, spec, "ec2"):
                if spec.type in WITH_FLOW_LOGS:
                    with_flow_logs(item)
                    item.refresh_state_id()
                yield item

    def _flow_logs(self, ctx: CollectContext) -> tuple[dict[str, list[dict[str, Any]]] | None, dict[str, Any] | None]:
        """Every flow log of the region by resource id (one paginated call), or (None, error)."""
        before = len(ctx.errors)
        by_resource: dict[str, list[dict[str, Any]]] = {}
        try:
            for flow_log in ctx.paginate("ec2", "DescribeFlowLogs", "FlowLogs", resource_type=VPC):
                by_resource.setdefault(flow_log.get("ResourceId", ""), []).append(flow_log)
        except ListFailed:
            error = ctx.errors[before].to_dict() if len(ctx.errors) > before else None
            return None, error
        for logs in by_resource.values():
            logs.sort(key=lambda f: f.get("FlowLogId", ""))
        return by_resource, None
