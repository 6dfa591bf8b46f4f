"""ECS's hook: task definitions (AWS::ECS::TaskDefinition), the latest ACTIVE revision of each family.

Each revision's item (DescribeTaskDefinition with its tags, environment values redacted, only
``family`` and ``revision`` when it failed) is built by the spec, :mod:`phiwatch.resources.ecs`,
which also describes the item layout.

Why a hook: the generic collector cannot express this listing. It is reduced to the highest
revision of each family (:func:`latest_per_family`); a targeted run lists the families of the
wanted revisions (``familyPrefix``) and widens its targets to every revision listed, so the
revision a new one replaces is recorded deleted.
"""

from __future__ import annotations

from collections.abc import Iterator

from phiwatch.collect.base import CollectContext, Collector, ListFailed, register
from phiwatch.collect.generic import SpecRun, call_params
from phiwatch.model import ConfigurationItem
from phiwatch.resources.ecs import SPEC, TASK_DEFINITION


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
    resource_types = (TASK_DEFINITION,)
    targetable = frozenset({TASK_DEFINITION})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
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
