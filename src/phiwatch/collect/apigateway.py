"""API Gateway stages, collected by a hook: the item layout is in :mod:`phiwatch.resources.apigateway`.

Why a hook: a stage is listed per API (GetRestApis / GetApis, then GetStages of each API), and
the stage's item carries data of its API (``supplementaryConfiguration.RestApi``/``Api``,
the relationship to the API). A spec's listing is one operation over one page key, so neither
stage type is expressible as a :class:`~phiwatch.resources.spec.ResourceSpec` yet; the
``SERVICE.iam`` of :mod:`phiwatch.resources.apigateway` lists the calls made here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.model import ConfigurationItem
from phiwatch.resources.apigateway import REST_STAGE, V2_STAGE


def stage_arn(ctx: CollectContext, kind: str, api_id: str, stage: str) -> str:
    """AWS Config's id of a stage: ``arn:aws:apigateway:<region>::/<kind>/<api>/stages/<stage>``."""
    return f"arn:{ctx.partition}:apigateway:{ctx.region}::/{kind}/{api_id}/stages/{stage}"


def _wanted_apis(ctx: CollectContext, resource_type: str, kind: str, apis: list[dict[str, Any]], id_key: str) -> list[dict[str, Any]]:
    """The APIs whose stages a targeted run reads: those its stage ARNs name (all when one is a bare stage name)."""
    wanted = ctx.targets(resource_type)
    if wanted is None:
        return apis
    marker = f"::/{kind}/"
    if not all(marker in i and "/stages/" in i for i in wanted):
        return apis
    ids = {i.split(marker, 1)[1].split("/", 1)[0] for i in wanted}
    return [a for a in apis if a.get(id_key) in ids]


@register
class ApiGatewayCollector(Collector):
    name = "apigateway"
    resource_types = (REST_STAGE, V2_STAGE)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.wants(REST_STAGE):
            yield from self._rest(ctx)
        if ctx.wants(V2_STAGE):
            yield from self._v2(ctx)

    # -- REST APIs (v1) ------------------------------------------------------------------
    def _rest(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            apis = list(ctx.paginate("apigateway", "GetRestApis", "items", resource_type=REST_STAGE, id_key="id"))
        except ListFailed:
            return
        apis = _wanted_apis(ctx, REST_STAGE, "restapis", apis, "id")
        complete = True
        for api, response in zip(
            apis,
            ctx.map(lambda a: ctx.call("apigateway", "GetStages", resource_type=REST_STAGE, resource_id=a["id"], restApiId=a["id"]), apis),
        ):
            if response is FAILED:
                complete = False
                continue
            for stage in ctx.identified("apigateway", "GetStages", response.get("item"), "stageName", resource_type=REST_STAGE):
                if ctx.selected(REST_STAGE, stage_arn(ctx, "restapis", api["id"], stage["stageName"]), stage["stageName"]):
                    yield self._rest_stage(ctx, api, stage)
        if complete:
            ctx.mark_complete(REST_STAGE)

    def _rest_stage(self, ctx: CollectContext, api: dict[str, Any], stage: dict[str, Any]) -> ConfigurationItem:
        arn = stage_arn(ctx, "restapis", api["id"], stage["stageName"])
        configuration = {k: v for k, v in stage.items() if k != "tags"}
        item = ctx.item(
            REST_STAGE,
            arn,
            resourceName=stage["stageName"],
            arn=arn,
            configuration=configuration,
            supplementaryConfiguration={"RestApi": {"id": api["id"], "name": api.get("name")}},
            tags=dict(stage.get("tags") or {}),
            relationships=[{"resourceType": "AWS::ApiGateway::RestApi", "resourceId": api["id"], "name": "Is contained in RestApi"}],
        )
        item.refresh_state_id()
        return item

    # -- HTTP and WebSocket APIs (v2) ----------------------------------------------------
    def _v2(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        try:
            apis = list(ctx.paginate("apigatewayv2", "GetApis", "Items", resource_type=V2_STAGE, id_key="ApiId"))
        except ListFailed:
            return
        apis = _wanted_apis(ctx, V2_STAGE, "apis", apis, "ApiId")

        def stages(api: dict[str, Any]) -> list[dict[str, Any]] | None:
            try:
                return list(
                    ctx.paginate("apigatewayv2", "GetStages", "Items", resource_type=V2_STAGE, id_key="StageName", ApiId=api["ApiId"])
                )
            except ListFailed:
                return None

        complete = True
        for api, found in zip(apis, ctx.map(stages, apis)):
            if found is None:
                complete = False
                continue
            for stage in found:
                if ctx.selected(V2_STAGE, stage_arn(ctx, "apis", api["ApiId"], stage["StageName"]), stage["StageName"]):
                    yield self._v2_stage(ctx, api, stage)
        if complete:
            ctx.mark_complete(V2_STAGE)

    def _v2_stage(self, ctx: CollectContext, api: dict[str, Any], stage: dict[str, Any]) -> ConfigurationItem:
        arn = stage_arn(ctx, "apis", api["ApiId"], stage["StageName"])
        configuration = {k: v for k, v in stage.items() if k != "Tags"}
        item = ctx.item(
            V2_STAGE,
            arn,
            resourceName=stage["StageName"],
            arn=arn,
            configuration=configuration,
            supplementaryConfiguration={"Api": {"ApiId": api["ApiId"], "Name": api.get("Name"), "ProtocolType": api.get("ProtocolType")}},
            tags=dict(stage.get("Tags") or {}),
            relationships=[{"resourceType": "AWS::ApiGatewayV2::Api", "resourceId": api["ApiId"], "name": "Is contained in Api"}],
        )
        item.refresh_state_id()
        return item
