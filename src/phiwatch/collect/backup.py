"""AWS Backup: plans with their selections, vaults, recovery points, and what is protected.

``AWS::Backup::BackupPlan``:

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

``AWS::Backup::BackupVault``:

* resourceId and resourceName ``BackupVaultName``, arn ``BackupVaultArn``.
* ``configuration``: ListBackupVaults' element (``EncryptionKeyArn``, ``Locked``,
  ``MinRetentionDays``, ...) without the ever-changing ``NumberOfRecoveryPoints``.
* ``supplementaryConfiguration.AccessPolicy``: GetBackupVaultAccessPolicy's policy text, or ``None``
  when the vault has no access policy.
* ``tags``: ListTags.

``AWS::Backup::RecoveryPoint`` (ListRecoveryPointsByBackupVault, per vault):

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

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.model import ConfigurationItem
from phiwatch.resources.backup import PLAN, RECOVERY_POINT, VAULT

SELECTION_KEYS = ("SelectionName", "Resources", "NotResources", "ListOfTags", "Conditions")


def _tags(ctx: CollectContext, item: ConfigurationItem) -> None:
    response = ctx.call("backup", "ListTags", item=item, ResourceArn=item.arn)
    if response is not FAILED:
        item.tags = dict(response.get("Tags") or {})


@register
class BackupCollector(Collector):
    name = "backup"
    resource_types = (PLAN, VAULT, RECOVERY_POINT)
    # the account part sums up every plan's selections and every vault's recovery points: not collected alone
    targetable = frozenset({PLAN, VAULT})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.only is not None:  # targeted: the wanted plans and vaults (no recovery points, no account part)
            if ctx.wants(PLAN):
                yield from self._plans(ctx, ctx.account_item())
            if ctx.wants(VAULT):
                yield from self._vaults(ctx, ctx.account_item())
            return
        account = ctx.account_item()
        yield from self._plans(ctx, account)
        yield from self._vaults(ctx, account)
        yield account

    # -- plans -------------------------------------------------------------------------
    def _plans(self, ctx: CollectContext, account: ConfigurationItem) -> Iterator[ConfigurationItem]:
        try:
            elements = list(ctx.paginate("backup", "ListBackupPlans", "BackupPlansList", resource_type=PLAN))
        except ListFailed:
            account.collectionErrors.append(ctx.errors[-1].to_dict())
            return
        elements = [e for e in elements if ctx.selected(PLAN, e.get("BackupPlanId"), e.get("BackupPlanName"), e.get("BackupPlanArn"))]
        items = list(ctx.map(lambda e: self._plan(ctx, e), elements))
        yield from items
        ctx.mark_complete(PLAN)
        if ctx.only is not None:
            return
        selections: list[dict[str, Any]] = []
        for item in items:
            plan_selections = item.supplementaryConfiguration.get("BackupSelections")
            if plan_selections is None:
                account.collectionErrors.extend(
                    e for e in item.collectionErrors if e.get("api") in ("ListBackupSelections", "GetBackupSelection")
                )
                return
            for selection in plan_selections:
                selections.append({"BackupPlanId": item.resourceId, "BackupPlanName": item.resourceName, **selection})
        account.configuration["backupSelections"] = selections

    def _plan(self, ctx: CollectContext, element: dict[str, Any]) -> ConfigurationItem:
        plan_id = element["BackupPlanId"]
        item = ctx.item(
            PLAN,
            plan_id,
            resourceName=element.get("BackupPlanName"),
            arn=element.get("BackupPlanArn"),
            configuration={k: v for k, v in element.items() if k in ("BackupPlanId", "BackupPlanArn", "BackupPlanName", "VersionId")},
        )
        plan = ctx.call("backup", "GetBackupPlan", item=item, BackupPlanId=plan_id)
        if plan is not FAILED:
            item.configuration.update(plan.get("BackupPlan") or {})
            if plan.get("AdvancedBackupSettings") is not None:
                item.configuration["AdvancedBackupSettings"] = plan["AdvancedBackupSettings"]
        try:
            listed = list(ctx.paginate("backup", "ListBackupSelections", "BackupSelectionsList", item=item, BackupPlanId=plan_id))
        except ListFailed:
            listed = None
        if listed is not None:
            selections: list[dict[str, Any]] = []
            for entry in listed:
                response = ctx.call("backup", "GetBackupSelection", item=item, BackupPlanId=plan_id, SelectionId=entry["SelectionId"])
                if response is FAILED:
                    break  # the selections stay unknown, not partial
                selection = response.get("BackupSelection") or {}
                selections.append({"SelectionId": entry["SelectionId"], **{k: selection.get(k) for k in SELECTION_KEYS}})
            else:
                item.supplementaryConfiguration["BackupSelections"] = selections
        _tags(ctx, item)
        item.refresh_state_id()
        return item

    # -- vaults, recovery points, protected resources -----------------------------------
    def _vaults(self, ctx: CollectContext, account: ConfigurationItem) -> Iterator[ConfigurationItem]:
        try:
            elements = list(ctx.paginate("backup", "ListBackupVaults", "BackupVaultList", resource_type=VAULT))
        except ListFailed:
            account.collectionErrors.append(ctx.errors[-1].to_dict())
            return
        if ctx.only is not None:
            elements = [e for e in elements if ctx.selected(VAULT, e.get("BackupVaultName"), e.get("BackupVaultArn"))]
            for item, _ in ctx.map(lambda e: self._vault(ctx, e), elements):
                yield item  # its recovery points were listed (a failure is on the vault item) but are not targeted
            ctx.mark_complete(VAULT)
            return
        complete = True
        for item, points in ctx.map(lambda e: self._vault(ctx, e), elements):
            yield item
            if points is None:
                complete = False
            else:
                yield from points
        ctx.mark_complete(VAULT)
        if complete:
            ctx.mark_complete(RECOVERY_POINT)
        if not elements:
            account.configuration["backupProtectedResourceArns"] = []
            return
        try:
            protected = list(ctx.paginate("backup", "ListProtectedResources", "Results"))
        except ListFailed:
            account.collectionErrors.append(ctx.errors[-1].to_dict())
            return
        account.configuration["backupProtectedResourceArns"] = sorted({p["ResourceArn"] for p in protected if p.get("ResourceArn")})

    def _vault(self, ctx: CollectContext, element: dict[str, Any]) -> tuple[ConfigurationItem, list[ConfigurationItem] | None]:
        name = element["BackupVaultName"]
        item = ctx.item(
            VAULT,
            name,
            resourceName=name,
            arn=element.get("BackupVaultArn") or ctx.arn("backup", f"backup-vault:{name}"),
            configuration={k: v for k, v in element.items() if k != "NumberOfRecoveryPoints"},
        )
        policy = ctx.call(
            "backup",
            "GetBackupVaultAccessPolicy",
            item=item,
            not_found=("ResourceNotFoundException",),
            absent=None,
            BackupVaultName=name,
        )
        if policy is not FAILED:
            item.supplementaryConfiguration["AccessPolicy"] = (policy or {}).get("Policy")
        _tags(ctx, item)
        points: list[ConfigurationItem] | None
        try:
            points = [
                ctx.item(
                    RECOVERY_POINT,
                    p["RecoveryPointArn"],
                    arn=p["RecoveryPointArn"],
                    configuration=p,
                    relationships=[{"resourceType": VAULT, "resourceId": name, "name": "Is contained in BackupVault"}],
                )
                for p in ctx.paginate("backup", "ListRecoveryPointsByBackupVault", "RecoveryPoints", item=item, BackupVaultName=name)
            ]
        except ListFailed:
            points = None
        item.refresh_state_id()
        return item, points
