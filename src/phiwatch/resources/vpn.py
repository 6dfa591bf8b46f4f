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
* ``relationships``: the customer gateway, VPN gateway and transit gateway it is attached to.

No supplementary or account keys.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.ec2 import tagged
from phiwatch.resources.spec import Call, P, ResourceSpec, Service, name_tag, on

VPN_CONNECTION = "AWS::EC2::VPNConnection"

_ATTACHMENTS = (
    ("CustomerGatewayId", "AWS::EC2::CustomerGateway", "Is attached to CustomerGateway"),
    ("VpnGatewayId", "AWS::EC2::VPNGateway", "Is attached to VPNGateway"),
    ("TransitGatewayId", "AWS::EC2::TransitGateway", "Is attached to TransitGateway"),
)


def _relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"resourceType": rtype, "resourceId": configuration[key], "name": name}
        for key, rtype, name in _ATTACHMENTS
        if configuration.get(key)
    ]


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


def _not_deleted(element: Any) -> bool:
    return not (isinstance(element, dict) and element.get("State") == "deleted")


CONNECTION = ResourceSpec(
    VPN_CONNECTION,
    client="ec2",
    listing=Call("DescribeVpnConnections", "ec2:DescribeVpnConnections", result="VpnConnections"),
    id="VpnConnectionId",
    name=name_tag(),
    arn="arn:{partition}:ec2:{region}:{account}:vpn-connection/{id}",
    tags="Tags",
    keep=_not_deleted,
    shape=redact,
    relationships=_relationships,
    events=(
        tagged("vpn-"),
        on(
            "ec2.amazonaws.com",
            (
                "CreateVpnConnection DeleteVpnConnection CreateVpnConnectionRoute "
                "DeleteVpnConnectionRoute ModifyVpnConnection ModifyVpnConnectionOptions "
                "ModifyVpnTunnelOptions ModifyVpnTunnelCertificate ReplaceVpnTunnel"
            ),
            P("requestParameters.vpnConnectionId"),
            P("responseElements.vpnConnection.vpnConnectionId"),
            P("requestParameters.ModifyVpnConnectionRequest.VpnConnectionId"),
            P("requestParameters.ModifyVpnConnectionOptionsRequest.VpnConnectionId"),
            P("requestParameters.ModifyVpnTunnelOptionsRequest.VpnConnectionId"),
            P("requestParameters.ModifyVpnTunnelCertificateRequest.VpnConnectionId"),
            P("requestParameters.ReplaceVpnTunnelRequest.VpnConnectionId"),
        ),
    ),
)

SERVICE = Service("vpn", resources=(CONNECTION,))
