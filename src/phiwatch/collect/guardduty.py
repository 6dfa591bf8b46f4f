"""GuardDuty's hook: the region's detectors on the account item (layout in :mod:`phiwatch.resources.guardduty`).

A hook because GuardDuty is an account-level setting only: no resource type, so nothing for a
resource spec to describe; its calls (ListDetectors, then GetDetector and GetAdministratorAccount
per detector) fill one key of the ``AWS::::Account`` item, all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.model import ConfigurationItem

DETECTOR_KEYS = ("Status", "FindingPublishingFrequency", "CreatedAt", "UpdatedAt")


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
            detectors.append(entry)
        account.configuration["guardDutyDetectors"] = detectors
        yield account
