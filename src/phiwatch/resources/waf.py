"""AWS WAF Classic, global (the ``waf`` API, for CloudFront): web ACLs (AWS::WAF::WebACL), rules
(AWS::WAF::Rule) and rule groups (AWS::WAF::RuleGroup). A global service: collected once per
account, items in region ``global``.

:func:`classic_specs` describes the three types for both WAF Classic APIs: this module's global
one and :mod:`phiwatch.resources.wafregional` (``waf-regional``), whose items have the same layout:

* ``WebACL``: resourceId ``WebACLId``, resourceName ``Name``, arn ``WebACLArn``.
  ``configuration`` = GetWebACL's ``WebACL`` (``DefaultAction``, ``Rules``: the activated rules
  and rule groups, each ``{Priority, RuleId, Type: REGULAR|RATE_BASED|GROUP, Action|OverrideAction}``).
  ``supplementaryConfiguration.LoggingConfiguration``: GetLoggingConfiguration's
  ``LoggingConfiguration`` (``LogDestinationConfigs``, ...) or ``None`` when logging is off.
* ``Rule``: resourceId ``RuleId``; ``configuration`` = GetRule's ``Rule`` (``Predicates``: its conditions).
* ``RuleGroup``: resourceId ``RuleGroupId``; ``configuration`` = the listing element (``RuleGroupId``,
  ``Name``); ``supplementaryConfiguration.ActivatedRules``: ListActivatedRulesInRuleGroup's rules.
* ``tags``: ListTagsForResource.

A supplementary key that is absent means its call failed (see ``collectionErrors``).
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, Event, FromItem, P, R, ResourceSpec, Service, on

WEB_ACL = "AWS::WAF::WebACL"
RULE = "AWS::WAF::Rule"
RULE_GROUP = "AWS::WAF::RuleGroup"

NONEXISTENT = ("WAFNonexistentItemException",)


def classic_specs(
    client: str,
    source: str,
    types: tuple[str, str, str],
    region: str,
    paged: bool,
    extra_details: dict[str, Call] | None = None,
    extra_events: tuple[Event, ...] = (),
) -> tuple[ResourceSpec, ResourceSpec, ResourceSpec]:
    """The web ACL, rule and rule group specs of a WAF Classic API (``waf`` or ``waf-regional``).

    ``region``: the ARN's region part (empty for the global API, ``{region}`` otherwise);
    ``paged``: whether boto3 pages ListActivatedRulesInRuleGroup (it does not for ``waf-regional``,
    which then reads up to 100 rules, more than a rule group can hold)."""
    web_acl, rule, rule_group = types
    prefix = client  # the IAM prefix is the client's name (waf, waf-regional)

    def arn(kind: str) -> str:
        return f"arn:{{partition}}:{client}:{region}:{{account}}:{kind}/{{id}}"

    def tags() -> Call:
        return Call(
            "ListTagsForResource", f"{prefix}:ListTagsForResource", {"ResourceARN": FromItem("arn")}, result="TagInfoForResource.TagList"
        )

    def tagging(kind: str) -> Event:
        return on(source, "TagResource UntagResource", R("requestParameters.resourceARN", f"^arn:[^:]+:{client}:[^:]*:[^:]*:{kind}/(.+)$"))

    activated = Call(
        "ListActivatedRulesInRuleGroup",
        f"{prefix}:ListActivatedRulesInRuleGroup",
        {"RuleGroupId": "RuleGroupId"} if paged else {"RuleGroupId": "RuleGroupId", "Limit": 100},
        result="ActivatedRules",
        pages=paged,
    )
    return (
        ResourceSpec(
            web_acl,
            client=client,
            listing=Call("ListWebACLs", f"{prefix}:ListWebACLs", result="WebACLs"),
            id="WebACLId",
            name="Name",
            arn=("WebACLArn", arn("webacl")),
            describe=Call("GetWebACL", f"{prefix}:GetWebACL", {"WebACLId": "WebACLId"}, result="WebACL"),
            gone=NONEXISTENT,
            details={
                "LoggingConfiguration": Call(
                    "GetLoggingConfiguration",
                    f"{prefix}:GetLoggingConfiguration",
                    {"ResourceArn": FromItem("arn")},
                    result="LoggingConfiguration",
                    absent=NONEXISTENT,
                ),
                **(extra_details or {}),
            },
            tags=tags(),
            events=(
                on(
                    source, "CreateWebACL UpdateWebACL DeleteWebACL", P("requestParameters.webACLId"), P("responseElements.webACL.webACLId")
                ),
                on(
                    source,
                    "PutLoggingConfiguration DeleteLoggingConfiguration",
                    R("requestParameters.loggingConfiguration.resourceArn", f"^arn:[^:]+:{client}:[^:]*:[^:]*:webacl/(.+)$"),
                    R("requestParameters.resourceArn", f"^arn:[^:]+:{client}:[^:]*:[^:]*:webacl/(.+)$"),
                ),
                tagging("webacl"),
                *extra_events,
            ),
        ),
        ResourceSpec(
            rule,
            client=client,
            listing=Call("ListRules", f"{prefix}:ListRules", result="Rules"),
            id="RuleId",
            name="Name",
            arn=arn("rule"),
            describe=Call("GetRule", f"{prefix}:GetRule", {"RuleId": "RuleId"}, result="Rule"),
            gone=NONEXISTENT,
            tags=tags(),
            events=(
                on(source, "CreateRule UpdateRule DeleteRule", P("requestParameters.ruleId"), P("responseElements.rule.ruleId")),
                tagging("rule"),
            ),
        ),
        ResourceSpec(
            rule_group,
            client=client,
            listing=Call("ListRuleGroups", f"{prefix}:ListRuleGroups", result="RuleGroups"),
            id="RuleGroupId",
            name="Name",
            arn=arn("rulegroup"),
            details={"ActivatedRules": activated},
            tags=tags(),
            events=(
                on(
                    source,
                    "CreateRuleGroup UpdateRuleGroup DeleteRuleGroup",
                    P("requestParameters.ruleGroupId"),
                    P("responseElements.ruleGroup.ruleGroupId"),
                ),
                tagging("rulegroup"),
            ),
        ),
    )


SERVICE = Service(
    "waf",
    scope="global",
    global_items=True,
    resources=classic_specs("waf", "waf.amazonaws.com", (WEB_ACL, RULE, RULE_GROUP), "", paged=True),
)
