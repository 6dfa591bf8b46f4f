"""Site-to-Site VPN: VPN connections (AWS::EC2::VPNConnection)."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

VPN_CONNECTION = "AWS::EC2::VPNConnection"

SERVICE = Service(
    "vpn",
    resources=(
        ResourceSpec(
            VPN_CONNECTION,
            events=(
                on(
                    "ec2.amazonaws.com",
                    "CreateTags DeleteTags",
                    R("requestParameters.resourcesSet.items[].resourceId", r"^(vpn-[0-9a-zA-Z]+)$"),
                    optional=True,
                ),
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
        ),
    ),
    iam=("ec2:DescribeVpnConnections",),
)
