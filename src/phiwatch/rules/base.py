"""Rules: metadata from pack files, evaluation functions from a registry.

A built-in rule is one function registered with :func:`rule` plus its entry in a pack file
(``packs/<pack>.yaml``) that carries AWS's id, resource types, trigger, parameters with
defaults, HIPAA sections (with their source), severity and remediation runbook. A custom
rule may carry that metadata in the decorator instead.

A rule function is pure: ``fn(item, params, ctx) -> Result``. It never calls AWS. It
declares what it reads (``reads``: item path -> the API that fills it); when a path is
missing because that API failed, the engine reports INSUFFICIENT_DATA naming the API and
the IAM action, without calling the function. When a path is missing for any other reason
(the service was not collected, or the account item of another region), the rule does not
apply to that item and nothing is reported.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from phiwatch.model import Compliance, ConfigurationItem

_MISSING = object()


@dataclass
class Result:
    compliance: Compliance
    annotation: str


def compliant(annotation: str = "") -> Result:
    return Result(Compliance.COMPLIANT, annotation)


def non_compliant(annotation: str) -> Result:
    return Result(Compliance.NON_COMPLIANT, annotation)


def not_applicable(annotation: str = "") -> Result:
    return Result(Compliance.NOT_APPLICABLE, annotation)


def insufficient(annotation: str) -> Result:
    return Result(Compliance.INSUFFICIENT_DATA, annotation)


def get(item: ConfigurationItem | dict[str, Any], path: str, default: Any = None) -> Any:
    """Value at a dotted path of an item (``supplementaryConfiguration.BucketPolicy.policyText``)."""
    value = _lookup(item, path)
    return default if value is _MISSING else value


def has(item: ConfigurationItem | dict[str, Any], path: str) -> bool:
    return _lookup(item, path) is not _MISSING


def csv_list(value: Any) -> list[str]:
    """A comma-separated rule parameter as a list of its non-empty, stripped parts."""
    if not value:
        return []
    return [v.strip() for v in str(value).split(",") if v.strip()]


def as_list(value: Any) -> list[Any]:
    """A policy field that is one value or a list of them (``Action``, ``Resource``...), as a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def principal_is_everyone(principal: Any) -> bool:
    """A resource policy ``Principal`` of ``"*"`` or ``{"AWS": "*"}``."""
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))


def _lookup(item: Any, path: str) -> Any:
    current: Any = item
    for part in path.split("."):
        if isinstance(current, ConfigurationItem):
            current = getattr(current, part, _MISSING)
        elif isinstance(current, dict):
            current = current.get(part, _MISSING)
        else:
            return _MISSING
        if current is _MISSING:
            return _MISSING
    return current


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # int | bool | str | float
    default: Any = None
    description: str = ""
    #: AWS Config does not deploy the rule without it (and it has no default): neither does phiwatch
    required: bool = False

    def coerce(self, value: Any) -> Any:
        """Validate ``value`` for this parameter's type; raise ValueError with a readable reason."""
        if value is None:
            return None
        if self.type == "int":
            if isinstance(value, bool):
                raise ValueError(f"expected an integer, got {value!r}")
            if isinstance(value, int):
                return value
            if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value):  # not "--5" or "²"
                return int(value)
            raise ValueError(f"expected an integer, got {value!r}")
        if self.type == "float":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str) and re.fullmatch(r"\s*-?([0-9]+\.?[0-9]*|\.[0-9]+)\s*", value):
                return float(value)
            raise ValueError(f"expected a number, got {value!r}")
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise ValueError(f"expected true or false, got {value!r}")
        if isinstance(value, (dict, list)):
            raise ValueError(f"expected a string, got {type(value).__name__}")
        return str(value)


class _Required:
    """The default of a parameter the rule cannot run without: ``parameters={"amiIds": ("str", REQUIRED)}``."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


# None: the rule does not apply to the item
RuleFn = Callable[[ConfigurationItem, dict[str, Any], "RuleContext"], "Result | None"]


@dataclass
class Rule:
    """A rule's metadata and evaluation function."""

    id: str
    resource_types: tuple[str, ...]
    fn: RuleFn | None = None
    #: the pack it is listed first by (hipaa before hipaa-extras before aws-managed), "custom" for a
    #: custom rule, "" for a built-in rule no pack lists (it runs only when the policy enables it)
    pack: str = "custom"
    #: every pack that lists it
    packs: tuple[str, ...] = ()
    trigger: str = "change"  # change | periodic | change+periodic | process
    severity: str = "medium"
    hipaa_sections: tuple[str, ...] = ()
    sections_source: str = ""
    parameters: dict[str, Param] = field(default_factory=dict)
    rationale: str = ""
    compliant_when: str = ""
    remediation: str | None = None
    aws_runbook: str | None = None
    aws_identifier: str | None = None
    service: str = ""
    reads: dict[str, str] = field(default_factory=dict)  # item path -> API that fills it
    origin: str = ""  # where a custom rule is defined (file:line), for messages

    def __post_init__(self) -> None:
        if not self.packs and self.pack:
            self.packs = (self.pack,)

    @property
    def implemented(self) -> bool:
        return self.fn is not None

    @property
    def periodic(self) -> bool:
        return "periodic" in self.trigger

    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.parameters.items()}

    def missing_parameters(self, params: dict[str, Any]) -> list[str]:
        """The required parameters ``params`` leaves unset (None or blank text): the rule cannot run."""
        return [
            name
            for name, p in self.parameters.items()
            if p.required and (params.get(name) is None or (isinstance(params.get(name), str) and not params[name].strip()))
        ]


@dataclass
class RuleContext:
    """What a rule may know besides its item: the time, and other items of the estate."""

    now: dt.datetime
    lookup: Callable[[str], list[ConfigurationItem]] = lambda resource_type: []

    def items(self, resource_type: str, account_id: str | None = None, region: str | None = None) -> list[ConfigurationItem]:
        return [
            i
            for i in self.lookup(resource_type)
            if (account_id is None or i.accountId == account_id) and (region is None or i.awsRegion == region)
        ]


@dataclass
class _FnEntry:
    fn: RuleFn
    reads: dict[str, str]
    meta: dict[str, Any]


FUNCTIONS: dict[str, _FnEntry] = {}
#: rules with no evaluation function (AWS Config process checks: a manual task a person confirms)
PROCESS_CHECKS: dict[str, dict[str, Any]] = {}
# what @rule(...) may say about a rule besides its id and reads (Rule's metadata fields)
_META_FIELDS = {
    "resource_types",
    "pack",
    "trigger",
    "severity",
    "hipaa_sections",
    "sections_source",
    "parameters",
    "rationale",
    "compliant_when",
    "remediation",
    "aws_runbook",
    "aws_identifier",
    "service",
}


def rule(rule_id: str, reads: dict[str, str] | None = None, **meta: Any) -> Callable[[RuleFn], RuleFn]:
    """Register ``fn`` as the evaluation of ``rule_id``, with everything intrinsic to the rule.

    ``reads`` maps item paths to the API that fills them. ``meta`` holds the rule's own fields:
    ``aws_identifier`` (the AWS Config managed rule it implements), ``service``,
    ``resource_types``, ``trigger``, ``severity``, ``compliant_when``, ``parameters`` as
    ``{name: (type, default)}`` (default :data:`REQUIRED` for a parameter the rule cannot run
    without, as AWS Config deploys the managed rule only with it), ``remediation`` (the phiwatch runbook that fixes it) and
    ``aws_runbook``. Pack files (``rules/packs/*.yaml``) only map rules to a framework (HIPAA
    sections and where that mapping comes from); a custom rule may give its sections here.
    """

    if not isinstance(rule_id, str) or not rule_id:
        # a bare @rule would register nothing: the function would silently not be a rule
        raise TypeError(f'@rule needs the rule id first, as in @rule("my-rule-id", resource_types=[...]); got {rule_id!r}')
    unknown = sorted(set(meta) - _META_FIELDS)
    if unknown:
        raise TypeError(f"@rule({rule_id!r}): unknown argument {unknown[0]!r} (known: reads, {', '.join(sorted(_META_FIELDS))})")
    if reads is not None and (not isinstance(reads, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in reads.items())):
        raise TypeError(f"@rule({rule_id!r}): reads must map item paths to API names, got {reads!r}")

    def decorator(fn: RuleFn) -> RuleFn:
        if not callable(fn):
            raise TypeError(f"@rule({rule_id!r}) decorates a function, not {type(fn).__name__}")
        existing = FUNCTIONS.get(rule_id)
        # the same function defined again (its module re-imported) replaces itself; anything else is a clash,
        # even a function of the same name in another module
        if existing is not None and (existing.fn.__module__, existing.fn.__qualname__) != (fn.__module__, fn.__qualname__):
            raise ValueError(f"rule '{rule_id}' registered twice ({existing.fn.__module__} and {fn.__module__})")
        FUNCTIONS[rule_id] = _FnEntry(fn=fn, reads=dict(reads or {}), meta=meta)
        return fn

    return decorator


def process_check(rule_id: str, **meta: Any) -> None:
    """Declare a process check: a rule with the metadata of :func:`rule` and no evaluation function."""
    unknown = sorted(set(meta) - _META_FIELDS)
    if unknown:
        raise TypeError(f"process_check({rule_id!r}): unknown argument {unknown[0]!r}")
    if rule_id in FUNCTIONS or PROCESS_CHECKS.get(rule_id, meta) != meta:
        raise ValueError(f"rule '{rule_id}' declared twice")
    PROCESS_CHECKS[rule_id] = dict(meta, trigger=meta.get("trigger", "process"))


def checked(rule_id: str, fn: RuleFn) -> RuleFn:
    """``fn`` (a custom rule's function) made to return a well-formed Result or None, or raise.

    The engine turns an exception into INSUFFICIENT_DATA for that rule and item; without this
    check a custom rule returning ``Result("yes", 5)`` would reach the findings writer.
    """
    if getattr(fn, "__phiwatch_checked__", False):
        return fn

    @functools.wraps(fn)
    def run(item: ConfigurationItem, params: dict[str, Any], ctx: RuleContext) -> Result | None:
        try:
            result = fn(item, params, ctx)
        except SystemExit as exc:  # one rule must not end the scan
            raise RuntimeError(f"rule {rule_id} called sys.exit({exc.code!r})") from None
        if result is None:
            return None
        if not isinstance(result, Result):
            raise TypeError(
                f"rule {rule_id} returned {type(result).__name__}, not a Result (compliant(...), non_compliant(...)...) or None"
            )
        try:
            compliance = Compliance(result.compliance)
        except ValueError:
            raise TypeError(
                f"rule {rule_id} returned compliance {result.compliance!r} (known: {', '.join(c.value for c in Compliance)})"
            ) from None
        if not isinstance(result.annotation, str):
            raise TypeError(f"rule {rule_id} returned an annotation of type {type(result.annotation).__name__}, not text")
        return result if compliance is result.compliance else Result(compliance, result.annotation)

    run.__phiwatch_checked__ = True  # type: ignore[attr-defined]
    return run


def params_from_meta(raw: dict[str, Any] | None) -> dict[str, Param]:
    out: dict[str, Param] = {}
    for name, spec in (raw or {}).items():
        if isinstance(spec, Param):
            out[name] = spec
        elif isinstance(spec, (tuple, list)):
            default = spec[1] if len(spec) > 1 else None
            out[name] = Param(name, spec[0], None if default is REQUIRED else default, required=default is REQUIRED)
        elif isinstance(spec, dict):
            required = spec.get("required", False)
            if not isinstance(required, bool):
                raise ValueError(f"parameter {name}: required must be true or false")
            if required and spec.get("default") is not None:
                raise ValueError(f"parameter {name}: a required parameter has no default")
            out[name] = Param(name, spec.get("type", "str"), spec.get("default"), spec.get("description", ""), required=required)
        else:
            raise ValueError(f"parameter {name}: give (type, default) or a mapping")
        param = out[name]
        if not isinstance(name, str) or not name:
            raise ValueError(f"parameter name {name!r} must be text")
        if param.type not in PARAM_TYPES:
            raise ValueError(f"parameter {name}: type {param.type!r} is not one of {', '.join(PARAM_TYPES)}")
        if param.default is not None:
            param.coerce(param.default)  # ValueError when the default does not fit the type
    return out


PARAM_TYPES = ("str", "int", "float", "bool")


def missing_reads(rule_: Rule, item: ConfigurationItem) -> tuple[list[tuple[str, str]], bool]:
    """(paths missing because their API failed [(path, api)], whether any path is missing at all)."""
    failed = item.failed_apis()
    denied: list[tuple[str, str]] = []
    any_missing = False
    for path, api in rule_.reads.items():
        if not has(item, path):
            any_missing = True
            if api in failed:
                denied.append((path, api))
    return denied, any_missing


def describe_failure(item: ConfigurationItem, apis: Iterable[str]) -> str:
    wanted = set(apis)
    parts = []
    for err in item.collectionErrors:
        if err.get("api") in wanted:
            parts.append(f"{err.get('api')} failed ({err.get('error')}; needs {err.get('iam_action')})")
    return "could not check: " + "; ".join(dict.fromkeys(parts)) if parts else "could not check"
