"""GuardDuty: the region's detectors, as an account-level setting (AWS::::Account, regional).

Account item key (this region):

* ``configuration.guardDutyDetectors``: a list with one entry per detector (GuardDuty allows
  one per account and region), ``[]`` when GuardDuty has never been enabled here. Entry:
  ``{"DetectorId", "Status": "ENABLED"|"DISABLED", "FindingPublishingFrequency",
  "CreatedAt", "UpdatedAt", "Administrator"}`` where ``Administrator`` is
  GetAdministratorAccount's ``{"AccountId", "InvitationId", "RelationshipStatus",
  "InvitedAt"}`` when the detector is a member of another account's GuardDuty, else ``None``
  (``"Administrator"`` is left out of the entry when that call failed; the error is on the
  account item).

The key is absent when ListDetectors or a GetDetector failed (see ``collectionErrors``):
"could not check", never "not enabled". No resources are recorded.
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
