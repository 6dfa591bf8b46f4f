"""Account-level rules on the organization and the security contact (AWS Config managed-rule semantics).

The keys are described in :mod:`phiwatch.resources.organizations`: they are on the global account
item, read once per account. AWS Config deploys these rules per region, so each region's
``AWS::::Account`` item gets the verdict (the global item itself gets none).
"""

from __future__ import annotations

from phiwatch.model import ACCOUNT_TYPE, GLOBAL_REGION, ConfigurationItem
from phiwatch.rules._account import MISSING, global_value
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, non_compliant, rule


@rule(
    "account-part-of-organizations",
    reads={},
    aws_identifier="ACCOUNT_PART_OF_ORGANIZATIONS",
    service="AWS Organizations",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="low",
    compliant_when=(
        "The account is a member of an AWS organization (whose management account is MasterAccountId when that parameter is set)."
    ),
    parameters={"MasterAccountId": ("str", None)},
)
def account_part_of_organizations(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """A management account is itself part of its organization (COMPLIANT). MasterAccountId is
    compared with the organization's ``MasterAccountId``; a comma-separated value is read as a
    list of accepted management accounts."""
    if item.awsRegion == GLOBAL_REGION:
        return None
    organization, failure = global_value(item, ctx, "organization", ("DescribeOrganization",))
    if failure is not None or organization is MISSING:
        return failure
    if not organization:
        return non_compliant("the account is not part of an AWS organization")
    master = organization.get("MasterAccountId")
    wanted = csv_list(params.get("MasterAccountId"))
    if wanted and master not in wanted:
        return non_compliant(f"the organization's management account is {master}, not {', '.join(wanted)}")
    return compliant(f"the account is part of organization {organization.get('Id')} (management account {master})")


@rule(
    "security-account-information-provided",
    reads={},
    aws_identifier="SECURITY_ACCOUNT_INFORMATION_PROVIDED",
    service="AWS Account Management",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="low",
    compliant_when="The account has a security alternate contact (Account Management's SECURITY contact) with its details filled in.",
)
def security_account_information_provided(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS evaluates this rule itself (periodic, GetAlternateContact of type SECURITY); it is not a
    process check. A security contact with every field empty is treated as not provided."""
    if item.awsRegion == GLOBAL_REGION:
        return None
    contact, failure = global_value(item, ctx, "securityContact", ("GetAlternateContact",))
    if failure is not None or contact is MISSING:
        return failure
    if not contact or not any(contact.values()):
        return non_compliant("no security contact is set for the account")
    return compliant("a security contact is set for the account")
