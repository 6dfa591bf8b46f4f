"""Lambda: functions (AWS::Lambda::Function), collector name ``lambda``."""

from __future__ import annotations

from phiwatch.resources.spec import P, ResourceSpec, Service, on

FUNCTION = "AWS::Lambda::Function"

SERVICE = Service(
    "lambda",
    resources=(
        ResourceSpec(
            FUNCTION,
            events=(
                on(
                    "lambda.amazonaws.com",
                    (
                        "CreateFunction DeleteFunction UpdateFunctionConfiguration UpdateFunctionCode "
                        "AddPermission RemovePermission CreateFunctionUrlConfig UpdateFunctionUrlConfig "
                        "DeleteFunctionUrlConfig TagResource UntagResource"
                    ),
                    P("requestParameters.functionName"),
                    P("requestParameters.resource"),
                ),
            ),
        ),
    ),
    iam=(
        "lambda:GetFunctionUrlConfig",
        "lambda:GetPolicy",
        "lambda:ListFunctions",
        "lambda:ListTags",
    ),
)
