"""ECS's hook: task definitions (AWS::ECS::TaskDefinition), the latest ACTIVE revision of each family;
clusters (AWS::ECS::Cluster) and their services (AWS::ECS::Service).

Each revision's item (DescribeTaskDefinition with its tags, environment values redacted, only
``family`` and ``revision`` when it failed) is built by the spec, :mod:`phiwatch.resources.ecs`,
which also describes the item layout.

Why a hook: the generic collector cannot express this listing. It is reduced to the highest
revision of each family (:func:`latest_per_family`); a targeted run lists the families of the
wanted revisions (``familyPrefix``) and widens its targets to every revision listed, so the
revision a new one replaces is recorded deleted. Services are listed per cluster (ListServices of
each cluster the cluster listing found) and described 10 a call; clusters are the spec's, run
here so their listing serves both types.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import SpecRun, call_params
from phiwatch.model import ConfigurationItem, to_jsonable
from phiwatch.resources.ecs import CLUSTER, CLUSTER_SPEC, SERVICE_SPEC, SERVICE_TYPE, SPEC, TASK_DEFINITION

#: DescribeServices takes at most 10 services a call
SERVICES_PER_CALL = 10


def latest_per_family(arns: list[str]) -> list[str]:
    """The highest-revision ARN of each family (``...:task-definition/<family>:<revision>``)."""
    latest: dict[str, tuple[int, str]] = {}
    for arn in arns:
        family, _, revision = arn.rsplit("/", 1)[-1].rpartition(":")
        rev = int(revision) if revision.isdigit() else 0
        if family not in latest or rev > latest[family][0]:
            latest[family] = (rev, arn)
    return [arn for _, arn in sorted(latest.values(), key=lambda v: v[1])]


def _family(reference: str) -> str:
    """The family of a task definition ARN, ``family:revision`` or family name."""
    last = reference.rsplit("/", 1)[-1]
    family, _, revision = last.rpartition(":")
    return family if family and revision.isdigit() else last


@register
class EcsCollector(Collector):
    name = "ecs"
    resource_types = (TASK_DEFINITION, CLUSTER, SERVICE_TYPE)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.wants(TASK_DEFINITION):
            yield from self._task_definitions(ctx)
        if ctx.wants(CLUSTER) or ctx.wants(SERVICE_TYPE):
            yield from self._clusters_and_services(ctx)

    def _clusters_and_services(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        listing = CLUSTER_SPEC.listing
        assert listing is not None
        try:
            arns = [a for a in ctx.paginate("ecs", listing.op, listing.result or "", resource_type=CLUSTER) if isinstance(a, str) and a]
        except ListFailed:
            return
        if ctx.wants(CLUSTER):
            run = SpecRun(ctx, CLUSTER_SPEC, "ecs")
            wanted = [a for a in arns if ctx.selected(CLUSTER, *run.identifiers(a))]
            batch = run.described_in_batches(wanted)
            for item in ctx.map(lambda a: run.item(a, batch), wanted):
                if item is not None:
                    yield item
            ctx.mark_complete(CLUSTER)
        if ctx.wants(SERVICE_TYPE):
            complete = True
            for found in ctx.map(lambda a: self._services(ctx, a), arns):
                if found is None:
                    complete = False
                    continue
                yield from found
            if complete:
                ctx.mark_complete(SERVICE_TYPE)

    def _services(self, ctx: CollectContext, cluster: str) -> list[ConfigurationItem] | None:
        """The items of one cluster's services; None when they could not all be read."""
        try:
            arns = [
                a
                for a in ctx.paginate("ecs", "ListServices", "serviceArns", resource_type=SERVICE_TYPE, cluster=cluster)
                if isinstance(a, str) and a
            ]
        except ListFailed:
            return None
        arns = [a for a in arns if ctx.selected(SERVICE_TYPE, a, a.rsplit("/", 1)[-1])]
        run = SpecRun(ctx, SERVICE_SPEC, "ecs")
        items: list[ConfigurationItem] = []
        complete = True
        for start in range(0, len(arns), SERVICES_PER_CALL):
            chunk = arns[start : start + SERVICES_PER_CALL]
            response = ctx.call("ecs", "DescribeServices", resource_type=SERVICE_TYPE, cluster=cluster, services=chunk, include=["TAGS"])
            if response is FAILED:
                complete = False
                continue
            described: list[Any] = ctx.identified(
                "ecs", "DescribeServices", response.get("services"), "serviceArn", resource_type=SERVICE_TYPE
            )
            for service in described:
                if service["serviceArn"] in chunk and service.get("status") != "INACTIVE":
                    item = run.item(to_jsonable(service))
                    if item is not None:
                        items.append(item)
        if not complete:
            ctx.incomplete.add(SERVICE_TYPE)
        return items

    def _task_definitions(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        run = SpecRun(ctx, SPEC, "ecs")
        wanted = ctx.targets(TASK_DEFINITION)
        arns: list[str] | None
        if wanted is None:
            arns = run.elements()
        else:
            try:
                arns = self._families(ctx, wanted)
            except ListFailed:
                arns = None
        if arns is None:
            return
        for item in ctx.map(run.item, latest_per_family(arns)):
            if item is not None:
                yield item
        ctx.mark_complete(TASK_DEFINITION)

    def _families(self, ctx: CollectContext, wanted: frozenset[str]) -> list[str]:
        """Targeted: the ACTIVE revisions of the families the wanted ARNs (or ``family:revision``) belong to.

        Every listed revision joins the run's targets, so a previous revision the new one replaces
        is recorded as deleted, as in a full collection.
        """
        listing = SPEC.listing
        assert listing is not None
        families = sorted({_family(i) for i in wanted})
        arns: list[str] = [
            arn
            for family in families
            for arn in ctx.paginate(
                "ecs", listing.op, listing.result or "", resource_type=TASK_DEFINITION, familyPrefix=family, **call_params(listing, None)
            )
            if _family(arn) == family  # familyPrefix is a prefix
        ]
        ctx.widen_targets(TASK_DEFINITION, arns)
        return arns
