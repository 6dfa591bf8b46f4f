"""VPC and security-group rules on a real estate in moto's server: one estate, one scan, a verdict
per named resource; denied reads and a few edge cases on constructed items."""

from __future__ import annotations

import functools

import pytest

from phiwatch.aws.session import AwsContext, make_client
from phiwatch.model import ConfigurationItem
from phiwatch.policy import Policy, parse_policy
from phiwatch.rules.registry import catalogue
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import judge_rule

ACCOUNT = "123456789012"
ZONE = "us-east-1a"


def _name(resource_type: str, name: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}, {"Key": "PHI", "Value": "Yes"}]}]


def _verdicts(outcome, aliases: dict[str, str]) -> dict:
    """Evaluations by (rule id, resource name); ``aliases`` names resources whose name is not ours
    (a security group's resourceName is its GroupName: "default")."""
    return {(e["rule_id"], aliases.get(e["resource_id"], e["resource_name"])): e for e in outcome.scan["evaluations"]}


# name -> ingress permissions
GROUPS = {
    "sg-ssh-open-ipv4": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    "sg-ssh-open-ipv6": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
    "sg-all-traffic-open": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    "sg-range-covers-rdp-open": [{"IpProtocol": "tcp", "FromPort": 3000, "ToPort": 4000, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    "sg-mysql-open-ipv6": [{"IpProtocol": "tcp", "FromPort": 3306, "ToPort": 3306, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
    "sg-ssh-internal-only": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
    "sg-https-open": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    "sg-low-ports-open": [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 1000, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    "sg-dns-udp-open-ipv6": [{"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}],
    "sg-rdp-udp-open": [{"IpProtocol": "udp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    "sg-icmp-open": [{"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
}


@pytest.fixture(scope="module")
def vpc_scan(emulator, tmp_path_factory):
    emulator.reset()
    session = emulator.session("us-east-1")
    ec2 = make_client(session, "ec2", emulator.endpoint, "us-east-1")
    logs = make_client(session, "logs", emulator.endpoint, "us-east-1")
    ids: dict[str, str] = {}
    aliases: dict[str, str] = {}

    def vpc(name: str, cidr: str) -> str:
        ids[name] = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=_name("vpc", name))["Vpc"]["VpcId"]
        return ids[name]

    def flow_log(vpc_id: str, traffic: str) -> None:
        group = f"/flow/{vpc_id}"
        logs.create_log_group(logGroupName=group)
        ec2.create_flow_logs(
            ResourceIds=[vpc_id],
            ResourceType="VPC",
            TrafficType=traffic,
            LogDestinationType="cloud-watch-logs",
            LogGroupName=group,
            DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/flow-logs",
        )

    flow_log(vpc("vpc-flowlogs-all", "10.1.0.0/16"), "ALL")
    flow_log(vpc("vpc-flowlogs-reject-only", "10.2.0.0/16"), "REJECT")
    vpc("vpc-flowlogs-off", "10.3.0.0/16")
    main = ids["vpc-flowlogs-all"]

    # default security groups: closed in one VPC, left as created (egress to anywhere) in another
    def default_group(vpc_id: str, name: str) -> str:
        group = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"][0]
        aliases[group["GroupId"]] = name
        return group["GroupId"]

    closed = default_group(ids["vpc-flowlogs-all"], "sg-default-closed")
    for direction, revoke in (
        ("IpPermissions", ec2.revoke_security_group_ingress),
        ("IpPermissionsEgress", ec2.revoke_security_group_egress),
    ):
        permissions = ec2.describe_security_groups(GroupIds=[closed])["SecurityGroups"][0][direction]
        if permissions:
            revoke(GroupId=closed, IpPermissions=permissions)
    default_group(ids["vpc-flowlogs-off"], "sg-default-open")

    for name, permissions in GROUPS.items():
        group = ec2.create_security_group(GroupName=name, Description=name, VpcId=main, TagSpecifications=_name("security-group", name))[
            "GroupId"
        ]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=permissions)
        ids[name] = group

    # subnets
    ec2.create_subnet(VpcId=main, CidrBlock="10.1.1.0/24", AvailabilityZone=ZONE, TagSpecifications=_name("subnet", "subnet-public-ip-off"))
    public = ec2.create_subnet(
        VpcId=main, CidrBlock="10.1.2.0/24", AvailabilityZone=ZONE, TagSpecifications=_name("subnet", "subnet-public-ip-on")
    )["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=public, MapPublicIpOnLaunch={"Value": True})

    # internet gateways and routes
    attached = ec2.create_internet_gateway(TagSpecifications=_name("internet-gateway", "igw-attached"))["InternetGateway"][
        "InternetGatewayId"
    ]
    ec2.attach_internet_gateway(InternetGatewayId=attached, VpcId=main)
    ec2.create_internet_gateway(TagSpecifications=_name("internet-gateway", "igw-detached"))

    def table(name: str, **route) -> str:
        table_id = ec2.create_route_table(VpcId=main, TagSpecifications=_name("route-table", name))["RouteTable"]["RouteTableId"]
        if route:
            ec2.create_route(RouteTableId=table_id, GatewayId=attached, **route)
        ids[name] = table_id
        return table_id

    table("rtb-igw-ipv4-any", DestinationCidrBlock="0.0.0.0/0")
    table("rtb-igw-ipv6-any", DestinationIpv6CidrBlock="::/0")
    table("rtb-igw-narrow", DestinationCidrBlock="203.0.113.0/24")
    table("rtb-local-only")

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('vpcrules') / 'p.db'}")
    ctx = AwsContext(endpoint_url=emulator.endpoint, regions=["us-east-1"], session=session)
    outcome = run_scan(ctx, store, Policy(), services=["ec2", "vpc"])
    assert outcome.scan["errors"] == []
    yield _verdicts(outcome, aliases), store, ctx, ids, aliases
    store.close()


def verdict(verdicts, rule_id, name):
    return verdicts[(rule_id, name)]["compliance"]


@pytest.mark.parametrize(
    "rule_id,compliant,non_compliant",
    [
        ("restricted-ssh", "sg-ssh-internal-only", "sg-ssh-open-ipv4"),
        ("restricted-common-ports", "sg-https-open", "sg-range-covers-rdp-open"),
        ("vpc-sg-open-only-to-authorized-ports", "sg-icmp-open", "sg-https-open"),
        ("vpc-default-security-group-closed", "sg-default-closed", "sg-default-open"),
        ("vpc-flow-logs-enabled", "vpc-flowlogs-all", "vpc-flowlogs-off"),
        ("subnet-auto-assign-public-ip-disabled", "subnet-public-ip-off", "subnet-public-ip-on"),
        ("internet-gateway-authorized-vpc-only", "igw-detached", "igw-attached"),
        ("no-unrestricted-route-to-igw", "rtb-igw-narrow", "rtb-igw-ipv4-any"),
    ],
)
def test_rules(vpc_scan, rule_id, compliant, non_compliant):
    verdicts = vpc_scan[0]
    assert verdict(verdicts, rule_id, compliant) == "COMPLIANT", verdicts[(rule_id, compliant)]["annotation"]
    assert verdict(verdicts, rule_id, non_compliant) == "NON_COMPLIANT"
    assert verdicts[(rule_id, non_compliant)]["annotation"]


@pytest.mark.parametrize(
    "name,expected",
    [
        ("sg-ssh-open-ipv4", "NON_COMPLIANT"),
        ("sg-ssh-open-ipv6", "NON_COMPLIANT"),
        ("sg-all-traffic-open", "NON_COMPLIANT"),
        ("sg-ssh-internal-only", "COMPLIANT"),
        ("sg-https-open", "COMPLIANT"),
        ("sg-dns-udp-open-ipv6", "COMPLIANT"),
    ],
)
def test_restricted_ssh(vpc_scan, name, expected):
    assert verdict(vpc_scan[0], "restricted-ssh", name) == expected


@pytest.mark.parametrize(
    "name,expected",
    [
        ("sg-range-covers-rdp-open", "NON_COMPLIANT"),  # 3000-4000 covers 3306 and 3389
        ("sg-mysql-open-ipv6", "NON_COMPLIANT"),
        ("sg-all-traffic-open", "NON_COMPLIANT"),
        ("sg-rdp-udp-open", "COMPLIANT"),  # the rule is about TCP
        ("sg-ssh-open-ipv4", "COMPLIANT"),  # 22 is not one of the pack's blocked ports
        ("sg-low-ports-open", "COMPLIANT"),
    ],
)
def test_restricted_common_ports(vpc_scan, name, expected):
    e = vpc_scan[0][("restricted-common-ports", name)]
    assert e["compliance"] == expected, e["annotation"]


def test_restricted_common_ports_annotation_names_ports(vpc_scan):
    annotation = vpc_scan[0][("restricted-common-ports", "sg-range-covers-rdp-open")]["annotation"]
    assert "TCP 3000-4000" in annotation and "3306" in annotation and "3389" in annotation and "0.0.0.0/0" in annotation


def test_authorized_ports_defaults(vpc_scan):
    verdicts = vpc_scan[0]
    # the pack authorizes nothing: any TCP/UDP port open to anywhere fails
    for name in ("sg-https-open", "sg-dns-udp-open-ipv6", "sg-all-traffic-open", "sg-ssh-open-ipv6"):
        assert verdict(verdicts, "vpc-sg-open-only-to-authorized-ports", name) == "NON_COMPLIANT"
    # no unrestricted inbound rule at all
    assert verdict(verdicts, "vpc-sg-open-only-to-authorized-ports", "sg-ssh-internal-only") == "NOT_APPLICABLE"
    assert verdict(verdicts, "vpc-sg-open-only-to-authorized-ports", "sg-default-closed") == "NOT_APPLICABLE"


def test_default_group_rule_not_applicable_to_other_groups(vpc_scan):
    verdicts = vpc_scan[0]
    assert verdict(verdicts, "vpc-default-security-group-closed", "sg-https-open") == "NOT_APPLICABLE"
    assert "outbound" in verdicts[("vpc-default-security-group-closed", "sg-default-open")]["annotation"]


def test_routes_and_flow_logs(vpc_scan):
    verdicts = vpc_scan[0]
    assert verdict(verdicts, "no-unrestricted-route-to-igw", "rtb-igw-ipv6-any") == "NON_COMPLIANT"
    assert verdict(verdicts, "no-unrestricted-route-to-igw", "rtb-local-only") == "COMPLIANT"
    assert verdict(verdicts, "vpc-flow-logs-enabled", "vpc-flowlogs-reject-only") == "COMPLIANT"  # no trafficType set


def test_parameters_change_verdicts(vpc_scan):
    _, store, ctx, ids, aliases = vpc_scan
    policy = parse_policy(f"""
rules:
  vpc-sg-open-only-to-authorized-ports:
    parameters: {{authorizedTcpPorts: "443,1-1024", authorizedUdpPorts: "53"}}
  vpc-flow-logs-enabled:
    parameters: {{trafficType: ALL}}
  internet-gateway-authorized-vpc-only:
    parameters: {{AuthorizedVpcIds: "{ids["vpc-flowlogs-off"]}, {ids["vpc-flowlogs-all"]}"}}
  no-unrestricted-route-to-igw:
    parameters: {{routeTableIds: "{ids["rtb-igw-ipv4-any"]}"}}
  restricted-common-ports:
    parameters: {{blockedPort1: 22}}
""")
    verdicts = _verdicts(run_scan(ctx, store, policy, collect_first=False), aliases)
    rule = "vpc-sg-open-only-to-authorized-ports"
    for name in ("sg-https-open", "sg-low-ports-open", "sg-ssh-open-ipv4", "sg-dns-udp-open-ipv6"):
        assert verdict(verdicts, rule, name) == "COMPLIANT", verdicts[(rule, name)]["annotation"]
    for name in ("sg-range-covers-rdp-open", "sg-all-traffic-open", "sg-rdp-udp-open"):
        assert verdict(verdicts, rule, name) == "NON_COMPLIANT"
    assert verdict(verdicts, "vpc-flow-logs-enabled", "vpc-flowlogs-all") == "COMPLIANT"
    assert verdict(verdicts, "vpc-flow-logs-enabled", "vpc-flowlogs-reject-only") == "NON_COMPLIANT"
    assert verdict(verdicts, "internet-gateway-authorized-vpc-only", "igw-attached") == "COMPLIANT"
    assert verdict(verdicts, "no-unrestricted-route-to-igw", "rtb-igw-ipv4-any") == "COMPLIANT"
    assert verdict(verdicts, "no-unrestricted-route-to-igw", "rtb-igw-ipv6-any") == "NON_COMPLIANT"
    assert verdict(verdicts, "restricted-common-ports", "sg-ssh-open-ipv4") == "NON_COMPLIANT"

    policy = parse_policy("""
rules:
  vpc-sg-open-only-to-authorized-ports:
    parameters: {authorizedTcpPorts: "0-65535", authorizedUdpPorts: "0-65535"}
""")
    verdicts = _verdicts(run_scan(ctx, store, policy, collect_first=False), aliases)
    assert verdict(verdicts, rule, "sg-all-traffic-open") == "COMPLIANT"


# -- constructed items ----------------------------------------------------------------------
@functools.cache
def _rules():
    return catalogue()


def _run(rule_id: str, item: ConfigurationItem, **params):
    return judge_rule(rule_id, item, lookup=lambda t: [], params=params)


def _group(name: str, ingress: list[dict], **configuration) -> ConfigurationItem:
    return ConfigurationItem(
        resourceType="AWS::EC2::SecurityGroup",
        resourceId=f"sg-{name}",
        resourceName=name,
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration={"GroupName": name, "IpPermissions": ingress, "IpPermissionsEgress": [], **configuration},
    )


def test_protocol_numbers_and_cidr_spellings():
    numeric = _group("sg-tcp-as-6", [{"IpProtocol": "6", "FromPort": 20, "ToPort": 21, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert _run("restricted-common-ports", numeric).compliance.value == "NON_COMPLIANT"
    spelled = _group(
        "sg-ipv6-any-long", [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "Ipv6Ranges": [{"CidrIpv6": "0:0:0:0:0:0:0:0/0"}]}]
    )
    assert _run("restricted-ssh", spelled).compliance.value == "NON_COMPLIANT"
    half = _group("sg-half-internet", [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/1"}]}])
    assert _run("restricted-ssh", half).compliance.value == "COMPLIANT"  # AWS: only 0.0.0.0/0 and ::/0 count


def test_invalid_authorized_ports_parameter():
    group = _group("sg-https-open", [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    result = _run("vpc-sg-open-only-to-authorized-ports", group, authorizedTcpPorts="https")
    assert result.compliance.value == "INSUFFICIENT_DATA" and "authorizedTcpPorts" in result.annotation
    assert _run("vpc-sg-open-only-to-authorized-ports", group, authorizedTcpPorts="400-450").compliance.value == "COMPLIANT"
    assert _run("vpc-sg-open-only-to-authorized-ports", group, authorizedTcpPorts="400-442,444").compliance.value == "NON_COMPLIANT"


def test_denied_reads_are_insufficient_data():
    vpc = ConfigurationItem(
        resourceType="AWS::EC2::VPC",
        resourceId="vpc-denied",
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration={"VpcId": "vpc-denied"},
        supplementaryConfiguration={},
        collectionErrors=[{"api": "DescribeFlowLogs", "error": "AccessDenied", "iam_action": "ec2:DescribeFlowLogs"}],
    )
    result = _run("vpc-flow-logs-enabled", vpc)
    assert result.compliance.value == "INSUFFICIENT_DATA"
    assert "ec2:DescribeFlowLogs" in result.annotation and "AccessDenied" in result.annotation
    vpc.collectionErrors = []
    assert _run("vpc-flow-logs-enabled", vpc) is None  # not collected, not denied: the rule does not apply
    vpc.supplementaryConfiguration["FlowLogs"] = [{"FlowLogId": "fl-1", "FlowLogStatus": "ACTIVE", "TrafficType": "ALL"}]
    assert _run("vpc-flow-logs-enabled", vpc).compliance.value == "COMPLIANT"
