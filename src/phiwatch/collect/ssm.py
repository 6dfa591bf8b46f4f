"""Systems Manager's hook (item layout in :mod:`phiwatch.resources.ssm`).

Managed nodes come from their spec (:class:`~phiwatch.collect.generic.SpecRun`); the rest is irregular:

* the account item's ``ssmManagedInstances`` summarises the node listing (its failure is recorded
  on the account item), and the compliance listing is skipped when there is no node;
* one ListResourceComplianceSummaries listing feeds two types (by ``ComplianceType``) and trims
  each element's ``ExecutionSummary``;
* a document's ``configuration`` leaves out the ``Tags`` its tags come from, and its
  ``DocumentPermission`` joins every page of DescribeDocumentPermission.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ConfigurationItem
from phiwatch.resources.ssm import ASSOCIATION_COMPLIANCE, DOCUMENT, MANAGED_INSTANCE, PATCH_COMPLIANCE, SERVICE

COMPLIANCE_TYPES = {"Association": ASSOCIATION_COMPLIANCE, "Patch": PATCH_COMPLIANCE}
MANAGED_INSTANCE_SPEC = next(spec for spec in SERVICE.resources if spec.type == MANAGED_INSTANCE)


@register
class SsmCollector(Collector):
    name = "ssm"
    resource_types = SERVICE.types
    targetable = frozenset({DOCUMENT})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.only is not None:  # targeted: documents only
            if ctx.wants(DOCUMENT):
                yield from self._documents(ctx)
            return
        account = ctx.account_item()
        nodes = yield from self._managed_instances(ctx, account)
        yield account
        if nodes == 0:  # no managed node: no compliance summary either (stored ones are gone)
            ctx.mark_complete(ASSOCIATION_COMPLIANCE, PATCH_COMPLIANCE)
        else:
            yield from self._compliance(ctx)
        yield from self._documents(ctx)

    def _managed_instances(self, ctx: CollectContext, account: ConfigurationItem) -> Generator[ConfigurationItem, None, int | None]:
        """Yield the managed nodes; return how many (None when the listing failed)."""
        run = SpecRun(ctx, MANAGED_INSTANCE_SPEC, "ssm")
        elements = run.elements()
        if elements is None:
            account.collectionErrors.append(ctx.errors[-1].to_dict())
            return None
        for item in ctx.map(run.item, elements):
            if item is not None:
                yield item
        account.configuration["ssmManagedInstances"] = {e["InstanceId"]: e.get("PingStatus") for e in elements}
        ctx.mark_complete(MANAGED_INSTANCE)
        return len(elements)

    def _compliance(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            summaries = list(
                ctx.paginate(
                    "ssm",
                    "ListResourceComplianceSummaries",
                    "ResourceComplianceSummaryItems",
                    resource_type=PATCH_COMPLIANCE,
                    id_key="ResourceId",
                )
            )
        except ListFailed:
            return
        for summary in summaries:
            resource_type = COMPLIANCE_TYPES.get(summary.get("ComplianceType", ""))
            if resource_type is None or summary.get("ResourceType", "ManagedInstance") != "ManagedInstance":
                continue
            node_id = summary["ResourceId"]
            configuration = dict(summary)
            if isinstance(summary.get("ExecutionSummary"), dict):
                configuration["ExecutionSummary"] = {
                    k: v for k, v in summary["ExecutionSummary"].items() if k not in ("ExecutionTime", "ExecutionId")
                }
            yield ctx.item(
                resource_type,
                node_id,
                resourceName=node_id,
                configuration=configuration,
                relationships=[
                    {"resourceType": MANAGED_INSTANCE, "resourceId": node_id, "name": "Is associated with ManagedInstanceInventory"}
                ],
            )
        ctx.mark_complete(ASSOCIATION_COMPLIANCE, PATCH_COMPLIANCE)

    def _documents(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            elements = list(
                ctx.paginate(
                    "ssm",
                    "ListDocuments",
                    "DocumentIdentifiers",
                    resource_type=DOCUMENT,
                    id_key="Name",
                    Filters=[{"Key": "Owner", "Values": ["Self"]}],
                )
            )
        except ListFailed:
            return
        elements = [e for e in elements if ctx.selected(DOCUMENT, e.get("Name"), ctx.arn("ssm", f"document/{e.get('Name')}"))]
        yield from ctx.map(lambda e: self._document(ctx, e), elements)
        ctx.mark_complete(DOCUMENT)

    def _document(self, ctx: CollectContext, element: dict[str, Any]) -> ConfigurationItem:
        name = element["Name"]
        configuration = {k: v for k, v in element.items() if k != "Tags"}
        item = ctx.item(
            DOCUMENT,
            name,
            resourceName=name,
            arn=ctx.arn("ssm", f"document/{name}"),
            configuration=configuration,
            tags=tags_from_list(element.get("Tags")),
        )
        permission: dict[str, list[Any]] = {"AccountIds": [], "AccountSharingInfoList": []}
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Name": name, "PermissionType": "Share"}
            if token:
                kwargs["NextToken"] = token
            page = ctx.call("ssm", "DescribeDocumentPermission", item=item, **kwargs)
            if page is FAILED:
                permission = {}
                break
            permission["AccountIds"].extend(page.get("AccountIds") or [])
            permission["AccountSharingInfoList"].extend(page.get("AccountSharingInfoList") or [])
            token = page.get("NextToken")
            if not token:
                break
        if permission:
            item.supplementaryConfiguration["DocumentPermission"] = permission
        item.refresh_state_id()
        return item
