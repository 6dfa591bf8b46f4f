"""GuardDuty: the region's detectors, as an account-level setting (AWS::::Account, regional)."""

from __future__ import annotations

from phiwatch.resources.spec import Service, on

SERVICE = Service(
    "guardduty",
    account_events=(
        on(
            "guardduty.amazonaws.com",
            (
                "CreateDetector DeleteDetector UpdateDetector AcceptAdministratorInvitation "
                "AcceptInvitation DisassociateFromAdministratorAccount DisassociateFromMasterAccount"
            ),
        ),
    ),
    iam=(
        "guardduty:GetAdministratorAccount",
        "guardduty:GetDetector",
        "guardduty:ListDetectors",
    ),
)
