"""VPC networking: VPCs (with their flow logs), subnets, network ACLs, internet gateways, route tables."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

VPC = "AWS::EC2::VPC"
SUBNET = "AWS::EC2::Subnet"
NETWORK_ACL = "AWS::EC2::NetworkAcl"
INTERNET_GATEWAY = "AWS::EC2::InternetGateway"
ROUTE_TABLE = "AWS::EC2::RouteTable"

SERVICE = Service(
    "vpc",
    resources=(
        ResourceSpec(
            VPC,
            events=(
                on(
                    "ec2.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourcesSet.items[].resourceId", r"^(vpc-[0-9a-zA-Z]+)$"),
                    optional=True,
                ),
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
            events=(
                on(
                    "ec2.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourcesSet.items[].resourceId", r"^(subnet-[0-9a-zA-Z]+)$"),
                    optional=True,
                ),
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
            events=(
                on(
                    "ec2.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourcesSet.items[].resourceId", r"^(acl-[0-9a-zA-Z]+)$"),
                    optional=True,
                ),
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
            events=(
                on(
                    "ec2.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourcesSet.items[].resourceId", r"^(igw-[0-9a-zA-Z]+)$"),
                    optional=True,
                ),
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
            events=(
                on(
                    "ec2.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourcesSet.items[].resourceId", r"^(rtb-[0-9a-zA-Z]+)$"),
                    optional=True,
                ),
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
    iam=(
        "ec2:DescribeFlowLogs",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    ),
)
