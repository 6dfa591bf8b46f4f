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
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.kms import kms_key_relationship
from phiwatch.resources.secretsmanager import SECRET

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


def _relationships(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    out = kms_key_relationship(configuration.get("KmsKeyId"))
    function = configuration.get("RotationLambdaARN")
    if isinstance(function, str) and ":function:" in function:
        name = function.split(":function:", 1)[1].split(":", 1)[0]
        out.append({"resourceType": "AWS::Lambda::Function", "resourceId": name, "relationshipName": "Is associated with Function"})
    return out


@register
class SecretsManagerCollector(Collector):
    name = "secretsmanager"
    resource_types = (SECRET,)
    targetable = frozenset({SECRET})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(SECRET):  # a targeted run for other services' resources
            return
        try:
            secrets = list(
                ctx.paginate("secretsmanager", "ListSecrets", "SecretList", resource_type=SECRET, id_key="ARN", IncludePlannedDeletion=True)
            )
        except ListFailed:
            return
        for element in secrets:
            arn = element.get("ARN") or ""
            # events name a secret by name, ARN or partial ARN (without the random "-XXXXXX" suffix)
            if not ctx.selected(SECRET, arn, element.get("Name"), arn[:-7] if arn.startswith("arn:") else None):
                continue
            configuration = secret_configuration(element)
            arn = configuration["ARN"]
            yield ctx.item(
                SECRET,
                arn,
                resourceName=configuration.get("Name"),
                arn=arn,
                configuration=configuration,
                tags=tags_from_list(configuration.get("Tags")),
                relationships=_relationships(configuration),
            )
        ctx.mark_complete(SECRET)
