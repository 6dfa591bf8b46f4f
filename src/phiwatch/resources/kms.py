"""KMS: customer managed keys (AWS::KMS::Key)."""

from __future__ import annotations

import re
from typing import Any

from phiwatch.resources.spec import P, ResourceSpec, Service, on

KEY = "AWS::KMS::Key"

_KEY_ARN = re.compile(r"^arn:[^:]+:kms:[^:]*:[^:]*:key/(?P<id>.+)$")
_KEY_ID = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def kms_key_relationship(reference: Any, name: str = "Is associated with KmsKey") -> list[dict[str, Any]]:
    """An AWS Config style relationship to the KMS key ``reference`` names (key ARN or KeyId).

    Alias references (``alias/...``) cannot be resolved without a call, so they yield none.
    """
    if not isinstance(reference, str) or not reference:
        return []
    match = _KEY_ARN.match(reference)
    key_id = match.group("id") if match else (reference if _KEY_ID.match(reference) else None)
    if not key_id:
        return []
    return [{"resourceType": KEY, "resourceId": key_id, "relationshipName": name}]


SERVICE = Service(
    "kms",
    resources=(
        ResourceSpec(
            KEY,
            events=(
                on(
                    "kms.amazonaws.com",
                    (
                        "CreateKey EnableKeyRotation DisableKeyRotation ScheduleKeyDeletion "
                        "CancelKeyDeletion EnableKey DisableKey PutKeyPolicy UpdateKeyDescription "
                        "TagResource UntagResource CreateAlias UpdateAlias DeleteAlias"
                    ),
                    P("requestParameters.keyId"),
                    P("responseElements.keyMetadata.keyId"),
                    P("requestParameters.targetKeyId"),
                ),
            ),
        ),
    ),
    iam=(
        "kms:DescribeKey",
        "kms:GetKeyRotationStatus",
        "kms:ListAliases",
        "kms:ListKeys",
        "kms:ListResourceTags",
    ),
)
