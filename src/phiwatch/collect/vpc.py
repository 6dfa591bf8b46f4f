"""VPC networking: VPCs (with their flow logs), subnets, network ACLs, internet gateways, route tables.

Item layout (regional; ``configuration`` is the describe API's element in boto3 shape, with
its ``Tags`` list moved to the item's ``tags`` dict; ``resourceName`` is the ``Name`` tag or
the id; arns are ``arn:aws:ec2:<region>:<account>:<kind>/<id>``):

* ``AWS::EC2::VPC`` (id ``vpc-…``): ``configuration`` = DescribeVpcs element (``CidrBlock``,
  ``IsDefault``, ``State``, ...).
  ``supplementaryConfiguration.FlowLogs`` = the DescribeFlowLogs elements whose ``ResourceId``
  is this VPC (``FlowLogStatus``, ``TrafficType``, ``LogDestinationType``, ``LogDestination``
  / ``LogGroupName``, ``DeliverLogsStatus``, ...); ``[]`` = no flow log. The key is absent
  (and the error is on the item) when DescribeFlowLogs failed. DescribeFlowLogs is called
  once per region, not per VPC.
* ``AWS::EC2::Subnet`` (id ``subnet-…``): DescribeSubnets element incl. ``MapPublicIpOnLaunch``
  (bool), ``VpcId``, ``CidrBlock``, ``DefaultForAz``; ``supplementaryConfiguration.FlowLogs``
  as for VPCs but for subnet-level flow logs only (a VPC's flow log also covers its subnets).
* ``AWS::EC2::NetworkAcl`` (id ``acl-…``): DescribeNetworkAcls element (``Entries`` with
  ``RuleNumber``, ``Protocol``, ``RuleAction``, ``Egress``, ``CidrBlock``, ``PortRange``;
  ``Associations``; ``IsDefault``).
* ``AWS::EC2::InternetGateway`` (id ``igw-…``): DescribeInternetGateways element
  (``Attachments[].VpcId`` / ``State``).
* ``AWS::EC2::RouteTable`` (id ``rtb-…``): DescribeRouteTables element (``Routes`` with
  ``DestinationCidrBlock`` / ``DestinationIpv6CidrBlock`` and ``GatewayId`` — ``igw-…`` for
  an internet gateway —, ``Associations`` with ``SubnetId`` / ``Main``).

As everywhere: a key that is absent means the call failed (see ``collectionErrors``).
Security groups are collected by the ``ec2`` collector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, ListFailed, register
from phiwatch.collect.ec2 import relation, split_tags
from phiwatch.model import ConfigurationItem
from phiwatch.resources.vpc import INTERNET_GATEWAY, NETWORK_ACL, ROUTE_TABLE, SUBNET, VPC

RelationsFn = Callable[[dict[str, Any]], list[dict[str, Any] | None]]


def _in_vpc(element: dict[str, Any]) -> list[dict[str, Any] | None]:
    return [relation(VPC, element.get("VpcId"), "Is contained in Vpc")]


def _acl_relations(acl: dict[str, Any]) -> list[dict[str, Any] | None]:
    return _in_vpc(acl) + [relation(SUBNET, a.get("SubnetId"), "Is attached to Subnet") for a in acl.get("Associations") or []]


def _igw_relations(igw: dict[str, Any]) -> list[dict[str, Any] | None]:
    return [relation(VPC, a.get("VpcId"), "Is attached to Vpc") for a in igw.get("Attachments") or []]


def _route_table_relations(table: dict[str, Any]) -> list[dict[str, Any] | None]:
    return _in_vpc(table) + [relation(SUBNET, a.get("SubnetId"), "Is associated with Subnet") for a in table.get("Associations") or []]


@register
class VpcCollector(Collector):
    name = "vpc"
    resource_types = (VPC, SUBNET, NETWORK_ACL, INTERNET_GATEWAY, ROUTE_TABLE)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        flow_logs, flow_log_error = self._flow_logs(ctx)

        def with_flow_logs(item: ConfigurationItem) -> None:
            if flow_logs is None:
                if flow_log_error:
                    item.collectionErrors.append(dict(flow_log_error, resource_type=item.resourceType, resource_id=item.resourceId))
                return
            item.supplementaryConfiguration["FlowLogs"] = flow_logs.get(item.resourceId, [])

        yield from self._list(ctx, VPC, "DescribeVpcs", "Vpcs", "VpcId", "vpc", lambda v: [], with_flow_logs)
        yield from self._list(ctx, SUBNET, "DescribeSubnets", "Subnets", "SubnetId", "subnet", _in_vpc, with_flow_logs)
        yield from self._list(ctx, NETWORK_ACL, "DescribeNetworkAcls", "NetworkAcls", "NetworkAclId", "network-acl", _acl_relations)
        yield from self._list(
            ctx, INTERNET_GATEWAY, "DescribeInternetGateways", "InternetGateways", "InternetGatewayId", "internet-gateway", _igw_relations
        )
        yield from self._list(ctx, ROUTE_TABLE, "DescribeRouteTables", "RouteTables", "RouteTableId", "route-table", _route_table_relations)

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

    def _list(
        self,
        ctx: CollectContext,
        resource_type: str,
        api: str,
        result_key: str,
        id_key: str,
        arn_kind: str,
        relations: RelationsFn,
        extra: Callable[[ConfigurationItem], None] | None = None,
    ) -> Iterator[ConfigurationItem]:
        try:
            for element in ctx.paginate("ec2", api, result_key, resource_type=resource_type, id_key=id_key):
                configuration, tags = split_tags(element)
                resource_id = element[id_key]
                item = ctx.item(
                    resource_type,
                    resource_id,
                    resourceName=tags.get("Name") or resource_id,
                    arn=ctx.arn("ec2", f"{arn_kind}/{resource_id}"),
                    configuration=configuration,
                    tags=tags,
                    relationships=[r for r in relations(element) if r],
                )
                if extra is not None:
                    extra(item)
                item.refresh_state_id()
                yield item
        except ListFailed:
            return
        ctx.mark_complete(resource_type)
