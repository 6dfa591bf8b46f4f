"""GuardDuty's hook: the region's detectors on the account item (layout in :mod:`phiwatch.resources.guardduty`).

A hook because GuardDuty is an account-level setting only: no resource type, so nothing for a
resource spec to describe; its calls (ListDetectors, then GetDetector and GetAdministratorAccount
per detector, and the detector's non-archived findings: ListFindings, then GetFindings 50 at a
time) fill one key of the ``AWS::::Account`` item, all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.model import ConfigurationItem

DETECTOR_KEYS = ("Status", "FindingPublishingFrequency", "CreatedAt", "UpdatedAt")
#: the finding members kept (no resource details, no service details: they may name data)
FINDING_KEYS = ("Id", "Type", "Severity", "CreatedAt")
#: GetFindings takes at most 50 ids
FINDINGS_PER_CALL = 50
NOT_ARCHIVED = {"Criterion": {"service.archived": {"Eq": ["false"]}}}


@register
class GuardDutyCollector(Collector):
    name = "guardduty"
    resource_types = ()

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        account = ctx.account_item()
        try:
            ids = list(ctx.paginate("guardduty", "ListDetectors", "DetectorIds", item=account))
        except ListFailed:
            yield account
            return
        detectors: list[dict[str, Any]] = []
        for detector_id in ids:
            detector = ctx.call("guardduty", "GetDetector", item=account, DetectorId=detector_id)
            if detector is FAILED:
                yield account  # one detector unreadable: the region's state is unknown
                return
            entry: dict[str, Any] = {"DetectorId": detector_id, **{k: detector.get(k) for k in DETECTOR_KEYS}}
            admin = ctx.call("guardduty", "GetAdministratorAccount", item=account, DetectorId=detector_id)
            if admin is not FAILED:
                entry["Administrator"] = admin.get("Administrator") or None
            findings = self._open_findings(ctx, account, detector_id)
            if findings is not None:
                entry["NonArchivedFindings"] = findings
            detectors.append(entry)
        account.configuration["guardDutyDetectors"] = detectors
        yield account

    def _open_findings(self, ctx: CollectContext, account: ConfigurationItem, detector_id: str) -> list[dict[str, Any]] | None:
        """The detector's non-archived findings (``FINDING_KEYS`` only), None when a call failed (error on the account item)."""
        try:
            ids = list(
                ctx.paginate("guardduty", "ListFindings", "FindingIds", item=account, DetectorId=detector_id, FindingCriteria=NOT_ARCHIVED)
            )
        except ListFailed:
            return None
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), FINDINGS_PER_CALL):
            response = ctx.call(
                "guardduty", "GetFindings", item=account, DetectorId=detector_id, FindingIds=ids[start : start + FINDINGS_PER_CALL]
            )
            if response is FAILED:
                return None
            found.extend({k: f.get(k) for k in FINDING_KEYS} for f in response.get("Findings") or [] if isinstance(f, dict))
        return sorted(found, key=lambda f: str(f.get("Id")))
