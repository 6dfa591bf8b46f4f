"""EMR rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.emr` (active clusters only): the security configuration
is in ``supplementaryConfiguration.SecurityConfiguration`` (None = the cluster has none), the
master node's instances in ``supplementaryConfiguration.MasterInstances``; a missing key means
its read failed.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.emr import CLUSTER
from phiwatch.rules.base import (
    Result,
    RuleContext,
    compliant,
    describe_failure,
    get,
    has,
    insufficient,
    non_compliant,
    not_applicable,
    rule,
)

SUP = "supplementaryConfiguration."
#: the cluster states emr-master-no-public-ip judges
CHECKED_STATES = ("RUNNING", "WAITING")
# parameter -> where the security configuration's Kerberos section holds it
_CROSS_REALM = ("Realm", "Domain", "AdminServer", "KdcServer")


def _kerberos(security_configuration: Any) -> dict[str, Any] | None:
    if not isinstance(security_configuration, dict):
        return None
    kerberos = (security_configuration.get("AuthenticationConfiguration") or {}).get("KerberosConfiguration")
    return kerberos if isinstance(kerberos, dict) else None


# reads is empty on purpose: SecurityConfiguration is missing when DescribeCluster or
# DescribeSecurityConfiguration failed; both are checked here.
@rule(
    "emr-kerberos-enabled",
    reads={},
    aws_identifier="EMR_KERBEROS_ENABLED",
    service="Amazon EMR",
    resource_types=(CLUSTER,),
    trigger="periodic",
    severity="low",
    compliant_when="The EMR cluster has a security configuration with Kerberos enabled (matching any provided parameters).",
    parameters={
        "TicketLifetimeInHours": ("int", None),
        "Realm": ("str", None),
        "Domain": ("str", None),
        "AdminServer": ("str", None),
        "KdcServer": ("str", None),
    },
)
def emr_kerberos_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if not has(item, SUP + "SecurityConfiguration"):
        failed = [api for api in ("DescribeCluster", "DescribeSecurityConfiguration") if api in item.failed_apis()]
        return insufficient(describe_failure(item, failed)) if failed else None
    kerberos = _kerberos(get(item, SUP + "SecurityConfiguration"))
    if kerberos is None:
        name = get(item, "configuration.SecurityConfiguration")
        return non_compliant(f"security configuration {name} does not enable Kerberos" if name else "cluster has no security configuration")
    dedicated = kerberos.get("ClusterDedicatedKdcConfiguration") or {}
    cross_realm = dedicated.get("CrossRealmTrustConfiguration") or {}
    mismatched = []
    lifetime = params.get("TicketLifetimeInHours")
    if lifetime is not None and dedicated.get("TicketLifetimeInHours") != lifetime:
        mismatched.append("TicketLifetimeInHours")
    for name in _CROSS_REALM:
        wanted = params.get(name)
        if wanted and str(cross_realm.get(name) or "").lower() != str(wanted).lower():
            mismatched.append(name)
    if mismatched:
        return non_compliant(f"Kerberos is enabled but {', '.join(mismatched)} does not match the rule parameters")
    return compliant(f"Kerberos is enabled ({kerberos.get('Provider', 'provider unknown')})")


@rule(
    "emr-master-no-public-ip",
    reads={SUP + "MasterInstances": "ListInstances"},
    aws_identifier="EMR_MASTER_NO_PUBLIC_IP",
    service="Amazon EMR",
    resource_types=(CLUSTER,),
    trigger="periodic",
    severity="critical",
    compliant_when="The EMR cluster master node has no public IP address.",
)
def emr_master_no_public_ip(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the master node has a public IP address. AWS's current page says the
    rule checks clusters in the RUNNING or WAITING state: a cluster still STARTING or
    BOOTSTRAPPING (or TERMINATING) is NOT_APPLICABLE. A master instance already terminated (a
    replaced one, listed by ListInstances) is not judged."""
    state = str((get(item, "configuration.Status") or {}).get("State") or "")
    if state and state not in CHECKED_STATES:
        return not_applicable(f"cluster is {state}: the rule checks RUNNING and WAITING clusters")
    masters = [i for i in get(item, SUP + "MasterInstances") or [] if str((i.get("Status") or {}).get("State") or "") != "TERMINATED"]
    if not masters:
        return not_applicable("cluster has no master instance yet")
    public = [i.get("Ec2InstanceId") or i.get("Id") for i in masters if i.get("PublicIpAddress")]
    if public:
        return non_compliant(f"master node {', '.join(str(p) for p in public)} has a public IP address")
    return compliant("master node has no public IP address")
