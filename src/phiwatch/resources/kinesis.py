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
* ``tags``: ListTagsForStream (``{}`` when that call failed; the error is on the item).
* ``relationships``: the KMS key when ``KeyId`` is a key ARN or KeyId.

A targeted run (``watch``) describes the wanted streams by name (an ARN's last part), without listing.
No account-level keys.
"""

from __future__ import annotations

from phiwatch.resources.kms import kms_key_relationship
from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

STREAM = "AWS::Kinesis::Stream"

SERVICE = Service(
    "kinesis",
    resources=(
        ResourceSpec(
            STREAM,
            client="kinesis",
            listing=Call("ListStreams", "kinesis:ListStreams", result="StreamNames"),
            id="@",
            id_key="StreamName",
            arn=("StreamARN", "arn:{partition}:kinesis:{region}:{account}:stream/{id}"),
            describe=Call("DescribeStreamSummary", "kinesis:DescribeStreamSummary", {"StreamName": "@"}, result="StreamDescriptionSummary"),
            gone=("ResourceNotFoundException",),
            target=lambda identifier, env: identifier.rsplit(":stream/", 1)[-1],
            tags=Call("ListTagsForStream", "kinesis:ListTagsForStream", {"StreamName": "@", "Limit": 50}, result="Tags"),
            relationships=lambda configuration: kms_key_relationship(configuration.get("KeyId")),
            events=(
                on(
                    "kinesis.amazonaws.com",
                    (
                        "CreateStream DeleteStream AddTagsToStream RemoveTagsFromStream TagResource "
                        "UntagResource IncreaseStreamRetentionPeriod DecreaseStreamRetentionPeriod "
                        "StartStreamEncryption StopStreamEncryption UpdateShardCount UpdateStreamMode "
                        "MergeShards SplitShard EnableEnhancedMonitoring DisableEnhancedMonitoring "
                        "UpdateMaxRecordSize UpdateStreamWarmThroughput"
                    ),
                    P("requestParameters.streamName"),
                    R("requestParameters.streamARN", "^arn:[^:]+:kinesis:[^:]*:[^:]*:stream/([^/]+)$"),
                    R("requestParameters.resourceARN", "^arn:[^:]+:kinesis:[^:]*:[^:]*:stream/([^/]+)$"),
                ),
            ),
        ),
    ),
)
