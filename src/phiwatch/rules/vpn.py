"""Site-to-Site VPN rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.vpn`: ``AWS::EC2::VPNConnection`` with
``configuration.VgwTelemetry`` (one entry per tunnel, ``Status`` UP|DOWN).
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.vpn import VPN_CONNECTION
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, rule


@rule(
    "vpc-vpn-2-tunnels-up",
    reads={"configuration.State": "DescribeVpnConnections"},
    aws_identifier="VPC_VPN_2_TUNNELS_UP",
    service="Amazon VPC / EC2 networking",
    resource_types=(VPN_CONNECTION,),
    trigger="change",
    severity="low",
    compliant_when="Both Site-to-Site VPN tunnels of the VPN connection are UP.",
)
def vpc_vpn_2_tunnels_up(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    tunnels = get(item, "configuration.VgwTelemetry") or []
    up = sum(1 for t in tunnels if str(t.get("Status", "")).upper() == "UP")
    if up >= 2:
        return compliant(f"{up} of {len(tunnels)} tunnels are UP")
    return non_compliant(f"{up} of {len(tunnels)} tunnels are UP")
