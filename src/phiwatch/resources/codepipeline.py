"""CodePipeline: pipelines (AWS::CodePipeline::Pipeline), regional.

Item layout:

* ``resourceId`` and ``resourceName``: the pipeline ``name`` (AWS Config's id); ``arn``:
  ``metadata.pipelineArn``.
* ``configuration``: GetPipeline's answer in boto3 shape, ``{"pipeline": {...}, "metadata": {...}}``.
  Each action keeps ``name``, ``actionTypeId`` (``category``: ``Source``, ``Build``, ``Deploy``,
  ...), ``region`` (absent: the pipeline's own region), ``runOrder`` and its artifacts; the
  **values** of its ``configuration`` are replaced by ``"REDACTED"`` (keys kept: they may name
  repositories, objects or tokens), as are pipeline ``variables``' default values.
* ``tags``: ListTagsForResource.

When GetPipeline fails the item holds ListPipelines' element (``name``, ``version``, ...) and the
error. No account-level keys.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, FromItem, P, R, ResourceSpec, Service, on

PIPELINE = "AWS::CodePipeline::Pipeline"

REDACTED = "REDACTED"


def _redact_action(action: Any) -> Any:
    if not isinstance(action, dict) or not isinstance(action.get("configuration"), dict):
        return action
    return {**action, "configuration": {key: REDACTED for key in action["configuration"]}}


def redact_pipeline(configuration: dict[str, Any]) -> dict[str, Any]:
    """GetPipeline's answer with action configuration values and variable defaults redacted."""
    pipeline = configuration.get("pipeline")
    if not isinstance(pipeline, dict):
        return configuration
    stages = [
        {**stage, "actions": [_redact_action(a) for a in stage.get("actions") or []]} if isinstance(stage, dict) else stage
        for stage in pipeline.get("stages") or []
    ]
    pipeline = {**pipeline, "stages": stages}
    if isinstance(pipeline.get("variables"), list):
        pipeline["variables"] = [
            {**v, "defaultValue": REDACTED} if isinstance(v, dict) and "defaultValue" in v else v for v in pipeline["variables"]
        ]
    return {**configuration, "pipeline": pipeline}


SERVICE = Service(
    "codepipeline",
    resources=(
        ResourceSpec(
            PIPELINE,
            client="codepipeline",
            listing=Call("ListPipelines", "codepipeline:ListPipelines", result="pipelines"),
            id="name",
            target=lambda identifier, env: {"name": identifier.rsplit(":", 1)[-1]},
            describe=Call("GetPipeline", "codepipeline:GetPipeline", {"name": "name"}),
            gone=("PipelineNotFoundException",),
            arn=("metadata.pipelineArn", "arn:{partition}:codepipeline:{region}:{account}:{id}"),
            tags=Call("ListTagsForResource", "codepipeline:ListTagsForResource", {"resourceArn": FromItem("arn")}, result="tags"),
            tag_keys=("key", "value"),
            shape=redact_pipeline,
            events=(
                on(
                    "codepipeline.amazonaws.com",
                    "CreatePipeline UpdatePipeline DeletePipeline",
                    P("requestParameters.pipeline.name"),
                    P("requestParameters.name"),
                ),
                on(
                    "codepipeline.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceArn", "^arn:[^:]+:codepipeline:[^:]*:[^:]*:([^:/]+)$"),
                ),
            ),
        ),
    ),
)
