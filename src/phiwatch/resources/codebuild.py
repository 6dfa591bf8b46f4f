"""CodeBuild: projects (AWS::CodeBuild::Project), regional."""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, on

PROJECT = "AWS::CodeBuild::Project"

SERVICE = Service(
    "codebuild",
    resources=(
        ResourceSpec(
            PROJECT,
            events=(
                on(
                    "codebuild.amazonaws.com",
                    ("CreateProject UpdateProject DeleteProject UpdateProjectVisibility CreateWebhook UpdateWebhook DeleteWebhook"),
                    P("requestParameters.name"),
                    P("requestParameters.projectName"),
                    R("requestParameters.projectArn", "^arn:[^:]+:codebuild:[^:]*:[^:]*:project/(.+)$"),
                ),
            ),
        ),
    ),
    iam=(
        "codebuild:BatchGetProjects",
        "codebuild:ListProjects",
    ),
)
