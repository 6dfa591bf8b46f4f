"""Elastic Load Balancing hooks: ALB/NLB/GWLB (collector ``elbv2``, items described in
:mod:`phiwatch.resources.elbv2`) and Classic Load Balancers (``elb``, :mod:`phiwatch.resources.elb`).

Both types are collected from their specs (listing, details, relationships); the hooks are needed
only for the tags: DescribeTags takes up to 20 load balancers per call, and one call per batch (not
one per load balancer) is a batch call the specs cannot say. A failed batch records its error on
every item of the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, register, tags_from_list
from phiwatch.collect.generic import collect_spec
from phiwatch.model import ConfigurationItem
from phiwatch.resources.elb import LOAD_BALANCER
from phiwatch.resources.elb import SERVICE as ELB
from phiwatch.resources.elbv2 import LOAD_BALANCER_V2
from phiwatch.resources.elbv2 import SERVICE as ELBV2

TAG_BATCH = 20  # DescribeTags accepts at most 20 ARNs / names per call


def _batched_tags(
    ctx: CollectContext,
    service: str,
    items: list[ConfigurationItem],
    param: str,
    ident: Callable[[ConfigurationItem], str],
    key: str,
) -> None:
    """Set ``tags`` on ``items`` with one DescribeTags call per 20 resources."""
    for start in range(0, len(items), TAG_BATCH):
        batch = items[start : start + TAG_BATCH]
        params: dict[str, Any] = {param: [ident(i) for i in batch]}
        response = ctx.call(service, "DescribeTags", item=batch[0], **params)
        if response is FAILED:
            error = batch[0].collectionErrors[-1]
            for other in batch[1:]:
                other.collectionErrors.append({**error, "resource_id": other.resourceId})
            continue
        by_id = {d.get(key): tags_from_list(d.get("Tags")) for d in response.get("TagDescriptions") or []}
        for item in batch:
            item.tags = by_id.get(ident(item), {})


def _with_batched_tags(
    ctx: CollectContext, items: list[ConfigurationItem], service: str, param: str, key: str
) -> Iterator[ConfigurationItem]:
    _batched_tags(ctx, service, items, param, lambda i: i.resourceId, key)
    for item in items:
        item.refresh_state_id()
        yield item


@register
class Elbv2Collector(Collector):
    name = "elbv2"
    resource_types = (LOAD_BALANCER_V2,)
    targetable = frozenset({LOAD_BALANCER_V2})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        [spec] = ELBV2.resources
        items = list(collect_spec(ctx, spec, "elbv2"))
        yield from _with_batched_tags(ctx, items, "elbv2", "ResourceArns", "ResourceArn")


@register
class ClassicElbCollector(Collector):
    name = "elb"
    resource_types = (LOAD_BALANCER,)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        [spec] = ELB.resources
        items = list(collect_spec(ctx, spec, "elb"))
        yield from _with_batched_tags(ctx, items, "elb", "LoadBalancerNames", "LoadBalancerName")
