"""AWS WAF (v2): web ACLs (AWS::WAFv2::WebACL) and which load balancers they protect (AWS::::Account).

``AWS::WAFv2::WebACL`` (collector ``wafv2``), REGIONAL web ACLs in every region and, in
us-east-1 only, CLOUDFRONT web ACLs (AWS Config records those in us-east-1):

* resourceId ``Id``, resourceName ``Name``, arn ``ARN``.
* ``configuration``: ListWebACLs' element without the volatile ``LockToken``
  (``Name``, ``Id``, ``ARN``, ``Description``) plus ``Scope`` (REGIONAL|CLOUDFRONT).
* ``supplementaryConfiguration.LoggingConfiguration``: GetLoggingConfiguration's
  ``LoggingConfiguration`` (``LogDestinationConfigs``, ``RedactedFields``, ...) or ``None`` when
  logging is off.
* ``supplementaryConfiguration.AssociatedResources`` (REGIONAL only): ListResourcesForWebACL's
  ``ResourceArns`` for ``APPLICATION_LOAD_BALANCER`` (one call per web ACL, not one per ALB).
* ``tags``: ListTagsForResource.

Account item (per region): ``configuration.wafv2LoadBalancerWebAcls`` =
``{load balancer ARN: {"Id", "Name", "ARN"} of its web ACL}`` for every ALB associated with a
REGIONAL web ACL. Present only when the listing and every association read succeeded; absent
(with the failed call in the account item's ``collectionErrors``) otherwise.

A supplementary key that is absent means its call failed (see ``collectionErrors``); ``None``
means "not configured". AWS WAF Classic (``waf-regional``) associations are not collected.

The spec has no listing: the hook (``collect/wafv2.py``) lists each scope (ListWebACLs, by
NextMarker), reads the associations and makes the account part; the spec reads the rest of each
web ACL.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

WEB_ACL = "AWS::WAFv2::WebACL"

SERVICE = Service(
    "wafv2",
    resources=(
        ResourceSpec(
            WEB_ACL,
            client="wafv2",
            id="Id",
            name="Name",
            arn="ARN",
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
    ),
    account_events=(on("wafv2.amazonaws.com", "AssociateWebACL DisassociateWebACL"),),
    iam=(
        "wafv2:ListResourcesForWebACL",
        "wafv2:ListWebACLs",
    ),
)
