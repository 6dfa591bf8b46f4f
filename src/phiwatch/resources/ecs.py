"""ECS: task definitions (AWS::ECS::TaskDefinition), the latest ACTIVE revision of each family,
regional.

Older revisions are not collected: when a family gets a new revision, the previous one drops out
of the inventory (recorded as deleted) and the new one appears. Collected by the hook
:mod:`phiwatch.collect.ecs`.

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

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

TASK_DEFINITION = "AWS::ECS::TaskDefinition"

SERVICE = Service(
    "ecs",
    resources=(
        ResourceSpec(
            TASK_DEFINITION,
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
        ),
    ),
    iam=(
        "ecs:DescribeTaskDefinition",
        "ecs:ListTaskDefinitions",
    ),
)
