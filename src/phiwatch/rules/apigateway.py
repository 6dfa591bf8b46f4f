"""API Gateway rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.apigateway`: a stage's settings are its GetStages
element in ``configuration`` (REST stages: ``methodSettings``, ``clientCertificateId``,
``webAclArn``; v2 stages: ``DefaultRouteSettings``, ``RouteSettings``). A stage item exists
only when its GetStages call succeeded.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.apigateway import REST_STAGE, V2_STAGE
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, non_compliant, rule

CONF = "configuration."


# reads is empty on purpose: REST and v2 stages keep their settings under different keys.
@rule(
    "api-gw-execution-logging-enabled",
    reads={},
    aws_identifier="API_GW_EXECUTION_LOGGING_ENABLED",
    service="Amazon API Gateway",
    resource_types=(
        REST_STAGE,
        V2_STAGE,
    ),
    trigger="change",
    severity="medium",
    compliant_when="Execution logging is enabled for all methods of the API Gateway stage at level ERROR or INFO.",
    parameters={"loggingLevel": ("str", "ERROR,INFO")},
)
def api_gw_execution_logging_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    allowed = [v.upper() for v in csv_list(params.get("loggingLevel"))] or ["ERROR", "INFO"]
    if item.resourceType == REST_STAGE:
        settings = get(item, CONF + "methodSettings") or {}
        if (settings.get("*/*") or {}).get("loggingLevel") is None:
            return non_compliant("execution logging is not configured for all methods (no */* logging level)")
        bad = sorted(m for m, s in settings.items() if str((s or {}).get("loggingLevel", "OFF")).upper() not in allowed)
        if bad:
            return non_compliant(f"execution logging level is not {'/'.join(allowed)} for {', '.join(bad[:5])}")
        return compliant(f"execution logging at {settings['*/*']['loggingLevel']} for all methods")
    default = get(item, CONF + "DefaultRouteSettings") or {}
    level = default.get("LoggingLevel")
    if str(level).upper() not in allowed:
        protocol = (get(item, "supplementaryConfiguration.Api") or {}).get("ProtocolType")
        hint = " (HTTP APIs support access logging only)" if protocol == "HTTP" else ""
        return non_compliant(f"default route logging level is {level or 'not set'}, not {'/'.join(allowed)}{hint}")
    routes = get(item, CONF + "RouteSettings") or {}
    bad = sorted(r for r, s in routes.items() if (s or {}).get("LoggingLevel") and str(s["LoggingLevel"]).upper() not in allowed)
    if bad:
        return non_compliant(f"execution logging level is not {'/'.join(allowed)} for route(s) {', '.join(bad[:5])}")
    return compliant(f"execution logging at {level} for all routes")


@rule(
    "api-gw-ssl-enabled",
    reads={},
    aws_identifier="API_GW_SSL_ENABLED",
    service="Amazon API Gateway",
    resource_types=(REST_STAGE,),
    trigger="change",
    severity="high",
    compliant_when="The API Gateway REST API stage has a client (SSL) certificate associated.",
    parameters={"CertificateIDs": ("str", None)},
)
def api_gw_ssl_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    certificate = get(item, CONF + "clientCertificateId")
    if not certificate:
        return non_compliant("stage has no client SSL certificate")
    allowed = csv_list(params.get("CertificateIDs"))
    if allowed and certificate not in allowed:
        return non_compliant(f"client certificate {certificate} is not one of CertificateIDs")
    return compliant(f"stage uses client certificate {certificate}")


@rule(
    "api-gw-associated-with-waf",
    reads={},
    aws_identifier="API_GW_ASSOCIATED_WITH_WAF",
    service="Amazon API Gateway",
    resource_types=(REST_STAGE,),
    trigger="change",
    severity="low",
    compliant_when="The API Gateway REST API stage is associated with an AWS WAF web ACL (optionally one of WebAclArns).",
    parameters={"WebAclArns": ("str", None)},
)
def api_gw_associated_with_waf(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    acl = get(item, CONF + "webAclArn")
    if not acl:
        return non_compliant("stage is not associated with an AWS WAF web ACL")
    allowed = csv_list(params.get("WebAclArns"))
    if allowed and acl not in allowed:
        return non_compliant("stage's web ACL is not one of WebAclArns")
    return compliant("stage is associated with an AWS WAF web ACL")
