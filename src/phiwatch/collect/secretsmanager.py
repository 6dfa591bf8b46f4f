"""The Secrets Manager hook: secrets are collected from their spec (:mod:`phiwatch.resources.secretsmanager`,
which describes the item layout) with two irregular parts the generic collector has no field for:

* the stored configuration is an allow-list of the ListSecrets element's keys (defence in depth:
  secret material must never reach the store) with ``RotationEnabled`` always present;
* a targeted run names a secret by name, ARN or partial ARN (the ARN without its random
  ``-XXXXXX`` suffix): the partial ARN is matched too.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import SpecRun, call_params
from phiwatch.model import ConfigurationItem
from phiwatch.resources.secretsmanager import SECRET, SPEC

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


@register
class SecretsManagerCollector(Collector):
    name = "secretsmanager"
    resource_types = (SECRET,)
    targetable = frozenset({SECRET})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(SECRET):  # a targeted run for other services' resources
            return
        listing = SPEC.listing
        assert listing is not None
        try:
            secrets = list(
                ctx.paginate("secretsmanager", listing.op, "SecretList", resource_type=SECRET, id_key="ARN", **call_params(listing, None))
            )
        except ListFailed:
            return
        selected = []
        for element in secrets:
            arn = element.get("ARN") or ""
            # events name a secret by name, ARN or partial ARN (without the random "-XXXXXX" suffix)
            if ctx.selected(SECRET, arn, element.get("Name"), arn[:-7] if arn.startswith("arn:") else None):
                selected.append(secret_configuration(element))
        run = SpecRun(ctx, SPEC, "secretsmanager")
        for item in ctx.map(run.item, selected):
            if item is not None:
                yield item
        ctx.mark_complete(SECRET)
