"""The runbook document model: :class:`Document` (its steps, the IAM actions it needs, binding
parameter values), :class:`Step`, :class:`Output` and :class:`ParamSpec`.

Documents are built by :func:`phiwatch.runbooks.validate.load_document`, which checks them first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from phiwatch.aws.session import iam_action_for
from phiwatch.runbooks.botocore_model import is_write_api
from phiwatch.runbooks.errors import fail
from phiwatch.runbooks.scripts import SCRIPTS
from phiwatch.runbooks.syntax import API_ACTIONS, refs_in
from phiwatch.runbooks.values import coerce_value

# API calls that need more IAM actions than their own (the console docs' "also needs").
_EXTRA_IAM_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("ec2", "CreateFlowLogs"): ("iam:PassRole", "logs:CreateLogDelivery", "logs:DeleteLogDelivery"),
}


@dataclass
class ParamSpec:
    """A declared parameter. ``has_default`` False means required."""

    name: str
    type: str
    description: str = ""
    default: Any = None
    has_default: bool = False
    allowed_pattern: str | None = None
    allowed_values: list[Any] | None = None
    min_items: int | None = None
    max_items: int | None = None
    min_chars: int | None = None
    max_chars: int | None = None

    @property
    def required(self) -> bool:
        return not self.has_default

    def check(self, value: Any, where: str) -> Any:
        """``value`` converted to this parameter's type; RunbookError (prefixed ``where``) if it does not fit."""
        value = coerce_value(value, self.type, where)
        items = value if self.type == "StringList" else [value] if self.type == "String" else []
        if self.allowed_values is not None and self.type in ("String", "StringList", "Integer"):
            allowed = [str(v) for v in self.allowed_values]
            for v in items if self.type != "Integer" else [value]:
                if str(v) not in allowed:
                    fail(where, f"{v!r} is not one of the allowedValues {allowed}")
        if self.allowed_pattern is not None:
            for v in items:
                if re.fullmatch(self.allowed_pattern, v) is None:
                    fail(where, f"{v!r} does not match allowedPattern {self.allowed_pattern!r}")
        if self.type in ("StringList", "MapList"):
            if self.min_items is not None and len(value) < self.min_items:
                fail(where, f"needs at least {self.min_items} item(s)")
            if self.max_items is not None and len(value) > self.max_items:
                fail(where, f"takes at most {self.max_items} item(s)")
        if self.type == "String":
            if self.min_chars is not None and len(value) < self.min_chars:
                fail(where, f"needs at least {self.min_chars} character(s)")
            if self.max_chars is not None and len(value) > self.max_chars:
                fail(where, f"takes at most {self.max_chars} character(s)")
        return value


@dataclass
class Output:
    name: str
    selector: str
    type: str = "String"
    path: tuple[tuple[str, Any], ...] = ()


@dataclass
class Step:
    """One mainSteps entry; ``service``/``api`` are set for the API actions (boto3 name, PascalCase)."""

    name: str
    action: str
    inputs: dict[str, Any]
    outputs: list[Output] = field(default_factory=list)
    timeout_seconds: float | None = None
    max_attempts: int = 1
    on_failure: str = "Abort"
    on_cancel: str = "Abort"
    is_end: bool = False
    next_step: str | None = None
    is_critical: bool = True
    description: str = ""
    service: str | None = None
    api: str | None = None

    @property
    def api_params(self) -> dict[str, Any]:
        """The API parameters of an API action (inputs without Service/Api/PropertySelector/DesiredValues)."""
        skip = {"Service", "Api", "PropertySelector", "DesiredValues"}
        return {k: v for k, v in self.inputs.items() if k not in skip}

    @property
    def failure_target(self) -> str | None:
        return self.on_failure[5:] if self.on_failure.startswith("step:") else None

    @property
    def writes(self) -> bool:
        return self.action == "aws:executeAwsApi" and self.api is not None and is_write_api(self.api)


@dataclass
class Document:
    id: str
    description: str
    parameters: dict[str, ParamSpec]
    steps: list[Step]
    raw: dict
    assume_role: str | None = None
    outputs: list[str] = field(default_factory=list)

    def step(self, name: str) -> Step:
        return self.steps[self.index(name)]

    def index(self, name: str) -> int:
        for i, s in enumerate(self.steps):
            if s.name == name:
                return i
        raise KeyError(name)

    def api_calls(self) -> list[tuple[str, str]]:
        """Every (boto3 service, Api) the runbook may call, scripts' declared reads included."""
        calls: list[tuple[str, str]] = []
        for s in self.steps:
            if s.action in API_ACTIONS and s.service and s.api:
                calls.append((s.service, s.api))
            elif s.action == "aws:executeScript":
                calls.extend(SCRIPTS[s.inputs["Handler"]].api_calls)
        return list(dict.fromkeys(calls))

    def iam_actions(self) -> list[str]:
        """Every IAM action the runbook's API calls need (sorted, unique)."""
        actions: set[str] = set()
        for service, api in self.api_calls():
            actions.add(iam_action_for(service, api))
            actions.update(_EXTRA_IAM_ACTIONS.get((service, api), ()))
        if any("global:ACCOUNT_ID" in ref for ref in refs_in(self.raw.get("mainSteps"))):
            actions.add("sts:GetCallerIdentity")
        return sorted(actions)

    def match_parameters(self, candidates: dict[str, Any] | None) -> dict[str, Any]:
        """The candidates (e.g. a rule's parameters) whose names match a declared parameter
        ignoring case (``maxAccessKeyAge`` -> ``MaxAccessKeyAge``), None values dropped; the
        others are ignored. Values are not checked here: :meth:`bind` does that."""
        declared = {name.lower(): name for name in self.parameters}
        return {
            declared[key.lower()]: value
            for key, value in (candidates or {}).items()
            if isinstance(key, str) and key.lower() in declared and value is not None
        }

    def bind(self, parameters: dict[str, Any] | None) -> dict[str, Any]:
        """Validated parameter values with defaults filled in (RunbookError naming the parameter)."""
        parameters = dict(parameters or {})
        unknown = sorted(set(parameters) - set(self.parameters))
        if unknown:
            fail(
                f"runbook {self.id}: parameter '{unknown[0]}'",
                f"not declared by the runbook (it takes: {', '.join(self.parameters) or 'none'})",
            )
        values: dict[str, Any] = {}
        for name, spec in self.parameters.items():
            where = f"runbook {self.id}: parameter '{name}'"
            if name in parameters and parameters[name] is not None:
                values[name] = spec.check(parameters[name], where)
            elif spec.has_default:
                values[name] = spec.default
            else:
                fail(where, f"required ({spec.type}) and not given" + (f": {spec.description}" if spec.description else ""))
        return values
