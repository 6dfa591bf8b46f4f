"""API Gateway: REST APIs (AWS::ApiGateway::RestApi) and their stages (AWS::ApiGateway::Stage),
HTTP/WebSocket API stages (AWS::ApiGatewayV2::Stage) and routes (AWS::ApiGatewayV2::Route), regional.

Item layout:

* ``AWS::ApiGateway::RestApi`` (GetRestApis): resourceId the API ``id``, resourceName its
  ``name``, arn ``arn:aws:apigateway:<region>::/restapis/<api id>``. ``configuration`` = the
  GetRestApis element in boto3 shape (its ``tags`` moved to the item's tags); keys rules read:
  ``endpointConfiguration`` (``{"types": ["EDGE"|"REGIONAL"|"PRIVATE"], "vpcEndpointIds"}``),
  ``disableExecuteApiEndpoint``, ``policy``.

* ``AWS::ApiGateway::Stage`` (GetRestApis, then GetStages per API): resourceId and arn
  ``arn:aws:apigateway:<region>::/restapis/<api id>/stages/<stage name>`` (AWS Config's id),
  resourceName the stage name. ``configuration`` = the GetStages element in boto3 shape
  (its ``tags`` moved to the item's tags); keys rules read: ``methodSettings``
  (``{"*/*": {"loggingLevel": "OFF"|"ERROR"|"INFO", "dataTraceEnabled", ...},
  "<path>/<METHOD>": {...}}``; ``{}`` when no method setting is configured),
  ``clientCertificateId`` (absent = no client certificate), ``webAclArn`` (absent = no WAF
  web ACL), ``accessLogSettings``, ``tracingEnabled``, ``cacheClusterEnabled``.
  ``supplementaryConfiguration.RestApi``: ``{"id", "name"}`` of the API.
  relationships: the ``AWS::ApiGateway::RestApi``.
* ``AWS::ApiGatewayV2::Stage`` (GetApis, then GetStages per API): resourceId and arn
  ``arn:aws:apigateway:<region>::/apis/<api id>/stages/<stage name>``, resourceName the
  stage name. ``configuration`` = the GetStages element in boto3 shape (``Tags`` moved to
  the item's tags); keys rules read: ``DefaultRouteSettings`` (``{"LoggingLevel"`` — only
  WebSocket APIs have execution logging — ``, "DataTraceEnabled", "DetailedMetricsEnabled",
  ...}``), ``RouteSettings`` (per route key), ``AccessLogSettings`` (``{"DestinationArn",
  "Format"}``; absent = access logging off), ``ClientCertificateId``.
  ``supplementaryConfiguration.Api``: ``{"ApiId", "Name", "ProtocolType"}`` (``HTTP`` |
  ``WEBSOCKET``). relationships: the ``AWS::ApiGatewayV2::Api``.

A stage type is marked complete only when its API listing and every per-API GetStages
succeeded. A targeted run (``watch``) lists the APIs and reads the stages of only those its
stage ARNs name. No account-level keys.

Collected by the hook :mod:`phiwatch.collect.apigateway` (stages are listed per API).
"""

from __future__ import annotations

from phiwatch.resources.spec import P, R, ResourceSpec, Service, T, on

REST_API = "AWS::ApiGateway::RestApi"
REST_STAGE = "AWS::ApiGateway::Stage"
V2_STAGE = "AWS::ApiGatewayV2::Stage"
V2_ROUTE = "AWS::ApiGatewayV2::Route"

SERVICE = Service(
    "apigateway",
    cost=2,
    resources=(
        ResourceSpec(
            REST_API,
            events=(
                on(
                    "apigateway.amazonaws.com",
                    "CreateRestApi ImportRestApi PutRestApi UpdateRestApi DeleteRestApi",
                    P("requestParameters.restApiId"),
                    P("responseElements.id"),
                ),
                on(
                    "apigateway.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceArn", "^arn:.*::/restapis/([^/]+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            REST_STAGE,
            events=(
                on(
                    "apigateway.amazonaws.com",
                    "CreateStage UpdateStage DeleteStage CreateDeployment",
                    T("arn:{partition}:apigateway:{region}::/restapis/{requestParameters.restApiId}/stages/{requestParameters.stageName}"),
                    optional=True,
                ),
                on("apigateway.amazonaws.com", "DeleteRestApi"),
                on(
                    "apigateway.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceArn", "^(arn:.*::/restapis/[^/]+/stages/[^/]+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            V2_STAGE,
            events=(
                on(
                    "apigateway.amazonaws.com",
                    "CreateStage UpdateStage DeleteStage CreateDeployment",
                    T("arn:{partition}:apigateway:{region}::/apis/{requestParameters.apiId}/stages/{requestParameters.stageName}"),
                    optional=True,
                ),
                on("apigateway.amazonaws.com", "DeleteApi"),
                on(
                    "apigateway.amazonaws.com",
                    "TagResource UntagResource",
                    R("requestParameters.resourceArn", "^(arn:.*::/apis/[^/]+/stages/[^/]+)$"),
                    optional=True,
                ),
            ),
        ),
        ResourceSpec(
            V2_ROUTE,
            events=(
                on(
                    "apigateway.amazonaws.com",
                    "CreateRoute UpdateRoute DeleteRoute",
                    T("arn:{partition}:apigateway:{region}::/apis/{requestParameters.apiId}/routes/{requestParameters.routeId}"),
                    T("arn:{partition}:apigateway:{region}::/apis/{requestParameters.apiId}/routes/{responseElements.routeId}"),
                    optional=True,
                ),
                on("apigateway.amazonaws.com", "DeleteApi"),
            ),
        ),
    ),
    iam=("apigateway:GET",),
)
