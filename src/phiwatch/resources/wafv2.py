"""AWS WAF (v2): web ACLs (AWS::WAFv2::WebACL), rule groups (AWS::WAFv2::RuleGroup) and which
load balancers the web ACLs protect (AWS::::Account).

``AWS::WAFv2::WebACL`` (collector ``wafv2``), REGIONAL web ACLs in every region and, in
us-east-1 only, CLOUDFRONT web ACLs (AWS Config records those in us-east-1):

* resourceId ``Id``, resourceName ``Name``, arn ``ARN``.
* ``configuration``: GetWebACL's ``WebACL`` (``Rules``, ``DefaultAction``,
  ``PreProcessFirewallManagerRuleGroups``, ``PostProcessFirewallManagerRuleGroups``, ...) merged
  into ListWebACLs' element, without the volatile ``LockToken``, plus ``Scope`` (REGIONAL|CLOUDFRONT).
* ``supplementaryConfiguration.LoggingConfiguration``: GetLoggingConfiguration's
  ``LoggingConfiguration`` (``LogDestinationConfigs``, ``RedactedFields``, ...) or ``None`` when
  logging is off.
* ``supplementaryConfiguration.AssociatedResources`` (REGIONAL only): ListResourcesForWebACL's
  ``ResourceArns`` for ``APPLICATION_LOAD_BALANCER`` (one call per web ACL, not one per ALB).
* ``tags``: ListTagsForResource.

``AWS::WAFv2::RuleGroup``, listed like web ACLs (ListRuleGroups per scope): resourceId ``Id``,
resourceName ``Name``, arn ``ARN``; ``configuration`` = GetRuleGroup's ``RuleGroup`` (``Rules``,
``Capacity``, ...) merged into the listing element, plus ``Scope``; ``tags``: ListTagsForResource.

Account item (per region): ``configuration.wafv2LoadBalancerWebAcls`` =
``{load balancer ARN: {"Id", "Name", "ARN"} of its web ACL}`` for every ALB associated with a
REGIONAL web ACL. Present only when the listing and every association read succeeded; absent
(with the failed call in the account item's ``collectionErrors``) otherwise.

A supplementary key that is absent means its call failed (see ``collectionErrors``); ``None``
means "not configured". AWS WAF Classic (``waf-regional``) associations are not collected.

The specs have no listing: the hook (``collect/wafv2.py``) lists each scope (ListWebACLs and
ListRuleGroups, by NextMarker), reads the associations and makes the account part; the specs read
the rest.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

WEB_ACL = "AWS::WAFv2::WebACL"
RULE_GROUP = "AWS::WAFv2::RuleGroup"
_GONE = ("WAFNonexistentItemException",)

SERVICE = Service(
    "wafv2",
    resources=(
        ResourceSpec(
            WEB_ACL,
            client="wafv2",
            id="Id",
            name="Name",
            arn="ARN",
            describe=Call("GetWebACL", "wafv2:GetWebACL", {"Name": "Name", "Scope": "Scope", "Id": "Id"}, result="WebACL"),
            gone=_GONE,
            merge=True,
            details={
                "LoggingConfiguration": Call(
                    "GetLoggingConfiguration",
                    "wafv2:GetLoggingConfiguration",
                    {"ResourceArn": "ARN"},
                    result="LoggingConfiguration",
                    absent=("WAFNonexistentItemException",),
                ),
            },
            tags=Call("ListTagsForResource", "wafv2:ListTagsForResource", {"ResourceARN": "ARN"}, result="TagInfoForResource.TagList"),
            drop=("LockToken",),
            events=(
                on(
                    "wafv2.amazonaws.com",
                    "CreateWebACL UpdateWebACL DeleteWebACL",
                    P("requestParameters.id"),
                    P("responseElements.summary.id"),
                ),
                on(
                    "wafv2.amazonaws.com",
                    "PutLoggingConfiguration DeleteLoggingConfiguration TagResource UntagResource",
                    R(
                        "requestParameters.loggingConfiguration.resourceArn",
                        "^arn:[^:]+:wafv2:[^:]*:[^:]*:(?:regional|global)/webacl/[^/]+/([^/]+)$",
                    ),
                    R("requestParameters.resourceArn", "^arn:[^:]+:wafv2:[^:]*:[^:]*:(?:regional|global)/webacl/[^/]+/([^/]+)$"),
                    R("requestParameters.resourceARN", "^arn:[^:]+:wafv2:[^:]*:[^:]*:(?:regional|global)/webacl/[^/]+/([^/]+)$"),
                ),
                on(
                    "wafv2.amazonaws.com",
                    "AssociateWebACL DisassociateWebACL",
                    R("requestParameters.webACLArn", "^arn:[^:]+:wafv2:[^:]*:[^:]*:(?:regional|global)/webacl/[^/]+/([^/]+)$"),
                ),
            ),
        ),
        ResourceSpec(
            RULE_GROUP,
            client="wafv2",
            id="Id",
            name="Name",
            arn="ARN",
            describe=Call("GetRuleGroup", "wafv2:GetRuleGroup", {"Name": "Name", "Scope": "Scope", "Id": "Id"}, result="RuleGroup"),
            gone=_GONE,
            merge=True,
            tags=Call("ListTagsForResource", "wafv2:ListTagsForResource", {"ResourceARN": "ARN"}, result="TagInfoForResource.TagList"),
            drop=("LockToken",),
            events=(
                on(
                    "wafv2.amazonaws.com",
                    "CreateRuleGroup UpdateRuleGroup DeleteRuleGroup",
                    P("requestParameters.id"),
                    P("responseElements.summary.id"),
                ),
                on(
                    "wafv2.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceARN", "^arn:[^:]+:wafv2:[^:]*:[^:]*:(?:regional|global)/rulegroup/[^/]+/([^/]+)$"),
                ),
            ),
        ),
    ),
    account_events=(on("wafv2.amazonaws.com", "AssociateWebACL DisassociateWebACL"),),
    iam=(
        "wafv2:ListResourcesForWebACL",
        "wafv2:ListRuleGroups",
        "wafv2:ListWebACLs",
    ),
)
