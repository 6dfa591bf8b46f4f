"""Elastic Beanstalk rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.elasticbeanstalk`: the managed platform update settings
are in ``supplementaryConfiguration.ManagedActions``, absent when DescribeConfigurationSettings
failed.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.elasticbeanstalk import ENVIRONMENT
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, rule

MANAGED = "supplementaryConfiguration.ManagedActions"


@rule(
    "elastic-beanstalk-managed-updates-enabled",
    reads={MANAGED: "DescribeConfigurationSettings"},
    aws_identifier="ELASTIC_BEANSTALK_MANAGED_UPDATES_ENABLED",
    service="AWS Elastic Beanstalk",
    resource_types=(ENVIRONMENT,),
    trigger="change",
    severity="low",
    compliant_when="Managed platform updates are enabled (ManagedActionsEnabled = true) on the Elastic Beanstalk environment.",
    parameters={"UpdateLevel": ("str", None)},
)
def elastic_beanstalk_managed_updates_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    managed = get(item, MANAGED) or {}
    if not managed.get("ManagedActionsEnabled"):
        return non_compliant("managed platform updates are disabled")
    wanted = params.get("UpdateLevel")
    level = managed.get("UpdateLevel")
    if wanted and str(level or "").lower() != wanted.lower():
        return non_compliant(f"managed platform updates apply {level or 'no'} updates, not {wanted}")
    return compliant(f"managed platform updates are enabled ({level or 'level unset'})")
