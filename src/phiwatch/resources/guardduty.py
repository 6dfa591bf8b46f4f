"""GuardDuty: the region's detectors, as an account-level setting (AWS::::Account, regional).

Account item key (this region):

* ``configuration.guardDutyDetectors``: a list with one entry per detector (GuardDuty allows
  one per account and region), ``[]`` when GuardDuty has never been enabled here. Entry:
  ``{"DetectorId", "Status": "ENABLED"|"DISABLED", "FindingPublishingFrequency",
  "CreatedAt", "UpdatedAt", "Administrator"}`` where ``Administrator`` is
  GetAdministratorAccount's ``{"AccountId", "InvitationId", "RelationshipStatus",
  "InvitedAt"}`` when the detector is a member of another account's GuardDuty, else ``None``
  (``"Administrator"`` is left out of the entry when that call failed; the error is on the
  account item), and ``NonArchivedFindings``: the detector's findings that are not archived
  (ListFindings with ``service.archived`` false, then GetFindings), each reduced to ``{"Id",
  "Type", "Severity", "CreatedAt"}`` (sorted by ``Id``; left out of the entry when either call
  failed, the error on the account item).

The key is absent when ListDetectors or a GetDetector failed (see ``collectionErrors``):
"could not check", never "not enabled". No resources are recorded, so there is no resource
spec: the hook (``collect/guardduty.py``) makes every call listed in ``iam``.
"""

from __future__ import annotations

from phiwatch.resources.spec import Service, on

SERVICE = Service(
    "guardduty",
    account_events=(
        on(
            "guardduty.amazonaws.com",
            (
                "CreateDetector DeleteDetector UpdateDetector AcceptAdministratorInvitation "
                "AcceptInvitation DisassociateFromAdministratorAccount DisassociateFromMasterAccount "
                "ArchiveFindings UnarchiveFindings"
            ),
        ),
    ),
    iam=(
        "guardduty:GetAdministratorAccount",
        "guardduty:GetDetector",
        "guardduty:GetFindings",
        "guardduty:ListDetectors",
        "guardduty:ListFindings",
    ),
)
