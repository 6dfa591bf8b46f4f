"""VPC networking hook: the types of :mod:`phiwatch.resources.vpc` (which describes the items)
collected from their specs, then completed here.

Needed because the specs cannot say one thing: give VPCs and subnets their flow logs, and VPCs
their endpoints, from ONE listing each per region (DescribeFlowLogs, DescribeVpcEndpoints: region-wide
calls whose elements are spread over the items by ``ResourceId`` / ``VpcId``, not per-item calls).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import collect_spec
from phiwatch.model import ConfigurationItem
from phiwatch.resources.vpc import SERVICE, SUBNET, VPC

#: the types whose items carry ``supplementaryConfiguration.FlowLogs``
WITH_FLOW_LOGS = (VPC, SUBNET)


def _endpoint(element: dict[str, Any]) -> dict[str, Any]:
    return {k: element.get(k) for k in ("VpcEndpointId", "ServiceName", "VpcEndpointType", "State")}


@dataclass(frozen=True)
class _Join:
    """One region-wide listing spread over items: ``api``'s ``result`` elements grouped by ``by``,
    shaped by ``shape``, sorted by ``order``, stored as ``supplementaryConfiguration[key]`` on the
    items of ``types``."""

    key: str
    api: str
    result: str
    by: str
    order: str
    types: tuple[str, ...]
    shape: Callable[[dict[str, Any]], dict[str, Any]] = dict


JOINS = (
    _Join("FlowLogs", "DescribeFlowLogs", "FlowLogs", "ResourceId", "FlowLogId", WITH_FLOW_LOGS),
    _Join("VpcEndpoints", "DescribeVpcEndpoints", "VpcEndpoints", "VpcId", "VpcEndpointId", (VPC,), _endpoint),
)


@register
class VpcCollector(Collector):
    name = "vpc"
    resource_types = SERVICE.types

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        joined = [(join, *self._listing(ctx, join)) for join in JOINS]

        def complete(item: ConfigurationItem) -> None:
            for join, by_id, error in joined:
                if item.resourceType not in join.types:
                    continue
                if by_id is None:
                    if error:
                        item.collectionErrors.append(dict(error, resource_type=item.resourceType, resource_id=item.resourceId))
                    continue
                item.supplementaryConfiguration[join.key] = by_id.get(item.resourceId, [])

        for spec in SERVICE.resources:
            for item in collect_spec(ctx, spec, "ec2"):
                if any(spec.type in join.types for join in JOINS):
                    complete(item)
                    item.refresh_state_id()
                yield item

    def _listing(self, ctx: CollectContext, join: _Join) -> tuple[dict[str, list[dict[str, Any]]] | None, dict[str, Any] | None]:
        """The region's elements of one join by resource id (one paginated call), or (None, error)."""
        before = len(ctx.errors)
        by_id: dict[str, list[dict[str, Any]]] = {}
        try:
            for element in ctx.paginate("ec2", join.api, join.result, resource_type=join.types[0]):
                if isinstance(element, dict):
                    by_id.setdefault(element.get(join.by) or "", []).append(join.shape(element))
        except ListFailed:
            error = ctx.errors[before].to_dict() if len(ctx.errors) > before else None
            return None, error
        for elements in by_id.values():
            elements.sort(key=lambda e: e.get(join.order) or "")
        return by_id, None
