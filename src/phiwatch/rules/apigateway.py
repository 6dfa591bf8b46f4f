"""API Gateway rules: the HIPAA pack's and other AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.apigateway`: a stage's settings are its GetStages
element in ``configuration`` (REST stages: ``methodSettings``, ``clientCertificateId``,
``webAclArn``; v2 stages: ``DefaultRouteSettings``, ``RouteSettings``). A stage item exists
only when its GetStages call succeeded.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.apigateway import REST_API, REST_STAGE, V2_ROUTE, V2_STAGE
from phiwatch.rules.base import REQUIRED, Result, RuleContext, compliant, csv_list, get, non_compliant, rule

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
    """AWS: NON_COMPLIANT when execution logging is off for some method of the stage, or its level is
    not one of ``loggingLevel`` (comma-separated, default ERROR,INFO; compared without case). A REST
    stage needs the stage-wide ``*/*`` level, and every per-method override is judged too. AWS
    returns each override with its ``loggingLevel`` (inherited from the stage when the override
    was made for another setting); the emulator (moto) leaves it out of such an override, which
    then reads as the stage-wide level."""
    allowed = [v.upper() for v in csv_list(params.get("loggingLevel"))] or ["ERROR", "INFO"]
    if item.resourceType == REST_STAGE:
        settings = get(item, CONF + "methodSettings") or {}
        stage_level = (settings.get("*/*") or {}).get("loggingLevel")
        if stage_level is None:
            return non_compliant("execution logging is not configured for all methods (no */* logging level)")
        bad = sorted(m for m, s in settings.items() if str((s or {}).get("loggingLevel") or stage_level).upper() not in allowed)
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


# -- AWS Config managed rules beyond the HIPAA pack -----------------------------------------------


@rule(
    "api-gw-cache-enabled-and-encrypted",
    reads={},
    aws_identifier="API_GW_CACHE_ENABLED_AND_ENCRYPTED",
    service="Amazon API Gateway",
    resource_types=(REST_STAGE,),
    trigger="change",
    severity="medium",
    compliant_when="The REST API stage has its cache cluster on and every method caches, with the cache encrypted.",
)
def api_gw_cache_enabled_and_encrypted(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """ "All methods" is the stage-wide ``*/*`` method setting plus every per-method override: each must
    have ``cachingEnabled`` and ``cacheDataEncrypted`` true, and the stage's cache cluster must be on
    (without it API Gateway caches nothing whatever the method settings say)."""
    if get(item, CONF + "cacheClusterEnabled") is not True:
        return non_compliant("the stage's cache cluster is not enabled")
    settings = get(item, CONF + "methodSettings") or {}
    every = settings.get("*/*") or {}
    if every.get("cachingEnabled") is not True:
        return non_compliant("caching is not enabled for all methods (no */* cache setting)")
    if every.get("cacheDataEncrypted") is not True:
        return non_compliant("the cache is not encrypted for all methods")
    uncached = sorted(m for m, s in settings.items() if m != "*/*" and (s or {}).get("cachingEnabled") is False)
    if uncached:
        return non_compliant(f"caching is off for {', '.join(uncached[:5])}")
    plain = sorted(m for m, s in settings.items() if m != "*/*" and (s or {}).get("cacheDataEncrypted") is False)
    if plain:
        return non_compliant(f"the cache is not encrypted for {', '.join(plain[:5])}")
    return compliant("every method caches, encrypted")


@rule(
    "api-gw-endpoint-type-check",
    reads={},
    aws_identifier="API_GW_ENDPOINT_TYPE_CHECK",
    service="Amazon API Gateway",
    resource_types=(REST_API,),
    trigger="change",
    severity="low",
    compliant_when="The REST API's endpoint type is one of endpointConfigurationTypes (REGIONAL, PRIVATE, EDGE).",
    parameters={"endpointConfigurationTypes": ("str", REQUIRED)},
)
def api_gw_endpoint_type_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """endpointConfigurationTypes is required: AWS does not deploy the rule without it, and
    phiwatch does not run it without it. Types are compared without case. An API with several types (AWS allows only one
    today) must have each of them allowed."""
    allowed = {t.upper() for t in csv_list(params.get("endpointConfigurationTypes"))}
    if not allowed:
        return None
    types = [str(t).upper() for t in (get(item, CONF + "endpointConfiguration") or {}).get("types") or []]
    if not types:
        return non_compliant("the API has no endpoint type")
    outside = sorted(set(types) - allowed)
    if outside:
        return non_compliant(f"endpoint type {', '.join(outside)} is not one of endpointConfigurationTypes")
    return compliant(f"endpoint type {', '.join(types)}")


@rule(
    "api-gw-xray-enabled",
    reads={},
    aws_identifier="API_GW_XRAY_ENABLED",
    service="Amazon API Gateway",
    resource_types=(REST_STAGE,),
    trigger="change",
    severity="low",
    compliant_when="AWS X-Ray tracing is enabled on the REST API stage.",
)
def api_gw_xray_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if get(item, CONF + "tracingEnabled") is True:
        return compliant("X-Ray tracing is enabled")
    return non_compliant("X-Ray tracing is not enabled")


@rule(
    "api-gwv2-access-logs-enabled",
    reads={},
    aws_identifier="API_GWV2_ACCESS_LOGS_ENABLED",
    service="Amazon API Gateway",
    resource_types=(V2_STAGE,),
    trigger="change",
    severity="medium",
    compliant_when="The HTTP or WebSocket API stage has access logging settings (a destination).",
)
def api_gwv2_access_logs_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when the stage has no ``accessLogSettings``; settings without a destination
    log nothing and count as absent."""
    settings = get(item, CONF + "AccessLogSettings") or {}
    if not settings.get("DestinationArn"):
        return non_compliant("access logging is not configured")
    return compliant("access logs are delivered")


@rule(
    "api-gwv2-authorization-type-configured",
    reads={},
    aws_identifier="API_GWV2_AUTHORIZATION_TYPE_CONFIGURED",
    service="Amazon API Gateway",
    resource_types=(V2_ROUTE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The HTTP or WebSocket API route has an authorization type (authorizationType when set), not NONE.",
    parameters={"authorizationType": ("str", None)},
)
def api_gwv2_authorization_type_configured(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """An absent AuthorizationType is NONE (AWS's default). With ``authorizationType`` set (CUSTOM,
    AWS_IAM or JWT; compared without case), the route must use exactly that type. WebSocket APIs take
    authorization on ``$connect`` only, yet their other routes report NONE and are judged like any
    route, as AWS's rule does."""
    kind = str(get(item, CONF + "AuthorizationType") or "NONE").upper()
    if kind == "NONE":
        return non_compliant("the route has no authorization (NONE)")
    wanted = str(params.get("authorizationType") or "").strip().upper()
    if wanted and kind != wanted:
        return non_compliant(f"the route's authorization type is {kind}, not {wanted}")
    return compliant(f"the route's authorization type is {kind}")
