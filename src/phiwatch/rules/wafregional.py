"""AWS WAF Classic regional rules (AWS Config managed-rule semantics), and Firewall Manager's web
ACL policy check, which reads which web ACL protects each resource.

Items are described in :mod:`phiwatch.resources.wafregional` (the layout of
:mod:`phiwatch.resources.waf`, plus a web ACL's ``supplementaryConfiguration.AssociatedResources``:
its Application Load Balancers). A load balancer's WAFv2 web ACL is on the account item
(``wafv2LoadBalancerWebAcls``, :mod:`phiwatch.resources.wafv2`); an API Gateway stage names its web
ACL itself (``webAclArn``); a CloudFront distribution too (``DistributionConfig.WebACLId``).

The emulator (moto) has no WAF Classic API: these rules are tested on constructed items.
"""

from __future__ import annotations

import json

from phiwatch.model import ConfigurationItem
from phiwatch.resources.apigateway import REST_STAGE
from phiwatch.resources.cloudfront import DISTRIBUTION
from phiwatch.resources.elbv2 import LOAD_BALANCER_V2
from phiwatch.resources.wafregional import RULE, RULE_GROUP, WEB_ACL
from phiwatch.rules._account import account_value
from phiwatch.rules.base import (
    REQUIRED,
    Result,
    RuleContext,
    compliant,
    describe_failure,
    get,
    insufficient,
    non_compliant,
    not_applicable,
    rule,
)
from phiwatch.rules.waf import RULE_GROUP_READS, rule_group_not_empty, rule_not_empty, web_acl_not_empty

SERVICE = "AWS WAF"
FMS = "AWS Firewall Manager"


@rule(
    "waf-regional-webacl-not-empty",
    aws_identifier="WAF_REGIONAL_WEBACL_NOT_EMPTY",
    service=SERVICE,
    resource_types=(WEB_ACL,),
    trigger="change",
    severity="medium",
    compliant_when="The regional WAF Classic web ACL contains at least one rule or rule group.",
)
def waf_regional_webacl_not_empty(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return web_acl_not_empty(item)


@rule(
    "waf-regional-rule-not-empty",
    aws_identifier="WAF_REGIONAL_RULE_NOT_EMPTY",
    service=SERVICE,
    resource_types=(RULE,),
    trigger="change",
    severity="medium",
    compliant_when="The regional WAF Classic rule contains at least one condition.",
)
def waf_regional_rule_not_empty(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return rule_not_empty(item)


@rule(
    "waf-regional-rulegroup-not-empty",
    reads=RULE_GROUP_READS,
    aws_identifier="WAF_REGIONAL_RULEGROUP_NOT_EMPTY",
    service=SERVICE,
    resource_types=(RULE_GROUP,),
    trigger="change",
    severity="medium",
    compliant_when="The regional WAF Classic rule group contains at least one rule.",
)
def waf_regional_rulegroup_not_empty(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return rule_group_not_empty(item)


# -- Firewall Manager's scope and the web ACL of a resource ----------------------------------------


def tag_scope(item: ConfigurationItem, params: dict) -> Result | None:
    """NOT_APPLICABLE when Firewall Manager's ``resourceTags`` (``{"key": ["value", ...]}``, JSON)
    leave the resource out: it must match (a tag whose value is listed; an empty list: any value)
    or, with ``excludeResourceTags`` true, must not. None when the resource is in scope. A
    ``resourceTags`` that is not such a JSON object raises (the rule reports a rule error)."""
    raw = (params.get("resourceTags") or "").strip()
    if not raw:
        return None
    wanted = json.loads(raw)
    if not isinstance(wanted, dict):
        raise ValueError("resourceTags is not a JSON object")
    tags = item.tags or {}
    matches = any(
        key in tags and (not values or tags[key] in ([values] if isinstance(values, str) else values)) for key, values in wanted.items()
    )
    if params.get("excludeResourceTags") is True:
        return not_applicable("excluded by resourceTags") if matches else None
    return None if matches else not_applicable("not selected by resourceTags")


def load_balancer_web_acls(item: ConfigurationItem, ctx: RuleContext) -> tuple[set[str], Result | None]:
    """Ids and ARNs of the web ACLs (WAF Classic regional and WAFv2) associated with a load
    balancer; an INSUFFICIENT_DATA result when one of those associations could not be read."""
    arn = item.arn or item.resourceId
    found: set[str] = set()
    for acl in ctx.items(WEB_ACL, account_id=item.accountId, region=item.awsRegion):
        associated = get(acl, "supplementaryConfiguration.AssociatedResources")
        if associated is None and "ListResourcesForWebACL" in acl.failed_apis():
            return found, insufficient(describe_failure(acl, ["ListResourcesForWebACL"]))
        if arn in (associated or []):
            found |= {acl.resourceId, acl.arn or ""}
    v2, failure = account_value(item, ctx, "wafv2LoadBalancerWebAcls", ("ListWebACLs", "ListResourcesForWebACL"))
    if failure is not None:
        return found, failure
    if isinstance(v2, dict) and isinstance(v2.get(arn), dict):
        found |= {str(v2[arn].get("Id")), str(v2[arn].get("ARN"))}
    return found - {""}, None


def resource_web_acls(item: ConfigurationItem, ctx: RuleContext) -> tuple[set[str], Result | None] | None:
    """The web ACL ids/ARNs of a CloudFront distribution, an Application Load Balancer or an API
    Gateway stage; None for a resource that cannot have one (another type, a network load balancer)."""
    if item.resourceType == DISTRIBUTION:
        acl = str(get(item, "configuration.DistributionConfig.WebACLId") or "")
        return ({acl} if acl else set()), None
    if item.resourceType == LOAD_BALANCER_V2:
        if str(get(item, "configuration.Type") or "application") != "application":
            return None
        return load_balancer_web_acls(item, ctx)
    if item.resourceType == REST_STAGE:
        acl = str(get(item, "configuration.webAclArn") or "")
        return ({acl} if acl else set()), None
    return None


def acl_matches(found: set[str], wanted: str) -> bool:
    """Whether ``wanted`` (a WAF Classic id, a WAFv2 id or ARN) is one of ``found``, or an ARN ending with one."""
    return wanted in found or any(f and (f.endswith("/" + wanted) or wanted.endswith("/" + f)) for f in found)


@rule(
    "fms-webacl-resource-policy-check",
    reads={},
    aws_identifier="FMS_WEBACL_RESOURCE_POLICY_CHECK",
    service=FMS,
    resource_types=(DISTRIBUTION, REST_STAGE, LOAD_BALANCER_V2, WEB_ACL),
    trigger="change",
    severity="medium",
    compliant_when="The CloudFront distribution, Application Load Balancer or API Gateway stage is associated with the web ACL webACLId.",
    parameters={
        "webACLId": ("str", REQUIRED),
        "resourceTags": ("str", None),
        "excludeResourceTags": ("bool", None),
        "fmsManagedToken": ("str", None),
        "fmsRemediationEnabled": ("bool", None),
    },
)
def fms_webacl_resource_policy_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """A rule AWS Firewall Manager deploys. Regional WAF Classic web ACLs are read, not judged
    (their associations say which load balancers they protect). webACLId is required: the rule
    does not run without it. fmsManagedToken and fmsRemediationEnabled are Firewall Manager's,
    ignored as AWS Config does."""
    wanted = (params.get("webACLId") or "").strip()
    if not wanted or item.resourceType == WEB_ACL:
        return None
    found = resource_web_acls(item, ctx)
    if found is None:
        return not_applicable("not an Application Load Balancer")
    scoped = tag_scope(item, params)
    if scoped is not None:
        return scoped
    acls, failure = found
    if failure is not None:
        return failure
    if acl_matches(acls, wanted):
        return compliant(f"web ACL {wanted} is associated")
    if acls:
        return non_compliant(f"associated with web ACL {', '.join(sorted(acls))}, not {wanted}")
    return non_compliant(f"no web ACL is associated (expected {wanted})")
