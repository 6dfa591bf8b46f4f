"""AWS WAF Classic regional hook: web ACLs, rules and rule groups (items described in
:mod:`phiwatch.resources.wafregional`).

boto3 has no paginator for ``waf-regional``, whose listings page by ``NextMarker``: the hook lists
each spec's ``listing`` page by page and hands every element to the spec (``SpecRun.item``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ConfigurationItem
from phiwatch.resources.spec import ResourceSpec
from phiwatch.resources.wafregional import SERVICE

CLIENT = "waf-regional"


def list_by_marker(ctx: CollectContext, spec: ResourceSpec) -> list[dict[str, Any]]:
    """Every element of ``spec``'s listing (paged by NextMarker, 100 a page); ListFailed on error."""
    assert spec.listing is not None and spec.listing.result and isinstance(spec.id, str)
    found: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Limit": 100, **({"NextMarker": marker} if marker else {})}
        page = ctx.call(CLIENT, spec.listing.op, resource_type=spec.type, **kwargs)
        if page is FAILED:
            raise ListFailed(f"{CLIENT}:{spec.listing.op}")
        elements = page.get(spec.listing.result) or []
        found.extend(ctx.identified(CLIENT, spec.listing.op, elements, spec.id, resource_type=spec.type))
        marker = page.get("NextMarker")
        if not marker or not elements:
            return found


@register
class WafRegionalCollector(Collector):
    name = "wafregional"
    resource_types = SERVICE.types
    targetable = frozenset(SERVICE.types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        for spec in SERVICE.resources:
            if not ctx.wants(spec.type):
                continue
            run = SpecRun(ctx, spec, CLIENT)
            try:
                elements = [e for e in list_by_marker(ctx, spec) if ctx.selected(spec.type, *run.identifiers(e))]
            except ListFailed:
                continue
            for item in ctx.map(run.item, elements):
                if item is not None:
                    yield item
            ctx.mark_complete(spec.type)
