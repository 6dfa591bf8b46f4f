"""CodeBuild's hook: projects (AWS::CodeBuild::Project) are read by BatchGetProjects, up to 100 names a call.

The item layout is described in :mod:`phiwatch.resources.codebuild`.

Why a hook: the generic collector has no batch describe call. Here the listing (ListProjects,
or in a targeted run the wanted names) is read in batches of 100 by BatchGetProjects, whose
elements alone make the items (nothing of a project is recorded from the listing); a failed batch
yields none of its projects and leaves the type incomplete (nothing is recorded deleted), which a
per-element ``describe`` (the listed element kept with the error, the type complete) would not
reproduce. The credentials cleaning (:func:`clean_project`) is applied to every element.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register, tags_from_list
from phiwatch.model import ConfigurationItem
from phiwatch.resources.codebuild import PROJECT

REDACTED = "REDACTED"
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


@register
class CodeBuildCollector(Collector):
    name = "codebuild"
    resource_types = (PROJECT,)
    targetable = frozenset({PROJECT})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        wanted = ctx.targets(PROJECT)
        if wanted is not None:  # targeted: BatchGetProjects by name (an ARN's last part); unknown names are not found
            names = sorted({i.rsplit(":project/", 1)[-1] for i in wanted})
        else:
            try:
                names = list(ctx.paginate("codebuild", "ListProjects", "projects", resource_type=PROJECT))
            except ListFailed:
                return
        complete = True
        for start in range(0, len(names), BATCH):
            response = ctx.call("codebuild", "BatchGetProjects", resource_type=PROJECT, names=names[start : start + BATCH])
            if response is FAILED:
                complete = False
                continue
            for project in ctx.identified("codebuild", "BatchGetProjects", response.get("projects"), "name", resource_type=PROJECT):
                yield self._project(ctx, project)
        if complete:
            ctx.mark_complete(PROJECT)

    def _project(self, ctx: CollectContext, project: dict[str, Any]) -> ConfigurationItem:
        name = project["name"]
        item = ctx.item(
            PROJECT,
            name,
            resourceName=name,
            arn=project.get("arn") or ctx.arn("codebuild", f"project/{name}"),
            configuration=clean_project(project),
            tags=tags_from_list(project.get("tags"), key="key", value="value"),
        )
        item.refresh_state_id()
        return item
