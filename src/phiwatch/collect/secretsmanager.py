"""The Secrets Manager hook: secrets are collected from their spec (:mod:`phiwatch.resources.secretsmanager`,
which describes the item layout and the allow-list of stored keys) with one irregular part the
generic collector has no field for: a targeted run names a secret by name, ARN or partial ARN (the
ARN without its random ``-XXXXXX`` suffix), so the listing is selected here, the partial ARN
matched too; each selected secret's item is then built by the spec.
"""

from __future__ import annotations

from collections.abc import Iterator

from phiwatch.collect.base import CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import SpecRun, call_params
from phiwatch.model import ConfigurationItem
from phiwatch.resources.secretsmanager import SECRET, SPEC


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
                selected.append(element)
        run = SpecRun(ctx, SPEC, "secretsmanager")
        for item in ctx.map(run.item, selected):
            if item is not None:
                yield item
        ctx.mark_complete(SECRET)
