"""AWS AppSync rules: AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.appsync`: ``configuration`` is the ListGraphqlApis
element (``logConfig``, ``wafWebAclArn``), ``supplementaryConfiguration.ApiCache`` the API's cache
(None: the API has no cache; missing: GetApiCache failed, "could not check").

Decisions where AWS's documentation leaves room:

* appsync-cache-encryption-at-rest: an API without a cache is NOT_APPLICABLE (there is nothing to
  encrypt).
* appsync-logging-enabled: without ``fieldLoggingLevel`` any field log level but ``NONE`` is
  compliant (AWS's current page: "field level logging enabled"; its older wording, "ERROR or ALL",
  predates the INFO and DEBUG levels). With it set, the API's level must be one of its values
  (compared without case).
* appsync-associated-with-waf: ``wafWebAclARNs`` entries are compared with the API's web ACL ARN
  exactly.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.appsync import GRAPHQL_API
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, non_compliant, not_applicable, rule

CONF = "configuration."
SUP = "supplementaryConfiguration."


@rule(
    "appsync-associated-with-waf",
    reads={},
    aws_identifier="APPSYNC_ASSOCIATED_WITH_WAF",
    service="AWS AppSync",
    resource_types=(GRAPHQL_API,),
    trigger="periodic",
    severity="medium",
    compliant_when="The AppSync API is associated with an AWS WAFv2 web ACL (one of wafWebAclARNs when set).",
    parameters={"wafWebAclARNs": ("str", None)},
)
def appsync_associated_with_waf(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    acl = get(item, CONF + "wafWebAclArn")
    if not acl:
        return non_compliant("the API is not associated with an AWS WAF web ACL")
    allowed = csv_list(params.get("wafWebAclARNs"))
    if allowed and acl not in allowed:
        return non_compliant("the API's web ACL is not one of wafWebAclARNs")
    return compliant("the API is associated with an AWS WAF web ACL")


@rule(
    "appsync-cache-encryption-at-rest",
    reads={SUP + "ApiCache": "GetApiCache"},
    aws_identifier="APPSYNC_CACHE_ENCRYPTION_AT_REST",
    service="AWS AppSync",
    resource_types=(GRAPHQL_API,),
    trigger="periodic",
    severity="medium",
    compliant_when="The AppSync API's cache has encryption at rest enabled.",
)
def appsync_cache_encryption_at_rest(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    cache = get(item, SUP + "ApiCache")
    if not cache:
        return not_applicable("the API has no cache")
    if cache.get("atRestEncryptionEnabled") is True:
        return compliant("the API cache is encrypted at rest")
    return non_compliant("the API cache is not encrypted at rest")


@rule(
    "appsync-logging-enabled",
    reads={},
    aws_identifier="APPSYNC_LOGGING_ENABLED",
    service="AWS AppSync",
    resource_types=(GRAPHQL_API,),
    trigger="change",
    severity="medium",
    compliant_when="The AppSync API has field-level logging on (at one of fieldLoggingLevel when set).",
    parameters={"fieldLoggingLevel": ("str", None)},
)
def appsync_logging_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    level = str((get(item, CONF + "logConfig") or {}).get("fieldLogLevel") or "NONE").upper()
    if level == "NONE":
        return non_compliant("field-level logging is off")
    allowed = [v.upper() for v in csv_list(params.get("fieldLoggingLevel"))]
    if allowed and level not in allowed:
        return non_compliant(f"field log level is {level}, not one of fieldLoggingLevel")
    return compliant(f"field log level is {level}")
