"""CodePipeline rules (AWS Config managed-rule semantics) on pipelines.

Items are described in :mod:`phiwatch.resources.codepipeline`: GetPipeline's answer, each action
with its ``actionTypeId.category`` and ``region``. A deployment is an action of category
``Deploy``; a deployment stage is a stage with at least one. An action without ``region`` deploys
in the pipeline's own region.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.codepipeline import PIPELINE
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, not_applicable, rule

STAGES = "configuration.pipeline.stages"


def deployment_stages(item: ConfigurationItem) -> list[tuple[str, list[dict[str, Any]]]]:
    """(stage name, its Deploy actions) of each deployment stage, in order."""
    out = []
    for stage in get(item, STAGES) or []:
        if not isinstance(stage, dict):
            continue
        deploys = [
            a for a in stage.get("actions") or [] if isinstance(a, dict) and (a.get("actionTypeId") or {}).get("category") == "Deploy"
        ]
        if deploys:
            out.append((str(stage.get("name")), deploys))
    return out


@rule(
    "codepipeline-deployment-count-check",
    reads={STAGES: "GetPipeline"},
    aws_identifier="CODEPIPELINE_DEPLOYMENT_COUNT_CHECK",
    service="AWS CodePipeline",
    resource_types=(PIPELINE,),
    trigger="change",
    severity="low",
    compliant_when="The pipeline's first deployment stage deploys once, and each later one at most deploymentLimit times (when given).",
    parameters={"deploymentLimit": ("int", None)},
)
def codepipeline_deployment_count_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """A pipeline without Deploy actions is NOT_APPLICABLE."""
    stages = deployment_stages(item)
    if not stages:
        return not_applicable("pipeline has no deployment stage")
    first, deploys = stages[0]
    if len(deploys) > 1:
        return non_compliant(f"first deployment stage {first} performs {len(deploys)} deployments, more than 1")
    limit = params.get("deploymentLimit")
    if limit is not None:
        for name, deploys in stages[1:]:
            if len(deploys) > int(limit):
                return non_compliant(f"stage {name} performs {len(deploys)} deployments, more than deploymentLimit {limit}")
    return compliant(f"{len(stages)} deployment stage(s) within their deployment counts")


@rule(
    "codepipeline-region-fanout-check",
    reads={STAGES: "GetPipeline"},
    aws_identifier="CODEPIPELINE_REGION_FANOUT_CHECK",
    service="AWS CodePipeline",
    resource_types=(PIPELINE,),
    trigger="change",
    severity="low",
    compliant_when=(
        "The first deployment stage deploys to at most 1 Region, and each later one to at most regionFanoutFactor "
        "times the Regions all previous deployment stages deployed to."
    ),
    parameters={"regionFanoutFactor": ("int", 3)},
)
def codepipeline_region_fanout_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """ "The Regions all previous stages deployed to" is the sum of each previous deployment stage's
    distinct Regions (AWS's example: with factor 3, stage 3 may reach 12 = 3 x (1 + 3)). Stages
    without Deploy actions are skipped; a pipeline without any is NOT_APPLICABLE."""
    stages = deployment_stages(item)
    if not stages:
        return not_applicable("pipeline has no deployment stage")
    factor = int(params.get("regionFanoutFactor") or 3)
    previous = 0
    for index, (name, deploys) in enumerate(stages):
        regions = {str(a.get("region") or item.awsRegion) for a in deploys}
        allowed = 1 if index == 0 else factor * previous
        if len(regions) > allowed:
            return non_compliant(f"stage {name} deploys to {len(regions)} Regions, more than {allowed}")
        previous += len(regions)
    return compliant(f"deployments fan out to {previous} Region(s) in all, within factor {factor}")
