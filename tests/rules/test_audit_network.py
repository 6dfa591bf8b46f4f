"""Network, EC2 and Systems Manager rules checked against AWS's current rule pages: cases where
phiwatch's verdict or parameter handling differed from AWS's."""

from __future__ import annotations

import pytest

from phiwatch.errors import UsageError
from phiwatch.policy import Policy, parse_policy
from phiwatch.rules.active import active_rules, resolve_rules
from phiwatch.scan import run_scan
from phiwatch.store import Store
from rule_runner import built_item, judge_rule

ZONE = "us-east-1a"


def _tags(resource_type: str, name: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}]}]


# -- subnet-auto-assign-public-ip-disabled: IPv6 auto-assignment counts (AWS's current page) -----------
def test_subnet_auto_assigning_ipv6_addresses_is_non_compliant(aws_env, tmp_path):
    ec2 = aws_env.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", AmazonProvidedIpv6CidrBlock=True)["Vpc"]["VpcId"]
    ipv4_only = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone=ZONE, TagSpecifications=_tags("subnet", "ipv4-only"))
    ipv6 = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.2.0/24", AvailabilityZone=ZONE, TagSpecifications=_tags("subnet", "ipv6-auto"))
    ec2.modify_subnet_attribute(SubnetId=ipv6["Subnet"]["SubnetId"], AssignIpv6AddressOnCreation={"Value": True})
    assert ipv4_only["Subnet"]["MapPublicIpOnLaunch"] is False

    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        outcome = run_scan(aws_env.context(), store, Policy(), services=["ec2", "vpc"])
    finally:
        store.close()
    verdicts = {e["resource_name"]: e for e in outcome.scan["evaluations"] if e["rule_id"] == "subnet-auto-assign-public-ip-disabled"}
    assert verdicts["ipv6-auto"]["compliance"] == "NON_COMPLIANT", verdicts["ipv6-auto"]["annotation"]
    assert "IPv6" in verdicts["ipv6-auto"]["annotation"]
    assert verdicts["ipv4-only"]["compliance"] == "COMPLIANT"


def test_subnet_auto_assign_both_kinds_named():
    subnet = built_item("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": True, "AssignIpv6AddressOnCreation": True})
    result = judge_rule("subnet-auto-assign-public-ip-disabled", subnet)
    assert result.compliance.value == "NON_COMPLIANT"
    assert "IPv4" in result.annotation and "IPv6" in result.annotation


# -- restricted-common-ports: the blockedPorts list of AWS's current page ------------------------------
def _group(*permissions: dict) -> object:
    return built_item(
        "AWS::EC2::SecurityGroup",
        {"GroupName": "web", "IpPermissions": list(permissions), "IpPermissionsEgress": []},
        resource_id="sg-web",
    )


def _open(port: int, protocol: str = "tcp") -> dict:
    return {"IpProtocol": protocol, "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def test_blocked_ports_list_blocks_its_ports_as_well():
    group = _group(_open(8080))
    assert judge_rule("restricted-common-ports", group).compliance.value == "COMPLIANT"  # 8080 is none of the defaults
    result = judge_rule("restricted-common-ports", group, params={"blockedPorts": " 22, 8080 ,"})
    assert result.compliance.value == "NON_COMPLIANT" and "8080" in result.annotation
    # the blockedPortN defaults still apply alongside the list
    assert judge_rule("restricted-common-ports", _group(_open(3389)), params={"blockedPorts": "8080"}).compliance.value == "NON_COMPLIANT"
    assert judge_rule("restricted-common-ports", group, params={"blockedPorts": ""}).compliance.value == "COMPLIANT"


@pytest.mark.parametrize("value", ["ssh", "22-23", "70000", "²"])
def test_blocked_ports_list_that_is_not_ports_cannot_be_checked(value):
    result = judge_rule("restricted-common-ports", _group(_open(8080)), params={"blockedPorts": value})
    assert result.compliance.value == "INSUFFICIENT_DATA" and "blockedPorts" in result.annotation


def test_a_policy_may_set_blocked_ports():
    policy = parse_policy('packs: [hipaa]\nrules:\n  restricted-common-ports:\n    parameters: {blockedPorts: "22, 8080"}\n')
    active = {a.rule.id: a for a in active_rules(policy, resolve_rules(policy))}
    assert active["restricted-common-ports"].params["blockedPorts"] == "22, 8080"
    with pytest.raises(UsageError):
        bad = parse_policy("packs: [hipaa]\nrules:\n  restricted-common-ports:\n    parameters: {blockedPortz: 22}\n")
        resolve_rules(bad)


# -- parameters given with surrounding spaces ------------------------------------------------------
def test_vpc_id_parameter_with_spaces():
    instance = built_item("AWS::EC2::Instance", {"InstanceId": "i-1", "VpcId": "vpc-123"}, resource_id="i-1")
    assert judge_rule("ec2-instances-in-vpc", instance, params={"vpcId": " vpc-123 "}).compliance.value == "COMPLIANT"
    assert judge_rule("ec2-instances-in-vpc", instance, params={"vpcId": ""}).compliance.value == "COMPLIANT"
    assert judge_rule("ec2-instances-in-vpc", instance, params={"vpcId": "vpc-999"}).compliance.value == "NON_COMPLIANT"


def test_flow_log_traffic_type_parameter_with_spaces_and_case():
    vpc = built_item(
        "AWS::EC2::VPC",
        {"VpcId": "vpc-1"},
        {"FlowLogs": [{"FlowLogId": "fl-1", "FlowLogStatus": "ACTIVE", "TrafficType": "ALL"}]},
        resource_id="vpc-1",
    )
    assert judge_rule("vpc-flow-logs-enabled", vpc, params={"trafficType": " all "}).compliance.value == "COMPLIANT"
    assert judge_rule("vpc-flow-logs-enabled", vpc, params={"trafficType": "  "}).compliance.value == "COMPLIANT"
    assert judge_rule("vpc-flow-logs-enabled", vpc, params={"trafficType": "REJECT"}).compliance.value == "NON_COMPLIANT"
