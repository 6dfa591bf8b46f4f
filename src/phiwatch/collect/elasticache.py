"""ElastiCache cache clusters and replication groups: the item layout (and the specs that collect
them) are in :mod:`phiwatch.resources.elasticache`.

Why a hook: a targeted run (``watch``) reads the wanted clusters and groups with the describe
call's own id parameter (``DescribeCacheClusters(CacheClusterId=...)``, one id at a time, an
unknown id answered ``CacheClusterNotFound``/``ReplicationGroupNotFoundFault``) instead of
listing every one of the region. A spec's ``target`` builds elements without any call and its
listing cannot take the wanted ids as parameters. A full run is the specs' (``collect_spec``);
the targeted elements are made into items by the same spec (:meth:`SpecRun.item`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import SpecRun, collect_spec
from phiwatch.model import ConfigurationItem
from phiwatch.resources.elasticache import CLUSTER, GROUP, SERVICE
from phiwatch.resources.spec import ResourceSpec

#: type -> the ARN's resource part before the id, the describe call's "no such id" code
_TARGETED = {CLUSTER: ("cluster", "CacheClusterNotFound"), GROUP: ("replicationgroup", "ReplicationGroupNotFoundFault")}


@register
class ElastiCacheCollector(Collector):
    name = "elasticache"
    resource_types = (CLUSTER, GROUP)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        for spec in SERVICE.resources:
            if ctx.targets(spec.type) is None:
                yield from collect_spec(ctx, spec, "elasticache")
            elif ctx.wants(spec.type):
                yield from self._targeted(ctx, spec)

    def _targeted(self, ctx: CollectContext, spec: ResourceSpec) -> Iterator[ConfigurationItem]:
        """The wanted resources, described by id (an ARN's last part) one at a time."""
        assert spec.listing is not None and isinstance(spec.id, str)
        prefix, missing = _TARGETED[spec.type]
        wanted = ctx.targets(spec.type) or frozenset()
        elements: list[Any] = []
        try:
            for rid in sorted({i.rsplit(f":{prefix}:", 1)[-1] for i in wanted}):
                params: dict[str, Any] = {spec.id: rid}
                elements.extend(
                    ctx.paginate(
                        "elasticache",
                        spec.listing.op,
                        spec.listing.result or "",
                        resource_type=spec.type,
                        not_found=(missing,),
                        id_key=spec.id,
                        **params,
                    )
                )
        except ListFailed:
            return
        run = SpecRun(ctx, spec, "elasticache")
        for item in ctx.map(run.item, elements):
            if item is not None:
                yield item
        ctx.mark_complete(spec.type)
