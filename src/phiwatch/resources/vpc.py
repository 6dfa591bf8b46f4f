"""VPC networking: VPCs (with their flow logs and endpoints), subnets, network ACLs, internet gateways,
route tables, transit gateways, VPC peering connections.

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
  ``supplementaryConfiguration.VpcEndpoints`` = the VPC's endpoints from one DescribeVpcEndpoints
  listing per region, each ``{VpcEndpointId, ServiceName, VpcEndpointType, State}`` sorted by id
  (``[]``: none; absent with the error on the item when the listing failed).
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
* ``AWS::EC2::TransitGateway`` (id ``tgw-…``, arn ``TransitGatewayArn``): DescribeTransitGateways
  element (``State``, ``Options.AutoAcceptSharedAttachments`` ``enable``/``disable``, ...);
  deleted gateways are not recorded.
* ``AWS::EC2::VPCPeeringConnection`` (id ``pcx-…``): DescribeVpcPeeringConnections element
  (``Status.Code``, ``AccepterVpcInfo`` / ``RequesterVpcInfo`` with ``VpcId``, ``OwnerId`` and,
  once active, ``PeeringOptions.AllowDnsResolutionFromRemoteVpc``); connections that are
  deleted, rejected, failed or expired are not recorded.

As everywhere: a key that is absent means the call failed (see ``collectionErrors``).
Security groups are collected by the ``ec2`` collector. The hook ``collect/vpc.py`` adds the
flow logs and the endpoints.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.ec2 import ec2_arn, tagged
from phiwatch.resources.spec import Call, P, ResourceSpec, Service, name_tag, on, relation

VPC = "AWS::EC2::VPC"
SUBNET = "AWS::EC2::Subnet"
NETWORK_ACL = "AWS::EC2::NetworkAcl"
INTERNET_GATEWAY = "AWS::EC2::InternetGateway"
ROUTE_TABLE = "AWS::EC2::RouteTable"
TRANSIT_GATEWAY = "AWS::EC2::TransitGateway"
VPC_PEERING_CONNECTION = "AWS::EC2::VPCPeeringConnection"

#: peering connections in these states are gone (AWS lists them for a while after)
_PEERING_ENDED = frozenset({"deleted", "deleting", "rejected", "failed", "expired"})


def _in_vpc(element: dict[str, Any]) -> list[dict[str, Any]]:
    return relation(VPC, element.get("VpcId"), "Is contained in Vpc")


def _acl_relations(acl: dict[str, Any]) -> list[dict[str, Any]]:
    return _in_vpc(acl) + [r for a in acl.get("Associations") or [] for r in relation(SUBNET, a.get("SubnetId"), "Is attached to Subnet")]


def _igw_relations(igw: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for a in igw.get("Attachments") or [] for r in relation(VPC, a.get("VpcId"), "Is attached to Vpc")]


def _route_table_relations(table: dict[str, Any]) -> list[dict[str, Any]]:
    return _in_vpc(table) + [
        r for a in table.get("Associations") or [] for r in relation(SUBNET, a.get("SubnetId"), "Is associated with Subnet")
    ]


def _transit_gateway_exists(gateway: Any) -> bool:
    return gateway.get("State") not in ("deleted", "deleting")


def _peering_exists(connection: Any) -> bool:
    return (connection.get("Status") or {}).get("Code") not in _PEERING_ENDED


def _peering_relations(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r
        for side, name in (("RequesterVpcInfo", "Is associated with requester Vpc"), ("AccepterVpcInfo", "Is associated with accepter Vpc"))
        for r in relation(VPC, (connection.get(side) or {}).get("VpcId"), name)
    ]


SERVICE = Service(
    "vpc",
    resources=(
        ResourceSpec(
            VPC,
            client="ec2",
            listing=Call("DescribeVpcs", "ec2:DescribeVpcs", result="Vpcs"),
            id="VpcId",
            name=name_tag(),
            arn=ec2_arn("vpc"),
            tags="Tags",
            drop=("Tags",),
            events=(
                tagged("vpc-"),
                on(
                    "ec2.amazonaws.com",
                    "CreateVpc DeleteVpc ModifyVpcAttribute CreateFlowLogs DeleteFlowLogs",
                    P("requestParameters.vpcId"),
                    P("responseElements.vpc.vpcId"),
                    P("requestParameters.CreateFlowLogsRequest.ResourceId"),
                ),
                # its endpoints (supplementaryConfiguration.VpcEndpoints); a deletion names no VPC
                on(
                    "ec2.amazonaws.com",
                    "CreateVpcEndpoint ModifyVpcEndpoint DeleteVpcEndpoints",
                    P("requestParameters.CreateVpcEndpointRequest.VpcId"),
                    P("responseElements.CreateVpcEndpointResponse.vpcEndpoint.vpcId"),
                ),
            ),
        ),
        ResourceSpec(
            SUBNET,
            client="ec2",
            listing=Call("DescribeSubnets", "ec2:DescribeSubnets", result="Subnets"),
            id="SubnetId",
            name=name_tag(),
            arn=ec2_arn("subnet"),
            tags="Tags",
            drop=("Tags",),
            relationships=_in_vpc,
            events=(
                tagged("subnet-"),
                on(
                    "ec2.amazonaws.com",
                    "CreateSubnet DeleteSubnet ModifySubnetAttribute",
                    P("requestParameters.subnetId"),
                    P("responseElements.subnet.subnetId"),
                ),
            ),
        ),
        ResourceSpec(
            NETWORK_ACL,
            client="ec2",
            listing=Call("DescribeNetworkAcls", "ec2:DescribeNetworkAcls", result="NetworkAcls"),
            id="NetworkAclId",
            name=name_tag(),
            arn=ec2_arn("network-acl"),
            tags="Tags",
            drop=("Tags",),
            relationships=_acl_relations,
            events=(
                tagged("acl-"),
                on(
                    "ec2.amazonaws.com",
                    (
                        "CreateNetworkAcl DeleteNetworkAcl CreateNetworkAclEntry ReplaceNetworkAclEntry "
                        "DeleteNetworkAclEntry ReplaceNetworkAclAssociation"
                    ),
                    P("requestParameters.networkAclId"),
                    P("responseElements.networkAcl.networkAclId"),
                ),
            ),
        ),
        ResourceSpec(
            INTERNET_GATEWAY,
            client="ec2",
            listing=Call("DescribeInternetGateways", "ec2:DescribeInternetGateways", result="InternetGateways"),
            id="InternetGatewayId",
            name=name_tag(),
            arn=ec2_arn("internet-gateway"),
            tags="Tags",
            drop=("Tags",),
            relationships=_igw_relations,
            events=(
                tagged("igw-"),
                on(
                    "ec2.amazonaws.com",
                    ("CreateInternetGateway DeleteInternetGateway AttachInternetGateway DetachInternetGateway"),
                    P("requestParameters.internetGatewayId"),
                    P("responseElements.internetGateway.internetGatewayId"),
                ),
            ),
        ),
        ResourceSpec(
            ROUTE_TABLE,
            client="ec2",
            listing=Call("DescribeRouteTables", "ec2:DescribeRouteTables", result="RouteTables"),
            id="RouteTableId",
            name=name_tag(),
            arn=ec2_arn("route-table"),
            tags="Tags",
            drop=("Tags",),
            relationships=_route_table_relations,
            events=(
                tagged("rtb-"),
                on(
                    "ec2.amazonaws.com",
                    (
                        "CreateRouteTable DeleteRouteTable CreateRoute ReplaceRoute DeleteRoute "
                        "AssociateRouteTable DisassociateRouteTable ReplaceRouteTableAssociation"
                    ),
                    P("requestParameters.routeTableId"),
                    P("responseElements.routeTable.routeTableId"),
                ),
            ),
        ),
        ResourceSpec(
            TRANSIT_GATEWAY,
            client="ec2",
            listing=Call("DescribeTransitGateways", "ec2:DescribeTransitGateways", result="TransitGateways"),
            keep=_transit_gateway_exists,
            id="TransitGatewayId",
            name=name_tag(),
            arn=("TransitGatewayArn", ec2_arn("transit-gateway")),
            tags="Tags",
            drop=("Tags",),
            events=(
                tagged("tgw-"),
                on(
                    "ec2.amazonaws.com",
                    "CreateTransitGateway ModifyTransitGateway DeleteTransitGateway",
                    P("requestParameters.ModifyTransitGatewayRequest.TransitGatewayId"),
                    P("requestParameters.DeleteTransitGatewayRequest.TransitGatewayId"),
                    P("responseElements.CreateTransitGatewayResponse.transitGateway.transitGatewayId"),
                ),
            ),
        ),
        ResourceSpec(
            VPC_PEERING_CONNECTION,
            client="ec2",
            listing=Call("DescribeVpcPeeringConnections", "ec2:DescribeVpcPeeringConnections", result="VpcPeeringConnections"),
            keep=_peering_exists,
            id="VpcPeeringConnectionId",
            name=name_tag(),
            arn=ec2_arn("vpc-peering-connection"),
            tags="Tags",
            drop=("Tags",),
            relationships=_peering_relations,
            events=(
                tagged("pcx-"),
                on(
                    "ec2.amazonaws.com",
                    (
                        "CreateVpcPeeringConnection AcceptVpcPeeringConnection RejectVpcPeeringConnection "
                        "DeleteVpcPeeringConnection ModifyVpcPeeringConnectionOptions"
                    ),
                    P("requestParameters.vpcPeeringConnectionId"),
                    P("requestParameters.ModifyVpcPeeringConnectionOptionsRequest.VpcPeeringConnectionId"),
                    P("responseElements.vpcPeeringConnection.vpcPeeringConnectionId"),
                ),
            ),
        ),
    ),
    iam=("ec2:DescribeFlowLogs", "ec2:DescribeVpcEndpoints"),
)
