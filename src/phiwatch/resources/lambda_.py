"""Lambda: functions (AWS::Lambda::Function), collector name ``lambda``.

Item layout (boto3 shapes):

* resourceId and resourceName ``FunctionName`` (AWS Config's id), arn ``FunctionArn``.
* ``configuration``: ListFunctions' element (``Runtime``, ``Role``, ``Handler``, ``Timeout``,
  ``MemorySize``, ``PackageType``, ``VpcConfig`` (absent or with empty ``SubnetIds`` = not in a
  VPC), ``KmsKeyArn`` (absent = AWS managed key), ``TracingConfig``, ``Layers``,
  ``DeadLetterConfig.TargetArn`` (AWS lists it; moto 5.2 leaves it out), ...).
  ``Environment.Variables`` keeps the variable NAMES only: every value is replaced by
  ``"REDACTED"`` (the spec's ``shape``) before the item is recorded, so secrets in environment
  variables are never stored (a changed value is therefore not a change).
* ``supplementaryConfiguration.Policy``: the function's resource policy (GetPolicy) parsed
  from JSON (``{"Version", "Id", "Statement": [...]}``), ``None`` when the function has no
  resource policy (``ResourceNotFoundException``). A statement with ``Principal "*"`` (or
  ``{"AWS": "*"}``) and no restricting condition makes the function public.
* ``supplementaryConfiguration.FunctionUrlConfig``: GetFunctionUrlConfig's ``{"FunctionUrl",
  "AuthType": "NONE"|"AWS_IAM", "Cors", ...}``, ``None`` when the function has no URL.
* ``supplementaryConfiguration.ReservedConcurrentExecutions``: GetFunctionConcurrency's
  function-level concurrency limit (an integer), ``None`` when the function has none.
* ``tags``: ListTags.

A supplementary key that is absent means its call failed (see ``collectionErrors``).
No account-level keys. (moto: functions can be created and read, not invoked;
``VpcConfig.VpcId`` is a placeholder.)

The targeting by any spelling of a function (name, ARN, partial or qualified ARN) is done by the
hook :mod:`phiwatch.collect.lambda_`; the rest is this spec.
"""

from __future__ import annotations

from typing import Any

from phiwatch.resources.spec import Call, P, ResourceSpec, Service, json_document, on

FUNCTION = "AWS::Lambda::Function"

REDACTED = "REDACTED"


def redact_environment(function: dict[str, Any]) -> dict[str, Any]:
    """The function's configuration with every environment variable value replaced by ``REDACTED``."""
    environment = function.get("Environment")
    if isinstance(environment, dict) and isinstance(environment.get("Variables"), dict):
        function = dict(function)
        function["Environment"] = {**environment, "Variables": {k: REDACTED for k in environment["Variables"]}}
    return function


def _url_config(response: Any) -> Any:
    """GetFunctionUrlConfig's answer without the function's ARN (the item has it)."""
    return {k: v for k, v in response.items() if k != "FunctionArn"} if isinstance(response, dict) else response


SPEC = ResourceSpec(
    FUNCTION,
    client="lambda",
    listing=Call("ListFunctions", "lambda:ListFunctions", result="Functions"),
    id="FunctionName",
    name="FunctionName",
    arn=("FunctionArn", "arn:{partition}:lambda:{region}:{account}:function:{id}"),
    details={
        "Policy": Call(
            "GetPolicy",
            "lambda:GetPolicy",
            {"FunctionName": "FunctionName"},
            result="Policy",
            absent=("ResourceNotFoundException",),
            parse=json_document,
        ),
        "FunctionUrlConfig": Call(
            "GetFunctionUrlConfig",
            "lambda:GetFunctionUrlConfig",
            {"FunctionName": "FunctionName"},
            absent=("ResourceNotFoundException",),
            parse=_url_config,
        ),
        "ReservedConcurrentExecutions": Call(
            "GetFunctionConcurrency",
            "lambda:GetFunctionConcurrency",
            {"FunctionName": "FunctionName"},
            result="ReservedConcurrentExecutions",
        ),
    },
    tags=Call("ListTags", "lambda:ListTags", {"Resource": "FunctionArn"}, result="Tags"),
    shape=redact_environment,
    events=(
        on(
            "lambda.amazonaws.com",
            (
                "CreateFunction DeleteFunction UpdateFunctionConfiguration UpdateFunctionCode "
                "AddPermission RemovePermission CreateFunctionUrlConfig UpdateFunctionUrlConfig "
                "DeleteFunctionUrlConfig TagResource UntagResource PutFunctionConcurrency "
                "DeleteFunctionConcurrency"
            ),
            P("requestParameters.functionName"),
            P("requestParameters.resource"),
        ),
    ),
)

SERVICE = Service("lambda", resources=(SPEC,), cost=3)
