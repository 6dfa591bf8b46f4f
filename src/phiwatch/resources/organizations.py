"""AWS Organizations and AWS Account Management: the account's organization and its security
contact, as account-level settings (AWS::::Account, read once per account, in region ``global``).

Account item keys (region ``global``):

* ``configuration.organization``: DescribeOrganization's ``{"Id", "Arn", "FeatureSet",
  "MasterAccountId", "MasterAccountArn"}`` (the management account), ``None`` when the account is
  not a member of an organization (``AWSOrganizationsNotInUseException``).
* ``configuration.securityContact``: which fields of the account's SECURITY alternate contact
  (GetAlternateContact) are filled, ``{"Name": bool, "Title": bool, "EmailAddress": bool,
  "PhoneNumber": bool}``, ``None`` when there is no security contact (``ResourceNotFoundException``).
  The contact's name, e-mail address and phone number are personal data: they are never stored.

A key that is absent means its call failed (see the account item's ``collectionErrors``). No
resources are recorded, so there is no resource spec: the hook (``collect/organizations.py``)
makes every call listed in ``iam``. The rules judge each region's account item against these
keys, as AWS Config evaluates them in every region.
"""

from __future__ import annotations

from phiwatch.resources.spec import Service, on

SERVICE = Service(
    "organizations",
    scope="global",
    account_events=(
        on(
            "organizations.amazonaws.com",
            "CreateOrganization DeleteOrganization LeaveOrganization AcceptHandshake RemoveAccountFromOrganization",
            region="global",
        ),
        on("account.amazonaws.com", "PutAlternateContact DeleteAlternateContact", region="global"),
    ),
    iam=(
        "account:GetAlternateContact",
        "organizations:DescribeOrganization",
    ),
)
