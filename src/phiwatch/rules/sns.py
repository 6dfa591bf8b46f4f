"""SNS rules of the HIPAA pack (AWS Config managed-rule semantics).

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
