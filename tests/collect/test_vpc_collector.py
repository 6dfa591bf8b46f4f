"""VPC collector against moto's server: flow logs on the right VPC (one call per region),
subnets' public-IP setting, network ACLs, internet gateways, route tables, deletions."""

from __future__ import annotations

from botocore.exceptions import ClientError

from phiwatch.collect.runner import collect
from phiwatch.store.diff import diff_items
from stored import stored_item

ACCOUNT = "123456789012"


def _name(resource_type: str, name: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}, {"Key": "PHI", "Value": "Yes"}]}]


def _flow_log(aws_env, vpc: str) -> str:
    logs = aws_env.client("logs")
    logs.create_log_group(logGroupName=f"/flow/{vpc}")
    return aws_env.client("ec2").create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="cloud-watch-logs",
        LogGroupName=f"/flow/{vpc}",
        DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/flow-logs",
    )["FlowLogIds"][0]


def test_flow_logs_land_on_the_right_vpc_with_one_call(aws_env, store):
    ec2 = aws_env.client("ec2")
    on = ec2.create_vpc(CidrBlock="10.10.0.0/16", TagSpecifications=_name("vpc", "vpc-flowlogs-on"))["Vpc"]["VpcId"]
    off = ec2.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=_name("vpc", "vpc-flowlogs-off"))["Vpc"]["VpcId"]
    flow_log = _flow_log(aws_env, on)

    ctx = aws_env.context()
    calls = []
    ctx.client("ec2", "us-east-1").meta.events.register("before-call.ec2.DescribeFlowLogs", lambda **kw: calls.append(kw["model"].name))
    result = collect(ctx, store, services=["vpc"])
    assert result.errors == []
    assert calls == ["DescribeFlowLogs"]  # once per region, not once per VPC

    good = stored_item(store, "vpc-flowlogs-on")
    assert good["resourceId"] == on
    assert good["arn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/{on}"
    assert good["configuration"]["CidrBlock"] == "10.10.0.0/16"
    assert good["tags"] == {"Name": "vpc-flowlogs-on", "PHI": "Yes"}
    logs = good["supplementaryConfiguration"]["FlowLogs"]
    assert [(f["FlowLogId"], f["ResourceId"], f["FlowLogStatus"], f["TrafficType"]) for f in logs] == [(flow_log, on, "ACTIVE", "ALL")]
    bad = stored_item(store, "vpc-flowlogs-off")
    assert bad["resourceId"] == off
    assert bad["supplementaryConfiguration"]["FlowLogs"] == []  # explicit: no flow log
    assert bad["collectionErrors"] == []

    # removing the flow log is a recorded change; deleting the VPC a recorded deletion
    ec2.delete_flow_logs(FlowLogIds=[flow_log])
    ec2.delete_vpc(VpcId=off)
    result = collect(ctx, store, services=["vpc"])
    gone = {(r["resource_type"], r["resource_id"]) for r in store.inventory(include_deleted=True) if r["status"] == "ResourceDeleted"}
    assert ("AWS::EC2::VPC", off) in gone
    assert {t for t, _ in gone} <= {"AWS::EC2::VPC", "AWS::EC2::RouteTable", "AWS::EC2::NetworkAcl"}  # its main table / ACL go too
    assert result.deleted == len(gone)
    versions = store.history(store.resolve(on)["id"])
    assert [v["version"] for v in versions] == [1, 2]
    changes = diff_items(versions[0]["item"], versions[1]["item"])
    assert [(c.path, c.kind) for c in changes] == [("supplementaryConfiguration.FlowLogs", "removed")]


def test_failed_flow_log_listing_leaves_key_absent(aws_env, store):
    aws_env.client("ec2").create_vpc(CidrBlock="10.30.0.0/16", TagSpecifications=_name("vpc", "vpc-flowlogs-unknown"))
    ctx = aws_env.context()

    def deny(**_):
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "denied"}}, "DescribeFlowLogs")

    ctx.client("ec2", "us-east-1").meta.events.register("before-call.ec2.DescribeFlowLogs", deny)
    result = collect(ctx, store, services=["vpc"])
    assert [(e.api, e.iam_action) for e in result.errors] == [("DescribeFlowLogs", "ec2:DescribeFlowLogs")]
    vpc = stored_item(store, "vpc-flowlogs-unknown")
    # denied is "could not check", never "no flow logs"
    assert "FlowLogs" not in vpc["supplementaryConfiguration"]
    assert [(e["api"], e["error"], e["resource_id"]) for e in vpc["collectionErrors"]] == [
        ("DescribeFlowLogs", "UnauthorizedOperation", vpc["resourceId"])
    ]
    # the VPC listing itself worked: VPCs are still in the inventory
    assert result.types_seen["AWS::EC2::VPC"] >= 1


def test_subnets_acls_gateways_route_tables(aws_env, store):
    ec2 = aws_env.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16", TagSpecifications=_name("vpc", "vpc-main"))["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24", TagSpecifications=_name("subnet", "subnet-public-ip-on-launch"))[
        "Subnet"
    ]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})
    private = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.2.0/24", TagSpecifications=_name("subnet", "subnet-private"))["Subnet"][
        "SubnetId"
    ]
    igw = ec2.create_internet_gateway(TagSpecifications=_name("internet-gateway", "igw-main"))["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc, TagSpecifications=_name("route-table", "rtb-public"))["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=table, SubnetId=public)

    result = collect(aws_env.context(), store, services=["vpc"])
    assert result.errors == []

    pub = stored_item(store, "subnet-public-ip-on-launch")
    assert pub["resourceId"] == public
    assert pub["arn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/{public}"
    assert pub["configuration"]["MapPublicIpOnLaunch"] is True
    assert pub["configuration"]["VpcId"] == vpc
    assert pub["supplementaryConfiguration"]["FlowLogs"] == []
    assert {"resourceType": "AWS::EC2::VPC", "resourceId": vpc, "relationshipName": "Is contained in Vpc"} in pub["relationships"]
    assert stored_item(store, "subnet-private")["configuration"]["MapPublicIpOnLaunch"] is False
    assert stored_item(store, private)["resourceName"] == "subnet-private"

    gateway = stored_item(store, "igw-main")
    assert gateway["resourceType"] == "AWS::EC2::InternetGateway"
    assert gateway["configuration"]["Attachments"][0]["VpcId"] == vpc
    assert gateway["relationships"] == [{"resourceType": "AWS::EC2::VPC", "resourceId": vpc, "relationshipName": "Is attached to Vpc"}]

    routes = stored_item(store, "rtb-public")
    assert routes["arn"] == f"arn:aws:ec2:us-east-1:{ACCOUNT}:route-table/{table}"
    assert any(r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("GatewayId") == igw for r in routes["configuration"]["Routes"])
    assert ("AWS::EC2::Subnet", public) in {(r["resourceType"], r["resourceId"]) for r in routes["relationships"]}

    acls = [store.item_at(r["id"])["item"] for r in store.inventory(resource_type="AWS::EC2::NetworkAcl")]
    main_acl = [a for a in acls if a["configuration"]["VpcId"] == vpc]
    assert len(main_acl) == 1 and main_acl[0]["resourceId"].startswith("acl-")
    assert main_acl[0]["configuration"]["IsDefault"] is True
    assert any(e["RuleAction"] == "allow" for e in main_acl[0]["configuration"]["Entries"])
