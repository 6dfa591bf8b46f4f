"""ECS: task definitions (AWS::ECS::TaskDefinition), the latest ACTIVE revision of each family,"""

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
