"""ECS rules (AWS Config managed-rule semantics): task definitions, clusters and services.

Items are described in :mod:`phiwatch.resources.ecs`: the latest ACTIVE revision of each task definition
family, ``configuration`` = DescribeTaskDefinition's ``taskDefinition`` (environment values
redacted). An absent ``readonlyRootFilesystem``/``privileged`` means false; an absent ``user``
means the image's user (root unless the image says otherwise).
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.ecs import CLUSTER, SERVICE_TYPE, TASK_DEFINITION
from phiwatch.rules.base import REQUIRED, Result, RuleContext, compliant, csv_list, get, insufficient, non_compliant, not_applicable, rule

CONTAINERS = "configuration.containerDefinitions"


def _names(containers: list[dict[str, Any]]) -> str:
    return ", ".join(str(c.get("name")) for c in containers)


@rule(
    "ecs-containers-readonly-access",
    reads={CONTAINERS: "DescribeTaskDefinition"},
    aws_identifier="ECS_CONTAINERS_READONLY_ACCESS",
    service="Amazon ECS",
    resource_types=(TASK_DEFINITION,),
    trigger="change",
    severity="low",
    compliant_when="Every container definition in the (latest active) ECS task definition sets readonlyRootFilesystem = true.",
)
def ecs_containers_readonly_access(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """AWS: NON_COMPLIANT when a container definition's ``readonlyRootFilesystem`` is false (absent
    is ECS's default, false). AWS's current page says the rule evaluates only the latest active
    revision of a task definition: an INACTIVE one (an item stored before its deregistration was
    seen) is NOT_APPLICABLE."""
    inactive = _inactive(item)
    if inactive:
        return inactive
    writable = [c for c in get(item, CONTAINERS) or [] if c.get("readonlyRootFilesystem") is not True]
    if writable:
        return non_compliant(f"container {_names(writable)} has a writable root file system")
    return compliant("every container has a read-only root file system")


def _runs_as_root(user: Any) -> bool:
    if not user:
        return True
    name = str(user).split(":", 1)[0].strip().lower()
    return name in ("root", "0")


@rule(
    "ecs-task-definition-user-for-host-mode-check",
    reads={CONTAINERS: "DescribeTaskDefinition"},
    aws_identifier="ECS_TASK_DEFINITION_USER_FOR_HOST_MODE_CHECK",
    service="Amazon ECS",
    resource_types=(TASK_DEFINITION,),
    trigger="change",
    severity="low",
    compliant_when="ECS task definitions using host network mode do not run containers as root/unspecified user unless privileged=true.",
    parameters={"SkipInactiveTaskDefinitions": ("bool", None)},
)
def ecs_task_definition_user_for_host_mode_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result | None:
    """AWS: NON_COMPLIANT when a task definition in host network mode has a container with
    privileged false (or unset) and user root (or unset); ``0`` and ``root:<group>`` / ``0:<gid>``
    are root too. AWS's current page lists a network mode other than host as a COMPLIANT case
    (the 2023 guide left it unsaid; phiwatch reported NOT_APPLICABLE before), and so does phiwatch.
    With ``SkipInactiveTaskDefinitions`` true an INACTIVE task definition is not evaluated."""
    skip = str(params.get("SkipInactiveTaskDefinitions")).strip().lower() == "true"  # True, or "true" in any case
    if skip and str(get(item, "configuration.status") or "ACTIVE") == "INACTIVE":
        return None
    mode = get(item, "configuration.networkMode")
    if mode != "host":
        return compliant(f"task definition uses the {mode or 'default'} network mode, not host")
    as_root = [c for c in get(item, CONTAINERS) or [] if not c.get("privileged") and _runs_as_root(c.get("user"))]
    if as_root:
        return non_compliant(f"host-mode container {_names(as_root)} runs as root (or no user) without privileged=true")
    return compliant("host-mode containers run as a non-root user or are privileged")


# -- AWS Config managed rules beyond the HIPAA pack ----------------------------------------------
#
# Only the latest ACTIVE revision of each family is collected, so "active task definitions" are
# the items themselves; an INACTIVE one (an item stored before its deregistration was seen) is
# not applicable.


def _inactive(item: ConfigurationItem) -> Result | None:
    if str(get(item, "configuration.status") or "ACTIVE") == "INACTIVE":
        return not_applicable("task definition is inactive")
    return None


@rule(
    "ecs-awsvpc-networking-enabled",
    reads={CONTAINERS: "DescribeTaskDefinition"},
    aws_identifier="ECS_AWSVPC_NETWORKING_ENABLED",
    service="Amazon ECS",
    resource_types=(TASK_DEFINITION,),
    trigger="change",
    severity="medium",
    compliant_when="The active ECS task definition uses the awsvpc network mode.",
)
def ecs_awsvpc_networking_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """An absent ``networkMode`` is ECS's default, ``bridge`` (Linux), so NON_COMPLIANT."""
    inactive = _inactive(item)
    if inactive:
        return inactive
    mode = get(item, "configuration.networkMode") or "bridge"
    if mode != "awsvpc":
        return non_compliant(f"task definition uses the {mode} network mode, not awsvpc")
    return compliant("task definition uses the awsvpc network mode")


@rule(
    "ecs-containers-nonprivileged",
    reads={CONTAINERS: "DescribeTaskDefinition"},
    aws_identifier="ECS_CONTAINERS_NONPRIVILEGED",
    service="Amazon ECS",
    resource_types=(TASK_DEFINITION,),
    trigger="change",
    severity="high",
    compliant_when="No container definition of the ECS task definition sets privileged = true.",
)
def ecs_containers_nonprivileged(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    inactive = _inactive(item)
    if inactive:
        return inactive
    privileged = [c for c in get(item, CONTAINERS) or [] if c.get("privileged") is True]
    if privileged:
        return non_compliant(f"container {_names(privileged)} runs privileged")
    return compliant("no container runs privileged")


@rule(
    "ecs-no-environment-secrets",
    reads={CONTAINERS: "DescribeTaskDefinition"},
    aws_identifier="ECS_NO_ENVIRONMENT_SECRETS",
    service="Amazon ECS",
    resource_types=(TASK_DEFINITION,),
    trigger="change",
    severity="high",
    compliant_when="No container environment variable of the ECS task definition is named like one of secretKeys.",
    parameters={"secretKeys": ("str", REQUIRED)},
)
def ecs_no_environment_secrets(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``secretKeys`` is a comma-separated list of variable names, compared exactly after removing
    spaces around each; only ``environment`` is read (``environmentFiles`` in S3 and ``secrets``
    references are not environment variables). AWS requires the parameter: the rule does not run
    without it. Variable values are never recorded, only names."""
    keys = set(csv_list(params.get("secretKeys")))
    if not keys:
        return insufficient("could not check: the rule needs the secretKeys parameter")
    inactive = _inactive(item)
    if inactive:
        return inactive
    found = sorted(
        {
            str(v.get("name"))
            for c in get(item, CONTAINERS) or []
            for v in c.get("environment") or []
            if str(v.get("name") or "").strip() in keys
        }
    )
    if found:
        return non_compliant(f"environment variable {', '.join(found)} is one of secretKeys (use secrets instead)")
    return compliant("no environment variable is one of secretKeys")


@rule(
    "ecs-task-definition-log-configuration",
    reads={CONTAINERS: "DescribeTaskDefinition"},
    aws_identifier="ECS_TASK_DEFINITION_LOG_CONFIGURATION",
    service="Amazon ECS",
    resource_types=(TASK_DEFINITION,),
    trigger="change",
    severity="medium",
    compliant_when="Every container definition of the active ECS task definition has a logConfiguration.",
)
def ecs_task_definition_log_configuration(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    inactive = _inactive(item)
    if inactive:
        return inactive
    missing = [c for c in get(item, CONTAINERS) or [] if not c.get("logConfiguration")]
    if missing:
        return non_compliant(f"container {_names(missing)} has no logConfiguration")
    return compliant("every container has a logConfiguration")


@rule(
    "ecs-task-definition-memory-hard-limit",
    reads={CONTAINERS: "DescribeTaskDefinition"},
    aws_identifier="ECS_TASK_DEFINITION_MEMORY_HARD_LIMIT",
    service="Amazon ECS",
    resource_types=(TASK_DEFINITION,),
    trigger="change",
    severity="low",
    compliant_when="Every container definition of the ECS task definition sets memory (a hard limit).",
)
def ecs_task_definition_memory_hard_limit(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """A task-level ``memory`` or a container's ``memoryReservation`` (a soft limit) does not count."""
    inactive = _inactive(item)
    if inactive:
        return inactive
    unlimited = [c for c in get(item, CONTAINERS) or [] if not c.get("memory")]
    if unlimited:
        return non_compliant(f"container {_names(unlimited)} has no memory hard limit")
    return compliant("every container has a memory hard limit")


@rule(
    "ecs-task-definition-nonroot-user",
    reads={CONTAINERS: "DescribeTaskDefinition"},
    aws_identifier="ECS_TASK_DEFINITION_NONROOT_USER",
    service="Amazon ECS",
    resource_types=(TASK_DEFINITION,),
    trigger="change",
    severity="medium",
    compliant_when="Every container of an EC2-compatible ECS task definition names a user other than root.",
)
def ecs_task_definition_nonroot_user(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """The rule is about the EC2 launch type: a task definition whose ``requiresCompatibilities``
    leave EC2 out (Fargate or external only) is NOT_APPLICABLE; without ``requiresCompatibilities``
    it can run on EC2. ``user`` absent, ``root``, ``0`` or ``root:<group>`` / ``0:<gid>`` is root."""
    inactive = _inactive(item)
    if inactive:
        return inactive
    required = get(item, "configuration.requiresCompatibilities")
    if isinstance(required, list) and required and "EC2" not in required:
        return not_applicable(f"task definition requires {', '.join(map(str, required))}, not EC2")
    as_root = [c for c in get(item, CONTAINERS) or [] if _runs_as_root(c.get("user"))]
    if as_root:
        return non_compliant(f"container {_names(as_root)} runs as root (or names no user)")
    return compliant("every container names a non-root user")


@rule(
    "ecs-task-definition-pid-mode-check",
    reads={CONTAINERS: "DescribeTaskDefinition"},
    aws_identifier="ECS_TASK_DEFINITION_PID_MODE_CHECK",
    service="Amazon ECS",
    resource_types=(TASK_DEFINITION,),
    trigger="change",
    severity="high",
    compliant_when="The ECS task definition does not share the host's process namespace (pidMode is not host).",
)
def ecs_task_definition_pid_mode_check(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    inactive = _inactive(item)
    if inactive:
        return inactive
    if get(item, "configuration.pidMode") == "host":
        return non_compliant("task definition shares the host's process namespace (pidMode host)")
    return compliant(f"pidMode is {get(item, 'configuration.pidMode') or 'unset'}")


@rule(
    "ecs-container-insights-enabled",
    reads={"configuration.clusterArn": "DescribeClusters"},
    aws_identifier="ECS_CONTAINER_INSIGHTS_ENABLED",
    service="Amazon ECS",
    resource_types=(CLUSTER,),
    trigger="change",
    severity="low",
    compliant_when="Container Insights is enabled (or enhanced) on the ECS cluster.",
)
def ecs_container_insights_enabled(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """``enhanced`` (Container Insights with enhanced observability) counts as enabled. A cluster
    without the setting has Container Insights off (the account default applies only when a cluster
    is created, and is then recorded in the cluster's settings)."""
    settings = {s.get("name"): s.get("value") for s in get(item, "configuration.settings") or [] if isinstance(s, dict)}
    value = str(settings.get("containerInsights") or "disabled")
    if value in ("enabled", "enhanced"):
        return compliant(f"Container Insights is {value}")
    return non_compliant(f"Container Insights is {value}")


FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


def _on_fargate(configuration: dict[str, Any]) -> bool:
    if configuration.get("launchType") == "FARGATE":
        return True
    strategy = configuration.get("capacityProviderStrategy") or []
    return any(isinstance(s, dict) and s.get("capacityProvider") in FARGATE_PROVIDERS for s in strategy)


def _version(text: str) -> tuple[int, ...] | None:
    parts = str(text).strip().lstrip("vV").split(".")
    return tuple(int(p) for p in parts) if parts and all(p.isdigit() for p in parts) else None


@rule(
    "ecs-fargate-latest-platform-version",
    reads={"configuration.serviceArn": "DescribeServices"},
    aws_identifier="ECS_FARGATE_LATEST_PLATFORM_VERSION",
    service="Amazon ECS",
    resource_types=(SERVICE_TYPE,),
    trigger="change",
    severity="medium",
    compliant_when="The Fargate ECS service runs platform version LATEST, or at least latestLinuxVersion / latestWindowsVersion.",
    parameters={"latestLinuxVersion": ("str", None), "latestWindowsVersion": ("str", None)},
)
def ecs_fargate_latest_platform_version(item: ConfigurationItem, params: dict, ctx: RuleContext) -> Result:
    """Services on the EC2 or external launch type are NOT_APPLICABLE. The platform version is the
    service's ``platformVersion`` (absent: ``LATEST``, ECS's default), or for a CODE_DEPLOY or
    EXTERNAL deployment controller that of each task set. An explicit version is compared with
    ``latestWindowsVersion`` when the platform family is Windows, else with ``latestLinuxVersion``
    (numeric SemVer: equal or newer passes); without that parameter it is NON_COMPLIANT, as AWS
    documents."""
    configuration = item.configuration
    if not _on_fargate(configuration) and not any(_on_fargate(t) for t in configuration.get("taskSets") or []):
        return not_applicable("service does not run on Fargate")
    controller = (configuration.get("deploymentController") or {}).get("type") or "ECS"
    if controller == "ECS":
        running = [(configuration.get("platformVersion") or "LATEST", configuration.get("platformFamily"))]
    else:
        running = [(t.get("platformVersion") or "LATEST", t.get("platformFamily")) for t in configuration.get("taskSets") or []]
        if not running:
            return not_applicable(f"{controller} service has no task set yet")
    for version, family in running:
        if str(version).upper() == "LATEST":
            continue
        windows = str(family or "").upper().startswith("WINDOWS")
        wanted = params.get("latestWindowsVersion" if windows else "latestLinuxVersion")
        name = "latestWindowsVersion" if windows else "latestLinuxVersion"
        if not wanted:
            return non_compliant(f"service runs platform version {version}, not LATEST, and {name} is not set")
        have, want = _version(version), _version(wanted)
        if have is None or want is None or have < want:
            return non_compliant(f"service runs platform version {version}, older than {name} {wanted}")
    return compliant(f"service runs platform version {', '.join(str(v) for v, _ in running)}")
