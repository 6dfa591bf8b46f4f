"""AWS WAF Classic rules, global (AWS Config managed-rule semantics), and the helpers the regional
ones (:mod:`phiwatch.rules.wafregional`) share.

Items are described in :mod:`phiwatch.resources.waf`: a web ACL's ``configuration.Rules`` (its
activated rules and rule groups), a rule's ``configuration.Predicates`` (its conditions), a rule
group's ``supplementaryConfiguration.ActivatedRules``, a web ACL's
``supplementaryConfiguration.LoggingConfiguration`` (``None`` = logging off). AWS Config evaluates
the global rules in us-east-1 only; phiwatch records global WAF Classic resources once, in region
``global``.

The emulator (moto) has no WAF Classic API: these rules are tested on constructed items.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.waf import RULE, RULE_GROUP, WEB_ACL
from phiwatch.resources.wafregional import WEB_ACL as REGIONAL_WEB_ACL
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
    rule,
)

SERVICE = "AWS WAF"
SUP = "supplementaryConfiguration."
RULE_GROUP_READS = {SUP + "ActivatedRules": "ListActivatedRulesInRuleGroup"}


def unread(item: ConfigurationItem, path: str, api: str) -> Result | None:
    """INSUFFICIENT_DATA when ``path`` is missing because ``api`` failed (a failed GetWebACL or GetRule
    leaves the listing's element, without the member the rule reads); None otherwise (an absent
    list is then an empty one)."""
    if not has(item, path) and api in item.failed_apis():
        return insufficient(describe_failure(item, [api]))
    return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def web_acl_not_empty(item: ConfigurationItem) -> Result:
    failed = unread(item, "configuration.Rules", "GetWebACL")
    if failed is not None:
        return failed
    rules = _list(get(item, "configuration.Rules"))
    if not rules:
        return non_compliant("the web ACL has no rule or rule group")
    groups = sum(1 for r in rules if isinstance(r, dict) and r.get("Type") == "GROUP")
    return compliant(f"the web ACL has {len(rules) - groups} rule(s) and {groups} rule group(s)")


def rule_not_empty(item: ConfigurationItem) -> Result:
    failed = unread(item, "configuration.Predicates", "GetRule")
    if failed is not None:
        return failed
    predicates = _list(get(item, "configuration.Predicates"))
    if not predicates:
        return non_compliant("the rule has no condition")
    return compliant(f"the rule has {len(predicates)} condition(s)")


def rule_group_not_empty(item: ConfigurationItem) -> Result:
    rules = _list(get(item, SUP + "ActivatedRules"))
    if not rules:
        return non_compliant("the rule group has no rule")
    return compliant(f"the rule group has {len(rules)} rule(s)")


def parse_rule_groups(value: Any) -> list[tuple[str, str]] | None:
    """``ruleGroups`` (``"id-1:NONE, id-2:COUNT"``) as ``[(id, override action)]`` in rank order;
    an entry without an action expects NONE. None when the parameter is empty."""
    pairs = []
    for entry in csv_list(value):
        group, _, action = entry.partition(":")
        if group.strip():
            pairs.append((group.strip(), (action.strip() or "NONE").upper()))
    return pairs or None


def rule_groups_in_order(item: ConfigurationItem, wanted: list[tuple[str, str]]) -> Result:
    """Each wanted rule group is activated in the web ACL with its override action, and their
    priorities rise in the order of ``ruleGroups``."""
    activated = {
        str(r.get("RuleId")): r for r in _list(get(item, "configuration.Rules")) if isinstance(r, dict) and r.get("Type") == "GROUP"
    }
    problems = []
    priorities: list[tuple[int, str]] = []
    for group, action in wanted:
        found = activated.get(group)
        if found is None:
            problems.append(f"rule group {group} is not associated")
            continue
        override = str(((found.get("OverrideAction") or {}).get("Type")) or "NONE").upper()
        if override != action:
            problems.append(f"rule group {group} has override action {override}, not {action}")
        if isinstance(found.get("Priority"), int):
            priorities.append((found["Priority"], group))
    if any(a[0] >= b[0] for a, b in zip(priorities, priorities[1:], strict=False)):
        problems.append("the rule groups' priorities do not follow their order in ruleGroups")
    if problems:
        return non_compliant("; ".join(problems))
    return compliant(f"{len(wanted)} rule group(s) associated at the expected priorities")


@rule(
    "waf-global-webacl-not-empty",
    aws_identifier="WAF_GLOBAL_WEBACL_NOT_EMPTY",
    service=SERVICE,
    resource_types=(WEB_ACL,),
    trigger="change",
    severity="medium",
    compliant_when="The global WAF Classic web ACL contains at least one rule or rule group.",
)
def waf_global_webacl_not_empty(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return web_acl_not_empty(item)


@rule(
    "waf-global-rule-not-empty",
    aws_identifier="WAF_GLOBAL_RULE_NOT_EMPTY",
    service=SERVICE,
    resource_types=(RULE,),
    trigger="change",
    severity="medium",
    compliant_when="The global WAF Classic rule contains at least one condition.",
)
def waf_global_rule_not_empty(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return rule_not_empty(item)


@rule(
    "waf-global-rulegroup-not-empty",
    reads=RULE_GROUP_READS,
    aws_identifier="WAF_GLOBAL_RULEGROUP_NOT_EMPTY",
    service=SERVICE,
    resource_types=(RULE_GROUP,),
    trigger="change",
    severity="medium",
    compliant_when="The global WAF Classic rule group contains at least one rule.",
)
def waf_global_rulegroup_not_empty(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    return rule_group_not_empty(item)


@rule(
    "waf-classic-logging-enabled",
    reads={SUP + "LoggingConfiguration": "GetLoggingConfiguration"},
    aws_identifier="WAF_CLASSIC_LOGGING_ENABLED",
    service=SERVICE,
    resource_types=(WEB_ACL,),
    trigger="periodic",
    severity="medium",
    compliant_when="Logging is enabled on the global WAF Classic web ACL (to one of KinesisFirehoseDeliveryStreamArns when given).",
    parameters={"KinesisFirehoseDeliveryStreamArns": ("str", None)},
)
def waf_classic_logging_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS lists no resource type for this periodic rule; it reports each global web ACL, so
    phiwatch judges AWS::WAF::WebACL items (regional WAF Classic web ACLs are not in its scope)."""
    logging = get(item, SUP + "LoggingConfiguration")
    if not logging:
        return non_compliant("logging is not enabled on the web ACL")
    destinations = [str(d) for d in _list(logging.get("LogDestinationConfigs"))]
    allowed = csv_list(params.get("KinesisFirehoseDeliveryStreamArns"))
    if allowed and not set(destinations) & set(allowed):
        return non_compliant("logging goes to a destination not in KinesisFirehoseDeliveryStreamArns")
    return compliant("logging is enabled")


@rule(
    "fms-webacl-rulegroup-association-check",
    aws_identifier="FMS_WEBACL_RULEGROUP_ASSOCIATION_CHECK",
    service="AWS Firewall Manager",
    resource_types=(WEB_ACL, REGIONAL_WEB_ACL),
    trigger="change",
    severity="medium",
    compliant_when="Every rule group of ruleGroups is associated with the web ACL, with its override action, at priorities in ruleGroups' order.",
    parameters={"ruleGroups": ("str", REQUIRED), "fmsManagedToken": ("str", None), "fmsRemediationEnabled": ("bool", None)},
)
def fms_webacl_rulegroup_association_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """A rule AWS Firewall Manager deploys. ``ruleGroups`` is "id:ACTION" pairs, comma-separated,
    in rank order (an id alone expects NONE); the ranks' priorities must rise in that order (other
    rules may sit between them). ruleGroups is required: the rule does not run without it.
    fmsManagedToken and fmsRemediationEnabled are Firewall Manager's, ignored as AWS Config does."""
    wanted = parse_rule_groups(params.get("ruleGroups"))
    if wanted is None:
        return None
    failed = unread(item, "configuration.Rules", "GetWebACL")
    if failed is not None:
        return failed
    return rule_groups_in_order(item, wanted)
