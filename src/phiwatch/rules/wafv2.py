"""AWS WAF rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.wafv2`: ``AWS::WAFv2::WebACL`` with
``supplementaryConfiguration.LoggingConfiguration`` (``None`` = logging off), and the account
item's ``wafv2LoadBalancerWebAcls`` (``{load balancer ARN: {"Id", "Name", "ARN"}}`` per region),
which ``alb-waf-enabled`` reads for each Application Load Balancer of :mod:`phiwatch.collect.elbv2`.

``alb-waf-enabled`` also counts AWS WAF Classic regional web ACLs (``AWS::WAFRegional::WebACL``
items and their ``AssociatedResources``, :mod:`phiwatch.rules.wafregional`), as AWS's rule does:
its ``wafWebAclIds`` takes WAF Classic web ACL ids as well as WAFv2 web ACL ARNs.

Known limits: ``alb-waf-enabled`` is a change-triggered rule
whose answer depends on the web ACLs: a new association is seen when the load balancer is next
re-evaluated (a full scan, ``--full``, re-evaluates at once).
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.elbv2 import LOAD_BALANCER_V2
from phiwatch.resources.wafregional import WEB_ACL as CLASSIC_WEB_ACL
from phiwatch.resources.wafv2 import RULE_GROUP, WEB_ACL
from phiwatch.rules._account import account_value
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, non_compliant, not_applicable, rule
from phiwatch.rules.waf import unread
from phiwatch.rules.wafregional import acl_matches, load_balancer_web_acls

SUP = "supplementaryConfiguration."


@rule(
    "alb-waf-enabled",
    aws_identifier="ALB_WAF_ENABLED",
    service="Elastic Load Balancing",
    resource_types=(LOAD_BALANCER_V2,),
    trigger="change",
    severity="low",
    compliant_when="WAF is enabled on the ALB (waf.enabled = true; optionally with one of the wafWebAclIds web ACLs).",
    parameters={"wafWebAclIds": ("str", None)},
)
def alb_waf_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS: NON_COMPLIANT when no web ACL protects the Application Load Balancer, or when
    ``wafWebAclIds`` (comma-separated WAF Classic web ACL ids or WAFv2 web ACL ARNs) is set and the
    load balancer's web ACL is none of them. Both a WAFv2 web ACL and a WAF Classic regional web
    ACL count. Network and gateway load balancers are NOT_APPLICABLE. When neither WAF service was
    collected for the region, nothing is judged."""
    if str(get(item, "configuration.Type") or "application") != "application":
        return not_applicable("not an Application Load Balancer")
    found, failure = load_balancer_web_acls(item, ctx)
    if failure is not None:
        return failure  # INSUFFICIENT_DATA: a web ACL's associations could not be read
    associations, _ = account_value(item, ctx, "wafv2LoadBalancerWebAcls", ("ListWebACLs", "ListResourcesForWebACL"))
    v2 = associations.get(item.arn or item.resourceId) if isinstance(associations, dict) else None
    classic_collected = bool(ctx.items(CLASSIC_WEB_ACL, account_id=item.accountId, region=item.awsRegion))
    if not found:
        if not isinstance(associations, dict) and not classic_collected:
            return None  # no WAF service collected for this region: no verdict
        return non_compliant("no AWS WAF web ACL is associated with the load balancer")
    names = sorted({str(v2.get("Name"))} if isinstance(v2, dict) and v2.get("Name") else found)
    allowed = csv_list(params.get("wafWebAclIds"))
    if allowed:
        candidates = found | ({str(v2.get("Name"))} if isinstance(v2, dict) and v2.get("Name") else set())
        if not any(acl_matches(candidates, wanted) for wanted in allowed):
            return non_compliant(f"web ACL {', '.join(names)} is not one of wafWebAclIds")
    return compliant(f"web ACL {', '.join(names)} is associated")


@rule(
    "wafv2-logging-enabled",
    reads={SUP + "LoggingConfiguration": "GetLoggingConfiguration"},
    aws_identifier="WAFV2_LOGGING_ENABLED",
    service="AWS WAF",
    resource_types=(WEB_ACL,),
    trigger="periodic",
    severity="medium",
    compliant_when="Logging is enabled on the WAFv2 web ACL (to KinesisFirehoseDeliveryStreamArns if set).",
    parameters={"KinesisFirehoseDeliveryStreamArns": ("str", None)},
    aws_runbook="AWSConfigRemediation-EnableWAFV2Logging",
)
def wafv2_logging_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    logging = get(item, SUP + "LoggingConfiguration")
    if not logging:
        return non_compliant("logging is not enabled on the web ACL")
    destinations = logging.get("LogDestinationConfigs") or []
    allowed = csv_list(params.get("KinesisFirehoseDeliveryStreamArns"))
    if allowed and not set(destinations) & set(allowed):
        return non_compliant("logging goes to a destination not in KinesisFirehoseDeliveryStreamArns")
    return compliant("logging is enabled")


def _rules(item: ConfigurationItem, *keys: str) -> int:
    return sum(len(value) for value in (get(item, "configuration." + k) for k in keys) if isinstance(value, list))


@rule(
    "wafv2-webacl-not-empty",
    aws_identifier="WAFV2_WEBACL_NOT_EMPTY",
    service="AWS WAF",
    resource_types=(WEB_ACL,),
    trigger="change",
    severity="medium",
    compliant_when="The WAFv2 web ACL contains at least one rule or rule group reference.",
)
def wafv2_webacl_not_empty(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """The web ACL's own ``Rules`` (rules and rule group references) count, and so do the rule
    groups Firewall Manager runs before and after them (``PreProcessFirewallManagerRuleGroups``,
    ``PostProcessFirewallManagerRuleGroups``)."""
    failed = unread(item, "configuration.Rules", "GetWebACL")
    if failed is not None:
        return failed
    count = _rules(item, "Rules", "PreProcessFirewallManagerRuleGroups", "PostProcessFirewallManagerRuleGroups")
    if not count:
        return non_compliant("the web ACL has no rule or rule group")
    return compliant(f"the web ACL has {count} rule(s) or rule group(s)")


@rule(
    "wafv2-rulegroup-not-empty",
    aws_identifier="WAFV2_RULEGROUP_NOT_EMPTY",
    service="AWS WAF",
    resource_types=(RULE_GROUP,),
    trigger="change",
    severity="medium",
    compliant_when="The WAFv2 rule group contains at least one rule.",
)
def wafv2_rulegroup_not_empty(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    failed = unread(item, "configuration.Rules", "GetRuleGroup")
    if failed is not None:
        return failed
    count = _rules(item, "Rules")
    if not count:
        return non_compliant("the rule group has no rule")
    return compliant(f"the rule group has {count} rule(s)")
