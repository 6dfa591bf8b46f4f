"""API Gateway REST APIs, stages and v2 routes, collected by a hook: the item layout is in
:mod:`phiwatch.resources.apigateway`.

Why a hook: a stage or route is listed per API (GetRestApis / GetApis, then GetStages or GetRoutes
of each API), and its item carries data of its API (``supplementaryConfiguration.RestApi``/``Api``,
the relationship to the API); REST APIs are recorded from the same GetRestApis listing. A spec's
listing is one operation over one page key, so these types are not expressible as
:class:`~phiwatch.resources.spec.ResourceSpec` yet; the ``SERVICE.iam`` of
:mod:`phiwatch.resources.apigateway` lists the calls made here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, ListFailed, register
from phiwatch.model import ConfigurationItem
from phiwatch.resources.apigateway import REST_API, REST_STAGE, V2_ROUTE, V2_STAGE


def stage_arn(ctx: CollectContext, kind: str, api_id: str, stage: str) -> str:
    """AWS Config's id of a stage: ``arn:aws:apigateway:<region>::/<kind>/<api>/stages/<stage>``."""
    return f"arn:{ctx.partition}:apigateway:{ctx.region}::/{kind}/{api_id}/stages/{stage}"


def api_arn(ctx: CollectContext, api_id: str) -> str:
    """The ARN of a REST API: ``arn:aws:apigateway:<region>::/restapis/<api>``."""
    return f"arn:{ctx.partition}:apigateway:{ctx.region}::/restapis/{api_id}"


def route_arn(ctx: CollectContext, api_id: str, route_id: str) -> str:
    """The ARN of a v2 route: ``arn:aws:apigateway:<region>::/apis/<api>/routes/<route>``."""
    return f"arn:{ctx.partition}:apigateway:{ctx.region}::/apis/{api_id}/routes/{route_id}"


def _wanted_apis(
    ctx: CollectContext, resource_type: str, kind: str, apis: list[dict[str, Any]], id_key: str, child: str = "stages"
) -> list[dict[str, Any]]:
    """The APIs whose stages (or routes) a targeted run reads: those its ARNs name (all when one is a bare name or id)."""
    wanted = ctx.targets(resource_type)
    if wanted is None:
        return apis
    marker = f"::/{kind}/"
    if not all(marker in i and f"/{child}/" in i for i in wanted):
        return apis
    ids = {i.split(marker, 1)[1].split("/", 1)[0] for i in wanted}
    return [a for a in apis if a.get(id_key) in ids]


@register
class ApiGatewayCollector(Collector):
    name = "apigateway"
    resource_types = (REST_API, REST_STAGE, V2_STAGE, V2_ROUTE)
    targetable = frozenset(resource_types)

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if ctx.wants(REST_API) or ctx.wants(REST_STAGE):
            yield from self._rest(ctx)
        if ctx.wants(V2_STAGE) or ctx.wants(V2_ROUTE):
            yield from self._v2(ctx)

    # -- REST APIs (v1) ------------------------------------------------------------------
    def _rest(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        listed_as = REST_STAGE if ctx.wants(REST_STAGE) else REST_API
        try:
            apis = list(ctx.paginate("apigateway", "GetRestApis", "items", resource_type=listed_as, id_key="id"))
        except ListFailed:
            return
        if listed_as in ctx.incomplete:  # an API without its id: neither type is complete
            ctx.incomplete.update((REST_API, REST_STAGE))
        if ctx.wants(REST_API):
            for api in apis:
                if ctx.selected(REST_API, api["id"], api_arn(ctx, api["id"]), api.get("name")):
                    yield self._rest_api(ctx, api)
            ctx.mark_complete(REST_API)
        if not ctx.wants(REST_STAGE):
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

    def _rest_api(self, ctx: CollectContext, api: dict[str, Any]) -> ConfigurationItem:
        arn = api_arn(ctx, api["id"])
        item = ctx.item(
            REST_API,
            api["id"],
            resourceName=api.get("name") or api["id"],
            arn=arn,
            configuration={k: v for k, v in api.items() if k != "tags"},
            tags=dict(api.get("tags") or {}),
        )
        item.refresh_state_id()
        return item

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
        listed_as = V2_STAGE if ctx.wants(V2_STAGE) else V2_ROUTE
        try:
            apis = list(ctx.paginate("apigatewayv2", "GetApis", "Items", resource_type=listed_as, id_key="ApiId"))
        except ListFailed:
            return
        if listed_as in ctx.incomplete:  # an API without its id: neither type is complete
            ctx.incomplete.update((V2_STAGE, V2_ROUTE))
        if ctx.wants(V2_STAGE):
            yield from self._v2_children(ctx, apis, V2_STAGE)
        if ctx.wants(V2_ROUTE):
            yield from self._v2_children(ctx, apis, V2_ROUTE)

    def _v2_children(self, ctx: CollectContext, apis: list[dict[str, Any]], resource_type: str) -> Iterator[ConfigurationItem]:
        """The stages or routes (``resource_type``) of each API: GetStages / GetRoutes per API."""
        op, id_key, child = ("GetStages", "StageName", "stages") if resource_type == V2_STAGE else ("GetRoutes", "RouteId", "routes")
        apis = _wanted_apis(ctx, resource_type, "apis", apis, "ApiId", child)

        def children(api: dict[str, Any]) -> list[dict[str, Any]] | None:
            try:
                return list(ctx.paginate("apigatewayv2", op, "Items", resource_type=resource_type, id_key=id_key, ApiId=api["ApiId"]))
            except ListFailed:
                return None

        complete = True
        for api, found in zip(apis, ctx.map(children, apis)):
            if found is None:
                complete = False
                continue
            for element in found:
                if resource_type == V2_STAGE:
                    if ctx.selected(V2_STAGE, stage_arn(ctx, "apis", api["ApiId"], element["StageName"]), element["StageName"]):
                        yield self._v2_stage(ctx, api, element)
                elif ctx.selected(V2_ROUTE, route_arn(ctx, api["ApiId"], element["RouteId"]), element["RouteId"]):
                    yield self._v2_route(ctx, api, element)
        if complete:
            ctx.mark_complete(resource_type)

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

    def _v2_route(self, ctx: CollectContext, api: dict[str, Any], route: dict[str, Any]) -> ConfigurationItem:
        item = ctx.item(
            V2_ROUTE,
            route["RouteId"],
            resourceName=route.get("RouteKey") or route["RouteId"],
            arn=route_arn(ctx, api["ApiId"], route["RouteId"]),
            configuration=dict(route),
            supplementaryConfiguration={"Api": {"ApiId": api["ApiId"], "Name": api.get("Name"), "ProtocolType": api.get("ProtocolType")}},
            relationships=[{"resourceType": "AWS::ApiGatewayV2::Api", "resourceId": api["ApiId"], "name": "Is contained in Api"}],
        )
        item.refresh_state_id()
        return item
