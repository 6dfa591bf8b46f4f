"""The values of a runbook run: ``{{ }}`` references, their interpolation and coercion.

:class:`RunValues` holds what a reference resolves to (bound parameters, step outputs, the
``global:``/``automation:`` variables, and in a dry run the outputs only a planned step would
produce, as :class:`Unknown`) and interpolates inputs with them. ``{{ X }}`` as a whole string
keeps X's type (lists, maps, integers, booleans); inside a larger string it is formatted (text
as is, anything else as JSON). A reference whose selector matched nothing has no value: using
it as an input fails the step.

The conversions: :func:`as_text` (how SSM shows a value as text), :func:`convert_output` (an
output to its declared Type), :func:`fit_to_shape` (API parameters to the botocore input shape:
"14" -> 14 for an integer member, "true" -> True ...) and :func:`matches` (assertions compare
text: booleans as True/False, case-insensitive; a list passes when it is non-empty and every
element is desired).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from phiwatch.aws.session import AwsContext
from phiwatch.model import GLOBAL_REGION
from phiwatch.remediate.execution import PlanStops, StepFailure
from phiwatch.runbooks.document import _WHOLE_REF, MISSING, REF, Document, RunbookError, coerce_value


class Unknown:
    """Dry run: the value of a planned step's output."""

    def __init__(self, ref: str) -> None:
        self.ref = ref


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def convert_output(value: Any, type_name: str, where: str) -> Any:
    """An output value converted to its declared Type (SSM converts where it can)."""
    if type_name == "String" and not isinstance(value, str):
        return as_text(value)
    if type_name == "StringList" and isinstance(value, list):
        return [as_text(v) for v in value]
    if type_name == "StringList" and not isinstance(value, (dict, list)):
        return [as_text(value)]
    try:
        return coerce_value(value, type_name, where)
    except RunbookError as exc:
        raise StepFailure(str(exc), retry=False) from None


def fit_to_shape(value: Any, shape: Any) -> Any:
    """Interpolated values fitted to botocore's input shape (text <-> numbers and booleans)."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: fit_to_shape(v, shape.members.get(k)) if k in shape.members else v for k, v in value.items()}
    if kind == "list":
        if isinstance(value, list):
            return [fit_to_shape(v, shape.member) for v in value]
        return value
    if kind == "map" and isinstance(value, dict):
        return {k: fit_to_shape(v, shape.value) for k, v in value.items()}
    if kind == "string" and not isinstance(value, str) and isinstance(value, (bool, int, float, list, dict)):
        return ("true" if value else "false") if isinstance(value, bool) else as_text(value)
    if kind in ("integer", "long") and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if kind in ("double", "float") and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def matches(value: Any, desired: list[str]) -> bool:
    """An asserted property has one of the desired values (compared as text)."""
    if isinstance(value, list):
        return bool(value) and all(matches(v, desired) for v in value)
    text = as_text(value)
    if isinstance(value, bool):
        return text.lower() in [d.lower() for d in desired]
    return text in desired


class RunValues:
    """What a run's references resolve to: ``known`` (parameters and step outputs by
    ``Step.Output``), ``unknown`` (dry run: outputs of planned steps) and the globals."""

    def __init__(self, doc: Document, params: dict, aws: AwsContext, region: str, execution_id: str) -> None:
        self.doc, self.aws, self.region, self.execution_id = doc, aws, region, execution_id
        self.known: dict[str, Any] = dict(params)
        self.unknown: set[str] = set()  # dry run: outputs of planned steps
        self._globals: dict[str, Any] = {}

    def global_value(self, name: str) -> Any:
        if name not in self._globals:
            now = dt.datetime.now(dt.UTC)
            if name == "global:ACCOUNT_ID":
                value: Any = self.aws.account_id()
            elif name == "global:REGION":
                value = self.region if self.region != GLOBAL_REGION else self.aws.default_region
            elif name == "global:AWS_PARTITION":
                value = self.partition()
            elif name == "global:AWS_URL_SUFFIX":
                value = "amazonaws.com.cn" if self.partition() == "aws-cn" else "amazonaws.com"
            elif name == "global:DATE":
                value = now.strftime("%Y-%m-%d")
            elif name == "global:DATE_TIME":
                value = now.strftime("%Y-%m-%d_%H.%M.%S")
            elif name == "automation:EXECUTION_ID":
                value = self.execution_id
            else:  # automation:DOCUMENT_NAME
                value = self.doc.id
            self._globals[name] = value
        return self._globals[name]

    def partition(self) -> str:
        region = self.region if self.region != GLOBAL_REGION else self.aws.default_region
        try:
            return self.aws.session.get_partition_for_region(region)
        except Exception:  # noqa: BLE001 - unknown region: the commercial partition
            return "aws"

    def lookup(self, ref: str) -> Any:
        """A reference's value: MISSING when a selector matched nothing, Unknown in a plan."""
        if ref in self.unknown:
            return Unknown(ref)
        if ref.startswith(("global:", "automation:")):
            return self.global_value(ref)
        return self.known.get(ref, MISSING)

    def interpolate(self, value: Any, lenient: bool = False) -> Any:
        """``{{ X }}`` replaced. Unknown (planned) values stay as the literal reference when
        ``lenient`` (a plan), else they stop the plan."""
        if isinstance(value, dict):
            return {k: self.interpolate(v, lenient) for k, v in value.items()}
        if isinstance(value, list):
            return [self.interpolate(v, lenient) for v in value]
        if not isinstance(value, str) or "{{" not in value:
            return value
        whole = _WHOLE_REF.match(value)
        if whole:
            return self._resolved(whole.group(1), lenient, value)

        def repl(m: Any) -> str:
            v = self._resolved(m.group(1), lenient, m.group(0))
            return v if isinstance(v, str) else as_text(v)

        return REF.sub(repl, value)

    def _resolved(self, ref: str, lenient: bool, literal: str) -> Any:
        v = self.lookup(ref)
        if isinstance(v, Unknown):
            if lenient:
                return literal
            raise PlanStops(f"needs {{{{ {ref} }}}}, known only after the planned change")
        if v is MISSING:
            raise StepFailure(f"{{{{ {ref} }}}} has no value (its selector matched nothing)", retry=False)
        return v
