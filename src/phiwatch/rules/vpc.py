"""VPC and security-group rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.vpc` (VPCs with ``supplementaryConfiguration.FlowLogs``,
subnets, internet gateways, route tables) and :mod:`phiwatch.collect.ec2` (security groups with
``IpPermissions`` / ``IpPermissionsEgress`` in boto3 shape). A missing key means the read failed.

Decisions where AWS's documentation leaves room (each follows the rule's documented wording):

* "Unrestricted" means a source of all IPv4 addresses (``0.0.0.0/0``) or all IPv6 addresses
  (``::/0``), in any spelling of a /0 network. Narrower ranges, other security groups and
  prefix lists are restricted (a prefix list's entries are not collected).
* Protocol ``-1`` (all traffic) opens every port of every protocol; ``6``/``17`` are TCP/UDP.
  A TCP/UDP permission without ports opens them all. A port range "covers" a port when
  ``FromPort <= port <= ToPort``.
* restricted-ssh and restricted-common-ports look at inbound TCP (and all-traffic)
  permissions from IPv4 and IPv6 unrestricted sources. Every collected security group is
  judged: whether a group is "in use" is not known without network interfaces.
* vpc-sg-open-only-to-authorized-ports: a group with no unrestricted inbound permission is
  NOT_APPLICABLE; otherwise every unrestricted TCP/UDP (or all-traffic) permission must lie
  within the authorized ranges of its protocol (none authorized by default). Other protocols
  (ICMP, ...) are not judged.
* vpc-default-security-group-closed: groups not named ``default`` are NOT_APPLICABLE.
* vpc-flow-logs-enabled: a flow log counts when its ``FlowLogStatus`` is ``ACTIVE`` and, if
  ``trafficType`` is set, its ``TrafficType`` equals it (case-insensitive).
* internet-gateway-authorized-vpc-only: an internet gateway attached to no VPC is COMPLIANT.
* no-unrestricted-route-to-igw: any route whose target is an internet gateway (``igw-…``)
  and whose destination is ``0.0.0.0/0`` or ``::/0`` (blackhole routes included), unless the
  table is listed in ``routeTableIds``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.ec2 import SECURITY_GROUP
from phiwatch.resources.vpc import INTERNET_GATEWAY, ROUTE_TABLE, SUBNET, VPC
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, insufficient, non_compliant, not_applicable, rule

CONF = "configuration."
SUP = "supplementaryConfiguration."
ALL_PORTS = (0, 65535)
_PROTOCOLS = {"-1": "all", "all": "all", "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp"}
_SG_READS = {CONF + "IpPermissions": "DescribeSecurityGroups"}


# -- security-group helpers -----------------------------------------------------------------
def _unrestricted(cidr: str | None) -> bool:
    if not cidr:
        return False
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def _protocol(permission: dict[str, Any]) -> str:
    raw = str(permission.get("IpProtocol", "")).lower()
    return _PROTOCOLS.get(raw, raw)


def _port_range(permission: dict[str, Any]) -> tuple[int, int]:
    if _protocol(permission) == "all":
        return ALL_PORTS
    low, high = permission.get("FromPort"), permission.get("ToPort")
    if low is None or high is None or low == -1 or high == -1:
        return ALL_PORTS
    return int(low), int(high)


def _open_sources(permission: dict[str, Any]) -> list[str]:
    """The unrestricted sources (0.0.0.0/0, ::/0) of one permission."""
    sources = [r.get("CidrIp") for r in permission.get("IpRanges") or []]
    sources += [r.get("CidrIpv6") for r in permission.get("Ipv6Ranges") or []]
    return [s for s in sources if _unrestricted(s)]


def _open_ingress(item: ConfigurationItem) -> Iterator[tuple[dict[str, Any], list[str]]]:
    for permission in get(item, CONF + "IpPermissions") or []:
        sources = _open_sources(permission)
        if sources:
            yield permission, sources


def _describe(permission: dict[str, Any], sources: list[str]) -> str:
    protocol = _protocol(permission)
    if protocol == "all":
        what = "all traffic"
    else:
        low, high = _port_range(permission)
        what = f"{protocol.upper()} {low}" if low == high else f"{protocol.upper()} {low}-{high}"
    return f"{what} open to {' and '.join(dict.fromkeys(sources))}"


def _open_to_ports(item: ConfigurationItem, ports: list[int]) -> list[str]:
    """Descriptions of unrestricted inbound TCP/all-traffic permissions covering any of ``ports``."""
    found = []
    for permission, sources in _open_ingress(item):
        if _protocol(permission) not in ("tcp", "all"):
            continue
        low, high = _port_range(permission)
        hit = sorted({p for p in ports if low <= p <= high})
        if hit:
            text = _describe(permission, sources)
            if (low, high) != (hit[0], hit[0]):
                text += f" (covers {', '.join(str(p) for p in hit)})"
            found.append(text)
    return found


def _parse_ranges(value: Any, name: str) -> list[tuple[int, int]]:
    """``"443,1020-1025"`` -> [(443, 443), (1020, 1025)]; ValueError naming the parameter."""
    ranges = []
    for token in csv_list(value):
        low, _, high = token.partition("-")
        try:
            a, b = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"{name}: '{token}' is not a port or a port range") from None
        if not (0 <= a <= b <= 65535):
            raise ValueError(f"{name}: '{token}' is not a port or a port range")
        ranges.append((a, b))
    return ranges


def _within(span: tuple[int, int], ranges: list[tuple[int, int]]) -> bool:
    """Whether every port of ``span`` is in the union of ``ranges``."""
    needed = span[0]
    for low, high in sorted(ranges):
        if low > needed:
            break
        needed = max(needed, high + 1)
        if needed > span[1]:
            return True
    return needed > span[1]


# -- security-group rules -------------------------------------------------------------------
@rule(
    "restricted-ssh",
    reads=_SG_READS,
    aws_identifier="INCOMING_SSH_DISABLED",
    service="Amazon VPC / EC2 networking",
    resource_types=(SECURITY_GROUP,),
    trigger="change",
    severity="high",
    compliant_when="No security group allows inbound SSH (TCP 22) from 0.0.0.0/0 or ::/0.",
    remediation="phiwatch-RevokeOpenIngress",
    aws_runbook="AWS-DisableIncomingSSHOnPort22",
)
def restricted_ssh(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    found = _open_to_ports(item, [22])
    if found:
        return non_compliant(f"inbound SSH is unrestricted: {'; '.join(found[:3])}")
    return compliant("no inbound SSH from 0.0.0.0/0 or ::/0")


@rule(
    "restricted-common-ports",
    reads=_SG_READS,
    aws_identifier="RESTRICTED_INCOMING_TRAFFIC",
    service="Amazon VPC / EC2 networking",
    resource_types=(SECURITY_GROUP,),
    trigger="change",
    severity="high",
    compliant_when="No security group allows unrestricted (0.0.0.0/0 or ::/0) inbound TCP to ports 20, 21, 3389, 3306, 4333 (pack values).",
    parameters={
        "blockedPort1": ("int", 20),
        "blockedPort2": ("int", 21),
        "blockedPort3": ("int", 3389),
        "blockedPort4": ("int", 3306),
        "blockedPort5": ("int", 4333),
    },
    remediation="phiwatch-RevokeOpenIngress",
    aws_runbook="AWSConfigRemediation-RemoveUnrestrictedSourceIngressRules",
)
def restricted_common_ports(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    ports = [int(params[f"blockedPort{i}"]) for i in range(1, 6) if params.get(f"blockedPort{i}") is not None]
    if not ports:
        return compliant("no blocked ports are configured")
    found = _open_to_ports(item, ports)
    if found:
        return non_compliant(f"blocked port(s) reachable from anywhere: {'; '.join(found[:3])}")
    return compliant(f"ports {', '.join(str(p) for p in ports)} are not open to 0.0.0.0/0 or ::/0")


@rule(
    "vpc-sg-open-only-to-authorized-ports",
    reads=_SG_READS,
    aws_identifier="VPC_SG_OPEN_ONLY_TO_AUTHORIZED_PORTS",
    service="Amazon VPC / EC2 networking",
    resource_types=(SECURITY_GROUP,),
    trigger="change+periodic",
    severity="high",
    compliant_when="Security groups open to 0.0.0.0/0 or ::/0 allow inbound TCP/UDP only on authorized ports (pack sets none, so any such open port is NON_COMPLIANT).",
    parameters={"authorizedTcpPorts": ("str", None), "authorizedUdpPorts": ("str", None)},
    remediation="phiwatch-RevokeOpenIngress",
    aws_runbook="AWSConfigRemediation-RemoveUnrestrictedSourceIngressRules",
)
def vpc_sg_open_only_to_authorized_ports(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    open_permissions = list(_open_ingress(item))
    if not open_permissions:
        return not_applicable("no inbound rule from 0.0.0.0/0 or ::/0")
    try:
        authorized = {
            "tcp": _parse_ranges(params.get("authorizedTcpPorts"), "authorizedTcpPorts"),
            "udp": _parse_ranges(params.get("authorizedUdpPorts"), "authorizedUdpPorts"),
        }
    except ValueError as exc:
        return insufficient(f"invalid parameter: {exc}")
    unauthorized = []
    for permission, sources in open_permissions:
        protocol = _protocol(permission)
        span = _port_range(permission)
        if protocol == "all":
            # all traffic opens every TCP and UDP port (other protocols are outside the rule)
            ok = _within(span, authorized["tcp"]) and _within(span, authorized["udp"])
        elif protocol in authorized:
            ok = _within(span, authorized[protocol])
        else:
            continue  # ICMP and other protocols are outside the rule
        if not ok:
            unauthorized.append(_describe(permission, sources))
    if unauthorized:
        return non_compliant(f"unauthorized port(s) open to anywhere: {'; '.join(unauthorized[:3])}")
    return compliant("only authorized ports are open to 0.0.0.0/0 or ::/0")


@rule(
    "vpc-default-security-group-closed",
    reads={**_SG_READS, CONF + "IpPermissionsEgress": "DescribeSecurityGroups"},
    aws_identifier="VPC_DEFAULT_SECURITY_GROUP_CLOSED",
    service="Amazon VPC / EC2 networking",
    resource_types=(SECURITY_GROUP,),
    trigger="change",
    severity="low",
    compliant_when="The VPC default security group has no inbound or outbound rules.",
    aws_runbook="AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules",
)
def vpc_default_security_group_closed(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "GroupName") != "default":
        return not_applicable("not a default security group")
    inbound = len(get(item, CONF + "IpPermissions") or [])
    outbound = len(get(item, CONF + "IpPermissionsEgress") or [])
    if inbound or outbound:
        return non_compliant(f"default security group has {inbound} inbound and {outbound} outbound rule(s)")
    return compliant("default security group has no inbound or outbound rules")


# -- VPCs, subnets, gateways, routes --------------------------------------------------------
@rule(
    "vpc-flow-logs-enabled",
    reads={SUP + "FlowLogs": "DescribeFlowLogs"},
    aws_identifier="VPC_FLOW_LOGS_ENABLED",
    service="Amazon VPC / EC2 networking",
    resource_types=(VPC,),
    trigger="periodic",
    severity="medium",
    compliant_when="Flow logs are enabled for the VPC (trafficType not set by the pack).",
    parameters={"trafficType": ("str", None)},
    remediation="phiwatch-EnableVpcFlowLogs",
    aws_runbook="AWSConfigRemediation-EnableVPCFlowLogsToCloudWatch",
)
def vpc_flow_logs_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    active = [f for f in get(item, SUP + "FlowLogs") or [] if str(f.get("FlowLogStatus", "")).upper() == "ACTIVE"]
    if not active:
        return non_compliant("no active flow log on the VPC")
    wanted = params.get("trafficType")
    if wanted:
        matching = [f for f in active if str(f.get("TrafficType", "")).upper() == str(wanted).upper()]
        if not matching:
            types = ", ".join(sorted({str(f.get("TrafficType")) for f in active}))
            return non_compliant(f"flow logs capture {types}, not trafficType {str(wanted).upper()}")
        return compliant(f"flow log {matching[0].get('FlowLogId')} captures {str(wanted).upper()} traffic")
    return compliant(f"flow log {active[0].get('FlowLogId')} is active ({active[0].get('TrafficType')})")


@rule(
    "subnet-auto-assign-public-ip-disabled",
    reads={CONF + "MapPublicIpOnLaunch": "DescribeSubnets"},
    aws_identifier="SUBNET_AUTO_ASSIGN_PUBLIC_IP_DISABLED",
    service="Amazon VPC / EC2 networking",
    resource_types=(SUBNET,),
    trigger="change",
    severity="critical",
    compliant_when="The VPC subnet is not configured to assign public IP addresses.",
    aws_runbook="AWSConfigRemediation-DisableSubnetAutoAssignPublicIP",
)
def subnet_auto_assign_public_ip_disabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "MapPublicIpOnLaunch"):
        return non_compliant("subnet assigns public IPv4 addresses on launch (MapPublicIpOnLaunch)")
    return compliant("subnet does not assign public IPv4 addresses on launch")


@rule(
    "internet-gateway-authorized-vpc-only",
    reads={CONF + "Attachments": "DescribeInternetGateways"},
    aws_identifier="INTERNET_GATEWAY_AUTHORIZED_VPC_ONLY",
    service="Amazon VPC / EC2 networking",
    resource_types=(INTERNET_GATEWAY,),
    trigger="change",
    severity="low",
    compliant_when="Internet gateways are attached only to VPCs listed in AuthorizedVpcIds (pack leaves it empty, so every attached IGW evaluates NON_COMPLIANT).",
    parameters={"AuthorizedVpcIds": ("str", None)},
    aws_runbook="AWSConfigRemediation-DetachAndDeleteInternetGateway",
)
def internet_gateway_authorized_vpc_only(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    vpcs = [a.get("VpcId") for a in get(item, CONF + "Attachments") or [] if a.get("VpcId") and a.get("State") != "detached"]
    if not vpcs:
        return compliant("internet gateway is not attached to a VPC")
    authorized = set(csv_list(params.get("AuthorizedVpcIds")))
    unauthorized = [v for v in vpcs if v not in authorized]
    if unauthorized:
        why = "no AuthorizedVpcIds set" if not authorized else "not in AuthorizedVpcIds"
        return non_compliant(f"attached to {', '.join(unauthorized)} ({why})")
    return compliant(f"attached only to authorized VPC {', '.join(vpcs)}")


@rule(
    "no-unrestricted-route-to-igw",
    reads={CONF + "Routes": "DescribeRouteTables"},
    aws_identifier="NO_UNRESTRICTED_ROUTE_TO_IGW",
    service="Amazon VPC / EC2 networking",
    resource_types=(ROUTE_TABLE,),
    trigger="change+periodic",
    severity="high",
    compliant_when="No route table has a route to an internet gateway with destination 0.0.0.0/0 or ::/0 (unless the table is listed in routeTableIds).",
    parameters={"routeTableIds": ("str", None)},
)
def no_unrestricted_route_to_igw(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if item.resourceId in csv_list(params.get("routeTableIds")):
        return compliant("route table is listed in routeTableIds")
    public = []
    for route in get(item, CONF + "Routes") or []:
        gateway = str(route.get("GatewayId") or "")
        if not gateway.startswith("igw-"):
            continue
        for key in ("DestinationCidrBlock", "DestinationIpv6CidrBlock"):
            if _unrestricted(route.get(key)):
                public.append(f"{route[key]} -> {gateway}")
    if public:
        return non_compliant(f"unrestricted route to an internet gateway: {', '.join(public[:3])}")
    return compliant("no 0.0.0.0/0 or ::/0 route to an internet gateway")
