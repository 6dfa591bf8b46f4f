"""AWS Backup's hook: backup plans, recovery points and the account part (item layout in
:mod:`phiwatch.resources.backup`).

Vaults come from their spec (:class:`~phiwatch.collect.generic.SpecRun`); the rest is irregular:

* a plan's ``configuration`` merges the listed element with GetBackupPlan's answer, and its
  selections are a listing per plan followed by a call per selection;
* recovery points are listed per vault (the listing's failure is recorded on the vault's item);
* the account item sums up every plan's selections and, when the region has a vault, what
  ListProtectedResources returns; a failed plan or vault listing is recorded on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ConfigurationItem
from phiwatch.resources.backup import PLAN, RECOVERY_POINT, SERVICE, VAULT

SELECTION_KEYS = ("SelectionName", "Resources", "NotResources", "ListOfTags", "Conditions")
VAULT_SPEC = next(spec for spec in SERVICE.resources if spec.type == VAULT)


def _tags(ctx: CollectContext, item: ConfigurationItem) -> None:
    response = ctx.call("backup", "ListTags", item=item, ResourceArn=item.arn)
    if response is not FAILED:
        item.tags = dict(response.get("Tags") or {})


@register
class BackupCollector(Collector):
    name = "backup"
    resource_types = SERVICE.types
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
        run = SpecRun(ctx, VAULT_SPEC, "backup")
        elements = run.elements()  # a targeted run keeps the wanted vaults
        if elements is None:
            account.collectionErrors.append(ctx.errors[-1].to_dict())
            return
        found = [found for found in ctx.map(lambda e: self._vault(ctx, run, e), elements) if found is not None]
        if ctx.only is not None:
            for item, _ in found:
                yield item  # its recovery points were listed (a failure is on the vault item) but are not targeted
            ctx.mark_complete(VAULT)
            return
        complete = True
        for item, points in found:
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

    def _vault(
        self, ctx: CollectContext, run: SpecRun, element: dict[str, Any]
    ) -> tuple[ConfigurationItem, list[ConfigurationItem] | None] | None:
        item = run.item(element)
        if item is None:
            return None
        name = item.resourceId
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
