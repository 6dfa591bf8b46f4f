"""KMS: customer managed keys (AWS::KMS::Key).

Item layout (boto3 response shapes):

* ``resourceId``: the ``KeyId`` (a UUID or ``mrk-...``); ``arn``: the key ARN;
  ``resourceName``: the key's first alias (``alias/...``, sorted) or, without one, the KeyId.
* ``configuration``: DescribeKey's ``KeyMetadata`` as returned (``KeyId``, ``Arn``, ``KeyState``
  (Enabled|Disabled|PendingDeletion|PendingImport|...), ``DeletionDate`` (only when pending deletion),
  ``KeyManager`` (always CUSTOMER here), ``KeySpec``, ``KeyUsage``, ``Origin``, ``Enabled``,
  ``Description``, ``MultiRegion``, ...). When DescribeKey failed, only ``KeyId`` and ``Arn``
  are present (from ListKeys) and the error is on the item.
* ``supplementaryConfiguration``:

  - ``KeyRotationStatus``: GetKeyRotationStatus as ``{"KeyRotationEnabled": bool,
    "RotationPeriodInDays": int, "NextRotationDate": ...}`` (whatever AWS returns; moto returns only
    ``KeyRotationEnabled``). Only symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT, KeyUsage
    ENCRYPT_DECRYPT) with AWS_KMS key material support automatic rotation: for every other key
    (asymmetric, HMAC, imported key material, custom key store) and when AWS answers
    UnsupportedOperationException or KMSInvalidStateException (key state does not allow it),
    the value is ``None`` = "rotation not applicable", never a failure.
  - ``Aliases``: sorted alias names pointing at the key (``[]`` when none), from one ListAliases
    per region.

* ``tags``: ListResourceTags (``TagKey``/``TagValue``) as a dict.

AWS managed keys (KeyManager AWS, or any key with a reserved ``alias/aws/...`` alias — only AWS
managed keys can have one, and moto's default keys claim KeyManager CUSTOMER) and aliases
themselves produce no items. A key absent
from ``supplementaryConfiguration`` means the call failed (see ``collectionErrors``).

Collected by the hook :mod:`phiwatch.collect.kms` (the spec has no listing), whose calls are
``SERVICE.iam``.
"""

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
    cost=3,
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
