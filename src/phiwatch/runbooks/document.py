"""SSM Automation documents (schemaVersion "0.3"): load, validate, bind parameters.

A phiwatch runbook *is* an SSM Automation document: the files in ``runbooks/documents/`` deploy
unchanged with ``aws ssm create-document --document-type Automation --document-format YAML``,
and :mod:`phiwatch.remediate.executor` runs the same documents itself through boto3 (so they
work wherever boto3 reaches, the emulator included).

What is supported (anything else is refused by :func:`load_document` with a
:class:`RunbookError` naming the step and field, so a document never half-runs):

* top level: ``schemaVersion`` ("0.3"), ``description``, ``assumeRole`` (kept for SSM, ignored
  by phiwatch's executor), ``parameters``, ``mainSteps``, ``outputs`` ("Step.Output" names).
* parameters: ``type`` (String, StringList, Integer, Boolean, MapList, StringMap),
  ``description``, ``default`` (no default = required), ``allowedPattern`` (full match; for a
  StringList, each element), ``allowedValues``, ``minItems``/``maxItems``,
  ``minChars``/``maxChars``, ``displayType``.
* step fields: ``name`` (unique), ``action``, ``inputs``, ``outputs`` (Name, Selector —
  a JSONPath subset: ``$``, ``.key``, ``['key']``, ``[n]``, ``[*]``/``.*`` — and Type),
  ``timeoutSeconds``, ``maxAttempts`` (1..10), ``onFailure`` (Abort | Continue | step:NAME),
  ``onCancel``, ``isEnd``, ``nextStep``, ``isCritical`` (SSM's default: false when onFailure is
  Continue, else true), ``description``.
* actions: ``aws:executeAwsApi``, ``aws:assertAwsResourceProperty``,
  ``aws:waitForAwsResourceProperty`` (Service and Api must exist in botocore's model; API
  parameters must be members of the operation's input, required members present),
  ``aws:branch`` (Choices with Variable and StringEquals, EqualsIgnoreCase, StartsWith,
  EndsWith, Contains, NumericEquals, NumericGreater, NumericLesser, NumericGreaterOrEquals,
  NumericLesserOrEquals, BooleanEquals, or And / Or / Not; NextStep; Default), ``aws:sleep``
  (Duration ``PT#H#M#S`` or Timestamp), and ``aws:executeScript`` restricted to phiwatch's
  vetted handlers (:mod:`phiwatch.runbooks.scripts`: the Handler must be one of them and the
  inline Script exactly its source; Attachment is refused).
* interpolation ``{{ Name }}`` (a declared parameter), ``{{ Step.Output }}`` (an output declared
  by an EARLIER step in mainSteps order) and SSM's ``{{ global:ACCOUNT_ID }}``,
  ``global:REGION``, ``global:AWS_PARTITION``, ``global:AWS_URL_SUFFIX``, ``global:DATE``,
  ``global:DATE_TIME``, ``automation:EXECUTION_ID``, ``automation:DOCUMENT_NAME``.

Service names are boto3's (as in SSM: ``ec2``, ``s3``, ``iam``, ``logs``, ``s3control``...);
Api names are the PascalCase operation names (``PutBucketVersioning``; boto3's snake_case
method names are accepted and normalised).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NoReturn

import botocore.session
from botocore import xform_name

from phiwatch.aws.session import iam_action_for
from phiwatch.errors import UsageError
from phiwatch.runbooks.scripts import SCRIPTS, same_script
from phiwatch.yaml_input import YamlProblem, load_yaml

RUNBOOK_DIR = Path(__file__).parent / "documents"

API_ACTIONS = ("aws:executeAwsApi", "aws:assertAwsResourceProperty", "aws:waitForAwsResourceProperty")
SUPPORTED_ACTIONS = API_ACTIONS + ("aws:branch", "aws:sleep", "aws:executeScript")
TYPES = ("String", "StringList", "Integer", "Boolean", "MapList", "StringMap")
READ_PREFIXES = ("Get", "Describe", "List", "Head")
GLOBALS = (
    "global:ACCOUNT_ID",
    "global:REGION",
    "global:AWS_PARTITION",
    "global:AWS_URL_SUFFIX",
    "global:DATE",
    "global:DATE_TIME",
    "automation:EXECUTION_ID",
    "automation:DOCUMENT_NAME",
)
STRING_OPS = ("StringEquals", "EqualsIgnoreCase", "StartsWith", "EndsWith", "Contains")
NUMERIC_OPS = ("NumericEquals", "NumericGreater", "NumericLesser", "NumericGreaterOrEquals", "NumericLesserOrEquals")
OPERATORS = STRING_OPS + NUMERIC_OPS + ("BooleanEquals",)
PYTHON_RUNTIMES = ("python3.8", "python3.9", "python3.10", "python3.11")

_TOP_KEYS = {"schemaVersion", "description", "assumeRole", "parameters", "mainSteps", "outputs"}
_PARAM_KEYS = {
    "type",
    "description",
    "default",
    "allowedPattern",
    "allowedValues",
    "minItems",
    "maxItems",
    "minChars",
    "maxChars",
    "displayType",
}
_STEP_KEYS = {
    "name",
    "action",
    "inputs",
    "outputs",
    "timeoutSeconds",
    "maxAttempts",
    "onFailure",
    "onCancel",
    "isEnd",
    "nextStep",
    "isCritical",
    "description",
}
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
REF = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
_WHOLE_REF = re.compile(r"^\s*\{\{\s*([^{}\s]+)\s*\}\}\s*$")
_DURATION = re.compile(r"^PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")
MAX_ATTEMPTS = 10

# SSM service names that are not boto3's.
_SERVICE_ALIASES = {"cloudwatchlogs": "logs", "elasticloadbalancingv2": "elbv2", "elasticloadbalancing": "elb", "elasticfilesystem": "efs"}

# API calls that need more IAM actions than their own (the console docs' "also needs").
_EXTRA_IAM_ACTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("ec2", "CreateFlowLogs"): ("iam:PassRole", "logs:CreateLogDelivery", "logs:DeleteLogDelivery"),
}


class RunbookError(UsageError):
    """A runbook that cannot run as given: malformed document, unsupported action, bad or
    missing parameter. The message names the runbook, the step or parameter, and the field."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def is_write_api(api: str) -> bool:
    """Anything that is not Get*/Describe*/List*/Head* counts as a write (never sent in a dry run)."""
    return not api.startswith(READ_PREFIXES)


# ----------------------------------------------------------------------------- JSONPath subset

_PATH_TOKEN = re.compile(r"\.([A-Za-z0-9_@$-]+|\*)|\[(-?\d+|\*)\]|\[\s*'([^']*)'\s*\]|\[\s*\"([^\"]*)\"\s*\]")


def parse_path(text: str) -> tuple[tuple[str, Any], ...]:
    """``$.a.b[0]['c'][*]`` -> (("key","a"), ("key","b"), ("index",0), ("key","c"), ("wild",None))."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise ValueError(f"selector {text!r} must start with '$'")
    tokens: list[tuple[str, Any]] = []
    pos = 1
    while pos < len(text):
        m = _PATH_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"selector {text!r}: cannot read {text[pos:]!r} (supported: .key, ['key'], [n], [*])")
        key, index, quoted1, quoted2 = m.groups()
        if key == "*" or index == "*":
            tokens.append(("wild", None))
        elif key is not None:
            tokens.append(("key", key))
        elif index is not None:
            tokens.append(("index", int(index)))
        else:
            tokens.append(("key", quoted1 if quoted1 is not None else quoted2))
        pos = m.end()
    return tuple(tokens)


def select(data: Any, path: tuple[tuple[str, Any], ...]) -> Any:
    """The value at ``path`` (MISSING when nothing matches); with a wildcard, the list of matches."""
    current = [data]
    for kind, arg in path:
        nxt: list[Any] = []
        for value in current:
            if kind == "key" and isinstance(value, dict) and arg in value:
                nxt.append(value[arg])
            elif kind == "index" and isinstance(value, list) and -len(value) <= arg < len(value):
                nxt.append(value[arg])
            elif kind == "wild":
                if isinstance(value, dict):
                    nxt.extend(value.values())
                elif isinstance(value, list):
                    nxt.extend(value)
        current = nxt
    if any(kind == "wild" for kind, _ in path):
        return current
    return current[0] if current else MISSING


# ----------------------------------------------------------------------------- model


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
                    _fail(where, f"{v!r} is not one of the allowedValues {allowed}")
        if self.allowed_pattern is not None:
            for v in items:
                if re.fullmatch(self.allowed_pattern, v) is None:
                    _fail(where, f"{v!r} does not match allowedPattern {self.allowed_pattern!r}")
        if self.type in ("StringList", "MapList"):
            if self.min_items is not None and len(value) < self.min_items:
                _fail(where, f"needs at least {self.min_items} item(s)")
            if self.max_items is not None and len(value) > self.max_items:
                _fail(where, f"takes at most {self.max_items} item(s)")
        if self.type == "String":
            if self.min_chars is not None and len(value) < self.min_chars:
                _fail(where, f"needs at least {self.min_chars} character(s)")
            if self.max_chars is not None and len(value) > self.max_chars:
                _fail(where, f"takes at most {self.max_chars} character(s)")
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
        if any("global:ACCOUNT_ID" in ref for ref in _refs_in(self.raw.get("mainSteps"))):
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
            _fail(
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
                _fail(where, f"required ({spec.type}) and not given" + (f": {spec.description}" if spec.description else ""))
        return values


# ----------------------------------------------------------------------------- helpers


def _fail(where: str, message: str) -> NoReturn:
    raise RunbookError(f"{where}: {message}")


def coerce_value(value: Any, type_name: str, where: str) -> Any:
    """Convert a value to an SSM type (String, StringList, Integer, Boolean, MapList, StringMap)."""
    if type_name == "String":
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    elif type_name == "StringList":
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except (ValueError, RecursionError):
                    _fail(where, "expects a StringList (a list, or comma-separated text)")
            else:
                value = [p.strip() for p in text.split(",") if p.strip()]
        if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
            return [str(v) for v in value]
    elif type_name == "Integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
            return int(value)
    elif type_name == "Boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
    elif type_name in ("MapList", "StringMap"):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except (ValueError, RecursionError):
                _fail(where, f"expects a {type_name} (JSON text or a structure)")
        if type_name == "StringMap" and isinstance(value, dict):
            return value
        if type_name == "MapList" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return value
    else:
        _fail(where, f"unknown type {type_name!r} (supported: {', '.join(TYPES)})")
    _fail(where, f"expects a {type_name}, got {type(value).__name__} {str(value)[:60]!r}")


def _refs_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return REF.findall(value)
    if isinstance(value, dict):
        return [r for v in value.values() for r in _refs_in(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs_in(v)]
    return []


def _strings_with_paths(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _strings_with_paths(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _strings_with_paths(v, f"{path}[{i}]")]
    return []


@lru_cache(maxsize=1)
def _botocore() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def _services() -> frozenset[str]:
    return frozenset(_botocore().get_available_services())


@cache
def service_model(service: str) -> Any:
    return _botocore().get_service_model(service)


def boto3_service(name: str) -> str | None:
    """SSM's Service name -> boto3's (None when botocore has no such service)."""
    key = str(name).strip().lower()
    key = _SERVICE_ALIASES.get(key, key)
    return key if key in _services() else None


def operation_name(service: str, api: str) -> str | None:
    """The PascalCase operation name for ``api`` (PascalCase or snake_case), None if absent."""
    names = service_model(service).operation_names
    if api in names:
        return api
    by_lower = {n.lower(): n for n in names}
    by_snake = {xform_name(n): n for n in names}
    return by_lower.get(str(api).lower()) or by_snake.get(str(api))


def parse_duration(text: str) -> float | None:
    """ISO 8601 ``PT#H#M#S`` -> seconds (None when not that format)."""
    m = _DURATION.match(str(text).strip())
    if not m or not any(m.groups()):
        return None
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mi * 60 + s


def parse_timestamp(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# ----------------------------------------------------------------------------- loading


def load_document(path_or_text: str | Path | dict, doc_id: str | None = None) -> Document:
    """Parse and validate an SSM Automation document (YAML or JSON text, a file path, or a dict).

    The document id is ``doc_id``, else the file's name without extension, else "inline".
    Raises RunbookError naming the step and field of the first problem found.
    """
    text: str | None = None
    if not isinstance(path_or_text, (str, Path, dict)):
        raise RunbookError(
            f"runbook {doc_id or 'inline'}: document: expected YAML or JSON text, a file or a mapping, got {type(path_or_text).__name__}"
        )
    if isinstance(path_or_text, dict):
        data: Any = path_or_text
        doc_id = doc_id or "inline"
    else:
        path: Path | None = None
        if isinstance(path_or_text, Path):
            path = path_or_text
        elif "\n" not in path_or_text and len(path_or_text) < 1024 and path_or_text.strip()[:1] not in "{[":
            candidate = Path(path_or_text)
            if candidate.suffix.lower() in (".yaml", ".yml", ".json") or candidate.is_file():
                path = candidate
        if path is not None:
            if not path.is_file():
                raise RunbookError(f"runbook file {path} not found")
            text = path.read_text(encoding="utf-8")
            doc_id = doc_id or path.name.rsplit(".", 1)[0]
        else:
            text = str(path_or_text)
            doc_id = doc_id or "inline"
        try:
            data = json.loads(text) if text.lstrip().startswith("{") else load_yaml(text)[0]
        except json.JSONDecodeError as exc:
            raise RunbookError(f"runbook {doc_id}: not valid YAML or JSON (line {exc.lineno}): {exc.msg}") from None
        except YamlProblem as exc:
            field = ".".join(str(p) for p in exc.path)
            raise RunbookError(
                f"runbook {doc_id}: not valid YAML or JSON (line {exc.line or '?'}{', field ' + field if field else ''}): {exc.problem}"
            ) from None
        except RecursionError:
            raise RunbookError(f"runbook {doc_id}: not valid YAML or JSON (line 1): nested too deeply") from None
    try:
        return _Validator(doc_id, data).document()
    except RecursionError:  # a mapping given directly, nested thousands of levels deep
        raise RunbookError(f"runbook {doc_id}: document: nested too deeply") from None


class _Validator:
    def __init__(self, doc_id: str, data: Any) -> None:
        self.id = doc_id
        self.data = data

    def fail(self, where: str, message: str) -> NoReturn:
        _fail(f"runbook {self.id}: {where}", message)

    def document(self) -> Document:
        data = self.data
        if not isinstance(data, dict):
            self.fail("document", "must be a mapping with schemaVersion, parameters and mainSteps")
        unknown = sorted(set(data) - _TOP_KEYS, key=str)
        if unknown:
            extra = " (attachments are not supported)" if "files" in unknown else ""
            self.fail(f"field '{unknown[0]}'", f"not a supported top-level field{extra}")
        version = data.get("schemaVersion")
        if str(version) != "0.3":
            self.fail("field 'schemaVersion'", f'must be "0.3" (Automation), got {version!r}')
        description = data.get("description", "")
        if not isinstance(description, str):
            self.fail("field 'description'", "must be text")
        params = self.parameters(data.get("parameters") or {})
        raw_steps = data.get("mainSteps")
        if not isinstance(raw_steps, list) or not raw_steps:
            self.fail("field 'mainSteps'", "must be a non-empty list of steps")
        steps = [self.step_fields(i, s) for i, s in enumerate(raw_steps)]
        names = [s.name for s in steps]
        for name in names:
            if names.count(name) > 1:
                self.fail(f"step '{name}' field 'name'", "is not unique")
        available: set[str] = set()
        for step, raw in zip(steps, raw_steps):
            self.step_inputs(step, names)
            self.step_refs(step, raw, params, available)
            available.update(f"{step.name}.{o.name}" for o in step.outputs)
        self.no_endless_loop(steps)
        assume_role = data.get("assumeRole")
        if assume_role is not None:
            if not isinstance(assume_role, str):
                self.fail("field 'assumeRole'", "must be text")
            for ref in REF.findall(assume_role):
                if ref not in params:
                    self.fail("field 'assumeRole'", f"{{{{ {ref} }}}} is not a declared parameter")
        outputs = data.get("outputs") or []
        if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
            self.fail("field 'outputs'", "must be a list of 'Step.Output' names")
        for out in outputs:
            if out not in available:
                self.fail("field 'outputs'", f"{out!r} is not an output of any step")
        return Document(
            id=self.id, description=description, parameters=params, steps=steps, raw=data, assume_role=assume_role, outputs=list(outputs)
        )

    def no_endless_loop(self, steps: list[Step]) -> None:
        """Refuse steps that lead back to themselves with no branch or end on the way (the run would
        repeat their API calls until the executor's step limit)."""
        index = {s.name: i for i, s in enumerate(steps)}
        for start in range(len(steps)):
            seen = {start}
            i = start
            while not (steps[i].is_end or steps[i].action == "aws:branch"):
                next_name = steps[i].next_step
                nxt = index[next_name] if next_name else i + 1
                if nxt >= len(steps):
                    break
                if nxt in seen:
                    if nxt == start:
                        self.fail(
                            f"step '{steps[start].name}' field 'nextStep'",
                            "the steps after it lead back to it with no aws:branch or isEnd: an endless loop",
                        )
                    break
                seen.add(nxt)
                i = nxt

    def parameters(self, raw: Any) -> dict[str, ParamSpec]:
        if not isinstance(raw, dict):
            self.fail("field 'parameters'", "must be a mapping of parameter name to definition")
        out: dict[str, ParamSpec] = {}
        for name, spec in raw.items():
            where = f"parameter '{name}'"
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_]{1,128}", name):
                self.fail(where, "name must be letters, digits or '_'")
            if not isinstance(spec, dict):
                self.fail(where, "definition must be a mapping with at least 'type'")
            unknown = sorted(set(spec) - _PARAM_KEYS, key=str)
            if unknown:
                self.fail(f"{where} field '{unknown[0]}'", "not a supported parameter field")
            type_name = spec.get("type")
            if type_name not in TYPES:
                self.fail(f"{where} field 'type'", f"{type_name!r} is not supported (use one of {', '.join(TYPES)})")
            pattern = spec.get("allowedPattern")
            if pattern is not None:
                if type_name not in ("String", "StringList"):
                    self.fail(f"{where} field 'allowedPattern'", "applies to String and StringList only")
                try:
                    re.compile(pattern)
                except (re.error, TypeError) as exc:
                    self.fail(f"{where} field 'allowedPattern'", f"not a valid regular expression: {exc}")
            allowed = spec.get("allowedValues")
            if allowed is not None and (not isinstance(allowed, list) or not allowed):
                self.fail(f"{where} field 'allowedValues'", "must be a non-empty list")
            for key in ("minItems", "maxItems", "minChars", "maxChars"):
                if key in spec and (not isinstance(spec[key], int) or isinstance(spec[key], bool) or spec[key] < 0):
                    self.fail(f"{where} field '{key}'", "must be a non-negative integer")
            p = ParamSpec(
                name=name,
                type=type_name,
                description=str(spec.get("description") or ""),
                allowed_pattern=pattern,
                allowed_values=allowed,
                min_items=spec.get("minItems"),
                max_items=spec.get("maxItems"),
                min_chars=spec.get("minChars"),
                max_chars=spec.get("maxChars"),
            )
            if "default" in spec:
                p.default = p.check(spec["default"], f"runbook {self.id}: {where} field 'default'")
                p.has_default = True
            out[name] = p
        return out

    def step_fields(self, index: int, raw: Any) -> Step:
        if not isinstance(raw, dict):
            self.fail(f"mainSteps[{index}]", "must be a mapping with name, action and inputs")
        name = raw.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            self.fail(f"mainSteps[{index}] field 'name'", "must be 1-128 letters, digits, '_' or '-'")
        where = f"step '{name}'"
        unknown = sorted(set(raw) - _STEP_KEYS, key=str)
        if unknown:
            self.fail(f"{where} field '{unknown[0]}'", "not a supported step field")
        action = raw.get("action")
        if action not in SUPPORTED_ACTIONS:
            self.fail(f"{where} field 'action'", f"{action!r} is not supported by phiwatch (supported: {', '.join(SUPPORTED_ACTIONS)})")
        inputs = raw.get("inputs")
        if not isinstance(inputs, dict):
            self.fail(f"{where} field 'inputs'", "must be a mapping")
        timeout = raw.get("timeoutSeconds")
        if timeout is not None and (
            not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout < float("inf")
        ):  # NaN and infinity too
            self.fail(f"{where} field 'timeoutSeconds'", "must be a positive number of seconds")
        attempts = raw.get("maxAttempts", 1)
        if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= MAX_ATTEMPTS:
            self.fail(f"{where} field 'maxAttempts'", f"must be an integer from 1 to {MAX_ATTEMPTS}")
        on_failure = raw.get("onFailure", "Abort")
        if not isinstance(on_failure, str) or not (on_failure in ("Abort", "Continue") or on_failure.startswith("step:")):
            self.fail(f"{where} field 'onFailure'", "must be Abort, Continue or step:<step name>")
        on_cancel = raw.get("onCancel", "Abort")
        if not isinstance(on_cancel, str) or not (on_cancel == "Abort" or on_cancel.startswith("step:")):
            self.fail(f"{where} field 'onCancel'", "must be Abort or step:<step name>")
        for key in ("isEnd", "isCritical"):
            if key in raw and not isinstance(raw[key], bool):
                self.fail(f"{where} field '{key}'", "must be true or false")
        next_step = raw.get("nextStep")
        if next_step is not None and not isinstance(next_step, str):
            self.fail(f"{where} field 'nextStep'", "must be a step name")
        description = raw.get("description")
        if description is not None and not isinstance(description, str):
            self.fail(f"{where} field 'description'", "must be text")
        critical = raw.get("isCritical", on_failure != "Continue")
        outputs = self.outputs(where, action, raw.get("outputs"))
        return Step(
            name=name,
            action=action,
            inputs=inputs,
            outputs=outputs,
            timeout_seconds=timeout,
            max_attempts=attempts,
            on_failure=on_failure,
            on_cancel=on_cancel,
            is_end=bool(raw.get("isEnd", False)),
            next_step=next_step,
            is_critical=critical,
            description=description or "",
        )

    def outputs(self, where: str, action: str, raw: Any) -> list[Output]:
        if raw is None:
            return []
        if action not in ("aws:executeAwsApi", "aws:executeScript"):
            self.fail(f"{where} field 'outputs'", f"{action} steps have no outputs")
        if not isinstance(raw, list):
            self.fail(f"{where} field 'outputs'", "must be a list of {Name, Selector, Type}")
        out: list[Output] = []
        for i, o in enumerate(raw):
            if not isinstance(o, dict) or not isinstance(o.get("Name"), str) or not isinstance(o.get("Selector"), str):
                self.fail(f"{where} field 'outputs[{i}]'", "needs Name and Selector")
            unknown = sorted(set(o) - {"Name", "Selector", "Type"}, key=str)
            if unknown:
                self.fail(f"{where} field 'outputs[{i}].{unknown[0]}'", "not a supported output field")
            if not re.fullmatch(r"[A-Za-z0-9_]+", o["Name"]):
                self.fail(f"{where} field 'outputs[{i}].Name'", "must be letters, digits or '_'")
            type_name = o.get("Type", "String")
            if type_name not in TYPES:
                self.fail(f"{where} field 'outputs[{i}].Type'", f"{type_name!r} is not one of {', '.join(TYPES)}")
            try:
                path = parse_path(o["Selector"])
            except ValueError as exc:
                self.fail(f"{where} field 'outputs[{i}].Selector'", str(exc))
            if action == "aws:executeScript" and (not path or path[0] != ("key", "Payload")):
                self.fail(f"{where} field 'outputs[{i}].Selector'", "a script's outputs select from $.Payload")
            if any(x.name == o["Name"] for x in out):
                self.fail(f"{where} field 'outputs[{i}].Name'", f"{o['Name']!r} is declared twice")
            out.append(Output(o["Name"], o["Selector"], type_name, path))
        return out

    def target(self, where: str, name: Any, names: list[str]) -> None:
        if not isinstance(name, str) or name not in names:
            self.fail(where, f"{name!r} is not a step of this runbook")

    def step_inputs(self, step: Step, names: list[str]) -> None:
        where = f"step '{step.name}'"
        if step.next_step is not None:
            self.target(f"{where} field 'nextStep'", step.next_step, names)
        if step.failure_target is not None:
            self.target(f"{where} field 'onFailure'", step.failure_target, names)
        if step.on_cancel.startswith("step:"):  # was never checked: a typo'd target passed
            self.target(f"{where} field 'onCancel'", step.on_cancel[5:], names)
        if step.action in API_ACTIONS:
            self.api_inputs(step, where)
        elif step.action == "aws:branch":
            self.branch_inputs(step, where, names)
        elif step.action == "aws:sleep":
            self.sleep_inputs(step, where)
        elif step.action == "aws:executeScript":
            self.script_inputs(step, where)

    def api_inputs(self, step: Step, where: str) -> None:
        inputs = step.inputs
        for key in ("Service", "Api"):
            if not isinstance(inputs.get(key), str) or not inputs[key]:
                self.fail(f"{where} field 'inputs.{key}'", "is required")
            if REF.search(inputs[key]):
                self.fail(f"{where} field 'inputs.{key}'", "cannot be interpolated")
        service = boto3_service(inputs["Service"])
        if service is None:
            self.fail(f"{where} field 'inputs.Service'", f"{inputs['Service']!r} is not an AWS service botocore knows")
        api = operation_name(service, inputs["Api"])
        if api is None:
            self.fail(f"{where} field 'inputs.Api'", f"{service} has no API {inputs['Api']!r}")
        step.service, step.api = service, api
        if step.action != "aws:executeAwsApi":
            selector = inputs.get("PropertySelector")
            if not isinstance(selector, str):
                self.fail(f"{where} field 'inputs.PropertySelector'", "is required (a JSONPath such as $.Status)")
            try:
                parse_path(selector)
            except ValueError as exc:
                self.fail(f"{where} field 'inputs.PropertySelector'", str(exc))
            desired = inputs.get("DesiredValues")
            if not isinstance(desired, list) or not desired or not all(isinstance(v, (str, int, float, bool)) for v in desired):
                self.fail(f"{where} field 'inputs.DesiredValues'", "must be a non-empty list of values")
            if step.action == "aws:assertAwsResourceProperty" and is_write_api(api):
                self.fail(f"{where} field 'inputs.Api'", f"an assertion must read (Get/Describe/List/Head), not {api}")
            if step.action == "aws:waitForAwsResourceProperty" and is_write_api(api):
                self.fail(f"{where} field 'inputs.Api'", f"a wait must read (Get/Describe/List/Head), not {api}")
        shape = service_model(service).operation_model(api).input_shape
        members = dict(shape.members) if shape is not None else {}
        for key in step.api_params:
            if key not in members:
                self.fail(f"{where} field 'inputs.{key}'", f"not a parameter of {service}:{api}")
        for key in shape.required_members if shape is not None else []:
            if key not in step.api_params:
                self.fail(f"{where} field 'inputs.{key}'", f"required by {service}:{api} and missing")

    def branch_inputs(self, step: Step, where: str, names: list[str]) -> None:
        unknown = sorted(set(step.inputs) - {"Choices", "Default"}, key=str)
        if unknown:
            self.fail(f"{where} field 'inputs.{unknown[0]}'", "aws:branch takes Choices and Default")
        choices = step.inputs.get("Choices")
        if not isinstance(choices, list) or not choices:
            self.fail(f"{where} field 'inputs.Choices'", "must be a non-empty list")
        for i, choice in enumerate(choices):
            self.choice(choice, f"{where} field 'inputs.Choices[{i}]", names, top=True)
        if "Default" in step.inputs:
            self.target(f"{where} field 'inputs.Default'", step.inputs["Default"], names)

    def choice(self, choice: Any, where: str, names: list[str], top: bool) -> None:
        if not isinstance(choice, dict):
            self.fail(where + "'", "must be a mapping")
        keys = set(choice)
        ops = keys & set(OPERATORS + ("And", "Or", "Not"))
        if len(ops) != 1:
            self.fail(where + "'", f"needs exactly one operator ({', '.join(OPERATORS)}, And, Or, Not)")
        op = ops.pop()
        allowed = {op} | ({"NextStep"} if top else set()) | ({"Variable"} if op in OPERATORS else set())
        extra = sorted(keys - allowed, key=str)
        if extra:
            self.fail(f"{where}.{extra[0]}'", "not allowed here")
        if top:
            self.target(f"{where}.NextStep'", choice.get("NextStep"), names)
        if op in ("And", "Or"):
            subs = choice[op]
            if not isinstance(subs, list) or not subs:
                self.fail(f"{where}.{op}'", "must be a non-empty list of conditions")
            for i, sub in enumerate(subs):
                self.choice(sub, f"{where}.{op}[{i}]", names, top=False)
            return
        if op == "Not":
            self.choice(choice[op], f"{where}.Not", names, top=False)
            return
        variable = choice.get("Variable")
        if not isinstance(variable, str) or not _WHOLE_REF.match(variable):
            self.fail(f"{where}.Variable'", "must be one {{ Parameter }} or {{ Step.Output }} reference")
        value = choice[op]
        interpolated = isinstance(value, str) and REF.search(value)
        if op in NUMERIC_OPS and not interpolated and (not isinstance(value, (int, float)) or isinstance(value, bool)):
            self.fail(f"{where}.{op}'", "must be a number")
        if op == "BooleanEquals" and not interpolated and not isinstance(value, bool):
            self.fail(f"{where}.{op}'", "must be true or false")
        if op in STRING_OPS and not isinstance(value, (str, int, float)):
            self.fail(f"{where}.{op}'", "must be text")

    def sleep_inputs(self, step: Step, where: str) -> None:
        keys = set(step.inputs)
        if len(keys & {"Duration", "Timestamp"}) != 1 or keys - {"Duration", "Timestamp"}:
            self.fail(f"{where} field 'inputs'", "aws:sleep takes exactly one of Duration (PT#S) or Timestamp")
        if "Duration" in keys:
            value = step.inputs["Duration"]
            if not (isinstance(value, str) and (REF.search(value) or parse_duration(value) is not None)):
                self.fail(f"{where} field 'inputs.Duration'", f"{value!r} is not an ISO 8601 duration such as PT30S")
        else:
            value = step.inputs["Timestamp"]
            if not (isinstance(value, str) and (REF.search(value) or parse_timestamp(value) is not None)):
                self.fail(f"{where} field 'inputs.Timestamp'", f"{value!r} is not an ISO 8601 timestamp")

    def script_inputs(self, step: Step, where: str) -> None:
        inputs = step.inputs
        unknown = sorted(set(inputs) - {"Runtime", "Handler", "Script", "InputPayload"}, key=str)
        if unknown:
            hint = " (attachments are not supported)" if unknown[0] == "Attachment" else ""
            self.fail(f"{where} field 'inputs.{unknown[0]}'", f"not supported by phiwatch{hint}")
        if inputs.get("Runtime") not in PYTHON_RUNTIMES:
            self.fail(f"{where} field 'inputs.Runtime'", f"must be one of {', '.join(PYTHON_RUNTIMES)}")
        handler = inputs.get("Handler")
        if not isinstance(handler, str) or handler not in SCRIPTS:  # a list or mapping is unhashable
            self.fail(
                f"{where} field 'inputs.Handler'", f"{handler!r} is not a vetted phiwatch script (phiwatch runs only: {', '.join(SCRIPTS)})"
            )
        script = inputs.get("Script")
        if not isinstance(script, str) or not same_script(script, handler):
            self.fail(
                f"{where} field 'inputs.Script'",
                f"must be exactly the source of phiwatch's {handler} "
                f"(phiwatch.runbooks.scripts.script_source({handler!r})); phiwatch never runs other script text",
            )
        payload = inputs.get("InputPayload", {})
        if not isinstance(payload, dict):
            self.fail(f"{where} field 'inputs.InputPayload'", "must be a mapping")

    def step_refs(self, step: Step, raw: dict, params: dict[str, ParamSpec], available: set[str]) -> None:
        where = f"step '{step.name}'"
        inputs = dict(step.inputs)
        if step.action == "aws:executeScript":
            inputs.pop("Script", None)  # Python source: braces there are not interpolations
        for path, text in _strings_with_paths(inputs, "inputs"):
            for ref in REF.findall(text):
                if ref in params or ref in available or ref in GLOBALS:
                    continue
                if "." in ref:
                    step_name = ref.split(".", 1)[0]
                    hint = "is not an output of an earlier step"
                    if step_name == step.name:
                        hint = "is this step's own output"
                    self.fail(f"{where} field '{path}'", f"{{{{ {ref} }}}} {hint}")
                self.fail(f"{where} field '{path}'", f"{{{{ {ref} }}}} is not a declared parameter")


# ----------------------------------------------------------------------------- built-ins


@cache
def _builtin(runbook_id: str) -> Document:
    return load_document(RUNBOOK_DIR / f"{runbook_id}.yaml", doc_id=runbook_id)


def builtin_ids() -> list[str]:
    """Ids of the built-in runbooks (``runbooks/documents/<id>.yaml``)."""
    return sorted(p.name[: -len(".yaml")] for p in RUNBOOK_DIR.glob("*.yaml"))


def builtin(runbook_id: str) -> Document:
    """A built-in runbook, validated (RunbookError when unknown)."""
    if runbook_id not in builtin_ids():
        raise RunbookError(f"unknown runbook {runbook_id!r}: built-in runbooks are {', '.join(builtin_ids())}")
    return _builtin(runbook_id)
