"""Secrets Manager: secrets (AWS::SecretsManager::Secret) — metadata only, never the secret value.

Only ListSecrets is called (no DescribeSecret, and never GetSecretValue or any call that returns
secret material), so no secret value can reach the store.

Item layout:

* ``resourceId``/``arn``: the secret ARN (AWS Config's id for secrets); ``resourceName``: ``Name``.
* ``configuration``: the ListSecrets element as returned: ``ARN``, ``Name``, ``Description``,
  ``KmsKeyId``, ``RotationEnabled``, ``RotationLambdaARN``, ``RotationRules``
  (``AutomaticallyAfterDays`` / ``ScheduleExpression`` / ``Duration``), ``LastRotatedDate``,
  ``LastChangedDate``, ``LastAccessedDate``, ``NextRotationDate``, ``DeletedDate``,
  ``CreatedDate``, ``PrimaryRegion``, ``OwningService``, ``SecretVersionsToStages``, ``Tags``.
  Normalised: ``RotationEnabled`` is always present (``False`` when AWS omits it). AWS omits
  the other optional keys when unset: **no ``KmsKeyId`` means the AWS managed key
  ``aws/secretsmanager``**, no ``RotationRules`` / ``LastRotatedDate`` means never configured /
  never rotated. ``DeletedDate`` is present on secrets scheduled for deletion (they are listed
  with ``IncludePlannedDeletion`` so they stay in the inventory until really deleted).
* ``tags``: the element's ``Tags`` as a dict.
* ``relationships``: the KMS key when ``KmsKeyId`` is a key ARN or KeyId, and the rotation Lambda
  function (``AWS::Lambda::Function``, by name) when set.

The stored configuration is an allow-list of the element's keys with ``RotationEnabled``
normalised (the spec's ``shape``). The targeting by partial ARN is done by the hook
:mod:`phiwatch.collect.secretsmanager`; the rest is this spec.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.kms import kms_key_relationship
from phiwatch.resources.spec import Call, P, ResourceSpec, Service, on

SECRET = "AWS::SecretsManager::Secret"

#: unless listed here (defence in depth: secret material must never reach the store)
_ALLOWED = frozenset(
    {
        "ARN",
        "Name",
        "Type",
        "Description",
        "KmsKeyId",
        "RotationEnabled",
        "RotationLambdaARN",
        "RotationRules",
        "ExternalSecretRotationMetadata",
        "ExternalSecretRotationRoleArn",
        "LastRotatedDate",
        "LastChangedDate",
        "LastAccessedDate",
        "DeletedDate",
        "NextRotationDate",
        "Tags",
        "SecretVersionsToStages",
        "OwningService",
        "CreatedDate",
        "PrimaryRegion",
    }
)


def secret_configuration(element: dict[str, Any]) -> dict[str, Any]:
    """The stored configuration of a ListSecrets element (allow-listed keys, RotationEnabled normalised)."""
    configuration = {k: v for k, v in element.items() if k in _ALLOWED and v is not None}
    configuration["RotationEnabled"] = bool(element.get("RotationEnabled", False))
    return configuration


def secret_relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    """The KMS key and the rotation Lambda function (by name) of a secret."""
    out = kms_key_relationship(configuration.get("KmsKeyId"))
    function = configuration.get("RotationLambdaARN")
    if isinstance(function, str) and ":function:" in function:
        name = function.split(":function:", 1)[1].split(":", 1)[0]
        out.append({"resourceType": "AWS::Lambda::Function", "resourceId": name, "relationshipName": "Is associated with Function"})
    return out


SPEC = ResourceSpec(
    SECRET,
    client="secretsmanager",
    listing=Call("ListSecrets", "secretsmanager:ListSecrets", {"IncludePlannedDeletion": True}, result="SecretList"),
    id="ARN",
    name="Name",
    arn="ARN",
    tags="Tags",
    shape=secret_configuration,
    relationships=secret_relationships,
    events=(
        on(
            "secretsmanager.amazonaws.com",
            (
                "CreateSecret DeleteSecret RestoreSecret UpdateSecret RotateSecret "
                "CancelRotateSecret TagResource UntagResource PutResourcePolicy "
                "DeleteResourcePolicy ReplicateSecretToRegions PutSecretValue "
                "UpdateSecretVersionStage"
            ),
            P("requestParameters.secretId"),
            P("responseElements.aRN"),
            P("responseElements.arn"),
            P("requestParameters.name"),
        ),
    ),
)

SERVICE = Service("secretsmanager", resources=(SPEC,))
