"""Site-to-Site VPN: VPN connections (AWS::EC2::VPNConnection).

* resourceId ``VpnConnectionId``, arn ``arn:aws:ec2:<region>:<account>:vpn-connection/<id>``,
  resourceName the ``Name`` tag or the id. Connections in state ``deleted`` are skipped.
* ``configuration``: DescribeVpnConnections' element (``State``, ``Type``,
  ``CustomerGatewayId``, ``VpnGatewayId``/``TransitGatewayId``, ``Options``, ``Routes``,
  ``VgwTelemetry`` = one entry per tunnel with ``Status`` UP|DOWN, ``OutsideIpAddress``,
  ``StatusMessage``, ``AcceptedRouteCount``) with secrets removed: ``CustomerGatewayConfiguration``
  (the XML holds the tunnels' pre-shared keys) and each ``Options.TunnelOptions[].PreSharedKey``
  are dropped, and the volatile ``VgwTelemetry[].LastStatusChange`` too.
* ``tags``: the element's ``Tags``.

No supplementary or account keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.vpn import VPN_CONNECTION

_ID = re.compile(r"^vpn-[0-9a-f]+$")


def redact(element: dict[str, Any]) -> dict[str, Any]:
    """The element without pre-shared keys, the customer gateway configuration and status timestamps."""
    configuration = {k: v for k, v in element.items() if k not in ("CustomerGatewayConfiguration", "Tags")}
    options = configuration.get("Options")
    if isinstance(options, dict) and options.get("TunnelOptions"):
        configuration["Options"] = {
            **options,
            "TunnelOptions": [{k: v for k, v in t.items() if k != "PreSharedKey"} for t in options["TunnelOptions"]],
        }
    if configuration.get("VgwTelemetry"):
        configuration["VgwTelemetry"] = [{k: v for k, v in t.items() if k != "LastStatusChange"} for t in configuration["VgwTelemetry"]]
    return configuration


@register
class VpnCollector(Collector):
    name = "vpn"
    resource_types = (VPN_CONNECTION,)
    targetable = frozenset({VPN_CONNECTION})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(VPN_CONNECTION):  # a targeted run for other services' resources
            return
        wanted = ctx.targets(VPN_CONNECTION)
        ids = sorted({i.rsplit("/", 1)[-1] for i in wanted or ()})
        try:
            if wanted is not None and all(_ID.match(i) for i in ids):
                # targeted by id (an ARN's last part): VpnConnectionIds, one at a time (one unknown id fails the call)
                elements = [
                    e
                    for vpn_id in ids
                    for e in ctx.paginate(
                        "ec2",
                        "DescribeVpnConnections",
                        "VpnConnections",
                        resource_type=VPN_CONNECTION,
                        not_found=("InvalidVpnConnectionID.NotFound",),
                        VpnConnectionIds=[vpn_id],
                    )
                ]
            else:
                elements = list(ctx.paginate("ec2", "DescribeVpnConnections", "VpnConnections", resource_type=VPN_CONNECTION))
        except ListFailed:
            return
        for element in elements:
            if element.get("State") == "deleted":
                continue
            vpn_id = element["VpnConnectionId"]
            if not ctx.selected(
                VPN_CONNECTION, vpn_id, tags_from_list(element.get("Tags")).get("Name"), ctx.arn("ec2", f"vpn-connection/{vpn_id}")
            ):
                continue
            tags = tags_from_list(element.get("Tags"))
            relationships = [
                {"resourceType": rtype, "resourceId": element[key], "name": name}
                for key, rtype, name in (
                    ("CustomerGatewayId", "AWS::EC2::CustomerGateway", "Is attached to CustomerGateway"),
                    ("VpnGatewayId", "AWS::EC2::VPNGateway", "Is attached to VPNGateway"),
                    ("TransitGatewayId", "AWS::EC2::TransitGateway", "Is attached to TransitGateway"),
                )
                if element.get(key)
            ]
            item = ctx.item(
                VPN_CONNECTION,
                vpn_id,
                resourceName=tags.get("Name") or vpn_id,
                arn=ctx.arn("ec2", f"vpn-connection/{vpn_id}"),
                configuration=redact(element),
                tags=tags,
                relationships=relationships,
            )
            item.refresh_state_id()
            yield item
        ctx.mark_complete(VPN_CONNECTION)
