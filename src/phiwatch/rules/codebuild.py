"""CodeBuild rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.codebuild`: environment variables keep names and types
only; each source carries ``locationHasCredentials`` instead of any credential in its URL.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.codebuild import PROJECT
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, not_applicable, rule

CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
REPOSITORY_TYPES = ("BITBUCKET", "GITHUB", "GITHUB_ENTERPRISE", "GITLAB", "GITLAB_SELF_MANAGED")


@rule(
    "codebuild-project-envvar-awscred-check",
    reads={},
    aws_identifier="CODEBUILD_PROJECT_ENVVAR_AWSCRED_CHECK",
    service="AWS CodeBuild",
    resource_types=(PROJECT,),
    trigger="change",
    severity="low",
    compliant_when="The CodeBuild project has no plaintext AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment variables.",
    aws_runbook="AWSConfigRemediation-DeleteAccessKeysFromCodeBuildProject",
)
def codebuild_project_envvar_awscred_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    variables = get(item, "configuration.environment.environmentVariables") or []
    found = sorted(
        {
            str(v.get("name"))
            for v in variables
            if str(v.get("name") or "").upper() in CREDENTIAL_VARIABLES and str(v.get("type") or "PLAINTEXT") == "PLAINTEXT"
        }
    )
    if found:
        return non_compliant(f"plaintext environment variable {', '.join(found)} holds AWS credentials")
    return compliant("no plaintext AWS credential environment variables")


def _sources(item: ConfigurationItem) -> list[dict[str, Any]]:
    primary = get(item, "configuration.source")
    return ([primary] if isinstance(primary, dict) else []) + list(get(item, "configuration.secondarySources") or [])


@rule(
    "codebuild-project-source-repo-url-check",
    reads={},
    aws_identifier="CODEBUILD_PROJECT_SOURCE_REPO_URL_CHECK",
    service="AWS CodeBuild",
    resource_types=(PROJECT,),
    trigger="change",
    severity="low",
    compliant_when="The CodeBuild project's Bitbucket source repository URL contains no sign-in credentials.",
)
def codebuild_project_source_repo_url_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    sources = _sources(item)
    leaking = [s for s in sources if s.get("locationHasCredentials")]
    if leaking:
        kinds = ", ".join(sorted({str(s.get("type")) for s in leaking}))
        return non_compliant(f"{kinds} source repository URL contains sign-in credentials")
    if not any(str(s.get("type")) in REPOSITORY_TYPES for s in sources):
        return not_applicable("project has no Bitbucket or GitHub source repository")
    return compliant("source repository URLs contain no sign-in credentials")
