"""CodeDeploy's hook: deployment groups (AWS::CodeDeploy::DeploymentGroup); the item layout is in
:mod:`phiwatch.resources.codedeploy`.

Why a hook: deployment groups are listed per application (ListApplications, then
ListDeploymentGroups of each), and a Server group's item carries its deployment configuration,
read once per configuration name however many groups use it. The calls made here are the
``SERVICE.iam`` of :mod:`phiwatch.resources.codedeploy`.

A group whose GetDeploymentGroup fails cannot be identified (its id comes from that answer): it
is not recorded, the error is the run's, and the type is left incomplete so nothing is recorded
deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.codedeploy import DEPLOYMENT_GROUP

#: the members of a deployment group that change with every deployment, not with its configuration
VOLATILE = ("lastSuccessfulDeployment", "lastAttemptedDeployment", "targetRevision")
GONE = ("DeploymentGroupDoesNotExistException", "ApplicationDoesNotExistException")


@dataclass(frozen=True)
class Failed:
    """A deployment configuration that could not be read, with the error to put on each group using it."""

    error: dict[str, Any]


def group_arn(ctx: CollectContext, application: str, group: str) -> str:
    return ctx.arn("codedeploy", f"deploymentgroup:{application}/{group}")


@register
class CodeDeployCollector(Collector):
    name = "codedeploy"
    resource_types = (DEPLOYMENT_GROUP,)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            applications = [a for a in ctx.paginate("codedeploy", "ListApplications", "applications", resource_type=DEPLOYMENT_GROUP) if a]
        except ListFailed:
            return
        complete = True
        pairs: list[tuple[str, str]] = []
        for application, groups in zip(applications, ctx.map(lambda a: self._groups(ctx, a), applications)):
            if groups is None:
                complete = False
                continue
            pairs += [(application, g) for g in groups if ctx.selected(DEPLOYMENT_GROUP, group_arn(ctx, application, g), g)]
        described = list(ctx.map(lambda pair: self._group(ctx, *pair), pairs))
        if any(d is FAILED for d in described):
            complete = False
        items = [d for d in described if isinstance(d, ConfigurationItem)]
        configs = self._deployment_configs(ctx, items)
        for item in items:
            if item.configuration.get("computePlatform") == "Server":
                found = configs.get(str(item.configuration.get("deploymentConfigName")))
                if isinstance(found, Failed):
                    item.collectionErrors.append(found.error)
                elif found is not None:
                    item.supplementaryConfiguration["DeploymentConfig"] = found
            item.refresh_state_id()
            yield item
        if complete:
            ctx.mark_complete(DEPLOYMENT_GROUP)

    def _groups(self, ctx: CollectContext, application: str) -> list[str] | None:
        try:
            return [
                g
                for g in ctx.paginate(
                    "codedeploy", "ListDeploymentGroups", "deploymentGroups", resource_type=DEPLOYMENT_GROUP, applicationName=application
                )
                if isinstance(g, str) and g
            ]
        except ListFailed:
            return None

    def _group(self, ctx: CollectContext, application: str, group: str) -> Any:
        """The group's item; None when it is gone; FAILED when it could not be read."""
        arn = group_arn(ctx, application, group)
        response = ctx.call(
            "codedeploy",
            "GetDeploymentGroup",
            not_found=GONE,
            resource_type=DEPLOYMENT_GROUP,
            resource_id=arn,
            applicationName=application,
            deploymentGroupName=group,
        )
        if response is None:
            return None
        info = response.get("deploymentGroupInfo") if isinstance(response, dict) else None
        if response is FAILED or not isinstance(info, dict) or not info.get("deploymentGroupId"):
            return FAILED
        item = ctx.item(
            DEPLOYMENT_GROUP,
            str(info["deploymentGroupId"]),
            resourceName=group,
            arn=arn,
            configuration={k: v for k, v in info.items() if k not in VOLATILE},
        )
        tags = ctx.call("codedeploy", "ListTagsForResource", item=item, ResourceArn=arn)
        item.tags = tags_from_list(tags.get("Tags")) if isinstance(tags, dict) else {}
        item.relationships = [
            {"resourceType": "AWS::CodeDeploy::Application", "resourceId": application, "name": "Is contained in Application"}
        ]
        return item

    def _deployment_configs(self, ctx: CollectContext, items: list[ConfigurationItem]) -> dict[str, Any]:
        """Configuration name -> GetDeploymentConfig's ``deploymentConfigInfo``, or :class:`Failed` with the error."""
        names = sorted(
            {str(i.configuration.get("deploymentConfigName")) for i in items if i.configuration.get("computePlatform") == "Server"}
            - {"None", ""}
        )
        out: dict[str, Any] = {}
        for name in names:
            before = len(ctx.errors)
            response = ctx.call("codedeploy", "GetDeploymentConfig", resource_type=DEPLOYMENT_GROUP, deploymentConfigName=name)
            info = response.get("deploymentConfigInfo") if isinstance(response, dict) else None
            if isinstance(info, dict):
                out[name] = info
            elif response is FAILED and len(ctx.errors) > before:
                out[name] = Failed(ctx.errors[-1].to_dict())
        return out
