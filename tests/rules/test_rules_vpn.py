"""vpc-vpn-2-tunnels-up: tunnel telemetry on constructed items (moto reports none), and a scan of
a moto VPN connection (no telemetry: no tunnel is UP)."""

from __future__ import annotations

import datetime as dt

import pytest

from phiwatch.model import ConfigurationItem
from phiwatch.policy import Policy
from phiwatch.rules.active import ActiveRule, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.rules.registry import catalogue
from phiwatch.scan import run_scan

ACCOUNT = "123456789012"


def _vpn(statuses):
    telemetry = [{"OutsideIpAddress": f"198.51.100.{i}", "Status": s, "StatusMessage": ""} for i, s in enumerate(statuses)]
    return ConfigurationItem(
        resourceType="AWS::EC2::VPNConnection",
        resourceId="vpn-0123456789abcdef0",
        awsRegion="us-east-1",
        accountId=ACCOUNT,
        configuration={"VpnConnectionId": "vpn-0123456789abcdef0", "State": "available", "VgwTelemetry": telemetry},
    )


@pytest.mark.parametrize(
    "statuses,expected",
    [
        (["UP", "UP"], "COMPLIANT"),
        (["UP", "DOWN"], "NON_COMPLIANT"),
        (["DOWN", "DOWN"], "NON_COMPLIANT"),
        ([], "NON_COMPLIANT"),
    ],
)
def test_both_tunnels_must_be_up(statuses, expected):
    rule = catalogue()["vpc-vpn-2-tunnels-up"]
    result = run_rule(ActiveRule(rule, {}, None), _vpn(statuses), RuleContext(now=dt.datetime.now(dt.UTC)))
    assert result.compliance.value == expected
    assert f"{statuses.count('UP')} of {len(statuses)} tunnels" in result.annotation


def test_scanned_vpn_connection_is_judged(aws_env, store):
    ec2 = aws_env.client("ec2")
    cgw = ec2.create_customer_gateway(Type="ipsec.1", PublicIp="203.0.113.20", BgpAsn=65020)["CustomerGateway"]["CustomerGatewayId"]
    vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    vpn = ec2.create_vpn_connection(Type="ipsec.1", CustomerGatewayId=cgw, VpnGatewayId=vgw)["VpnConnection"]["VpnConnectionId"]
    outcome = run_scan(aws_env.context(), store, Policy(), services=["vpn"])
    assert outcome.scan["errors"] == []
    [result] = [e for e in outcome.scan["evaluations"] if e["rule_id"] == "vpc-vpn-2-tunnels-up"]
    assert result["resource_id"] == vpn
    assert result["compliance"] == "NON_COMPLIANT" and result["annotation"] == "0 of 0 tunnels are UP"
