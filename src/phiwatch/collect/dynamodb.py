"""DynamoDB: tables (AWS::DynamoDB::Table).

Item layout (boto3 shapes):

* resourceId and resourceName: ``TableName`` (AWS Config's id); arn ``TableArn``.
* ``configuration``: DescribeTable's ``Table`` element. ``SSEDescription`` is there when the
  table is encrypted with a KMS key (``{"Status": "ENABLED", "SSEType": "KMS",
  "KMSMasterKeyArn": ...}``); AWS omits ``SSEDescription`` for the default encryption with an
  AWS owned key (DynamoDB always encrypts at rest). So an absent ``SSEDescription`` means
  "AWS owned key" - unless DescribeTable itself failed (``"DescribeTable"`` in the item's
  failed APIs; ``configuration`` is then ``{}``). Also ``BillingModeSummary`` (absent =
  PROVISIONED), ``ProvisionedThroughput``, ``DeletionProtectionEnabled``.
* ``supplementaryConfiguration.ContinuousBackupsDescription``: DescribeContinuousBackups'
  element, ``{"ContinuousBackupsStatus", "PointInTimeRecoveryDescription":
  {"PointInTimeRecoveryStatus": "ENABLED"|"DISABLED", ...}}``; absent when the call failed.
* ``tags``: ListTagsOfResource.

Autoscaling (Application Auto Scaling) is not collected. No account-level keys.
"""

from __future__ import annotations

from typing import Any, Iterator

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem

TABLE = "AWS::DynamoDB::Table"


@register
class DynamoDbCollector(Collector):
    name = "dynamodb"
    resource_types = (TABLE,)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            names = list(ctx.paginate("dynamodb", "ListTables", "TableNames", resource_type=TABLE))
        except ListFailed:
            return
        for item in ctx.map(lambda n: self._table(ctx, n), names):
            if item is not None:
                yield item
        ctx.mark_complete(TABLE)

    def _table(self, ctx: CollectContext, name: str) -> ConfigurationItem | None:
        item = ctx.item(TABLE, name, resourceName=name, arn=ctx.arn("dynamodb", f"table/{name}"))
        described = ctx.call(
            "dynamodb", "DescribeTable", item=item, not_found=("ResourceNotFoundException",), absent=None, TableName=name
        )
        if described is None:
            return None  # deleted between ListTables and DescribeTable
        if described is not FAILED:
            table: dict[str, Any] = described.get("Table") or {}
            item.configuration = table
            item.arn = table.get("TableArn") or item.arn
        backups = ctx.call("dynamodb", "DescribeContinuousBackups", item=item, TableName=name)
        if backups is not FAILED:
            item.supplementaryConfiguration["ContinuousBackupsDescription"] = backups.get("ContinuousBackupsDescription")
        try:
            item.tags = tags_from_list(
                list(ctx.paginate("dynamodb", "ListTagsOfResource", "Tags", item=item, ResourceArn=item.arn))
            )
        except ListFailed:
            pass
        item.refresh_state_id()
        return item
