"""CodeBuild: projects (AWS::CodeBuild::Project), regional.

Projects carry credentials in two places this collector never stores: environment variable
values and credentials embedded in source repository URLs.

Item layout:

* ``resourceId`` and ``resourceName``: the project name; ``arn``: the project ``arn``.
* ``configuration``: BatchGetProjects' element in boto3 shape with (:func:`clean_project`):

  - ``environment.environmentVariables``: ``[{"name", "type"}]`` only (``PLAINTEXT``,
    ``PARAMETER_STORE`` or ``SECRETS_MANAGER``); **values are dropped**.
  - ``source`` and each of ``secondarySources``: ``location`` with any user-info part
    (``user:password@``, ``x-token-auth:<token>@``) removed, plus
    ``locationHasCredentials`` (bool): whether the URL as configured embedded a password or a
    token. ``type`` (``BITBUCKET``, ``GITHUB``, ``CODECOMMIT``, ``S3``, ...) is kept.
  - ``buildspec``: kept when it names a file; an inline buildspec (it may set variables) is
    replaced by ``"REDACTED"``. ``webhook.secret`` is dropped.
* ``tags``: the element's ``tags`` (``[{"key", "value"}]``).

The listing is ListProjects (in a targeted run, ``watch``: the wanted names, an ARN's last part,
without listing); BatchGetProjects reads 100 projects a call, and its elements alone make the
items. When BatchGetProjects fails for a batch, or answers an element without its name, the type
is not marked complete (nothing is recorded deleted). No account-level keys.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from phiwatch.resources.spec import Call, P, R, ResourceSpec, Service, on

PROJECT = "AWS::CodeBuild::Project"

REDACTED = "REDACTED"
#: BatchGetProjects takes at most 100 names a call
BATCH = 100
_TOKEN_USERS = ("x-token-auth", "x-access-token", "oauth2", "gitlab-ci-token")


def split_credentials(location: str) -> tuple[str, bool]:
    """(the URL without its user-info part, whether that part held a password or a token)."""
    try:
        parts = urlsplit(location)
    except ValueError:
        return location, False
    if "@" not in parts.netloc:
        return location, False
    userinfo, _, host = parts.netloc.rpartition("@")
    user, has_password, _ = userinfo.partition(":")
    credentials = bool(has_password) or user.lower() in _TOKEN_USERS or len(user) >= 32
    return urlunsplit(parts._replace(netloc=host)), credentials


def clean_source(source: dict[str, Any]) -> dict[str, Any]:
    source = dict(source)
    if isinstance(source.get("location"), str):
        source["location"], source["locationHasCredentials"] = split_credentials(source["location"])
    else:
        source["locationHasCredentials"] = False
    spec = source.get("buildspec")
    if isinstance(spec, str) and "\n" in spec.strip():
        source["buildspec"] = REDACTED
    return source


def clean_project(project: dict[str, Any]) -> dict[str, Any]:
    """A project's configuration without its credentials (nor its ``tags``, recorded apart)."""
    clean = {k: v for k, v in project.items() if k != "tags"}
    environment = dict(clean.get("environment") or {})
    if "environmentVariables" in environment:
        environment["environmentVariables"] = [
            {"name": v.get("name"), "type": v.get("type", "PLAINTEXT")} for v in environment["environmentVariables"] or []
        ]
        clean["environment"] = environment
    if isinstance(clean.get("source"), dict):
        clean["source"] = clean_source(clean["source"])
    if isinstance(clean.get("secondarySources"), list):
        clean["secondarySources"] = [clean_source(s) for s in clean["secondarySources"]]
    if isinstance(clean.get("webhook"), dict):
        clean["webhook"] = {k: v for k, v in clean["webhook"].items() if k != "secret"}
    return clean


SERVICE = Service(
    "codebuild",
    resources=(
        ResourceSpec(
            PROJECT,
            client="codebuild",
            listing=Call("ListProjects", "codebuild:ListProjects", result="projects"),
            id="@",
            target=lambda identifier, env: identifier.rsplit(":project/", 1)[-1],
            describe=Call(
                "BatchGetProjects", "codebuild:BatchGetProjects", result="projects", batch=BATCH, batch_param="names", match="name"
            ),
            arn=("arn", "arn:{partition}:codebuild:{region}:{account}:project/{id}"),
            tags="tags",
            tag_keys=("key", "value"),
            shape=clean_project,
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
)
