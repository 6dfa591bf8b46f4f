"""CloudTrail: trails (AWS::CloudTrail::Trail) and a per-region trail summary on the account item.

Item layout (boto3 response shapes):

* ``resourceId``/``resourceName``: the trail name; ``arn``: ``TrailARN``. One item per trail
  *created* in this region by this account (``HomeRegion`` == region); a multi-region trail
  is therefore one item, in its home region.
* ``configuration``: the DescribeTrails element as returned: ``Name``, ``TrailARN``, ``HomeRegion``,
  ``S3BucketName``, ``S3KeyPrefix``, ``IsMultiRegionTrail``, ``IncludeGlobalServiceEvents``,
  ``LogFileValidationEnabled``, ``IsOrganizationTrail``, ``HasCustomEventSelectors``,
  ``HasInsightSelectors``, and only when set: ``KmsKeyId`` (no key = SSE-S3, not KMS),
  ``CloudWatchLogsLogGroupArn``, ``CloudWatchLogsRoleArn``, ``SnsTopicARN``. AWS omits the
  optional keys that are not set, so an absent ``KmsKeyId`` / ``CloudWatchLogsLogGroupArn`` in
  ``configuration`` means "not configured" (DescribeTrails either succeeds for all or no item exists).
* ``supplementaryConfiguration``:

  - ``TrailStatus``: the stable part of GetTrailStatus: ``IsLogging`` and, when AWS returns them,
    ``StartLoggingTime``, ``StopLoggingTime``, ``TimeLoggingStarted``, ``TimeLoggingStopped``,
    ``LatestDeliveryError``, ``LatestDigestDeliveryError``, ``LatestNotificationError``,
    ``LatestCloudWatchLogsDeliveryError``. The ever-moving ``Latest*Time`` / ``*Attempt*`` fields
    are dropped so that an unchanged trail keeps one version in the history.
  - ``EventSelectors``: ``{"EventSelectors": [...], "AdvancedEventSelectors": [...]}`` (both lists,
    ``[]`` when AWS returns none).

* ``tags``: ListTags for the trail ARN.
* ``relationships``: the S3 bucket, the CloudWatch Logs log group and the KMS key (when given as
  a key ARN) the trail uses.

Account item (``AWS::::Account`` in this region): ``configuration.cloudTrailTrails`` lists every
trail *visible* in the region, shadow trails of other regions' multi-region trails and
organization trails included, for the account-level ``cloudtrail-enabled`` and
``multi-region-cloudtrail-enabled`` rules::

    [{"name", "arn", "homeRegion", "isMultiRegionTrail", "isOrganizationTrail", "isLogging",
      "s3BucketName", "snsTopicArn", "cloudWatchLogsLogGroupArn"}]

(the last three from ``S3BucketName``, ``SnsTopicARN`` and ``CloudWatchLogsLogGroupArn``, ``None``
when the trail does not set them: the rules' parameters compare against them, and a shadow trail of
another account has no item of its own.)
``[]`` means no trail at all in the region; the key is absent when DescribeTrails failed. Within
an element, ``isLogging`` is absent when GetTrailStatus failed for that trail (error on the
account item for a shadow trail, on the trail's own item for a trail homed here). Event selectors of a shadow trail are on the trail's item in its home region.

A key absent from ``supplementaryConfiguration`` means the call failed (see ``collectionErrors``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.cloudtrail import TRAIL
from phiwatch.resources.kms import kms_key_relationship

STATUS_KEYS = (
    "IsLogging",
    "StartLoggingTime",
    "StopLoggingTime",
    "TimeLoggingStarted",
    "TimeLoggingStopped",
    "LatestDeliveryError",
    "LatestDigestDeliveryError",
    "LatestNotificationError",
    "LatestCloudWatchLogsDeliveryError",
)


def stable_status(response: dict[str, Any]) -> dict[str, Any]:
    """GetTrailStatus without the moving delivery timestamps; empty strings (moto) dropped."""
    return {k: response[k] for k in STATUS_KEYS if k in response and response[k] not in ("", None)}


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _relationships(trail: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if trail.get("S3BucketName"):
        out.append(
            {"resourceType": "AWS::S3::Bucket", "resourceId": trail["S3BucketName"], "relationshipName": "Is associated with Bucket"}
        )
    group_arn = trail.get("CloudWatchLogsLogGroupArn")
    if group_arn and ":log-group:" in group_arn:
        name = group_arn.split(":log-group:", 1)[1].removesuffix(":*")
        out.append({"resourceType": "AWS::Logs::LogGroup", "resourceId": name, "relationshipName": "Is associated with LogGroup"})
    out.extend(kms_key_relationship(trail.get("KmsKeyId")))
    return out


@register
class CloudTrailCollector(Collector):
    name = "cloudtrail"
    resource_types = (TRAIL,)
    targetable = frozenset({TRAIL})  # the account part summarises every trail: not collected alone

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        account = ctx.account_item()
        # One call with shadow trails: the trails homed here (this account) become items, all of
        # them make the account summary. Equivalent to includeShadowTrails=False for the items.
        try:
            trails = list(
                ctx.paginate(
                    "cloudtrail", "DescribeTrails", "trailList", item=account, resource_type=TRAIL, id_key="Name", includeShadowTrails=True
                )
            )
        except ListFailed:
            yield account
            return
        own = [
            t
            for t in trails
            if t.get("HomeRegion", ctx.region) == ctx.region and _account_of(t.get("TrailARN", "")) in ("", ctx.account_id)
        ]
        own_names = {t.get("TrailARN") for t in own}
        if ctx.only is not None:  # targeted: just the wanted trails, no account summary
            yield from ctx.map(lambda t: self._trail(ctx, t), [t for t in own if ctx.selected(TRAIL, t.get("Name"), t.get("TrailARN"))])
            ctx.mark_complete(TRAIL)
            return
        logging: dict[str, Any] = {}
        for item in ctx.map(lambda t: self._trail(ctx, t), own):
            status = item.supplementaryConfiguration.get("TrailStatus")
            if status is not None:
                logging[item.arn] = status.get("IsLogging", False)
            yield item
        ctx.mark_complete(TRAIL)

        def shadow_status(trail: dict[str, Any]) -> Any:
            response = ctx.call("cloudtrail", "GetTrailStatus", item=account, Name=trail["TrailARN"])
            return FAILED if response is FAILED else bool(response.get("IsLogging", False))

        shadows = [t for t in trails if t.get("TrailARN") not in own_names and t.get("TrailARN")]
        for trail, is_logging in zip(shadows, ctx.map(shadow_status, shadows)):
            if is_logging is not FAILED:
                logging[trail["TrailARN"]] = is_logging
        summary = []
        for trail in trails:
            entry = {
                "name": trail.get("Name"),
                "arn": trail.get("TrailARN"),
                "homeRegion": trail.get("HomeRegion"),
                "isMultiRegionTrail": bool(trail.get("IsMultiRegionTrail", False)),
                "isOrganizationTrail": bool(trail.get("IsOrganizationTrail", False)),
                "s3BucketName": trail.get("S3BucketName") or None,
                "snsTopicArn": trail.get("SnsTopicARN") or None,
                "cloudWatchLogsLogGroupArn": trail.get("CloudWatchLogsLogGroupArn") or None,
            }
            if trail.get("TrailARN") in logging:
                entry["isLogging"] = logging[trail["TrailARN"]]
            summary.append(entry)
        account.configuration["cloudTrailTrails"] = sorted(summary, key=lambda e: e["arn"] or "")
        yield account

    def _trail(self, ctx: CollectContext, trail: dict[str, Any]) -> ConfigurationItem:
        name = trail["Name"]
        arn = trail.get("TrailARN") or ctx.arn("cloudtrail", f"trail/{name}")
        item = ctx.item(TRAIL, name, resourceName=name, arn=arn, configuration=trail, relationships=_relationships(trail))
        status = ctx.call("cloudtrail", "GetTrailStatus", item=item, Name=arn)
        if status is not FAILED:
            item.supplementaryConfiguration["TrailStatus"] = stable_status(status)
        selectors = ctx.call("cloudtrail", "GetEventSelectors", item=item, TrailName=arn)
        if selectors is not FAILED:
            item.supplementaryConfiguration["EventSelectors"] = {
                "EventSelectors": selectors.get("EventSelectors") or [],
                "AdvancedEventSelectors": selectors.get("AdvancedEventSelectors") or [],
            }
        try:
            listed = list(ctx.paginate("cloudtrail", "ListTags", "ResourceTagList", item=item, ResourceIdList=[arn]))
        except ListFailed:
            pass
        else:
            item.tags = {k: v for entry in listed for k, v in tags_from_list(entry.get("TagsList")).items()}
        item.refresh_state_id()
        return item
