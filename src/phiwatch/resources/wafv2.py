"""AWS WAF (v2): web ACLs (AWS::WAFv2::WebACL) and which load balancers they protect (AWS::::Account)."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

WEB_ACL = "AWS::WAFv2::WebACL"

SERVICE = Service(
    "wafv2",
    resources=(
        ResourceSpec(
            WEB_ACL,
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
        "wafv2:GetLoggingConfiguration",
        "wafv2:ListResourcesForWebACL",
        "wafv2:ListTagsForResource",
        "wafv2:ListWebACLs",
    ),
)
