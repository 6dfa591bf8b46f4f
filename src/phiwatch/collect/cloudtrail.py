"""CloudTrail's hook: one DescribeTrails listing serves the trail items and the account summary
(item layout in :mod:`phiwatch.resources.cloudtrail`).

Irregular, hence this hook rather than the generic collector:

* the listing includes shadow trails (other regions' multi-region trails, other accounts'
  organization trails): only the trails homed here, of this account, become items (built from
  the trail spec by :class:`~phiwatch.collect.generic.SpecRun`), while every listed trail goes
  into the account item's ``cloudTrailTrails``; a failed listing is recorded on the account item;
* a shadow trail's logging status is read for the account summary (its error on the account item);
  a trail homed here lends its item's ``TrailStatus``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ConfigurationItem
from phiwatch.resources.cloudtrail import SERVICE, TRAIL

TRAIL_SPEC = SERVICE.resources[0]


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


@register
class CloudTrailCollector(Collector):
    name = "cloudtrail"
    resource_types = SERVICE.types
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
        run = SpecRun(ctx, TRAIL_SPEC, "cloudtrail")
        if ctx.only is not None:  # targeted: just the wanted trails, no account summary
            wanted = [t for t in own if ctx.selected(TRAIL, *run.identifiers(t))]
            yield from (item for item in ctx.map(run.item, wanted) if item is not None)
            ctx.mark_complete(TRAIL)
            return
        logging: dict[str, Any] = {}
        for item in ctx.map(run.item, own):
            if item is None:
                continue
            status = item.supplementaryConfiguration.get("TrailStatus")
            if status is not None:
                logging[item.arn or ""] = status.get("IsLogging", False)
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
