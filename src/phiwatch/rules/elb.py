"""Elastic Load Balancing rules: the HIPAA pack's and the other AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.elbv2` and :mod:`phiwatch.resources.elb`:

* ``AWS::ElasticLoadBalancingV2::LoadBalancer``: ``configuration`` = DescribeLoadBalancers'
  element (``Type`` application|network|gateway), ``supplementaryConfiguration.Attributes``
  (DescribeLoadBalancerAttributes as ``{key: "true"|"false"|...}``; moto omits
  ``access_logs.s3.enabled`` until it is set, so a missing key reads as ``"false"``) and
  ``supplementaryConfiguration.Listeners`` (DescribeListeners).
* ``AWS::ElasticLoadBalancing::LoadBalancer`` (Classic): ``configuration`` = the
  DescribeLoadBalancers element (``ListenerDescriptions``), and
  ``supplementaryConfiguration.LoadBalancerAttributes`` / ``PolicyDescriptions``.

A supplementary key that is missing means its read failed (INSUFFICIENT_DATA).

Known limits: listener rules other than the default actions and a listener's non-default
certificates (DescribeRules, DescribeListenerCertificates) are not collected, so
``alb-http-to-https-redirection-check`` judges the default actions and
``elbv2-acm-certificate-required`` the default certificate, as AWS's published sample of the
redirect rule does.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.elb import LOAD_BALANCER
from phiwatch.resources.elbv2 import LOAD_BALANCER_V2 as V2
from phiwatch.rules.base import (
    REQUIRED,
    Result,
    RuleContext,
    compliant,
    csv_list,
    describe_failure,
    get,
    has,
    insufficient,
    non_compliant,
    not_applicable,
    rule,
)

CONF = "configuration."
SUP = "supplementaryConfiguration."
CLASSIC_SECURE = ("HTTPS", "SSL")
V2_SECURE = ("HTTPS", "TLS")


def _absent(item: ConfigurationItem, api: str) -> Result | None:
    """A key is missing: INSUFFICIENT_DATA when its API failed, else the rule does not apply."""
    if api in item.failed_apis():
        return insufficient(describe_failure(item, [api]))
    return None


def _is_acm(arn: Any) -> bool:
    parts = str(arn or "").split(":")
    return len(parts) > 5 and parts[0] == "arn" and parts[2] == "acm"


def _lb_type(item: ConfigurationItem) -> str:
    return str(get(item, CONF + "Type") or "application")


def _classic_listeners(item: ConfigurationItem) -> list[dict[str, Any]]:
    return [
        {**(d.get("Listener") or {}), "PolicyNames": d.get("PolicyNames") or []} for d in get(item, CONF + "ListenerDescriptions") or []
    ]


def _port(listener: dict[str, Any]) -> str:
    return f"{listener.get('Protocol')}:{listener.get('LoadBalancerPort', listener.get('Port'))}"


# -- ELBv2 ----------------------------------------------------------------------------------------


def _redirects_to_https(listener: dict[str, Any]) -> bool:
    actions = listener.get("DefaultActions") or []
    if any(a.get("Type") in ("forward", "fixed-response") for a in actions):
        return False
    return any(a.get("Type") == "redirect" and str((a.get("RedirectConfig") or {}).get("Protocol", "")).upper() == "HTTPS" for a in actions)


@rule(
    "alb-http-to-https-redirection-check",
    reads={SUP + "Listeners": "DescribeListeners"},
    aws_identifier="ALB_HTTP_TO_HTTPS_REDIRECTION_CHECK",
    service="Elastic Load Balancing",
    resource_types=(V2,),
    trigger="periodic",
    severity="high",
    compliant_when="Every HTTP listener on the ALB redirects HTTP to HTTPS (none forwards plain HTTP).",
)
def alb_http_to_https_redirection_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if _lb_type(item) != "application":
        return not_applicable(f"{_lb_type(item)} load balancer: the rule checks Application Load Balancers")
    http = [listener for listener in get(item, SUP + "Listeners") or [] if listener.get("Protocol") == "HTTP"]
    plain = [_port(listener) for listener in http if not _redirects_to_https(listener)]
    if plain:
        return non_compliant(f"HTTP listener(s) not redirecting to HTTPS: {', '.join(plain)}")
    if http:
        return compliant(f"every HTTP listener redirects to HTTPS ({len(http)})")
    return compliant("no HTTP listener")


@rule(
    "elb-deletion-protection-enabled",
    reads={SUP + "Attributes": "DescribeLoadBalancerAttributes"},
    aws_identifier="ELB_DELETION_PROTECTION_ENABLED",
    service="Elastic Load Balancing",
    resource_types=(V2,),
    trigger="change",
    severity="medium",
    compliant_when="Deletion protection (deletion_protection.enabled) is true on the ELBv2 load balancer.",
    aws_runbook="AWSConfigRemediation-EnableELBDeletionProtection",
)
def elb_deletion_protection_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    attributes = get(item, SUP + "Attributes") or {}
    if str(attributes.get("deletion_protection.enabled", "false")).lower() == "true":
        return compliant("deletion protection is on")
    return non_compliant("deletion protection is off")


@rule(
    "elbv2-acm-certificate-required",
    reads={SUP + "Listeners": "DescribeListeners"},
    aws_identifier="ELBV2_ACM_CERTIFICATE_REQUIRED",
    service="Elastic Load Balancing",
    resource_types=(V2,),
    trigger="periodic",
    severity="low",
    compliant_when="All ALB/NLB listeners use certificates from ACM (optionally one of AcmCertificatesAllowed).",
    parameters={"AcmCertificatesAllowed": ("str", None)},
)
def elbv2_acm_certificate_required(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if _lb_type(item) == "gateway":
        return not_applicable("gateway load balancer: the rule checks Application and Network Load Balancers")
    allowed = csv_list(params.get("AcmCertificatesAllowed"))
    secure = [listener for listener in get(item, SUP + "Listeners") or [] if listener.get("Protocol") in V2_SECURE]
    if not secure:
        return not_applicable("no HTTPS or TLS listener")
    problems = []
    for listener in secure:
        certificates = [c.get("CertificateArn") for c in listener.get("Certificates") or []]
        if not certificates:
            problems.append(f"{_port(listener)} has no certificate")
        elif not all(_is_acm(c) for c in certificates):
            problems.append(f"{_port(listener)} uses a certificate not issued by ACM")
        elif allowed and not all(c in allowed for c in certificates):
            problems.append(f"{_port(listener)} uses an ACM certificate not in AcmCertificatesAllowed")
    if problems:
        return non_compliant("; ".join(problems))
    return compliant(f"HTTPS/TLS listeners use ACM certificates ({len(secure)})")


# -- both types -----------------------------------------------------------------------------------


@rule(
    "elb-logging-enabled",
    aws_identifier="ELB_LOGGING_ENABLED",
    service="Elastic Load Balancing",
    resource_types=(
        LOAD_BALANCER,
        V2,
    ),
    trigger="change",
    severity="medium",
    compliant_when="Access logging is enabled on the ALB/CLB (access_logs.s3.enabled = true; bucket in s3BucketNames if set).",
    parameters={"s3BucketNames": ("str", None)},
    aws_runbook="AWSConfigRemediation-EnableLoggingForALBAndCLB",
)
def elb_logging_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    buckets = csv_list(params.get("s3BucketNames"))
    if item.resourceType == V2:
        if _lb_type(item) != "application":
            return not_applicable(f"{_lb_type(item)} load balancer: the rule does not apply to network or gateway load balancers")
        if not has(item, SUP + "Attributes"):
            return _absent(item, "DescribeLoadBalancerAttributes")
        attributes = get(item, SUP + "Attributes") or {}
        enabled = str(attributes.get("access_logs.s3.enabled", "false")).lower() == "true"
        bucket = attributes.get("access_logs.s3.bucket") or ""
    else:
        if not has(item, SUP + "LoadBalancerAttributes"):
            return _absent(item, "DescribeLoadBalancerAttributes")
        access_log = (get(item, SUP + "LoadBalancerAttributes") or {}).get("AccessLog") or {}
        enabled = access_log.get("Enabled") is True
        bucket = access_log.get("S3BucketName") or ""
    if not enabled:
        return non_compliant("access logging is off")
    if buckets and bucket not in buckets:
        return non_compliant(f"access logs go to {bucket or 'no bucket'}, not one of s3BucketNames")
    return compliant(f"access logs go to {bucket}")


# -- Classic Load Balancers -----------------------------------------------------------------------


@rule(
    "elb-acm-certificate-required",
    aws_identifier="ELB_ACM_CERTIFICATE_REQUIRED",
    service="Elastic Load Balancing",
    resource_types=(LOAD_BALANCER,),
    trigger="change",
    severity="low",
    compliant_when="The Classic Load Balancer's SSL/HTTPS listeners use ACM-provided certificates.",
)
def elb_acm_certificate_required(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    secure = [listener for listener in _classic_listeners(item) if listener.get("Protocol") in CLASSIC_SECURE]
    if not secure:
        return not_applicable("no HTTPS or SSL listener")
    other = [_port(listener) for listener in secure if not _is_acm(listener.get("SSLCertificateId"))]
    if other:
        return non_compliant(f"listener(s) with a certificate not issued by ACM: {', '.join(other)}")
    return compliant(f"HTTPS/SSL listeners use ACM certificates ({len(secure)})")


@rule(
    "elb-cross-zone-load-balancing-enabled",
    reads={SUP + "LoadBalancerAttributes": "DescribeLoadBalancerAttributes"},
    aws_identifier="ELB_CROSS_ZONE_LOAD_BALANCING_ENABLED",
    service="Elastic Load Balancing",
    resource_types=(LOAD_BALANCER,),
    trigger="change",
    severity="low",
    compliant_when="Cross-zone load balancing is enabled on the Classic Load Balancer.",
    aws_runbook="AWSConfigRemediation-EnableCLBCrossZoneLoadBalancing",
)
def elb_cross_zone_load_balancing_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    attributes = get(item, SUP + "LoadBalancerAttributes") or {}
    if (attributes.get("CrossZoneLoadBalancing") or {}).get("Enabled") is True:
        return compliant("cross-zone load balancing is on")
    return non_compliant("cross-zone load balancing is off")


def _ssl_policy_names(listener: dict[str, Any], descriptions: list[dict[str, Any]]) -> list[str]:
    """The predefined policies a listener's SSL negotiation policies refer to (or are named after)."""
    by_name = {d.get("PolicyName"): d for d in descriptions}
    names = []
    for policy_name in listener.get("PolicyNames") or []:
        description = by_name.get(policy_name)
        if description is None:
            names.append(policy_name)
            continue
        if description.get("PolicyTypeName") != "SSLNegotiationPolicyType":
            continue
        reference = [
            a.get("AttributeValue")
            for a in description.get("PolicyAttributeDescriptions") or []
            if a.get("AttributeName") == "Reference-Security-Policy"
        ]
        names.extend(reference or [policy_name])
    return names


@rule(
    "elb-predefined-security-policy-ssl-check",
    reads={SUP + "PolicyDescriptions": "DescribeLoadBalancerPolicies"},
    aws_identifier="ELB_PREDEFINED_SECURITY_POLICY_SSL_CHECK",
    service="Elastic Load Balancing",
    resource_types=(LOAD_BALANCER,),
    trigger="change",
    severity="high",
    compliant_when="Every CLB HTTPS/SSL listener uses the predefined policy ELBSecurityPolicy-TLS-1-2-2017-01 (pack value).",
    parameters={"predefinedPolicyName": ("str", "ELBSecurityPolicy-TLS-1-2-2017-01")},
)
def elb_predefined_security_policy_ssl_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    wanted = params.get("predefinedPolicyName") or "ELBSecurityPolicy-TLS-1-2-2017-01"
    secure = [listener for listener in _classic_listeners(item) if listener.get("Protocol") in CLASSIC_SECURE]
    if not secure:
        return not_applicable("no HTTPS or SSL listener")
    descriptions = get(item, SUP + "PolicyDescriptions") or []
    other = [_port(listener) for listener in secure if wanted not in _ssl_policy_names(listener, descriptions)]
    if other:
        return non_compliant(f"listener(s) not using the predefined policy {wanted}: {', '.join(other)}")
    return compliant(f"HTTPS/SSL listeners use {wanted}")


@rule(
    "elb-tls-https-listeners-only",
    aws_identifier="ELB_TLS_HTTPS_LISTENERS_ONLY",
    service="Elastic Load Balancing",
    resource_types=(LOAD_BALANCER,),
    trigger="change",
    severity="high",
    compliant_when="All Classic Load Balancer listeners use SSL or HTTPS.",
)
def elb_tls_https_listeners_only(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    listeners = _classic_listeners(item)
    if not listeners:
        return not_applicable("no listener configured")
    plain = [_port(listener) for listener in listeners if listener.get("Protocol") not in CLASSIC_SECURE]
    if plain:
        return non_compliant(f"listener(s) without SSL/HTTPS: {', '.join(plain)}")
    return compliant("every listener uses SSL or HTTPS")


# -- managed rules outside the HIPAA pack ---------------------------------------------------------

DESYNC_MODES = ("defensive", "strictest", "monitor")
#: the options of an SSL negotiation policy that are neither a protocol nor a cipher
SSL_POLICY_OPTIONS = {"server-defined-cipher-order"}


def _desync_modes(value: Any) -> list[str] | Result:
    """``desyncMode`` as lower-case modes, or INSUFFICIENT_DATA naming what is wrong with it."""
    modes = [mode.lower() for mode in csv_list(value)]
    if not modes:
        return insufficient("could not check: the rule needs parameter desyncMode (defensive, strictest or monitor)")
    unknown = [mode for mode in modes if mode not in DESYNC_MODES]
    if unknown or len(set(modes)) > 2:
        return insufficient(f"could not check: parameter desyncMode takes at most two of {', '.join(DESYNC_MODES)}, got {value!r}")
    return modes


def _min_zones(params: dict) -> int | Result:
    """``minAvailabilityZones`` (2 when not set), or INSUFFICIENT_DATA when outside 2..10."""
    value = params.get("minAvailabilityZones")
    if value is None:
        return 2
    if not 2 <= int(value) <= 10:
        return insufficient(f"could not check: parameter minAvailabilityZones must be between 2 and 10, got {value}")
    return int(value)


def _v2_attribute(item: ConfigurationItem, key: str, default: str) -> str:
    return str((get(item, SUP + "Attributes") or {}).get(key, default)).lower()


@rule(
    "alb-desync-mode-check",
    aws_identifier="ALB_DESYNC_MODE_CHECK",
    service="Elastic Load Balancing",
    resource_types=(V2,),
    trigger="change",
    severity="medium",
    compliant_when="The ALB's desync mitigation mode (routing.http.desync_mitigation_mode) is one of desyncMode.",
    parameters={"desyncMode": ("str", REQUIRED)},
)
def alb_desync_mode_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS: NON_COMPLIANT when the ALB's desync mitigation mode is not one of ``desyncMode`` (at most
    two of defensive, strictest, monitor; compared without case). Network and gateway load balancers
    have no such mode: NOT_APPLICABLE. AWS always returns the attribute (``defensive`` by default);
    moto omits it until it is set, so a missing attribute reads as ``defensive``."""
    if _lb_type(item) != "application":
        return not_applicable(f"{_lb_type(item)} load balancer: the rule checks Application Load Balancers")
    wanted = _desync_modes(params.get("desyncMode"))
    if isinstance(wanted, Result):
        return wanted
    if not has(item, SUP + "Attributes"):
        return _absent(item, "DescribeLoadBalancerAttributes")
    mode = _v2_attribute(item, "routing.http.desync_mitigation_mode", "defensive")
    if mode in wanted:
        return compliant(f"desync mitigation mode is {mode}")
    return non_compliant(f"desync mitigation mode is {mode}, not one of desyncMode ({', '.join(wanted)})")


@rule(
    "alb-http-drop-invalid-header-enabled",
    aws_identifier="ALB_HTTP_DROP_INVALID_HEADER_ENABLED",
    service="Elastic Load Balancing",
    resource_types=(V2,),
    trigger="change",
    severity="medium",
    compliant_when="The ALB drops HTTP headers with invalid fields (routing.http.drop_invalid_header_fields.enabled = true).",
)
def alb_http_drop_invalid_header_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS: NON_COMPLIANT when routing.http.drop_invalid_header_fields.enabled is false. Only
    Application Load Balancers have the attribute: others are NOT_APPLICABLE. A missing attribute
    reads as AWS's default, false (moto omits it until it is set)."""
    if _lb_type(item) != "application":
        return not_applicable(f"{_lb_type(item)} load balancer: the rule checks Application Load Balancers")
    if not has(item, SUP + "Attributes"):
        return _absent(item, "DescribeLoadBalancerAttributes")
    if _v2_attribute(item, "routing.http.drop_invalid_header_fields.enabled", "false") == "true":
        return compliant("invalid HTTP header fields are dropped")
    return non_compliant("invalid HTTP header fields are passed to targets (drop_invalid_header_fields is off)")


@rule(
    "elbv2-multiple-az",
    aws_identifier="ELBV2_MULTIPLE_AZ",
    service="Elastic Load Balancing",
    resource_types=(V2,),
    trigger="change",
    severity="medium",
    compliant_when="The ALB/NLB/GWLB is mapped to at least minAvailabilityZones (2 when not set) Availability Zones.",
    parameters={"minAvailabilityZones": ("int", None)},
)
def elbv2_multiple_az(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS's current page: NON_COMPLIANT when the load balancer is mapped to fewer than two
    Availability Zones (or fewer than ``minAvailabilityZones``, 2 to 10). The 2023 guide said
    "has registered instances from" fewer than two zones; AWS now judges the zones the load
    balancer is mapped to (its ``AvailabilityZones``), and so does phiwatch."""
    wanted = _min_zones(params)
    if isinstance(wanted, Result):
        return wanted
    zones = sorted({str(z.get("ZoneName")) for z in get(item, CONF + "AvailabilityZones") or [] if z.get("ZoneName")})
    if len(zones) < wanted:
        return non_compliant(f"mapped to {len(zones)} Availability Zone(s), fewer than {wanted}")
    return compliant(f"mapped to {len(zones)} Availability Zones ({', '.join(zones)})")


@rule(
    "nlb-cross-zone-load-balancing-enabled",
    aws_identifier="NLB_CROSS_ZONE_LOAD_BALANCING_ENABLED",
    service="Elastic Load Balancing",
    resource_types=(V2,),
    trigger="change",
    severity="low",
    compliant_when="Cross-zone load balancing (load_balancing.cross_zone.enabled) is on for the Network Load Balancer.",
)
def nlb_cross_zone_load_balancing_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS: NON_COMPLIANT when cross-zone load balancing is off on a Network Load Balancer;
    application and gateway load balancers are NOT_APPLICABLE. A missing attribute reads as the
    NLB default, false."""
    if _lb_type(item) != "network":
        return not_applicable(f"{_lb_type(item)} load balancer: the rule checks Network Load Balancers")
    if not has(item, SUP + "Attributes"):
        return _absent(item, "DescribeLoadBalancerAttributes")
    if _v2_attribute(item, "load_balancing.cross_zone.enabled", "false") == "true":
        return compliant("cross-zone load balancing is on")
    return non_compliant("cross-zone load balancing is off")


@rule(
    "clb-desync-mode-check",
    aws_identifier="CLB_DESYNC_MODE_CHECK",
    service="Elastic Load Balancing",
    resource_types=(LOAD_BALANCER,),
    trigger="change",
    severity="medium",
    compliant_when="The Classic Load Balancer's desync mitigation mode (elb.http.desyncmitigationmode) is one of desyncMode.",
    parameters={"desyncMode": ("str", REQUIRED)},
)
def clb_desync_mode_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS: NON_COMPLIANT when the CLB's desync mitigation mode (the additional attribute
    ``elb.http.desyncmitigationmode``) is not one of ``desyncMode`` (at most two of Defensive,
    Strictest, Monitor; compared without case). A missing attribute reads as AWS's default,
    defensive (moto lists no additional attribute until one is set)."""
    wanted = _desync_modes(params.get("desyncMode"))
    if isinstance(wanted, Result):
        return wanted
    if not has(item, SUP + "LoadBalancerAttributes"):
        return _absent(item, "DescribeLoadBalancerAttributes")
    additional = (get(item, SUP + "LoadBalancerAttributes") or {}).get("AdditionalAttributes") or []
    modes = [a.get("Value") for a in additional if a.get("Key") == "elb.http.desyncmitigationmode"]
    mode = str(modes[0] if modes and modes[0] else "defensive").lower()
    if mode in wanted:
        return compliant(f"desync mitigation mode is {mode}")
    return non_compliant(f"desync mitigation mode is {mode}, not one of desyncMode ({', '.join(wanted)})")


@rule(
    "clb-multiple-az",
    aws_identifier="CLB_MULTIPLE_AZ",
    service="Elastic Load Balancing",
    resource_types=(LOAD_BALANCER,),
    trigger="change",
    severity="medium",
    compliant_when="The Classic Load Balancer spans at least minAvailabilityZones (2 when not set) Availability Zones.",
    parameters={"minAvailabilityZones": ("int", None)},
)
def clb_multiple_az(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the CLB spans fewer than two Availability Zones, or fewer than
    ``minAvailabilityZones`` (2 to 10; a value outside is reported as a parameter error)."""
    wanted = _min_zones(params)
    if isinstance(wanted, Result):
        return wanted
    zones = sorted({str(z) for z in get(item, CONF + "AvailabilityZones") or [] if z})
    if len(zones) < wanted:
        return non_compliant(f"spans {len(zones)} Availability Zone(s), fewer than {wanted}")
    return compliant(f"spans {len(zones)} Availability Zones ({', '.join(zones)})")


def _ssl_negotiation_policy(listener: dict[str, Any], descriptions: list[dict[str, Any]]) -> dict[str, Any] | str | None:
    """The listener's SSL negotiation policy description, else the name of a predefined policy it
    names without a description, else None (the load balancer's default predefined policy)."""
    by_name = {d.get("PolicyName"): d for d in descriptions}
    for name in listener.get("PolicyNames") or []:
        description = by_name.get(name)
        if description is not None and description.get("PolicyTypeName") == "SSLNegotiationPolicyType":
            return description
    predefined = [n for n in listener.get("PolicyNames") or [] if n not in by_name and str(n).startswith("ELBSecurityPolicy-")]
    return predefined[0] if predefined else None


@rule(
    "elb-custom-security-policy-ssl-check",
    aws_identifier="ELB_CUSTOM_SECURITY_POLICY_SSL_CHECK",
    service="Elastic Load Balancing",
    resource_types=(LOAD_BALANCER,),
    trigger="change",
    severity="medium",
    compliant_when="Every CLB HTTPS/SSL listener uses a custom SSL policy enabling exactly the protocols and ciphers of sslProtocolsAndCiphers.",
    parameters={"sslProtocolsAndCiphers": ("str", REQUIRED)},
)
def elb_custom_security_policy_ssl_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS: applies only to a Classic Load Balancer with SSL listeners (HTTPS or SSL; NOT_APPLICABLE
    otherwise); NON_COMPLIANT when a listener's SSL negotiation policy is not a custom policy whose
    enabled protocols and ciphers are those of ``sslProtocolsAndCiphers``. A policy made from a
    predefined one (``Reference-Security-Policy``) or a listener with no SSL negotiation policy (the
    default predefined policy) is not custom. The enabled set is compared as a set, without case;
    the option ``Server-Defined-Cipher-Order`` is neither a protocol nor a cipher and is not compared."""
    secure = [listener for listener in _classic_listeners(item) if listener.get("Protocol") in CLASSIC_SECURE]
    if not secure:
        return not_applicable("no HTTPS or SSL listener")
    wanted = {v.lower() for v in csv_list(params.get("sslProtocolsAndCiphers"))}
    if not wanted:
        return insufficient("could not check: the rule needs parameter sslProtocolsAndCiphers")
    if not has(item, SUP + "PolicyDescriptions"):
        return _absent(item, "DescribeLoadBalancerPolicies")
    descriptions = get(item, SUP + "PolicyDescriptions") or []
    problems = []
    for listener in secure:
        policy = _ssl_negotiation_policy(listener, descriptions)
        if policy is None:
            problems.append(f"{_port(listener)} has no custom SSL policy (the default predefined policy applies)")
            continue
        if isinstance(policy, str):
            problems.append(f"{_port(listener)} uses the predefined policy {policy}")
            continue
        attributes = policy.get("PolicyAttributeDescriptions") or []
        reference = [a.get("AttributeValue") for a in attributes if a.get("AttributeName") == "Reference-Security-Policy"]
        if reference:
            problems.append(f"{_port(listener)} uses the predefined policy {reference[0]}")
            continue
        enabled = {
            str(a.get("AttributeName")).lower()
            for a in attributes
            if str(a.get("AttributeValue")).lower() == "true" and str(a.get("AttributeName")).lower() not in SSL_POLICY_OPTIONS
        }
        missing, extra = sorted(wanted - enabled), sorted(enabled - wanted)
        if missing or extra:
            parts = ([f"does not enable {', '.join(missing)}"] if missing else []) + ([f"also enables {', '.join(extra)}"] if extra else [])
            problems.append(f"{_port(listener)} policy {policy.get('PolicyName')} {'; '.join(parts)}")
    if problems:
        return non_compliant("; ".join(problems))
    return compliant(f"HTTPS/SSL listeners use custom policies with exactly sslProtocolsAndCiphers ({len(secure)})")
