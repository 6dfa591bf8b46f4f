"""AWS Shield Advanced rules (AWS Config managed-rule semantics), and Firewall Manager's Shield
policy check.

The account item of region ``global`` holds Shield's account-wide state (:mod:`phiwatch.resources.shield`):
``shieldSubscription`` (None: no Shield Advanced subscription), ``shieldDrtAccess`` (read only when
subscribed) and ``shieldProtectedResources`` (the ARNs Shield Advanced protects). AWS Config runs
the two account rules in us-east-1 only: phiwatch reports them once per account, on that item.
"""

from __future__ import annotations

import json
from typing import Any

from phiwatch.model import ACCOUNT_TYPE, GLOBAL_REGION, ConfigurationItem
from phiwatch.resources.cloudfront import DISTRIBUTION
from phiwatch.resources.ec2 import EIP
from phiwatch.resources.elb import LOAD_BALANCER
from phiwatch.resources.elbv2 import LOAD_BALANCER_V2
from phiwatch.resources.shield import PROTECTION, REGIONAL_PROTECTION
from phiwatch.resources.wafregional import WEB_ACL as REGIONAL_WEB_ACL
from phiwatch.rules._account import MISSING
from phiwatch.rules.base import (
    REQUIRED,
    Result,
    RuleContext,
    compliant,
    describe_failure,
    insufficient,
    non_compliant,
    not_applicable,
    rule,
)
from phiwatch.rules.wafregional import acl_matches, resource_web_acls, tag_scope

SERVICE = "AWS Shield"


def _shield_value(account: ConfigurationItem, key: str, apis: tuple[str, ...]) -> tuple[Any, Result | None]:
    """``configuration[key]`` of a global account item; INSUFFICIENT_DATA when one of ``apis`` failed;
    (MISSING, None) when Shield was not collected."""
    if has_key(account, key):
        return account.configuration[key], None
    failed = account.failed_apis() & set(apis)
    if failed:
        return MISSING, insufficient(describe_failure(account, failed))
    return MISSING, None


def has_key(item: ConfigurationItem, key: str) -> bool:
    return isinstance(item.configuration, dict) and key in item.configuration


@rule(
    "shield-advanced-enabled-autorenew",
    aws_identifier="SHIELD_ADVANCED_ENABLED_AUTORENEW",
    service=SERVICE,
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="medium",
    compliant_when="The account has a Shield Advanced subscription set to renew automatically.",
)
def shield_advanced_enabled_autorenew(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    if item.awsRegion != GLOBAL_REGION:
        return None
    subscription, failure = _shield_value(item, "shieldSubscription", ("DescribeSubscription",))
    if failure is not None or subscription is MISSING:
        return failure
    if not subscription:
        return non_compliant("Shield Advanced is not enabled in the account")
    renew = str(subscription.get("AutoRenew") or "")
    if renew != "ENABLED":
        return non_compliant(f"the Shield Advanced subscription does not renew automatically (AutoRenew {renew or 'unset'})")
    return compliant("Shield Advanced is enabled and renews automatically")


@rule(
    "shield-drt-access",
    aws_identifier="SHIELD_DRT_ACCESS",
    service=SERVICE,
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="low",
    compliant_when="With Shield Advanced enabled, the Shield Response Team (SRT) has a role to access the account.",
)
def shield_drt_access(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """NOT_APPLICABLE without a Shield Advanced subscription (AWS: NON_COMPLIANT only when Shield
    Advanced is enabled and the SRT role is not configured)."""
    if item.awsRegion != GLOBAL_REGION:
        return None
    subscription, failure = _shield_value(item, "shieldSubscription", ("DescribeSubscription",))
    if failure is not None or subscription is MISSING:
        return failure
    if not subscription:
        return not_applicable("Shield Advanced is not enabled in the account")
    access, failure = _shield_value(item, "shieldDrtAccess", ("DescribeDRTAccess",))
    if failure is not None:
        return failure
    if access is MISSING:
        return None
    if not (access or {}).get("RoleArn"):
        return non_compliant("no role gives the Shield Response Team access to the account")
    return compliant("the Shield Response Team has a role to access the account")


# -- Firewall Manager's Shield policy -----------------------------------------------------------

#: what fms-shield-resource-policy-check judges; the other types of its AWS list are only read
SHIELDED = (DISTRIBUTION, LOAD_BALANCER_V2, LOAD_BALANCER, EIP)


def parse_resource_types(value: Any) -> set[str]:
    """``resourceTypes``: a JSON list or comma-separated AWS Config types; empty: every type the rule judges."""
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        return set(SHIELDED)
    if text.startswith("["):
        parsed = json.loads(text)
        return {str(t).strip() for t in parsed} if isinstance(parsed, list) else set()
    return {t.strip() for t in text.split(",") if t.strip()}


def _protected(item: ConfigurationItem, arns: list[str]) -> bool:
    """Whether Shield protects ``item`` (by its ARN; an Elastic IP by its allocation id, which
    Shield names ``eip-allocation/<id>``)."""
    if item.arn and item.arn in arns:
        return True
    if item.resourceType == EIP:
        return any(a.endswith(f":eip-allocation/{item.resourceId}") for a in arns)
    return False


@rule(
    "fms-shield-resource-policy-check",
    aws_identifier="FMS_SHIELD_RESOURCE_POLICY_CHECK",
    service="AWS Firewall Manager",
    resource_types=(DISTRIBUTION, LOAD_BALANCER_V2, REGIONAL_WEB_ACL, EIP, LOAD_BALANCER, REGIONAL_PROTECTION, PROTECTION),
    trigger="change",
    severity="medium",
    compliant_when="The resource is protected by Shield Advanced and, for an Application Load Balancer or CloudFront distribution, has a web ACL (webACLId when given).",
    parameters={
        "webACLId": ("str", REQUIRED),
        "resourceTypes": ("str", REQUIRED),
        "resourceTags": ("str", None),
        "excludeResourceTags": ("bool", None),
        "fmsManagedToken": ("str", None),
        "fmsRemediationEnabled": ("bool", None),
    },
)
def fms_shield_resource_policy_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """A rule AWS Firewall Manager deploys. Judged: CloudFront distributions, load balancers
    (Classic and v2) and Elastic IPs of ``resourceTypes`` (a JSON list or comma-separated), within
    ``resourceTags``; webACLId and resourceTypes are required, as Firewall Manager always sets them
    (the rule does not run without them); the protections and regional web ACLs in AWS's list are
    read, not judged. An Application Load Balancer or a distribution also needs a web ACL:
    the web ACL webACLId. Network and gateway load balancers need protection only.
    fmsManagedToken and fmsRemediationEnabled are Firewall Manager's, ignored as AWS Config does."""
    if item.resourceType not in SHIELDED:
        return None
    if item.resourceType not in parse_resource_types(params.get("resourceTypes")):
        return not_applicable("its type is not in resourceTypes")
    scoped = tag_scope(item, params)
    if scoped is not None:
        return scoped
    accounts = ctx.items(ACCOUNT_TYPE, account_id=item.accountId, region=GLOBAL_REGION)
    arns: Any = MISSING
    for account in accounts:
        arns, failure = _shield_value(account, "shieldProtectedResources", ("ListProtections",))
        if failure is not None:
            return failure
        if arns is not MISSING:
            break
    if arns is MISSING:
        return None  # Shield was not collected
    if not _protected(item, list(arns)):
        return non_compliant("the resource is not protected by Shield Advanced")
    acls = resource_web_acls(item, ctx) if item.resourceType in (DISTRIBUTION, LOAD_BALANCER_V2) else None
    if acls is None:
        return compliant("the resource is protected by Shield Advanced")
    found, failure = acls
    if failure is not None:
        return failure
    wanted = (params.get("webACLId") or "").strip()
    if not found:
        return non_compliant("protected by Shield Advanced, but no web ACL is associated")
    if wanted and not acl_matches(found, wanted):
        return non_compliant(f"protected by Shield Advanced, but web ACL {wanted} is not associated")
    return compliant("protected by Shield Advanced, with its web ACL")
