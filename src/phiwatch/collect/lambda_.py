"""The Lambda hook: functions are collected from their spec (:mod:`phiwatch.resources.lambda_`, which
describes the item layout and redacts environment variable values) with one irregular part the
generic collector has no field for: a targeted run names a function by name, ARN, partial ARN or
qualified ARN, so the targets are widened with the function names, which is what is matched (and
recorded deleted when gone).
"""

from __future__ import annotations

from collections.abc import Iterator

from phiwatch.collect.base import CollectContext, Collector, register
from phiwatch.collect.generic import collect_spec
from phiwatch.model import ConfigurationItem
from phiwatch.resources.lambda_ import FUNCTION, SPEC


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
        wanted = ctx.targets(FUNCTION)
        if wanted is not None and ctx.wants(FUNCTION):
            # events name a function by name, ARN, partial ARN or qualified ARN: its name is what matches
            ctx.widen_targets(FUNCTION, {function_name(i) for i in wanted})
        yield from collect_spec(ctx, SPEC, "lambda")
