"""CloudWatch Logs log groups (AWS::Logs::LogGroup) and CloudWatch metric alarms (AWS::CloudWatch::Alarm).

Log group items:

* ``resourceId``/``resourceName``: ``logGroupName``; ``arn``: ``logGroupArn`` (the ARN without
  the trailing ``:*`` that DescribeLogGroups' ``arn`` has).
* ``configuration``: the DescribeLogGroups element as returned (``logGroupName``, ``arn``,
  ``logGroupArn``, ``creationTime``, ``metricFilterCount``, ``logGroupClass``, ...) except
  ``storedBytes`` (a size metric, dropped so history only changes with configuration).
  AWS returns ``retentionInDays`` only when a retention is set: **no ``retentionInDays`` key
  means the events never expire**. Likewise ``kmsKeyId`` is present only when the group is
  encrypted with a customer KMS key (absent = CloudWatch Logs' own encryption).
* ``tags``: ListTagsForResource on ``logGroupArn``.
* ``relationships``: the KMS key when ``kmsKeyId`` is a key ARN.

Alarm items (metric alarms only; composite alarms are not collected):

* ``resourceId``/``resourceName``: ``AlarmName``; ``arn``: ``AlarmArn``.
* ``configuration``: the DescribeAlarms ``MetricAlarms`` element as returned (``ActionsEnabled``,
  ``AlarmActions``, ``OKActions``, ``InsufficientDataActions`` (lists, ``[]`` when none),
  ``MetricName``, ``Namespace``, ``Statistic``, ``Dimensions``, ``Period``, ``EvaluationPeriods``,
  ``Threshold``, ``ComparisonOperator``, ``TreatMissingData``, ``AlarmConfigurationUpdatedTimestamp``,
  ...) **without** the alarm's current state (``StateValue``, ``StateReason``, ``StateReasonData``,
  ``StateUpdatedTimestamp``, ``StateTransitionedTimestamp``): state flips are not configuration changes.
* ``tags``: CloudWatch ListTagsForResource on ``AlarmArn``.
* ``relationships``: the SNS topics among the alarm's actions.

Missing ``tags`` data (the call failed) shows as an error in ``collectionErrors`` with ``tags`` ``{}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.kms import kms_key_relationship
from phiwatch.resources.logs import ALARM, LOG_GROUP

_ALARM_STATE_KEYS = (
    "StateValue",
    "StateReason",
    "StateReasonData",
    "StateUpdatedTimestamp",
    "StateTransitionedTimestamp",
)


def log_group_arn(group: dict[str, Any]) -> str | None:
    arn = group.get("logGroupArn") or group.get("arn")
    return arn.removesuffix(":*") if arn else None


@register
class LogsCollector(Collector):
    name = "logs"
    resource_types = (LOG_GROUP, ALARM)
    targetable = frozenset({LOG_GROUP, ALARM})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.wants(LOG_GROUP):
            yield from self._log_groups(ctx)
        if ctx.wants(ALARM):
            yield from self._alarms(ctx)

    # -- log groups --------------------------------------------------------------------------
    def _log_groups(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            groups = list(ctx.paginate("logs", "DescribeLogGroups", "logGroups", resource_type=LOG_GROUP, id_key="logGroupName"))
        except ListFailed:
            return
        groups = [g for g in groups if ctx.selected(LOG_GROUP, g.get("logGroupName"), log_group_arn(g))]
        yield from ctx.map(lambda g: self._log_group(ctx, g), groups)
        ctx.mark_complete(LOG_GROUP)

    def _log_group(self, ctx: CollectContext, group: dict[str, Any]) -> ConfigurationItem:
        name = group["logGroupName"]
        arn = log_group_arn(group) or ctx.arn("logs", f"log-group:{name}")
        configuration = {k: v for k, v in group.items() if k != "storedBytes"}
        item = ctx.item(
            LOG_GROUP,
            name,
            resourceName=name,
            arn=arn,
            configuration=configuration,
            relationships=kms_key_relationship(group.get("kmsKeyId")),
        )
        tags = ctx.call("logs", "ListTagsForResource", item=item, resourceArn=arn)
        if tags is not FAILED:
            item.tags = dict(tags.get("tags") or {})
        item.refresh_state_id()
        return item

    # -- alarms ------------------------------------------------------------------------------
    def _alarms(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            alarms = list(
                ctx.paginate(
                    "cloudwatch", "DescribeAlarms", "MetricAlarms", resource_type=ALARM, id_key="AlarmName", AlarmTypes=["MetricAlarm"]
                )
            )
        except ListFailed:
            return
        alarms = [a for a in alarms if ctx.selected(ALARM, a.get("AlarmName"), a.get("AlarmArn"))]
        yield from ctx.map(lambda a: self._alarm(ctx, a), alarms)
        ctx.mark_complete(ALARM)

    def _alarm(self, ctx: CollectContext, alarm: dict[str, Any]) -> ConfigurationItem:
        name = alarm["AlarmName"]
        arn = alarm.get("AlarmArn") or ctx.arn("cloudwatch", f"alarm:{name}")
        configuration = {k: v for k, v in alarm.items() if k not in _ALARM_STATE_KEYS}
        actions = {
            a
            for key in ("AlarmActions", "OKActions", "InsufficientDataActions")
            for a in alarm.get(key) or []
            if isinstance(a, str) and a.startswith("arn:") and a.split(":")[2:3] == ["sns"]
        }
        relationships = [
            {"resourceType": "AWS::SNS::Topic", "resourceId": topic, "relationshipName": "Is associated with Topic"}
            for topic in sorted(actions)
        ]
        item = ctx.item(ALARM, name, resourceName=name, arn=arn, configuration=configuration, relationships=relationships)
        tags = ctx.call("cloudwatch", "ListTagsForResource", item=item, ResourceARN=arn)
        if tags is not FAILED:
            item.tags = tags_from_list(tags.get("Tags"))
        item.refresh_state_id()
        return item
