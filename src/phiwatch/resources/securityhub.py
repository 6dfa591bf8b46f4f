"""Security Hub: whether the hub is enabled, as an account-level setting (AWS::::Account, regional)."""

from __future__ import annotations

from phiwatch.resources.spec import Service, on

SERVICE = Service(
    "securityhub",
    account_events=(on("securityhub.amazonaws.com", "EnableSecurityHub DisableSecurityHub UpdateSecurityHubConfiguration"),),
    iam=("securityhub:DescribeHub",),
)
