"""ECS rules of the HIPAA pack (AWS Config managed-rule semantics).

Items are described in :mod:`phiwatch.resources.ecs`: the latest ACTIVE revision of each task definition
family, ``configuration`` = DescribeTaskDefinition's ``taskDefinition`` (environment values
redacted). An absent ``readonlyRootFilesystem``/``privileged`` means false; an absent ``user``
means the image's user (root unless the image says otherwise).
"""

from __future__ import annotations

from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.resources.ecs import TASK_DEFINITION
from phiwatch.rules.base import Result, RuleContext, compliant, get, non_compliant, not_applicable, rule

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
    if params.get("SkipInactiveTaskDefinitions") and str(get(item, "configuration.status") or "ACTIVE") == "INACTIVE":
        return None
    if get(item, "configuration.networkMode") != "host":
        return not_applicable("task definition does not use host network mode")
    as_root = [c for c in get(item, CONTAINERS) or [] if not c.get("privileged") and _runs_as_root(c.get("user"))]
    if as_root:
        return non_compliant(f"host-mode container {_names(as_root)} runs as root (or no user) without privileged=true")
    return compliant("host-mode containers run as a non-root user or are privileged")
