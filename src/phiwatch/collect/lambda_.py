"""Lambda: functions (AWS::Lambda::Function), collector name ``lambda``.

Item layout (boto3 shapes):

* resourceId and resourceName ``FunctionName`` (AWS Config's id), arn ``FunctionArn``.
* ``configuration``: ListFunctions' element (``Runtime``, ``Role``, ``Handler``, ``VpcConfig``
  (absent or with empty ``SubnetIds`` = not in a VPC), ``KmsKeyArn`` (absent = AWS managed
  key), ``TracingConfig``, ``Layers``, ...). ``Environment.Variables`` keeps the variable
  NAMES only: every value is replaced by ``"REDACTED"`` before the item exists, so secrets
  in environment variables are never stored (a changed value is therefore not a change).
* ``supplementaryConfiguration.Policy``: the function's resource policy (GetPolicy) parsed
  from JSON (``{"Version", "Id", "Statement": [...]}``), ``None`` when the function has no
  resource policy (``ResourceNotFoundException``). A statement with ``Principal "*"`` (or
  ``{"AWS": "*"}``) and no restricting condition makes the function public.
* ``supplementaryConfiguration.FunctionUrlConfig``: GetFunctionUrlConfig's ``{"FunctionUrl",
  "AuthType": "NONE"|"AWS_IAM", "Cors", ...}``, ``None`` when the function has no URL.
* ``tags``: ListTags.

A supplementary key that is absent means its call failed (see ``collectionErrors``).
No account-level keys. (moto: functions can be created and read, not invoked;
``VpcConfig.VpcId`` is a placeholder.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import FAILED, CollectContext, Collector, Detail, ListFailed, register
from phiwatch.model import ConfigurationItem
from phiwatch.resources.lambda_ import FUNCTION

REDACTED = "REDACTED"


def redact_environment(function: dict[str, Any]) -> dict[str, Any]:
    """The function element with every environment variable value replaced by ``REDACTED``."""
    environment = function.get("Environment")
    if isinstance(environment, dict) and isinstance(environment.get("Variables"), dict):
        function = dict(function)
        function["Environment"] = {**environment, "Variables": {k: REDACTED for k in environment["Variables"]}}
    return function


def function_name(reference: str) -> str:
    """The function name in a name, an ARN, a partial ARN (``123456789012:function:f``) or a qualified one."""
    if ":function:" in reference:
        return reference.split(":function:", 1)[1].split(":", 1)[0]
    return reference.split(":", 1)[0]


def _policy(response: dict[str, Any]) -> Any:
    text = response.get("Policy")
    if not text:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return {"policyText": text}


def _url_config(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "FunctionArn"}


def _function(item: ConfigurationItem) -> dict[str, Any]:
    return {"FunctionName": item.resourceId}


DETAILS = (
    Detail("lambda", "GetPolicy", _function, "supplementaryConfiguration.Policy", _policy, not_found=("ResourceNotFoundException",)),
    Detail(
        "lambda",
        "GetFunctionUrlConfig",
        _function,
        "supplementaryConfiguration.FunctionUrlConfig",
        _url_config,
        not_found=("ResourceNotFoundException",),
    ),
)


@register
class LambdaCollector(Collector):
    name = "lambda"
    resource_types = (FUNCTION,)
    targetable = frozenset({FUNCTION})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(FUNCTION):  # a targeted run for other services' resources
            return
        try:
            functions = [
                redact_environment(f)
                for f in ctx.paginate("lambda", "ListFunctions", "Functions", resource_type=FUNCTION, id_key="FunctionName")
            ]
        except ListFailed:
            return
        wanted = ctx.targets(FUNCTION)
        if wanted is not None:
            # events name a function by name, ARN, partial ARN or qualified ARN: its name is what matches
            names = frozenset(function_name(i) for i in wanted)
            ctx.widen_targets(FUNCTION, names)
            functions = [f for f in functions if f.get("FunctionName") in names]
        yield from ctx.map(lambda f: self._function(ctx, f), functions)
        ctx.mark_complete(FUNCTION)

    def _function(self, ctx: CollectContext, element: dict[str, Any]) -> ConfigurationItem:
        name = element["FunctionName"]
        item = ctx.item(
            FUNCTION,
            name,
            resourceName=name,
            arn=element.get("FunctionArn") or ctx.arn("lambda", f"function:{name}"),
            configuration=element,
        )
        for detail in DETAILS:
            detail.apply(ctx, item)
        tags = ctx.call("lambda", "ListTags", item=item, Resource=item.arn)
        if tags is not FAILED:
            item.tags = dict(tags.get("Tags") or {})
        item.refresh_state_id()
        return item
