"""AWS Backup: plans with their selections, vaults, recovery points, and what is protected."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

PLAN = "AWS::Backup::BackupPlan"
VAULT = "AWS::Backup::BackupVault"
RECOVERY_POINT = "AWS::Backup::RecoveryPoint"

SERVICE = Service(
    "backup",
    resources=(
        ResourceSpec(
            PLAN,
            events=(
                on(
                    "backup.amazonaws.com",
                    ("CreateBackupPlan UpdateBackupPlan DeleteBackupPlan CreateBackupSelection DeleteBackupSelection"),
                    P("requestParameters.backupPlanId"),
                    P("responseElements.backupPlanId"),
                ),
                on(
                    "backup.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceArn", "^arn:[^:]+:backup:[^:]*:[^:]*:backup-plan:(.+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            VAULT,
            events=(
                on(
                    "backup.amazonaws.com",
                    (
                        "CreateBackupVault CreateLogicallyAirGappedBackupVault DeleteBackupVault "
                        "PutBackupVaultAccessPolicy DeleteBackupVaultAccessPolicy "
                        "PutBackupVaultLockConfiguration DeleteBackupVaultLockConfiguration"
                    ),
                    P("requestParameters.backupVaultName"),
                    P("responseElements.backupVaultName"),
                ),
                on(
                    "backup.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceArn", "^arn:[^:]+:backup:[^:]*:[^:]*:backup-vault:(.+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            RECOVERY_POINT,
            events=(
                on(
                    "backup.amazonaws.com",
                    ("StartBackupJob DeleteRecoveryPoint UpdateRecoveryPointLifecycle DisassociateRecoveryPoint"),
                    P("requestParameters.recoveryPointArn"),
                    P("responseElements.recoveryPointArn"),
                ),
            ),
        ),
    ),
    account_events=(
        on("backup.amazonaws.com", ("CreateBackupPlan UpdateBackupPlan DeleteBackupPlan CreateBackupSelection DeleteBackupSelection")),
        on("backup.amazonaws.com", ("StartBackupJob DeleteRecoveryPoint UpdateRecoveryPointLifecycle DisassociateRecoveryPoint")),
    ),
    iam=(
        "backup:GetBackupPlan",  # not in the demo: the emulator lacks backup selections, so the demo has no plan
        "backup:GetBackupSelection",  # not in the demo (plans with selections)
        "backup:GetBackupVaultAccessPolicy",  # not in the demo (vaults; the emulator lacks it)
        "backup:ListBackupPlans",
        "backup:ListBackupSelections",  # not in the demo (plans)
        "backup:ListBackupVaults",
        "backup:ListProtectedResources",  # not in the demo (only when the region has a vault; the emulator lacks it)
        "backup:ListRecoveryPointsByBackupVault",  # not in the demo (vaults; the emulator lacks it)
        "backup:ListTags",  # not in the demo (plans and vaults)
    ),
)
