"""ECS: task definitions (AWS::ECS::TaskDefinition), the latest ACTIVE revision of each family,
regional.

Older revisions are not collected: when a family gets a new revision, the previous one drops out
of the inventory (recorded as deleted) and the new one appears. Each revision's item is built by
this spec; the listing (reduced to the latest revision of each family, targeted by family) is
the hook's, :mod:`phiwatch.collect.ecs`.

Item layout:

* ``resourceId`` and ``arn``: the ``taskDefinitionArn`` (with its revision); ``resourceName``:
  ``family:revision``.
* ``configuration``: DescribeTaskDefinition's ``taskDefinition`` in boto3 shape; keys rules
  read: ``networkMode`` (``host``, ``awsvpc``, ``bridge``, ``none``; absent = the default,
  bridge), ``status``, ``containerDefinitions`` (each: ``name``, ``user`` (absent = the image's
  user, normally root), ``privileged``, ``readonlyRootFilesystem`` (absent = false)).
  Environment variable **values are replaced by ``"REDACTED"``** (names kept); ``secrets`` hold
  only references (ARNs).
* ``tags``: DescribeTaskDefinition's ``tags`` (asked for with ``include=["TAGS"]``).

When DescribeTaskDefinition failed the item holds only ``family`` and ``revision`` in
``configuration`` and the error. No account-level keys.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

TASK_DEFINITION = "AWS::ECS::TaskDefinition"

REDACTED = "REDACTED"


def _family_revision(arn: str) -> tuple[str, str]:
    """``(family, revision)`` of ``...:task-definition/<family>:<revision>``."""
    family, _, revision = arn.rsplit("/", 1)[-1].rpartition(":")
    return family, revision


def revision_name(element: Any) -> str | None:
    """``family:revision`` of a listed ARN (None for DescribeTaskDefinition's answer: the listed name stays)."""
    if not isinstance(element, str):
        return None
    family, revision = _family_revision(element)
    return f"{family}:{revision}"


def redact_environment(definition: dict[str, Any]) -> dict[str, Any]:
    """The task definition with every container environment value replaced by ``REDACTED`` (names kept)."""
    containers = []
    for container in definition.get("containerDefinitions") or []:
        container = dict(container)
        if "environment" in container:
            container["environment"] = [{**e, "value": REDACTED} if "value" in e else e for e in container["environment"] or []]
        containers.append(container)
    if "containerDefinitions" in definition:
        definition = {**definition, "containerDefinitions": containers}
    return definition


def task_definition_configuration(configuration: dict[str, Any]) -> dict[str, Any]:
    """The recorded configuration: DescribeTaskDefinition's ``taskDefinition`` with environment values
    redacted, or only ``family`` and ``revision`` (from the ARN) when it could not be read."""
    definition = configuration.get("taskDefinition")
    if isinstance(definition, dict) and definition:
        return redact_environment(definition)
    family, revision = _family_revision(str(configuration.get("taskDefinitionArn") or ""))
    return {"family": family, "revision": int(revision) if revision.isdigit() else revision}


SPEC = ResourceSpec(
    TASK_DEFINITION,
    client="ecs",
    listing=Call("ListTaskDefinitions", "ecs:ListTaskDefinitions", {"status": "'ACTIVE'"}, result="taskDefinitionArns"),
    id="@",
    name=revision_name,
    arn="{id}",
    # the whole answer merged into {"taskDefinitionArn": arn}: its tags are beside the definition
    describe=Call("DescribeTaskDefinition", "ecs:DescribeTaskDefinition", {"taskDefinition": "@", "include": ["TAGS"]}),
    merge=True,
    id_key="taskDefinitionArn",
    gone=("ClientException",),
    tags="tags",
    tag_keys=("key", "value"),
    shape=task_definition_configuration,
    events=(
        on(
            "ecs.amazonaws.com",
            "RegisterTaskDefinition DeregisterTaskDefinition",
            P("responseElements.taskDefinition.taskDefinitionArn"),
            R("requestParameters.taskDefinition", "^(arn:[^:]+:ecs:[^:]*:[^:]*:task-definition/.+)$"),
        ),
        on(
            "ecs.amazonaws.com",
            "TagResource UntagResource",
            R("requestParameters.resourceArn", "^(arn:[^:]+:ecs:[^:]*:[^:]*:task-definition/.+)$"),
        ),
    ),
)

SERVICE = Service("ecs", resources=(SPEC,))
