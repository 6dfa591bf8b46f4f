"""SNS rules: the HIPAA pack's and other AWS Config managed rules (AWS's semantics).

Items are described in :mod:`phiwatch.resources.sns`: ``configuration`` is GetTopicAttributes' map, where
**no ``KmsMasterKeyId`` means the topic is not encrypted**. When GetTopicAttributes failed,
``configuration`` holds only ``TopicArn`` and the error is on the item, so the absence of the key
means nothing: the rule then reports INSUFFICIENT_DATA.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.sns import TOPIC
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, describe_failure, get, insufficient, non_compliant, rule
from phiwatch.rules.kms import key_matches


# reads is empty on purpose: an absent KmsMasterKeyId means "not encrypted" when
# GetTopicAttributes succeeded; its failure is checked below.
@rule(
    "sns-encrypted-kms",
    reads={},
    aws_identifier="SNS_ENCRYPTED_KMS",
    service="Amazon SNS",
    resource_types=(TOPIC,),
    trigger="change",
    severity="high",
    compliant_when="The SNS topic is encrypted with AWS KMS (optionally one of kmsKeyIds).",
    parameters={"kmsKeyIds": ("str", None)},
    aws_runbook="AWSConfigRemediation-EncryptSNSTopic",
)
def sns_encrypted_kms(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    if "GetTopicAttributes" in item.failed_apis():
        return insufficient(describe_failure(item, ["GetTopicAttributes"]))
    key = get(item, "configuration.KmsMasterKeyId")
    if not key:
        return non_compliant("topic is not encrypted with AWS KMS")
    allowed = csv_list(params.get("kmsKeyIds"))
    if allowed and not key_matches(key, allowed, item, ctx):
        return non_compliant("topic is encrypted with a KMS key that is not one of kmsKeyIds")
    return compliant(f"topic is encrypted with AWS KMS ({key})")


# -- AWS Config managed rules beyond the HIPAA pack -----------------------------------------------

#: the endpoint protocols whose delivery status SNS can log (``<protocol>SuccessFeedbackRoleArn`` /
#: ``<protocol>FailureFeedbackRoleArn`` topic attributes)
DELIVERY_PROTOCOLS = ("Application", "Firehose", "HTTP", "Lambda", "SQS")


@rule(
    "sns-topic-message-delivery-notification-enabled",
    reads={},
    aws_identifier="SNS_TOPIC_MESSAGE_DELIVERY_NOTIFICATION_ENABLED",
    service="Amazon SNS",
    resource_types=(TOPIC,),
    trigger="change",
    severity="low",
    compliant_when="The SNS topic logs the delivery status of its messages for at least one endpoint protocol.",
)
def sns_topic_message_delivery_notification_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Delivery status logging is on for a protocol when the topic has its success or failure feedback
    role (``HTTPSuccessFeedbackRoleArn``, ``SQSFailureFeedbackRoleArn``, ...); one protocol is enough.
    When GetTopicAttributes failed the attributes are unknown: INSUFFICIENT_DATA."""
    if "GetTopicAttributes" in item.failed_apis():
        return insufficient(describe_failure(item, ["GetTopicAttributes"]))
    logged = [
        protocol
        for protocol in DELIVERY_PROTOCOLS
        if get(item, f"configuration.{protocol}SuccessFeedbackRoleArn") or get(item, f"configuration.{protocol}FailureFeedbackRoleArn")
    ]
    if not logged:
        return non_compliant("delivery status logging is off for every protocol")
    return compliant(f"delivery status is logged for {', '.join(logged)}")
