"""CodeBuild rules (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.codebuild`: environment variables keep names and types
only; each source carries ``locationHasCredentials`` instead of any credential in its URL.
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.codebuild import PROJECT
from phiwatch.rules.base import Result, RuleContext, compliant, csv_list, get, non_compliant, not_applicable, rule

CREDENTIAL_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


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
    """AWS's current page: the rule checks whether the Bitbucket source repository URL contains
    sign-in credentials (NON_COMPLIANT when it does). The 2023 guide named GitHub and Bitbucket;
    AWS now names Bitbucket only, and phiwatch follows: the primary and secondary sources of type
    BITBUCKET are judged, and a project without one is NOT_APPLICABLE (a GitHub or GitLab source
    is not judged, whatever its URL)."""
    bitbucket = [s for s in _sources(item) if str(s.get("type") or "").upper() == "BITBUCKET"]
    if not bitbucket:
        return not_applicable("project has no Bitbucket source repository")
    if any(s.get("locationHasCredentials") for s in bitbucket):
        return non_compliant("Bitbucket source repository URL contains sign-in credentials")
    return compliant("Bitbucket source repository URL contains no sign-in credentials")


# -- AWS Config managed rules beyond the HIPAA pack ----------------------------------------------


def _artifacts(item: ConfigurationItem) -> list[dict[str, Any]]:
    primary = get(item, "configuration.artifacts")
    found = ([primary] if isinstance(primary, dict) else []) + [
        a for a in get(item, "configuration.secondaryArtifacts") or [] if isinstance(a, dict)
    ]
    return [a for a in found if str(a.get("type") or "") != "NO_ARTIFACTS"]


@rule(
    "codebuild-project-artifact-encryption",
    reads={},
    aws_identifier="CODEBUILD_PROJECT_ARTIFACT_ENCRYPTION",
    service="AWS CodeBuild",
    resource_types=(PROJECT,),
    trigger="change",
    severity="medium",
    compliant_when="No primary or secondary artifact of the CodeBuild project sets encryptionDisabled = true.",
)
def codebuild_project_artifact_encryption(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """A project whose only artifact is ``NO_ARTIFACTS`` produces nothing to encrypt: NOT_APPLICABLE."""
    artifacts = _artifacts(item)
    if not artifacts:
        return not_applicable("project produces no artifacts")
    clear = [a for a in artifacts if a.get("encryptionDisabled") is True]
    if clear:
        names = ", ".join(str(a.get("artifactIdentifier") or "primary") for a in clear)
        return non_compliant(f"artifact encryption is disabled ({names})")
    return compliant("every artifact is encrypted")


@rule(
    "codebuild-project-environment-privileged-check",
    reads={},
    aws_identifier="CODEBUILD_PROJECT_ENVIRONMENT_PRIVILEGED_CHECK",
    service="AWS CodeBuild",
    resource_types=(PROJECT,),
    trigger="change",
    severity="medium",
    compliant_when="The CodeBuild project's environment does not run in privileged mode, unless the project is in exemptedProjects.",
    parameters={"exemptedProjects": ("str", None)},
)
def codebuild_project_environment_privileged_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``exemptedProjects``: comma-separated project names (exact); an exempted privileged project is COMPLIANT."""
    if get(item, "configuration.environment.privilegedMode") is not True:
        return compliant("build environment is not privileged")
    if item.resourceName in csv_list(params.get("exemptedProjects")) or item.resourceId in csv_list(params.get("exemptedProjects")):
        return compliant("build environment is privileged; the project is in exemptedProjects")
    return non_compliant("build environment runs in privileged mode")


def _bucket(location: Any) -> str:
    return str(location or "").removeprefix("arn:aws:s3:::").split("/", 1)[0]


@rule(
    "codebuild-project-logging-enabled",
    reads={},
    aws_identifier="CODEBUILD_PROJECT_LOGGING_ENABLED",
    service="AWS CodeBuild",
    resource_types=(PROJECT,),
    trigger="change",
    severity="medium",
    compliant_when="The CodeBuild project sends build logs to CloudWatch Logs or S3 (to the listed log groups / buckets when given).",
    parameters={"s3BucketNames": ("str", None), "cloudWatchGroupNames": ("str", None)},
)
def codebuild_project_logging_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """CloudWatch Logs are on unless ``logsConfig.cloudWatchLogs.status`` is DISABLED (CodeBuild's
    default is ENABLED); S3 logs only when their status is ENABLED. With ``s3BucketNames`` /
    ``cloudWatchGroupNames`` (comma-separated) each enabled destination must be one of them (an S3
    location's bucket; a CloudWatch ``groupName``, and none set is CodeBuild's default group,
    not a listed one)."""
    logs = get(item, "configuration.logsConfig") or {}
    cloudwatch = logs.get("cloudWatchLogs") or {}
    s3 = logs.get("s3Logs") or {}
    cw_on = str(cloudwatch.get("status") or "ENABLED") == "ENABLED"
    s3_on = str(s3.get("status") or "DISABLED") == "ENABLED"
    if not cw_on and not s3_on:
        return non_compliant("CloudWatch Logs and S3 logs are both disabled")
    buckets = csv_list(params.get("s3BucketNames"))
    if s3_on and buckets and _bucket(s3.get("location")) not in buckets:
        return non_compliant("S3 logs go to a bucket not in s3BucketNames")
    groups = csv_list(params.get("cloudWatchGroupNames"))
    if cw_on and groups and cloudwatch.get("groupName") not in groups:
        return non_compliant("CloudWatch Logs go to a log group not in cloudWatchGroupNames")
    enabled = [name for name, on in (("CloudWatch Logs", cw_on), ("S3", s3_on)) if on]
    return compliant(f"build logs go to {' and '.join(enabled)}")


@rule(
    "codebuild-project-s3-logs-encrypted",
    reads={},
    aws_identifier="CODEBUILD_PROJECT_S3_LOGS_ENCRYPTED",
    service="AWS CodeBuild",
    resource_types=(PROJECT,),
    trigger="change",
    severity="medium",
    compliant_when="The CodeBuild project's S3 logs are encrypted (encryptionDisabled is not true), unless the project is in exemptedProjects.",
    parameters={"exemptedProjects": ("str", None)},
)
def codebuild_project_s3_logs_encrypted(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """A project without S3 logs enabled is NOT_APPLICABLE; an exempted one is COMPLIANT."""
    s3 = get(item, "configuration.logsConfig.s3Logs") or {}
    if str(s3.get("status") or "DISABLED") != "ENABLED":
        return not_applicable("project does not send logs to S3")
    if s3.get("encryptionDisabled") is not True:
        return compliant("S3 logs are encrypted")
    if item.resourceName in csv_list(params.get("exemptedProjects")) or item.resourceId in csv_list(params.get("exemptedProjects")):
        return compliant("S3 logs are not encrypted; the project is in exemptedProjects")
    return non_compliant("S3 logs are not encrypted (encryptionDisabled)")
