"""AWS WAF Classic, regional (the ``waf-regional`` API, for load balancers and API Gateway): web
ACLs (AWS::WAFRegional::WebACL), rules (AWS::WAFRegional::Rule) and rule groups
(AWS::WAFRegional::RuleGroup), in every region.

Items have the layout of :mod:`phiwatch.resources.waf` (:func:`~phiwatch.resources.waf.classic_specs`),
plus, on web ACLs, ``supplementaryConfiguration.AssociatedResources``: ListResourcesForWebACL's
``ResourceArns`` for ``APPLICATION_LOAD_BALANCER`` (API Gateway stages name their web ACL in their
own configuration).

boto3 has no paginator for this API: the hook (:mod:`phiwatch.collect.wafregional`) pages the
listings by ``NextMarker``; the specs read the rest.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, Service, on
from phiwatch.resources.waf import classic_specs

WEB_ACL = "AWS::WAFRegional::WebACL"
RULE = "AWS::WAFRegional::Rule"
RULE_GROUP = "AWS::WAFRegional::RuleGroup"

SOURCE = "waf-regional.amazonaws.com"

SERVICE = Service(
    "wafregional",
    resources=classic_specs(
        "waf-regional",
        SOURCE,
        (WEB_ACL, RULE, RULE_GROUP),
        "{region}",
        paged=False,
        extra_details={
            "AssociatedResources": Call(
                "ListResourcesForWebACL",
                "waf-regional:ListResourcesForWebACL",
                {"WebACLId": "WebACLId", "ResourceType": "'APPLICATION_LOAD_BALANCER'"},
                result="ResourceArns",
            ),
        },
        extra_events=(on(SOURCE, "AssociateWebACL DisassociateWebACL", P("requestParameters.webACLId")),),
    ),
)
