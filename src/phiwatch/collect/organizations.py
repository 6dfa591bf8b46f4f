"""The account's organization and security contact on the global account item (layout in
:mod:`phiwatch.resources.organizations`).

A hook because these are account-level settings only (no resource type): DescribeOrganization and
GetAlternateContact(SECURITY), once per account.
"""

from __future__ import annotations

from collections.abc import Iterator

from phiwatch.collect.base import FAILED, CollectContext, Collector, register
from phiwatch.model import ACCOUNT_TYPE, GLOBAL_REGION, ConfigurationItem

ORGANIZATION_KEYS = ("Id", "Arn", "FeatureSet", "MasterAccountId", "MasterAccountArn")
CONTACT_FIELDS = ("Name", "Title", "EmailAddress", "PhoneNumber")
_NONE: dict = {}


@register
class OrganizationsCollector(Collector):
    name = "organizations"
    resource_types = ()
    global_service = True
    targetable = frozenset({ACCOUNT_TYPE})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        account = ctx.account_item(GLOBAL_REGION)
        response = ctx.call(
            "organizations", "DescribeOrganization", item=account, not_found=("AWSOrganizationsNotInUseException",), absent=_NONE
        )
        if response is not FAILED:
            organization = response.get("Organization") if response is not _NONE else None
            account.configuration["organization"] = (
                {k: organization.get(k) for k in ORGANIZATION_KEYS} if isinstance(organization, dict) else None
            )
        contact = ctx.call(
            "account",
            "GetAlternateContact",
            item=account,
            not_found=("ResourceNotFoundException",),
            absent=_NONE,
            AlternateContactType="SECURITY",
        )
        if contact is not FAILED:
            found = contact.get("AlternateContact") if contact is not _NONE else None
            account.configuration["securityContact"] = {k: bool(found.get(k)) for k in CONTACT_FIELDS} if isinstance(found, dict) else None
        yield account
