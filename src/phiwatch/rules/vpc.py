"""VPC, network ACL and security-group rules: the HIPAA pack's and the other AWS Config managed rules
(AWS's semantics).

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
  permissions from IPv4 and IPv6 unrestricted sources (AWS's current pages name ``::/0``; the 2023
  text said IPv4 only). Every collected security group is judged, attached to a network
  interface or not: AWS's "security groups in use" names no filter, and an open group not yet
  attached is reported before it is used. restricted-common-ports blocks the ports of
  ``blockedPorts`` (AWS's current page; not in the 2023 reference) as well as blockedPort1..5's.
* subnet-auto-assign-public-ip-disabled: ``MapPublicIpOnLaunch`` or ``AssignIpv6AddressOnCreation``
  set is NON_COMPLIANT (AWS's current page: public IPv4 or IPv6; the 2023 text named IPv4 only).
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
* ec2-security-group-attached-to-eni (and -periodic): a VPC's default group, or a group another
  account owns, is NOT_APPLICABLE; any network interface counts, whatever its status.
* nacl-no-unrestricted-ssh-rdp: an inbound ``allow`` entry from ``0.0.0.0/0`` or ``::/0`` for TCP,
  UDP or all protocols whose port range covers 22 or 3389 (no range: every port), unless a
  lower-numbered ``deny`` entry from the same /0 source covers the same protocol and port first
  (entries are evaluated in rule-number order, as AWS applies them). Narrower sources are
  restricted.
* vpc-network-acl-unused-check: any ACL with no subnet association, default ACLs included.
* vpc-peering-dns-resolution-check: a connection that is not ``active`` is NOT_APPLICABLE (peering
  options exist only once active). Both sides must allow DNS resolution from the remote VPC;
  with ``vpcIds``, only the sides whose VPC is listed are checked and a connection with neither
  listed is NOT_APPLICABLE.
* service-vpc-endpoint-enabled: AWS's current page judges ``AWS::EC2::VPC`` (the 2023 list had no
  type), so each VPC is judged. ``serviceName`` is the full name or its suffix after a dot (``s3``
  matches ``com.amazonaws.us-east-1.s3``); endpoints that are deleted, deleting, failed, rejected
  or expired do not count. ``serviceName`` is required: the rule does not run without it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.ec2 import SECURITY_GROUP
from phiwatch.resources.vpc import INTERNET_GATEWAY, NETWORK_ACL, ROUTE_TABLE, SUBNET, TRANSIT_GATEWAY, VPC, VPC_PEERING_CONNECTION
from phiwatch.rules.base import REQUIRED, Result, RuleContext, compliant, csv_list, get, insufficient, non_compliant, not_applicable, rule

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
    compliant_when="No security group allows unrestricted (0.0.0.0/0 or ::/0) inbound TCP to ports 20, 21, 3389, 3306, 4333 (pack values) or to blockedPorts.",
    parameters={
        "blockedPort1": ("int", 20),
        "blockedPort2": ("int", 21),
        "blockedPort3": ("int", 3389),
        "blockedPort4": ("int", 3306),
        "blockedPort5": ("int", 4333),
        "blockedPorts": ("str", None),
    },
    remediation="phiwatch-RevokeOpenIngress",
    aws_runbook="AWSConfigRemediation-RemoveUnrestrictedSourceIngressRules",
)
def restricted_common_ports(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``blockedPorts`` is the comma-separated list of blocked TCP ports AWS's current page adds (the
    2023 reference had only blockedPort1..5); its ports are blocked as well as blockedPort1..5's. A
    part of it that is not a port number makes the verdict "could not check"."""
    ports = [int(params[f"blockedPort{i}"]) for i in range(1, 6) if params.get(f"blockedPort{i}") not in (None, "")]
    for token in csv_list(params.get("blockedPorts")):
        if not re.fullmatch(r"[0-9]{1,5}", token) or int(token) > 65535:
            return insufficient(f"invalid parameter: blockedPorts: '{token}' is not a port number")
        ports.append(int(token))
    ports = list(dict.fromkeys(ports))
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
    wanted = str(params.get("trafficType") or "").strip().upper()
    if wanted:
        matching = [f for f in active if str(f.get("TrafficType", "")).upper() == wanted]
        if not matching:
            types = ", ".join(sorted({str(f.get("TrafficType")) for f in active}))
            return non_compliant(f"flow logs capture {types}, not trafficType {wanted}")
        return compliant(f"flow log {matching[0].get('FlowLogId')} captures {wanted} traffic")
    return compliant(f"flow log {active[0].get('FlowLogId')} is active ({active[0].get('TrafficType')})")


@rule(
    "subnet-auto-assign-public-ip-disabled",
    reads={CONF + "MapPublicIpOnLaunch": "DescribeSubnets"},
    aws_identifier="SUBNET_AUTO_ASSIGN_PUBLIC_IP_DISABLED",
    service="Amazon VPC / EC2 networking",
    resource_types=(SUBNET,),
    trigger="change",
    severity="critical",
    compliant_when="The VPC subnet is not configured to assign public IPv4 or IPv6 addresses on launch.",
    aws_runbook="AWSConfigRemediation-DisableSubnetAutoAssignPublicIP",
)
def subnet_auto_assign_public_ip_disabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS's current page (the 2023 text named IPv4 only): NON_COMPLIANT when the subnet auto-assigns
    public IPv4 addresses (``MapPublicIpOnLaunch``) or IPv6 addresses (``AssignIpv6AddressOnCreation``;
    AWS treats every IPv6 global unicast range as public)."""
    assigned = [
        what
        for key, what in (("MapPublicIpOnLaunch", "public IPv4"), ("AssignIpv6AddressOnCreation", "IPv6"))
        if get(item, CONF + key) is True
    ]
    if assigned:
        return non_compliant(f"subnet assigns {' and '.join(assigned)} addresses on launch")
    return compliant("subnet does not assign public IPv4 or IPv6 addresses on launch")


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


# -- other managed rules -----------------------------------------------------------------------
_VPC = "Amazon VPC / EC2 networking"
_ENI_READS = {SUP + "NetworkInterfaceIds": "DescribeNetworkInterfaces"}


def _group_attached(item: ConfigurationItem) -> Result:
    if get(item, CONF + "GroupName") == "default":
        return not_applicable("a VPC's default security group")
    owner = get(item, CONF + "OwnerId")
    if owner and owner != item.accountId:
        return not_applicable(f"security group is owned by account {owner}")
    interfaces = get(item, SUP + "NetworkInterfaceIds") or []
    if interfaces:
        return compliant(f"security group is attached to {len(interfaces)} network interface(s)")
    return non_compliant("security group is not attached to any network interface")


@rule(
    "ec2-security-group-attached-to-eni",
    reads=_ENI_READS,
    aws_identifier="EC2_SECURITY_GROUP_ATTACHED_TO_ENI",
    service=_VPC,
    resource_types=(SECURITY_GROUP,),
    trigger="change",
    severity="low",
    compliant_when="Non-default security groups are attached to at least one network interface (ENI).",
)
def ec2_security_group_attached_to_eni(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return _group_attached(item)


@rule(
    "ec2-security-group-attached-to-eni-periodic",
    reads=_ENI_READS,
    aws_identifier="EC2_SECURITY_GROUP_ATTACHED_TO_ENI_PERIODIC",
    service=_VPC,
    resource_types=(SECURITY_GROUP,),
    trigger="periodic",
    severity="low",
    compliant_when="Non-default security groups the account owns are attached to at least one network interface (ENI).",
)
def ec2_security_group_attached_to_eni_periodic(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS's current page: a group another account owns is NOT_APPLICABLE (the change-triggered
    variant is judged the same way)."""
    return _group_attached(item)


_REMOTE_ADMIN_PORTS = (22, 3389)


def _acl_protocol(entry: dict[str, Any]) -> str:
    return _PROTOCOLS.get(str(entry.get("Protocol", "")).lower(), str(entry.get("Protocol", "")).lower())


def _acl_covers(entry: dict[str, Any], protocol: str, port: int) -> bool:
    kind = _acl_protocol(entry)
    if kind != "all" and kind != protocol:
        return False
    span = entry.get("PortRange") or {}
    low, high = span.get("From"), span.get("To")
    if kind == "all" or low is None or high is None:
        return True
    return int(low) <= port <= int(high)


def _open_acl_entries(item: ConfigurationItem) -> list[str]:
    """Descriptions of the (protocol, port, family) an unrestricted inbound allow entry opens first."""
    inbound = sorted(
        (e for e in get(item, CONF + "Entries") or [] if isinstance(e, dict) and not e.get("Egress")),
        key=lambda e: int(e.get("RuleNumber") or 0),
    )
    found = []
    for family in ("CidrBlock", "Ipv6CidrBlock"):
        for protocol in ("tcp", "udp"):
            for port in _REMOTE_ADMIN_PORTS:
                for entry in inbound:
                    if not _unrestricted(entry.get(family)) or not _acl_covers(entry, protocol, port):
                        continue  # a narrower source neither opens nor closes the port to everyone
                    if str(entry.get("RuleAction", "")).lower() == "allow":
                        found.append(f"{protocol.upper()} {port} from {entry[family]} (rule {entry.get('RuleNumber')})")
                    break
    return found


@rule(
    "nacl-no-unrestricted-ssh-rdp",
    reads={CONF + "Entries": "DescribeNetworkAcls"},
    aws_identifier="NACL_NO_UNRESTRICTED_SSH_RDP",
    service=_VPC,
    resource_types=(NETWORK_ACL,),
    trigger="change",
    severity="high",
    compliant_when="No network ACL inbound entry allows TCP or UDP ports 22 or 3389 from 0.0.0.0/0 or ::/0.",
)
def nacl_no_unrestricted_ssh_rdp(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    found = _open_acl_entries(item)
    if found:
        return non_compliant(f"inbound SSH/RDP allowed from anywhere: {'; '.join(found[:4])}")
    return compliant("no inbound entry allows ports 22 or 3389 from 0.0.0.0/0 or ::/0")


@rule(
    "vpc-network-acl-unused-check",
    reads={CONF + "Associations": "DescribeNetworkAcls"},
    aws_identifier="VPC_NETWORK_ACL_UNUSED_CHECK",
    service=_VPC,
    resource_types=(NETWORK_ACL,),
    trigger="change",
    severity="low",
    compliant_when="The network ACL is associated with at least one subnet.",
)
def vpc_network_acl_unused_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    subnets = [a.get("SubnetId") for a in get(item, CONF + "Associations") or [] if isinstance(a, dict) and a.get("SubnetId")]
    if subnets:
        return compliant(f"network ACL is associated with {len(subnets)} subnet(s)")
    return non_compliant("network ACL is not associated with any subnet")


@rule(
    "ec2-transit-gateway-auto-vpc-attach-disabled",
    reads={CONF + "Options": "DescribeTransitGateways"},
    aws_identifier="EC2_TRANSIT_GATEWAY_AUTO_VPC_ATTACH_DISABLED",
    service=_VPC,
    resource_types=(TRANSIT_GATEWAY,),
    trigger="change",
    severity="medium",
    compliant_when="The transit gateway does not accept shared attachments automatically (AutoAcceptSharedAttachments is not enable).",
)
def ec2_transit_gateway_auto_vpc_attach_disabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    setting = (get(item, CONF + "Options") or {}).get("AutoAcceptSharedAttachments")
    if str(setting).lower() == "enable":
        return non_compliant("transit gateway accepts shared attachments automatically")
    return compliant(f"AutoAcceptSharedAttachments is {setting or 'not set'}")


@rule(
    "vpc-peering-dns-resolution-check",
    reads={CONF + "Status": "DescribeVpcPeeringConnections"},
    aws_identifier="VPC_PEERING_DNS_RESOLUTION_CHECK",
    service=_VPC,
    resource_types=(VPC_PEERING_CONNECTION,),
    trigger="change",
    severity="low",
    compliant_when="An active VPC peering connection allows DNS resolution from the remote VPC on both sides (on the sides whose VPC is in vpcIds, if set).",
    parameters={"vpcIds": ("str", None)},
)
def vpc_peering_dns_resolution_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    status = (get(item, CONF + "Status") or {}).get("Code")
    if status != "active":
        return not_applicable(f"peering connection is {status or 'in an unknown state'}, not active")
    wanted = set(csv_list(params.get("vpcIds")))
    sides = [(name, get(item, CONF + key) or {}) for name, key in (("requester", "RequesterVpcInfo"), ("accepter", "AccepterVpcInfo"))]
    if wanted:
        sides = [(name, info) for name, info in sides if info.get("VpcId") in wanted]
        if not sides:
            return not_applicable("neither VPC of the connection is in vpcIds")
    off = [
        f"{name} VPC {info.get('VpcId')}"
        for name, info in sides
        if (info.get("PeeringOptions") or {}).get("AllowDnsResolutionFromRemoteVpc") is not True
    ]
    if off:
        return non_compliant(f"DNS resolution from the remote VPC is not enabled for the {' and '.join(off)}")
    return compliant(f"DNS resolution from the remote VPC is enabled for the {' and '.join(n for n, _ in sides)} VPC")


_ENDPOINT_ENDED = frozenset({"deleted", "deleting", "failed", "rejected", "expired"})


@rule(
    "service-vpc-endpoint-enabled",
    reads={SUP + "VpcEndpoints": "DescribeVpcEndpoints"},
    aws_identifier="SERVICE_VPC_ENDPOINT_ENABLED",
    service=_VPC,
    resource_types=(VPC,),
    trigger="periodic",
    severity="low",
    compliant_when="Each VPC has a VPC endpoint for the service named by serviceName (full name or suffix).",
    parameters={"serviceName": ("str", REQUIRED)},
)
def service_vpc_endpoint_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS's current page names ``AWS::EC2::VPC`` as the resource type (the 2023 list gave none):
    each VPC is judged, not the account."""
    wanted = str(params.get("serviceName") or "").strip()
    if not wanted:
        return None
    for endpoint in get(item, SUP + "VpcEndpoints") or []:
        name = str(endpoint.get("ServiceName") or "")
        if str(endpoint.get("State") or "").lower() in _ENDPOINT_ENDED:
            continue
        if name == wanted or name.endswith("." + wanted):
            return compliant(f"VPC endpoint {endpoint.get('VpcEndpointId')} serves {name}")
    return non_compliant(f"no VPC endpoint for {wanted}")
