"""GuardDuty rules, evaluated on the regional AWS::::Account items (AWS Config managed-rule semantics).

The key ``guardDutyDetectors`` is described in :mod:`phiwatch.resources.guardduty`. A missing key
means the read failed, or GuardDuty was not collected for that item (e.g. the "global" account
item), in which case the rule does not apply.
"""

from __future__ import annotations

import datetime as dt

from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.rules.base import (
    Result,
    RuleContext,
    compliant,
    csv_list,
    describe_failure,
    get,
    has,
    insufficient,
    non_compliant,
    not_applicable,
    rule,
)

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


FINDINGS_APIS = ("ListFindings", "GetFindings")
#: GuardDuty's severity bands (Critical, 9.0 and above, counts as high: the rule has three parameters)
SEVERITY_BANDS = (("low", 4.0, "daysLowSev"), ("medium", 7.0, "daysMediumSev"), ("high", float("inf"), "daysHighSev"))


def _created(value: object) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@rule(
    "guardduty-non-archived-findings",
    reads={},
    aws_identifier="GUARDDUTY_NON_ARCHIVED_FINDINGS",
    service="Amazon GuardDuty",
    resource_types=(ACCOUNT_TYPE,),
    trigger="periodic",
    severity="medium",
    compliant_when=(
        "No GuardDuty finding of the region has stayed non-archived longer than allowed for its severity "
        "(daysLowSev 30, daysMediumSev 7, daysHighSev 1 day by default)."
    ),
    parameters={"daysLowSev": ("int", 30), "daysMediumSev": ("int", 7), "daysHighSev": ("int", 1)},
)
def guardduty_non_archived_findings(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """Reads each detector's ``NonArchivedFindings`` ([{"Id", "Type", "Severity", "CreatedAt"}], ListFindings with
    ``service.archived`` false, then GetFindings); the GuardDuty collector does not fill it yet (moto and the
    emulator do not answer ListFindings), so the rule judges only items that carry it. A finding's age is counted from its CreatedAt. Severity bands: low below 4.0, medium below 7.0, high from
    7.0 (critical findings, 9.0 and above, count as high). A region without a detector is not applicable."""
    failed = [api for api in GUARDDUTY_APIS if api in item.failed_apis()]
    if not has(item, "configuration.guardDutyDetectors"):
        return insufficient(describe_failure(item, failed)) if failed else None
    detectors = get(item, "configuration.guardDutyDetectors") or []
    if not detectors:
        return not_applicable("GuardDuty is not enabled in this region")
    if any("NonArchivedFindings" not in d for d in detectors):
        failed = [api for api in FINDINGS_APIS if api in item.failed_apis()]
        # findings not collected (the collector does not read them yet): no verdict rather than a guess
        return insufficient(describe_failure(item, failed)) if failed else None
    late: dict[str, int] = {}
    for detector in detectors:
        for finding in detector.get("NonArchivedFindings") or []:
            severity = float(finding.get("Severity") or 0)
            band, _, param = next(b for b in SEVERITY_BANDS if severity < b[1])
            created = _created(finding.get("CreatedAt"))
            if created is None:
                continue
            allowed = params.get(param)
            allowed = {"daysLowSev": 30, "daysMediumSev": 7, "daysHighSev": 1}[param] if allowed is None else allowed
            if ctx.now - created > dt.timedelta(days=int(allowed)):
                late[band] = late.get(band, 0) + 1
    if late:
        parts = [f"{late[band]} {band}-severity" for band, _, _ in SEVERITY_BANDS if band in late]
        return non_compliant(f"non-archived findings older than allowed: {', '.join(parts)}")
    return compliant("no non-archived finding is older than allowed")
