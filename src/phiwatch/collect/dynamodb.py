"""DynamoDB tables (AWS::DynamoDB::Table) and the region's limits: the hook collecting them; the
item layout is in :mod:`phiwatch.resources.dynamodb`.

Why a hook and not the spec's generic collector (each needs a feature the generic one lacks):

* the account part: DescribeLimits on the region's ``AWS::::Account`` item;
* one DescribeScalableTargets and one DescribeScalingPolicies per region (Application Auto
  Scaling), reshaped and joined onto each table by resource id
  (``supplementaryConfiguration.AutoScaling``), their failure copied onto each table item;
* ListTagsOfResource takes the table ARN, which a call's params cannot build from a listed name;
* when DescribeTable fails the configuration is ``{}``, not ``{"TableName": name}``; its size
  metrics are dropped inside the indexes too (nested ``drop``);
* ListTagsOfResource is paginated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ACCOUNT_TYPE, ConfigurationItem
from phiwatch.resources.dynamodb import TABLE

_METRICS = frozenset({"TableSizeBytes", "ItemCount", "IndexSizeBytes"})


def _without_metrics(table: dict[str, Any]) -> dict[str, Any]:
    """The table description without its size metrics (also in its indexes)."""
    out = {k: v for k, v in table.items() if k not in _METRICS}
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if isinstance(out.get(key), list):
            out[key] = [{k: v for k, v in index.items() if k not in _METRICS} for index in out[key]]
    return out


LIMIT_KEYS = (
    "AccountMaxReadCapacityUnits",
    "AccountMaxWriteCapacityUnits",
    "TableMaxReadCapacityUnits",
    "TableMaxWriteCapacityUnits",
)
TARGET_KEYS = ("ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity", "SuspendedState")


@register
class DynamoDbCollector(Collector):
    name = "dynamodb"
    resource_types = (TABLE,)
    targetable = frozenset({ACCOUNT_TYPE, TABLE})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.wants(ACCOUNT_TYPE):
            account = ctx.account_item()
            limits = ctx.call("dynamodb", "DescribeLimits", item=account)
            if limits is not FAILED:
                account.configuration["dynamodbLimits"] = {k: limits.get(k) for k in LIMIT_KEYS}
            yield account
        if not ctx.wants(TABLE):
            return
        try:
            names = list(ctx.paginate("dynamodb", "ListTables", "TableNames", resource_type=TABLE))
        except ListFailed:
            return
        names = [n for n in names if ctx.selected(TABLE, n, ctx.arn("dynamodb", f"table/{n}"))]
        scaling = self._autoscaling(ctx) if names else ({"ScalableTargets": [], "ScalingPolicies": []}, [])
        for item in ctx.map(lambda n: self._table(ctx, n, scaling), names):
            if item is not None:
                yield item
        ctx.mark_complete(TABLE)

    def _autoscaling(self, ctx: CollectContext) -> tuple[dict[str, list[dict[str, Any]]] | None, list[dict[str, Any]]]:
        """The region's DynamoDB scalable targets and scaling policies; (None, [error]) when a call failed."""
        out: dict[str, list[dict[str, Any]]] = {}
        try:
            out["ScalableTargets"] = [
                {k: t.get(k) for k in TARGET_KEYS}
                for t in ctx.paginate(
                    "application-autoscaling",
                    "DescribeScalableTargets",
                    "ScalableTargets",
                    resource_type=TABLE,
                    ServiceNamespace="dynamodb",
                )
            ]
            out["ScalingPolicies"] = [
                {
                    "PolicyName": p.get("PolicyName"),
                    "ResourceId": p.get("ResourceId"),
                    "ScalableDimension": p.get("ScalableDimension"),
                    "PolicyType": p.get("PolicyType"),
                    "TargetValue": (p.get("TargetTrackingScalingPolicyConfiguration") or {}).get("TargetValue"),
                }
                for p in ctx.paginate(
                    "application-autoscaling",
                    "DescribeScalingPolicies",
                    "ScalingPolicies",
                    resource_type=TABLE,
                    ServiceNamespace="dynamodb",
                )
            ]
        except ListFailed:
            return None, [ctx.errors[-1].to_dict()]  # recorded by paginate; runs before the threaded table reads
        return out, []

    def _table(
        self,
        ctx: CollectContext,
        name: str,
        scaling: tuple[dict[str, list[dict[str, Any]]] | None, list[dict[str, Any]]],
    ) -> ConfigurationItem | None:
        item = ctx.item(TABLE, name, resourceName=name, arn=ctx.arn("dynamodb", f"table/{name}"))
        described = ctx.call("dynamodb", "DescribeTable", item=item, not_found=("ResourceNotFoundException",), absent=None, TableName=name)
        if described is None:
            return None  # deleted between ListTables and DescribeTable
        if described is not FAILED:
            table: dict[str, Any] = _without_metrics(described.get("Table") or {})
            item.configuration = table
            item.arn = table.get("TableArn") or item.arn
        found, errors = scaling
        if found is None:
            item.collectionErrors.extend({**e, "resource_id": name} for e in errors)
        else:
            mine = f"table/{name}"
            item.supplementaryConfiguration["AutoScaling"] = {
                key: [e for e in entries if e.get("ResourceId") == mine or str(e.get("ResourceId", "")).startswith(mine + "/index/")]
                for key, entries in found.items()
            }
        backups = ctx.call("dynamodb", "DescribeContinuousBackups", item=item, TableName=name)
        if backups is not FAILED:
            item.supplementaryConfiguration["ContinuousBackupsDescription"] = backups.get("ContinuousBackupsDescription")
        try:
            item.tags = tags_from_list(list(ctx.paginate("dynamodb", "ListTagsOfResource", "Tags", item=item, ResourceArn=item.arn)))
        except ListFailed:
            pass
        item.refresh_state_id()
        return item
