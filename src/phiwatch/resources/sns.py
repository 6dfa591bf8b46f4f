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

A targeted run (``watch``) reads the wanted topics by ARN (a name is this region's topic), without listing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phiwatch.resources.kms import kms_key_relationship
from phiwatch.resources.spec import Call, P, ResourceSpec, Service, on

TOPIC = "AWS::SNS::Topic"


def _topic(identifier: str, env: Mapping[str, str]) -> dict[str, str]:
    arn = identifier if identifier.startswith("arn:") else f"arn:{env['partition']}:sns:{env['region']}:{env['account']}:{identifier}"
    return {"TopicArn": arn}


def _name(topic: Any) -> str | None:
    arn = topic.get("TopicArn") if isinstance(topic, dict) else None
    return arn.rsplit(":", 1)[-1] if isinstance(arn, str) else None


SERVICE = Service(
    "sns",
    resources=(
        ResourceSpec(
            TOPIC,
            client="sns",
            listing=Call("ListTopics", "sns:ListTopics", result="Topics"),
            id="TopicArn",
            name=_name,
            arn="TopicArn",
            describe=Call("GetTopicAttributes", "sns:GetTopicAttributes", {"TopicArn": "TopicArn"}, result="Attributes"),
            gone=("NotFound",),
            target=_topic,
            tags=Call("ListTagsForResource", "sns:ListTagsForResource", {"ResourceArn": "TopicArn"}, result="Tags"),
            relationships=lambda configuration: kms_key_relationship(configuration.get("KmsMasterKeyId")),
            events=(
                on(
                    "sns.amazonaws.com",
                    ("CreateTopic DeleteTopic SetTopicAttributes AddPermission RemovePermission TagResource UntagResource"),
                    P("requestParameters.topicArn"),
                    P("responseElements.topicArn"),
                    P("requestParameters.resourceArn"),
                ),
            ),
        ),
    ),
)
