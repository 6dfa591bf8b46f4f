"""Elastic Beanstalk rules (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.elasticbeanstalk`: the managed platform update settings
are in ``supplementaryConfiguration.ManagedActions`` and the option settings rules read in
``supplementaryConfiguration.OptionSettings``, both absent when DescribeConfigurationSettings
failed.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.elasticbeanstalk import CLOUDWATCH_LOGS, ENVIRONMENT, HEALTH_REPORTING
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
    """AWS: NON_COMPLIANT when ManagedActionsEnabled is false, or when ``UpdateLevel`` (minor or
    patch) is given and differs from the environment's; compared without case or surrounding
    spaces, and an empty value is not set."""
    managed = get(item, MANAGED) or {}
    if managed.get("ManagedActionsEnabled") is not True:
        return non_compliant("managed platform updates are disabled")
    wanted = str(params.get("UpdateLevel") or "").strip()
    level = managed.get("UpdateLevel")
    if wanted and str(level or "").strip().lower() != wanted.lower():
        return non_compliant(f"managed platform updates apply {level or 'no'} updates, not {wanted}")
    return compliant(f"managed platform updates are enabled ({level or 'level unset'})")


# -- AWS Config managed rules beyond the HIPAA pack ----------------------------------------------

SETTINGS = "supplementaryConfiguration.OptionSettings"


@rule(
    "beanstalk-enhanced-health-reporting-enabled",
    reads={SETTINGS: "DescribeConfigurationSettings"},
    aws_identifier="BEANSTALK_ENHANCED_HEALTH_REPORTING_ENABLED",
    service="AWS Elastic Beanstalk",
    resource_types=(ENVIRONMENT,),
    trigger="change",
    severity="low",
    compliant_when="The Elastic Beanstalk environment uses enhanced health reporting.",
)
def beanstalk_enhanced_health_reporting_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Read from the option ``aws:elasticbeanstalk:healthreporting:system`` ``SystemType``;
    absent, it is Elastic Beanstalk's API default, basic."""
    system = str(((get(item, SETTINGS) or {}).get(HEALTH_REPORTING) or {}).get("SystemType") or "basic").lower()
    if system == "enhanced":
        return compliant("enhanced health reporting is enabled")
    return non_compliant(f"health reporting is {system}")


@rule(
    "elastic-beanstalk-logs-to-cloudwatch",
    reads={SETTINGS: "DescribeConfigurationSettings"},
    aws_identifier="ELASTIC_BEANSTALK_LOGS_TO_CLOUDWATCH",
    service="AWS Elastic Beanstalk",
    resource_types=(ENVIRONMENT,),
    trigger="change",
    severity="medium",
    compliant_when="The Elastic Beanstalk environment streams instance logs to CloudWatch Logs (with the given retention and delete-on-terminate).",
    parameters={"RetentionInDays": ("str", None), "DeleteOnTerminate": ("str", None)},
)
def elastic_beanstalk_logs_to_cloudwatch(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Options of ``aws:elasticbeanstalk:cloudwatch:logs``: ``StreamLogs`` must be true (absent:
    false, the default). ``RetentionInDays`` (a number of days) and ``DeleteOnTerminate`` (``true``
    or ``false``, any case), when given, must equal the environment's values; absent there, they
    are Elastic Beanstalk's defaults, 7 days and false."""
    logs = (get(item, SETTINGS) or {}).get(CLOUDWATCH_LOGS) or {}
    if str(logs.get("StreamLogs") or "false").lower() != "true":
        return non_compliant("instance logs are not streamed to CloudWatch Logs")
    wanted_days = str(params.get("RetentionInDays") or "").strip()
    days = str(logs.get("RetentionInDays") or "7").strip()
    if wanted_days and days != wanted_days:
        return non_compliant(f"CloudWatch Logs keep instance logs {days} days, not {wanted_days}")
    wanted_delete = str(params.get("DeleteOnTerminate") or "").strip().lower()
    delete = str(logs.get("DeleteOnTerminate") or "false").strip().lower()
    if wanted_delete and delete != wanted_delete:
        return non_compliant(f"DeleteOnTerminate is {delete}, not {wanted_delete}")
    return compliant(f"instance logs are streamed to CloudWatch Logs (kept {days} days)")
