"""Amazon CloudFront rules (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.cloudfront`: ``configuration`` is GetDistribution's
``Distribution``, the settings under ``DistributionConfig``; ``supplementaryConfiguration.S3OriginBuckets``
says whether each S3 origin's bucket exists. Distributions are global (region ``global``): AWS
Config evaluates these rules in us-east-1 only, once per distribution.

CloudFront's lists are ``{"Quantity": n, "Items": [...]}``; an absent ``Items`` is an empty list.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.cloudfront import DISTRIBUTION, s3_origin_bucket
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, non_compliant, not_applicable, rule

CONFIG = "configuration.DistributionConfig."
SERVICE = "Amazon CloudFront"
#: viewer security policies below TLSv1.2_2018 (CloudFront's MinimumProtocolVersion values)
#: a failed GetDistribution leaves only the listing's summary, without DistributionConfig: "could not check"
READS = {"configuration.DistributionConfig": "GetDistribution"}
WEAK_VIEWER_POLICIES = ("SSLv3", "TLSv1", "TLSv1_2016", "TLSv1.1_2016")


def _items(container: Any) -> list[Any]:
    """The ``Items`` of a CloudFront list (``{"Quantity", "Items"}``), dicts only."""
    items = container.get("Items") if isinstance(container, dict) else None
    return [i for i in items or [] if isinstance(i, dict)]


def _config(item: ConfigurationItem) -> dict[str, Any]:
    config = get(item, "configuration.DistributionConfig")
    return config if isinstance(config, dict) else {}


def _behaviours(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The default cache behaviour and every other one."""
    default = config.get("DefaultCacheBehavior")
    return ([default] if isinstance(default, dict) else []) + _items(config.get("CacheBehaviors"))


def _uses_default_certificate(config: dict[str, Any]) -> bool:
    """Whether viewers get CloudFront's ``*.cloudfront.net`` certificate: no ACM or IAM certificate is
    named. A named certificate wins over ``CloudFrontDefaultCertificate`` (AWS never sets both; the
    emulator reports it true alongside an ACM certificate)."""
    certificate = config.get("ViewerCertificate") or {}
    return not (certificate.get("ACMCertificateArn") or certificate.get("IAMCertificateId"))


@rule(
    "cloudfront-accesslogs-enabled",
    reads=READS,
    aws_identifier="CLOUDFRONT_ACCESSLOGS_ENABLED",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="change",
    severity="medium",
    compliant_when="Standard logging to S3 is enabled on the distribution (into S3BucketName when given).",
    parameters={"S3BucketName": ("str", None)},
)
def cloudfront_accesslogs_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``Logging.Bucket`` is a bucket's domain name (``logs.s3.amazonaws.com``); S3BucketName is
    compared with its bucket name (a bare name or a domain name both match). Logging delivered
    through CloudWatch Logs' vended logs (standard logging v2) is not in the distribution's
    configuration, so only legacy standard logging to S3 counts, as in AWS's rule."""
    logging = _config(item).get("Logging") or {}
    if str(logging.get("Enabled")).lower() != "true":
        return non_compliant("access logging is not enabled")
    wanted = (params.get("S3BucketName") or "").strip()
    bucket = str(logging.get("Bucket") or "")
    name = s3_origin_bucket(bucket) or bucket
    if wanted and (s3_origin_bucket(wanted) or wanted) != name:
        return non_compliant(f"access logs go to bucket {name}, not S3BucketName")
    return compliant(f"access logs go to bucket {name}")


@rule(
    "cloudfront-associated-with-waf",
    reads=READS,
    aws_identifier="CLOUDFRONT_ASSOCIATED_WITH_WAF",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="change",
    severity="medium",
    compliant_when="A WAF Classic or WAFv2 web ACL is associated with the distribution (one of wafWebAclIds when given).",
    parameters={"wafWebAclIds": ("str", None)},
)
def cloudfront_associated_with_waf(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``WebACLId`` is a WAF Classic web ACL id or a WAFv2 web ACL ARN; wafWebAclIds lists either."""
    acl = str(_config(item).get("WebACLId") or "")
    if not acl:
        return non_compliant("no web ACL is associated with the distribution")
    allowed = csv_list(params.get("wafWebAclIds"))
    if allowed and acl not in allowed:
        return non_compliant(f"web ACL {acl} is not one of wafWebAclIds")
    return compliant(f"web ACL {acl} is associated")


@rule(
    "cloudfront-custom-ssl-certificate",
    reads=READS,
    aws_identifier="CLOUDFRONT_CUSTOM_SSL_CERTIFICATE",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="change",
    severity="low",
    compliant_when="The distribution serves HTTPS with a custom certificate (ACM or IAM), not CloudFront's default *.cloudfront.net one.",
)
def cloudfront_custom_ssl_certificate(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if _uses_default_certificate(_config(item)):
        return non_compliant("the distribution uses CloudFront's default certificate")
    certificate = _config(item).get("ViewerCertificate") or {}
    source = "ACM" if certificate.get("ACMCertificateArn") else "IAM"
    return compliant(f"a custom certificate from {source} is used")


@rule(
    "cloudfront-default-root-object-configured",
    reads=READS,
    aws_identifier="CLOUDFRONT_DEFAULT_ROOT_OBJECT_CONFIGURED",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="change",
    severity="medium",
    compliant_when="A default root object is configured on the distribution.",
)
def cloudfront_default_root_object_configured(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if str(_config(item).get("DefaultRootObject") or "").strip():
        return compliant("a default root object is configured")
    return non_compliant("no default root object is configured")


@rule(
    "cloudfront-no-deprecated-ssl-protocols",
    reads=READS,
    aws_identifier="CLOUDFRONT_NO_DEPRECATED_SSL_PROTOCOLS",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="change",
    severity="medium",
    compliant_when="No custom origin of the distribution allows SSLv3 (OriginSslProtocols).",
)
def cloudfront_no_deprecated_ssl_protocols(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """NOT_APPLICABLE for a distribution without custom origins (S3 origins have no origin SSL protocols)."""
    custom = [o for o in _items(_config(item).get("Origins")) if isinstance(o.get("CustomOriginConfig"), dict)]
    if not custom:
        return not_applicable("the distribution has no custom origin")
    weak = [str(o.get("Id")) for o in custom if "SSLv3" in _items_text(o["CustomOriginConfig"].get("OriginSslProtocols"))]
    if weak:
        return non_compliant(f"origin(s) {', '.join(weak)} allow SSLv3")
    return compliant("no custom origin allows SSLv3")


def _items_text(container: Any) -> list[str]:
    items = container.get("Items") if isinstance(container, dict) else None
    return [str(i) for i in items or []]


def _s3_origins(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in _items(config.get("Origins")) if isinstance(o.get("S3OriginConfig"), dict)]


@rule(
    "cloudfront-origin-access-identity-enabled",
    reads=READS,
    aws_identifier="CLOUDFRONT_ORIGIN_ACCESS_IDENTITY_ENABLED",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="change",
    severity="medium",
    compliant_when="Every S3 origin of the distribution reads its bucket through an origin access identity (OAI).",
)
def cloudfront_origin_access_identity_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """S3 origins are those with an ``S3OriginConfig`` (an S3 website endpoint is a custom origin);
    a distribution without one is NOT_APPLICABLE. As in AWS's rule, an S3 origin secured by origin
    access control (OAC) instead of an OAI is NON_COMPLIANT here; cloudfront-s3-origin-access-control-enabled
    is AWS's rule for OAC."""
    origins = _s3_origins(_config(item))
    if not origins:
        return not_applicable("the distribution has no S3 origin")
    missing = [o for o in origins if not str(o["S3OriginConfig"].get("OriginAccessIdentity") or "").strip()]
    if missing:
        ids = ", ".join(str(o.get("Id")) for o in missing)
        oac = " (origin access control is used instead)" if all(o.get("OriginAccessControlId") for o in missing) else ""
        return non_compliant(f"S3 origin(s) {ids} have no origin access identity{oac}")
    return compliant("every S3 origin uses an origin access identity")


@rule(
    "cloudfront-origin-failover-enabled",
    reads=READS,
    aws_identifier="CLOUDFRONT_ORIGIN_FAILOVER_ENABLED",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="change",
    severity="low",
    compliant_when="The distribution has an origin group, and every origin group has at least 2 origins.",
)
def cloudfront_origin_failover_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    groups = _items(_config(item).get("OriginGroups"))
    if not groups:
        return non_compliant("the distribution has no origin group")
    small = [str(g.get("Id")) for g in groups if len(_items(g.get("Members"))) < 2]
    if small:
        return non_compliant(f"origin group(s) {', '.join(small)} have fewer than 2 origins")
    return compliant(f"{len(groups)} origin group(s) with at least 2 origins each")


@rule(
    "cloudfront-s3-origin-non-existent-bucket",
    reads={**READS, "supplementaryConfiguration.S3OriginBuckets": "GetBucketLocation"},
    aws_identifier="CLOUDFRONT_S3_ORIGIN_NON_EXISTENT_BUCKET",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="periodic",
    severity="high",
    compliant_when="Every S3 origin (S3OriginConfig) of the distribution points to a bucket that exists.",
)
def cloudfront_s3_origin_non_existent_bucket(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Origins on S3 website endpoints are custom origins and not evaluated, as AWS says. A bucket
    that exists in another account (its owner refuses phiwatch's read) exists."""
    config = _config(item)
    if not _s3_origins(config):
        return not_applicable("the distribution has no S3 origin")
    exists = get(item, "supplementaryConfiguration.S3OriginBuckets") or {}
    gone = sorted(name for name, found in exists.items() if found is False)
    if gone:
        return non_compliant(f"S3 origin bucket(s) {', '.join(gone)} do not exist")
    return compliant("every S3 origin's bucket exists")


@rule(
    "cloudfront-security-policy-check",
    reads=READS,
    aws_identifier="CLOUDFRONT_SECURITY_POLICY_CHECK",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="change",
    severity="high",
    compliant_when="The distribution's viewer security policy (MinimumProtocolVersion) is TLSv1.2_2018 or newer.",
)
def cloudfront_security_policy_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """A distribution on CloudFront's default certificate cannot choose a security policy
    (CloudFront fixes TLSv1): NOT_APPLICABLE here, and NON_COMPLIANT for
    cloudfront-custom-ssl-certificate."""
    config = _config(item)
    if _uses_default_certificate(config):
        return not_applicable("the distribution uses CloudFront's default certificate, whose security policy cannot be chosen")
    version = str((config.get("ViewerCertificate") or {}).get("MinimumProtocolVersion") or "")
    if not version or version in WEAK_VIEWER_POLICIES or not version.startswith(("TLSv1.2", "TLSv1.3")):
        return non_compliant(f"minimum viewer protocol {version or 'unset'} is below TLSv1.2_2018")
    return compliant(f"minimum viewer protocol is {version}")


@rule(
    "cloudfront-sni-enabled",
    reads=READS,
    aws_identifier="CLOUDFRONT_SNI_ENABLED",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="change",
    severity="low",
    compliant_when="A distribution with a custom certificate serves HTTPS with SNI (SSLSupportMethod sni-only), not dedicated IPs.",
)
def cloudfront_sni_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    config = _config(item)
    if _uses_default_certificate(config):
        return not_applicable("the distribution uses CloudFront's default certificate")
    method = str((config.get("ViewerCertificate") or {}).get("SSLSupportMethod") or "")
    if method != "sni-only":
        return non_compliant(f"the custom certificate is served with SSL support method {method or 'unset'}, not sni-only")
    return compliant("the custom certificate is served with SNI")


def _origins_of_behaviour(config: dict[str, Any], target: Any) -> set[str]:
    """The origin ids a behaviour's TargetOriginId reaches (an origin group's members)."""
    for group in _items(config.get("OriginGroups")):
        if group.get("Id") == target:
            return {str(m.get("OriginId")) for m in _items(group.get("Members"))}
    return {str(target)}


@rule(
    "cloudfront-traffic-to-origin-encrypted",
    reads=READS,
    aws_identifier="CLOUDFRONT_TRAFFIC_TO_ORIGIN_ENCRYPTED",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="change",
    severity="high",
    compliant_when="No custom origin is reached over HTTP: OriginProtocolPolicy is not http-only, nor match-viewer for a behaviour allowing HTTP viewers.",
)
def cloudfront_traffic_to_origin_encrypted(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """A match-viewer origin is NON_COMPLIANT when a cache behaviour sending requests to it (directly
    or through an origin group) has ViewerProtocolPolicy allow-all. NOT_APPLICABLE without custom origins."""
    config = _config(item)
    custom = {
        str(o.get("Id")): o["CustomOriginConfig"] for o in _items(config.get("Origins")) if isinstance(o.get("CustomOriginConfig"), dict)
    }
    if not custom:
        return not_applicable("the distribution has no custom origin")
    http_viewers: set[str] = set()
    for behaviour in _behaviours(config):
        if behaviour.get("ViewerProtocolPolicy") == "allow-all":
            http_viewers |= _origins_of_behaviour(config, behaviour.get("TargetOriginId"))
    plain = sorted(oid for oid, c in custom.items() if c.get("OriginProtocolPolicy") == "http-only")
    matched = sorted(oid for oid, c in custom.items() if c.get("OriginProtocolPolicy") == "match-viewer" and oid in http_viewers)
    if plain or matched:
        parts = ([f"origin(s) {', '.join(plain)} are http-only"] if plain else []) + (
            [f"origin(s) {', '.join(matched)} match viewers allowed to use HTTP"] if matched else []
        )
        return non_compliant("; ".join(parts))
    return compliant("traffic to every custom origin is encrypted")


@rule(
    "cloudfront-viewer-policy-https",
    reads=READS,
    aws_identifier="CLOUDFRONT_VIEWER_POLICY_HTTPS",
    service=SERVICE,
    resource_types=(DISTRIBUTION,),
    trigger="change",
    severity="high",
    compliant_when="No cache behaviour (default or other) has ViewerProtocolPolicy allow-all: viewers use HTTPS directly or are redirected.",
)
def cloudfront_viewer_policy_https(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    config = _config(item)
    default = config.get("DefaultCacheBehavior") or {}
    loose = ["default"] if default.get("ViewerProtocolPolicy") == "allow-all" else []
    loose += [str(b.get("PathPattern")) for b in _items(config.get("CacheBehaviors")) if b.get("ViewerProtocolPolicy") == "allow-all"]
    if loose:
        return non_compliant(f"cache behaviour(s) {', '.join(loose)} allow HTTP (ViewerProtocolPolicy allow-all)")
    return compliant("every cache behaviour requires or redirects to HTTPS")
