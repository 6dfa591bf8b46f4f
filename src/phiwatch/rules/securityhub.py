"""Security Hub rules, evaluated on the regional AWS::::Account items (AWS Config managed-rule semantics).

The key ``securityHub`` (``None``: not enabled) is described in :mod:`phiwatch.resources.securityhub`.
"""

from __future__ import annotations

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, rule


@rule(
    "securityhub-enabled",
    reads={"configuration.securityHub": "DescribeHub"},
    aws_identifier="SECURITYHUB_ENABLED",
    service="AWS Security Hub",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="high",
    compliant_when="AWS Security Hub is enabled for the account.",
    aws_runbook="AWSConfigRemediation-EnableSecurityHub",
)
def securityhub_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    hub = get(item, "configuration.securityHub")
    if not hub:
        return non_compliant("Security Hub is not enabled in this region")
    return compliant("Security Hub is enabled")
