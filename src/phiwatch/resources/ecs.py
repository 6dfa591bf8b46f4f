"""ECS: task definitions (AWS::ECS::TaskDefinition), the latest ACTIVE revision of each family;
clusters (AWS::ECS::Cluster) and services (AWS::ECS::Service); regional.

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
``configuration`` and the error.

Clusters:

* ``resourceId`` and ``resourceName``: the ``clusterName`` (AWS Config's id); ``arn``: the ``clusterArn``.
* ``configuration``: DescribeClusters' element (asked with ``include=["SETTINGS", "TAGS"]``) without
  its counts of tasks, services and instances; ``settings``: ``[{"name": "containerInsights",
  "value": "enabled" | "enhanced" | "disabled"}]``.
* ``tags``: the element's ``tags``. DescribeClusters reads 100 clusters a call.

Services (listed per cluster):

* ``resourceId`` and ``arn``: the ``serviceArn``; ``resourceName``: the ``serviceName``.
* ``configuration``: DescribeServices' element (asked with ``include=["TAGS"]``) without what
  changes as tasks run (``events``, ``deployments``, ``runningCount``, ``pendingCount``);
  ``taskSets`` keep only ``id``, ``status``, ``launchType``, ``capacityProviderStrategy``,
  ``platformVersion`` and ``platformFamily``. Keys rules read: ``launchType``,
  ``capacityProviderStrategy``, ``platformVersion`` (``LATEST`` or ``1.4.0``), ``platformFamily``,
  ``deploymentController.type``.
* ``tags``: the element's ``tags``. DescribeServices reads 10 services a call.

No account-level keys.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

TASK_DEFINITION = "AWS::ECS::TaskDefinition"
CLUSTER = "AWS::ECS::Cluster"
SERVICE_TYPE = "AWS::ECS::Service"

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
            optional=True,
        ),
    ),
)


def _last_part(arn: Any) -> str | None:
    return arn.rsplit("/", 1)[-1] if isinstance(arn, str) and arn else None


CLUSTER_SPEC = ResourceSpec(
    CLUSTER,
    client="ecs",
    listing=Call("ListClusters", "ecs:ListClusters", result="clusterArns"),
    id=_last_part,
    id_key="clusterArn",
    arn="arn:{partition}:ecs:{region}:{account}:cluster/{id}",
    describe=Call(
        "DescribeClusters",
        "ecs:DescribeClusters",
        {"include": ["SETTINGS", "TAGS"]},
        result="clusters",
        batch=100,
        batch_param="clusters",
        match="clusterName",
    ),
    tags="tags",
    tag_keys=("key", "value"),
    drop=("tags", "runningTasksCount", "pendingTasksCount", "activeServicesCount", "registeredContainerInstancesCount", "statistics"),
    events=(
        on(
            "ecs.amazonaws.com",
            "CreateCluster DeleteCluster UpdateCluster UpdateClusterSettings PutClusterCapacityProviders",
            P("requestParameters.clusterName"),
            R("requestParameters.cluster", "^(?:arn:[^:]+:ecs:[^:]*:[^:]*:cluster/)?([^/:]+)$"),
        ),
        on(
            "ecs.amazonaws.com",
            "TagResource UntagResource",
            R("requestParameters.resourceArn", "^arn:[^:]+:ecs:[^:]*:[^:]*:cluster/(.+)$"),
            optional=True,
        ),
    ),
)

#: what a service's task set keeps (the rest counts tasks)
TASK_SET_KEYS = ("id", "status", "launchType", "capacityProviderStrategy", "platformVersion", "platformFamily")


def service_configuration(configuration: dict[str, Any]) -> dict[str, Any]:
    """DescribeServices' element without what changes as tasks run."""
    out = {k: v for k, v in configuration.items() if k not in ("events", "deployments", "runningCount", "pendingCount", "tags")}
    if isinstance(out.get("taskSets"), list):
        out["taskSets"] = [{k: t[k] for k in TASK_SET_KEYS if k in t} for t in out["taskSets"] if isinstance(t, dict)]
    return out


#: listed per cluster by the hook (:mod:`phiwatch.collect.ecs`), described 10 a call
SERVICE_SPEC = ResourceSpec(
    SERVICE_TYPE,
    client="ecs",
    id="serviceArn",
    name="serviceName",
    arn="serviceArn",
    tags="tags",
    tag_keys=("key", "value"),
    shape=service_configuration,
    events=(
        on(
            "ecs.amazonaws.com",
            "CreateService UpdateService DeleteService",
            P("responseElements.service.serviceArn"),
            P("requestParameters.service"),
            P("requestParameters.serviceName"),
        ),
        on(
            "ecs.amazonaws.com",
            "TagResource UntagResource",
            R("requestParameters.resourceArn", "^(arn:[^:]+:ecs:[^:]*:[^:]*:service/.+)$"),
            optional=True,
        ),
    ),
)

SERVICE = Service(
    "ecs",
    resources=(SPEC, CLUSTER_SPEC, SERVICE_SPEC),
    iam=("ecs:ListServices", "ecs:DescribeServices"),
    cost=2,
)
