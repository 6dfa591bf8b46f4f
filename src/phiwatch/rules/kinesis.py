"""Kinesis Data Streams rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.kinesis`: ``configuration`` is DescribeStreamSummary's
``StreamDescriptionSummary``; ``EncryptionType`` is ``KMS`` when server-side encryption is on.
"""

from __future__ import annotations

from phiwatch.model import ConfigurationItem
from phiwatch.resources.kinesis import STREAM
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, rule


@rule(
    "kinesis-stream-encrypted",
    reads={"configuration.EncryptionType": "DescribeStreamSummary"},
    aws_identifier="KINESIS_STREAM_ENCRYPTED",
    service="Amazon Kinesis Data Streams",
    resource_types=(STREAM,),
    trigger="change",
    severity="high",
    compliant_when="The Kinesis data stream has server-side encryption (StreamEncryption present).",
    aws_runbook="AWS-EnableKinesisStreamEncryption",
)
def kinesis_stream_encrypted(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    encryption = get(item, "configuration.EncryptionType")
    if str(encryption or "NONE").upper() == "NONE":
        return non_compliant("stream has no server-side encryption")
    return compliant(f"stream is encrypted with AWS KMS ({get(item, 'configuration.KeyId')})")
