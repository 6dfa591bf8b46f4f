"""Site-to-Site VPN rules of the HIPAA pack (AWS Config managed-rule semantics).

Items come from :mod:`phiwatch.collect.vpn`: ``AWS::EC2::VPNConnection`` with
``configuration.VgwTelemetry`` (one entry per tunnel, ``Status`` UP|DOWN).
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, rule


@rule("vpc-vpn-2-tunnels-up", reads={"configuration.State": "DescribeVpnConnections"})
def vpc_vpn_2_tunnels_up(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    tunnels = get(item, "configuration.VgwTelemetry") or []
    up = sum(1 for t in tunnels if str(t.get("Status", "")).upper() == "UP")
    if up >= 2:
        return compliant(f"{up} of {len(tunnels)} tunnels are UP")
    return non_compliant(f"{up} of {len(tunnels)} tunnels are UP")
