"""AWS Backup: plans with their selections, vaults, recovery points, and what is protected.

``AWS::Backup::BackupPlan`` (collected by the hook, ``collect/backup.py``):

* resourceId ``BackupPlanId``, resourceName ``BackupPlanName``, arn ``BackupPlanArn``.
* ``configuration``: GetBackupPlan's ``BackupPlan`` (``BackupPlanName``, ``Rules`` with
  ``RuleName``, ``ScheduleExpression`` (``cron(...)``), ``EnableContinuousBackup``,
  ``Lifecycle.DeleteAfterDays`` (absent: kept forever), ``TargetBackupVaultName``, ...,
  ``AdvancedBackupSettings``) plus ``BackupPlanId``, ``BackupPlanArn`` and ``VersionId``.
  Absent when GetBackupPlan failed (then only ListBackupPlans' element is there).
* ``supplementaryConfiguration.BackupSelections``: one entry per selection
  (ListBackupSelections + GetBackupSelection): ``{"SelectionId", "SelectionName", "Resources",
  "NotResources", "ListOfTags", "Conditions"}``; absent when a selection read failed.
* ``tags``: ListTags.

``AWS::Backup::BackupVault`` (its spec below):

* resourceId and resourceName ``BackupVaultName``, arn ``BackupVaultArn``.
* ``configuration``: ListBackupVaults' element (``EncryptionKeyArn``, ``Locked``,
  ``MinRetentionDays``, ...) without the ever-changing ``NumberOfRecoveryPoints``.
* ``supplementaryConfiguration.AccessPolicy``: GetBackupVaultAccessPolicy's policy text, or ``None``
  when the vault has no access policy.
* ``tags``: ListTags.

``AWS::Backup::RecoveryPoint`` (ListRecoveryPointsByBackupVault, per vault, by the hook):

* resourceId and arn ``RecoveryPointArn``; ``configuration``: the element (``IsEncrypted``,
  ``EncryptionKeyArn``, ``ResourceArn``, ``ResourceType``, ``BackupVaultName``, ``Status``,
  ``Lifecycle``, ...).

Account item (per region):

* ``configuration.backupSelections``: every selection of every plan of the region, as above plus
  ``BackupPlanId`` and ``BackupPlanName``; present only when plans and selections were all read.
* ``configuration.backupProtectedResourceArns``: sorted ARNs ListProtectedResources returns (resources
  with at least one recovery point); present only when it was read (an empty list, without the
  call, when the region has no backup vault: recovery points only exist in vaults).

Absent means the call failed (see ``collectionErrors``); ``None`` means "not configured".
Not collected: resource type opt-in (DescribeRegionSettings) and legal holds.
"""

from __future__ import annotations

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

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
            client="backup",
            listing=Call("ListBackupVaults", "backup:ListBackupVaults", result="BackupVaultList"),
            id="BackupVaultName",
            name="BackupVaultName",
            arn=("BackupVaultArn", "arn:{partition}:backup:{region}:{account}:backup-vault:{id}"),
            details={
                # not in the demo (vaults; the emulator lacks it)
                "AccessPolicy": Call(
                    "GetBackupVaultAccessPolicy",
                    "backup:GetBackupVaultAccessPolicy",
                    {"BackupVaultName": "BackupVaultName"},
                    result="Policy",
                    absent=("ResourceNotFoundException",),
                ),
            },
            tags=Call("ListTags", "backup:ListTags", {"ResourceArn": "BackupVaultArn"}, result="Tags"),
            drop=("NumberOfRecoveryPoints",),
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
        "backup:ListBackupPlans",
        "backup:ListBackupSelections",  # not in the demo (plans)
        "backup:ListProtectedResources",  # not in the demo (only when the region has a vault; the emulator lacks it)
        "backup:ListRecoveryPointsByBackupVault",  # not in the demo (vaults; the emulator lacks it)
        "backup:ListTags",  # not in the demo (plans)
    ),
)
