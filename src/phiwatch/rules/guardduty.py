"""GuardDuty rules, evaluated on the regional AWS::::Account items (AWS Config managed-rule semantics).

The key ``guardDutyDetectors`` is described in :mod:`phiwatch.resources.guardduty`. A missing key
means the read failed, or GuardDuty was not collected for that item (e.g. the "global" account
item), in which case the rule does not apply.
"""

from __future__ import annotations

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, describe_failure, get, has, insufficient, non_compliant, rule

GUARDDUTY_APIS = ("ListDetectors", "GetDetector", "GetAdministratorAccount")


# reads is empty on purpose: guardDutyDetectors is filled by two APIs (ListDetectors and
# GetDetector), either of which may have failed; handled below.
@rule(
    "guardduty-enabled-centralized",
    reads={},
    aws_identifier="GUARDDUTY_ENABLED_CENTRALIZED",
    service="Amazon GuardDuty",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="high",
    compliant_when="Amazon GuardDuty is enabled in the account and Region (or centralized in CentralMonitoringAccount if set).",
    parameters={"CentralMonitoringAccount": ("str", None)},
    aws_runbook="AWSConfigRemediation-CreateGuardDutyDetector",
)
def guardduty_enabled_centralized(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    failed = [api for api in GUARDDUTY_APIS if api in item.failed_apis()]
    if not has(item, "configuration.guardDutyDetectors"):
        return insufficient(describe_failure(item, failed)) if failed else None
    detectors = get(item, "configuration.guardDutyDetectors") or []
    enabled = [d for d in detectors if d.get("Status") == "ENABLED"]
    if not enabled:
        return non_compliant("GuardDuty is not enabled in this region" if not detectors else "GuardDuty detector is suspended")
    central = csv_list(params.get("CentralMonitoringAccount"))
    if not central or item.accountId in central:
        return compliant(f"GuardDuty detector {enabled[0].get('DetectorId')} is enabled")
    detector = enabled[0]
    if "Administrator" not in detector:
        return insufficient(describe_failure(item, ["GetAdministratorAccount"]))
    admin = detector.get("Administrator") or {}
    if admin.get("AccountId") not in central:
        return non_compliant(f"GuardDuty findings are not centralized in {', '.join(central)}")
    if admin.get("RelationshipStatus") != "Enabled":
        return non_compliant(f"membership in {admin.get('AccountId')}'s GuardDuty is {admin.get('RelationshipStatus')}")
    return compliant(f"GuardDuty is enabled and centralized in {admin.get('AccountId')}")
