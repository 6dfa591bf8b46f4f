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
Security groups are collected by the ``ec2`` collector. The hook ``collect/vpc.py`` adds the
flow logs.
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
    ),
    iam=("ec2:DescribeFlowLogs",),
)
