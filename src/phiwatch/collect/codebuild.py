"""CodeBuild's hook: projects (AWS::CodeBuild::Project) are collected by their spec
(:mod:`phiwatch.resources.codebuild`: listing, targeted names, ARN, tags, credentials cleaning),
except for the BatchGetProjects batches, read here.

Why a hook: a BatchGetProjects element without its ``name`` must be an error of that call
("could not check") leaving the type incomplete, so that its project is not recorded deleted;
the generic batch describe reads such an element as a project gone since the listing. Each batch
of the spec's ``describe`` is called here, its elements checked (:meth:`CollectContext.identified`),
and the items made by the spec (:meth:`SpecRun.item`). A failed batch yields none of its projects
and leaves the type incomplete, as the generic batch call does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, register
from phiwatch.collect.generic import SpecRun, call_params
from phiwatch.model import ConfigurationItem
from phiwatch.resources.codebuild import PROJECT, SERVICE, clean_project, clean_source, split_credentials

__all__ = ["CodeBuildCollector", "clean_project", "clean_source", "split_credentials"]

SPEC = SERVICE.resources[0]


def described(ctx: CollectContext, names: list[str]) -> dict[str, Any]:
    """name -> BatchGetProjects' element, the spec's ``batch`` names a call; FAILED for each name of a failed batch."""
    call = SPEC.describe
    assert call is not None and call.batch_param is not None
    out: dict[str, Any] = {}
    for start in range(0, len(names), call.batch):
        chunk = names[start : start + call.batch]
        response = ctx.call("codebuild", call.op, resource_type=PROJECT, **{**call_params(call, None), call.batch_param: chunk})
        if response is FAILED:
            ctx.incomplete.add(PROJECT)  # its projects could not be read: none is recorded deleted
            out.update(dict.fromkeys(chunk, FAILED))
            continue
        for project in ctx.identified("codebuild", call.op, response.get(call.result or ""), "name", resource_type=PROJECT):
            if project["name"] in chunk:
                out[project["name"]] = project
    return out


@register
class CodeBuildCollector(Collector):
    name = "codebuild"
    resource_types = (PROJECT,)
    targetable = frozenset({PROJECT})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(PROJECT):
            return
        run = SpecRun(ctx, SPEC, "codebuild")
        elements = run.elements()
        if elements is None:  # the listing failed
            return
        names = list(dict.fromkeys(elements))  # a targeted name given both as itself and by its ARN, once
        batch = described(ctx, names)
        for name in names:
            item = run.item(name, batch)
            if item is not None:
                yield item
        ctx.mark_complete(PROJECT)
