"""SNS: topics (AWS::SNS::Topic).

Item layout:

* ``resourceId``/``arn``: the ``TopicArn`` (AWS Config's id for topics); ``resourceName``: the
  topic name (the ARN's last part).
* ``configuration``: GetTopicAttributes' ``Attributes`` map as returned (all values strings):
  ``TopicArn``, ``Owner``, ``DisplayName``, ``Policy`` (JSON text), ``EffectiveDeliveryPolicy``,
  ``SubscriptionsConfirmed``/``Pending``/``Deleted``, ``FifoTopic`` (FIFO topics only), ... and
  ``KmsMasterKeyId`` only when server-side encryption is on: **no ``KmsMasterKeyId`` key means
  the topic is not encrypted**. When GetTopicAttributes failed, ``configuration`` holds only
  ``TopicArn`` and the error is on the item.
* ``tags``: ListTagsForResource.
* ``relationships``: the KMS key when ``KmsMasterKeyId`` is a key ARN or KeyId.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.collect.kms import kms_key_relationship
from phiwatch.model import ConfigurationItem

TOPIC = "AWS::SNS::Topic"


@register
class SnsCollector(Collector):
    name = "sns"
    resource_types = (TOPIC,)
    targetable = frozenset({TOPIC})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        wanted = ctx.targets(TOPIC)
        if wanted is not None:  # targeted: GetTopicAttributes by ARN (a name is this region's topic), no listing
            topics = [{"TopicArn": arn} for arn in sorted({i if i.startswith("arn:") else ctx.arn("sns", i) for i in wanted})]
        else:
            try:
                topics = list(ctx.paginate("sns", "ListTopics", "Topics", resource_type=TOPIC, id_key="TopicArn"))
            except ListFailed:
                return
        for item in ctx.map(lambda t: self._topic(ctx, t), topics):
            if item is not None:
                yield item
        ctx.mark_complete(TOPIC)

    def _topic(self, ctx: CollectContext, topic: dict[str, Any]) -> ConfigurationItem | None:
        arn = topic["TopicArn"]
        item = ctx.item(TOPIC, arn, resourceName=arn.rsplit(":", 1)[-1], arn=arn, configuration={"TopicArn": arn})
        attributes = ctx.call("sns", "GetTopicAttributes", item=item, not_found=("NotFound",), absent=None, TopicArn=arn)
        if attributes is None:
            return None  # deleted between ListTopics and now
        if attributes is not FAILED:
            item.configuration = dict(attributes.get("Attributes") or {"TopicArn": arn})
            item.relationships = kms_key_relationship(item.configuration.get("KmsMasterKeyId"))
        tags = ctx.call("sns", "ListTagsForResource", item=item, ResourceArn=arn)
        if tags is not FAILED:
            item.tags = tags_from_list(tags.get("Tags"))
        item.refresh_state_id()
        return item
