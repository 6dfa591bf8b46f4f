"""Amazon CloudFront hook: distributions (items described in :mod:`phiwatch.resources.cloudfront`).

Each distribution is read by its spec (``SpecRun.item``: GetDistribution, tags). The hook is
needed for what the spec cannot say:

* the listing: ListDistributions nests its page in ``DistributionList`` (``Items``,
  ``NextMarker``), paged by ``Marker``;
* ``S3OriginBuckets``: whether the bucket of each S3 origin exists (GetBucketLocation, once per
  bucket name and distribution).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, error_code, register
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ConfigurationItem
from phiwatch.resources.cloudfront import DISTRIBUTION, SERVICE, s3_origin_bucket

[SPEC] = SERVICE.resources
#: GetBucketLocation's answers that prove nobody owns the bucket name
NO_SUCH_BUCKET = ("NoSuchBucket",)
#: answers that prove the bucket exists but is not ours to read (another account's, or a redirect to its region)
SOMEONE_ELSES = ("AccessDenied", "AllAccessDisabled", "PermanentRedirect", "AuthorizationHeaderMalformed")


def list_distributions(ctx: CollectContext) -> list[dict[str, Any]]:
    """Every distribution's summary (ListDistributions by Marker); ListFailed on error."""
    found: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Marker": marker} if marker else {}
        page = ctx.call("cloudfront", "ListDistributions", resource_type=DISTRIBUTION, **kwargs)
        if page is FAILED:
            raise ListFailed("cloudfront:ListDistributions")
        listing = page.get("DistributionList") or {}
        items = listing.get("Items") or []
        found.extend(ctx.identified("cloudfront", "ListDistributions", items, ("Id", "ARN"), resource_type=DISTRIBUTION))
        marker = listing.get("NextMarker")
        if not listing.get("IsTruncated") or not marker or not items:
            return found


def s3_origin_buckets(configuration: dict[str, Any]) -> list[str]:
    """The bucket names of the distribution's origins with an ``S3OriginConfig`` (once each)."""
    config = configuration.get("DistributionConfig") or {}
    origins = (config.get("Origins") or {}).get("Items") or []
    names = [s3_origin_bucket(o.get("DomainName")) for o in origins if isinstance(o, dict) and o.get("S3OriginConfig") is not None]
    return list(dict.fromkeys(n for n in names if n))


@register
class CloudFrontCollector(Collector):
    name = "cloudfront"
    resource_types = (DISTRIBUTION,)
    global_service = True
    targetable = frozenset({DISTRIBUTION})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(DISTRIBUTION):
            return
        run = SpecRun(ctx, SPEC, "cloudfront")
        if ctx.targets(DISTRIBUTION) is not None:
            elements: list[Any] | None = run.elements()  # the wanted ids, read without a listing
        else:
            try:
                elements = [e for e in list_distributions(ctx) if ctx.selected(DISTRIBUTION, *run.identifiers(e))]
            except ListFailed:
                elements = None
        if elements is None:
            return
        for item in ctx.map(lambda e: self._item(ctx, run, e), elements):
            if item is not None:
                yield item
        ctx.mark_complete(DISTRIBUTION)

    def _item(self, ctx: CollectContext, run: SpecRun, element: Any) -> ConfigurationItem | None:
        item = run.item(element)
        if item is None:
            return None
        exists: dict[str, bool] = {}
        for bucket in s3_origin_buckets(item.configuration):
            found = bucket_exists(ctx, item, bucket)
            if found is None:
                return _refreshed(item)  # the error is on the item: S3OriginBuckets stays unset
            exists[bucket] = found
        item.supplementaryConfiguration["S3OriginBuckets"] = exists
        return _refreshed(item)


def bucket_exists(ctx: CollectContext, item: ConfigurationItem, bucket: str) -> bool | None:
    """Whether someone owns ``bucket`` (GetBucketLocation); None after recording a failed read on ``item``."""
    try:
        ctx.client("s3").get_bucket_location(Bucket=bucket)
    except (ClientError, BotoCoreError) as exc:
        code = error_code(exc)
        if code in NO_SUCH_BUCKET:
            return False
        if code in SOMEONE_ELSES:
            return True
        ctx._record("s3", "GetBucketLocation", exc, item, None, None)
        return None
    return True


def _refreshed(item: ConfigurationItem) -> ConfigurationItem:
    item.refresh_state_id()
    return item
