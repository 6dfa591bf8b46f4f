"""API Gateway stages: REST API stages (AWS::ApiGateway::Stage) and HTTP/WebSocket API"""

from __future__ import annotations

from phiwatch.resources.spec import R, ResourceSpec, Service, T, on

REST_STAGE = "AWS::ApiGateway::Stage"
V2_STAGE = "AWS::ApiGatewayV2::Stage"

SERVICE = Service(
    "apigateway",
    resources=(
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
    ),
    iam=("apigateway:GET",),
)
