"""Kinesis Data Streams: streams (AWS::Kinesis::Stream), regional.

Item layout:

* ``resourceId`` and ``resourceName``: the stream name (AWS Config's id for streams); ``arn``:
  the ``StreamARN``.
* ``configuration``: DescribeStreamSummary's ``StreamDescriptionSummary`` in boto3 shape:
  ``StreamName``, ``StreamARN``, ``StreamStatus``, ``StreamModeDetails``,
  ``RetentionPeriodHours``, ``OpenShardCount``, ``EncryptionType`` (``"NONE"`` or ``"KMS"``:
  server-side encryption) and ``KeyId`` (the KMS key, when encrypted). When
  DescribeStreamSummary failed, ``configuration`` holds only ``StreamName`` and the error is on
  the item (so ``EncryptionType`` is absent).
* ``tags``: ListTagsForStream (unchanged, ``{}``, when that call failed; the error is on the item).
* ``relationships``: the KMS key when ``KeyId`` is a key ARN or KeyId.

No account-level keys.
"""

from __future__ import annotations

from collections.abc import Iterator

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.collect.kms import kms_key_relationship
from phiwatch.model import ConfigurationItem

STREAM = "AWS::Kinesis::Stream"


@register
class KinesisCollector(Collector):
    name = "kinesis"
    resource_types = (STREAM,)
    targetable = frozenset({STREAM})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        wanted = ctx.targets(STREAM)
        if wanted is not None:  # targeted: described by name (an ARN's last part), no listing
            names = sorted({i.rsplit(":stream/", 1)[-1] for i in wanted})
        else:
            try:
                names = list(dict.fromkeys(ctx.paginate("kinesis", "ListStreams", "StreamNames", resource_type=STREAM)))
            except ListFailed:
                return
        for item in ctx.map(lambda n: self._stream(ctx, n), names):
            if item is not None:
                yield item
        ctx.mark_complete(STREAM)

    def _stream(self, ctx: CollectContext, name: str) -> ConfigurationItem | None:
        item = ctx.item(STREAM, name, resourceName=name, arn=ctx.arn("kinesis", f"stream/{name}"), configuration={"StreamName": name})
        summary = ctx.call(
            "kinesis", "DescribeStreamSummary", item=item, not_found=("ResourceNotFoundException",), absent=None, StreamName=name
        )
        if summary is None:
            return None  # deleted between ListStreams and now
        if summary is not FAILED:
            item.configuration = dict(summary.get("StreamDescriptionSummary") or {"StreamName": name})
            item.arn = item.configuration.get("StreamARN") or item.arn
            item.relationships = kms_key_relationship(item.configuration.get("KeyId"))
        tags = ctx.call("kinesis", "ListTagsForStream", item=item, StreamName=name, Limit=50)
        if tags is not FAILED:
            item.tags = tags_from_list(tags.get("Tags"))
        item.refresh_state_id()
        return item
