"""CodeBuild: projects (AWS::CodeBuild::Project), regional.

Projects carry credentials in two places this collector never stores: environment variable
values and credentials embedded in source repository URLs.

Item layout:

* ``resourceId`` and ``resourceName``: the project name; ``arn``: the project ``arn``.
* ``configuration``: BatchGetProjects' element in boto3 shape with:

  - ``environment.environmentVariables``: ``[{"name", "type"}]`` only (``PLAINTEXT``,
    ``PARAMETER_STORE`` or ``SECRETS_MANAGER``); **values are dropped**.
  - ``source`` and each of ``secondarySources``: ``location`` with any user-info part
    (``user:password@``, ``x-token-auth:<token>@``) removed, plus
    ``locationHasCredentials`` (bool): whether the URL as configured embedded a password or a
    token. ``type`` (``BITBUCKET``, ``GITHUB``, ``CODECOMMIT``, ``S3``, ...) is kept.
  - ``buildspec``: kept when it names a file; an inline buildspec (it may set variables) is
    replaced by ``"REDACTED"``. ``webhook.secret`` is dropped.
* ``tags``: the element's ``tags`` (``[{"key", "value"}]``).

Collected by the hook :mod:`phiwatch.collect.codebuild` (BatchGetProjects reads 100 projects
a call). The listing (ListProjects) and BatchGetProjects together make the items: when BatchGetProjects
fails for a batch, its projects are not yielded and the type is not marked complete. No
account-level keys.
"""

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
