"""ECS's hook: task definitions (AWS::ECS::TaskDefinition), the latest ACTIVE revision of each family.

The item layout is described in :mod:`phiwatch.resources.ecs`.

Why a hook: the generic collector cannot express this type. The listing is reduced to the
highest revision of each family (:func:`latest_per_family`); a targeted run lists the families of
the wanted revisions (``familyPrefix``) and widens its targets to every revision listed, so the
revision a new one replaces is recorded deleted; the tags come from DescribeTaskDefinition's own
response (``include=["TAGS"]``, beside the ``taskDefinition`` that becomes ``configuration``),
environment values are redacted, and a failed describe keeps ``family`` and ``revision``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.ecs import TASK_DEFINITION

REDACTED = "REDACTED"


def latest_per_family(arns: list[str]) -> list[str]:
    """The highest-revision ARN of each family (``...:task-definition/<family>:<revision>``)."""
    latest: dict[str, tuple[int, str]] = {}
    for arn in arns:
        family, _, revision = arn.rsplit("/", 1)[-1].rpartition(":")
        rev = int(revision) if revision.isdigit() else 0
        if family not in latest or rev > latest[family][0]:
            latest[family] = (rev, arn)
    return [arn for _, arn in sorted(latest.values(), key=lambda v: v[1])]


def redact_environment(definition: dict[str, Any]) -> dict[str, Any]:
    containers = []
    for container in definition.get("containerDefinitions") or []:
        container = dict(container)
        if "environment" in container:
            container["environment"] = [{**e, "value": REDACTED} if "value" in e else e for e in container["environment"] or []]
        containers.append(container)
    if "containerDefinitions" in definition:
        definition = {**definition, "containerDefinitions": containers}
    return definition


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
        wanted = ctx.targets(TASK_DEFINITION)
        arns: list[str]
        try:
            if wanted is None:
                arns = list(
                    ctx.paginate("ecs", "ListTaskDefinitions", "taskDefinitionArns", resource_type=TASK_DEFINITION, status="ACTIVE")
                )
            else:
                arns = self._families(ctx, wanted)
        except ListFailed:
            return
        for item in ctx.map(lambda a: self._task_definition(ctx, a), latest_per_family(arns)):
            if item is not None:
                yield item
        ctx.mark_complete(TASK_DEFINITION)

    def _families(self, ctx: CollectContext, wanted: frozenset[str]) -> list[str]:
        """Targeted: the ACTIVE revisions of the families the wanted ARNs (or ``family:revision``) belong to.

        Every listed revision joins the run's targets, so a previous revision the new one replaces
        is recorded as deleted, as in a full collection.
        """
        families = sorted({_family(i) for i in wanted})
        arns: list[str] = [
            arn
            for family in families
            for arn in ctx.paginate(
                "ecs", "ListTaskDefinitions", "taskDefinitionArns", resource_type=TASK_DEFINITION, status="ACTIVE", familyPrefix=family
            )
            if _family(arn) == family  # familyPrefix is a prefix
        ]
        ctx.widen_targets(TASK_DEFINITION, arns)
        return arns

    def _task_definition(self, ctx: CollectContext, arn: str) -> ConfigurationItem | None:
        family, _, revision = arn.rsplit("/", 1)[-1].rpartition(":")
        item = ctx.item(
            TASK_DEFINITION,
            arn,
            resourceName=f"{family}:{revision}",
            arn=arn,
            configuration={"family": family, "revision": int(revision) if revision.isdigit() else revision},
        )
        described = ctx.call(
            "ecs",
            "DescribeTaskDefinition",
            item=item,
            not_found=("ClientException",),
            absent=None,
            taskDefinition=arn,
            include=["TAGS"],
        )
        if described is None:
            return None  # deregistered between the listing and now
        if described is not FAILED:
            item.configuration = redact_environment(described.get("taskDefinition") or item.configuration)
            item.tags = tags_from_list(described.get("tags"), key="key", value="value")
        item.refresh_state_id()
        return item
