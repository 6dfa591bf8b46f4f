"""The Lambda hook: functions are collected from their spec (:mod:`phiwatch.resources.lambda_`, which
describes the item layout) with two irregular parts the generic collector has no field for:

* every environment variable value of a listed function is replaced by ``"REDACTED"`` before its
  item exists (secrets in environment variables are never stored);
* a targeted run names a function by name, ARN, partial ARN or qualified ARN: the targets are
  widened with the function names, which is what is matched (and recorded deleted when gone).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from phiwatch.collect.base import CollectContext, Collector, register
from phiwatch.collect.generic import SpecRun
from phiwatch.model import ConfigurationItem
from phiwatch.resources.lambda_ import FUNCTION, SPEC

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


@register
class LambdaCollector(Collector):
    name = "lambda"
    resource_types = (FUNCTION,)
    targetable = frozenset({FUNCTION})

    def collect(self, ctx: CollectContext) -> Iterator[ConfigurationItem]:
        if not ctx.wants(FUNCTION):  # a targeted run for other services' resources
            return
        wanted = ctx.targets(FUNCTION)
        if wanted is not None:
            # events name a function by name, ARN, partial ARN or qualified ARN: its name is what matches
            ctx.widen_targets(FUNCTION, {function_name(i) for i in wanted})
        run = SpecRun(ctx, SPEC, "lambda")
        functions = run.elements()
        if functions is None:
            return
        for item in ctx.map(lambda f: run.item(redact_environment(f)), functions):
            if item is not None:
                yield item
        ctx.mark_complete(FUNCTION)
