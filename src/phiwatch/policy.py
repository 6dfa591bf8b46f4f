"""The user's policy file (YAML): packs, rule overrides and scopes, exceptions, notification
routes and remediation modes. Every mistake is reported with file, line and field (exit 2).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import string
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError, ValidationInfo, field_validator

from phiwatch.errors import UsageError
from phiwatch.model import EVENTS
from phiwatch.runbooks.document import RunbookError, builtin
from phiwatch.yaml_input import YamlProblem, load_yaml


class Identified(Protocol):
    """What scopes and exceptions match on: a resource's ids, place and tags (a ConfigurationItem, or a
    findings row's resource)."""

    arn: str | None
    resourceType: str
    resourceId: str
    resourceName: str | None
    accountId: str
    awsRegion: str
    tags: dict[str, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# YAML already gives booleans and integers their own types: a quoted "20" or a `true` given for a
# number is a mistake to report, not something to convert (pydantic would read `true` as 1).
_NON_BLANK = r"\S"


class Scope(_Strict):
    """Where a rule applies; every given criterion must match (tags: all listed tags).

    ``resource_types`` is AWS Config's ``ComplianceResourceTypes``: the rule judges only resources
    of these types (of those it is about)."""

    tags: dict[str, str] = Field(default_factory=dict)
    resource_ids: list[str] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    resource_types: list[str] = Field(default_factory=list)

    def matches(self, item: Identified) -> bool:
        if self.resource_types and item.resourceType not in self.resource_types:
            return False
        tags = item.tags or {}
        for key, value in self.tags.items():
            if key not in tags or (value != "*" and tags[key] != value):
                return False
        if self.resource_ids and not any(_id_match(p, item) for p in self.resource_ids):
            return False
        if self.accounts and item.accountId not in self.accounts:
            return False
        if self.regions and item.awsRegion not in self.regions:
            return False
        return True


def _id_match(pattern: str, item: Identified) -> bool:
    """Exact match on ARN, id or name, or an explicit glob (``*``, ``?``, ``[``); never a substring."""
    candidates = [c for c in (item.arn, item.resourceId, item.resourceName) if c]
    if any(ch in pattern for ch in "*?["):
        return any(fnmatch.fnmatchcase(c, pattern) for c in candidates)
    return pattern in candidates


class RuleOverride(_Strict):
    #: True runs the rule whatever pack holds it; False switches it off in every pack; unset: as its packs say
    enabled: StrictBool | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    scope: Scope | None = None

    @field_validator("enabled", mode="before")
    @classmethod
    def _given_as_bool(cls, value: Any) -> Any:
        if value is None:  # only leaving it out means "as its packs say"
            raise ValueError("expected true or false (leave enabled out to run the rule as its packs say)")
        return value


class ExceptionEntry(_Strict):
    rule: str
    resource: str
    justification: str = Field(min_length=1, pattern=_NON_BLANK)
    owner: str = Field(min_length=1, pattern=_NON_BLANK)
    expires: dt.date

    @field_validator("expires", mode="before")
    @classmethod
    def _calendar_date(cls, value: Any) -> Any:
        # pydantic would read a number as seconds since 1970 and accept it silently
        if isinstance(value, (bool, int, float)):
            raise ValueError(f"expected a date YYYY-MM-DD, got the number {value!r}")
        if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError(f"expected a date YYYY-MM-DD, got {value[:40]!r}")
        return value

    def matches(self, rule_id: str, item: Identified) -> bool:
        return (self.rule == rule_id or (self.rule.endswith("*") and fnmatch.fnmatchcase(rule_id, self.rule))) and _id_match(
            self.resource, item
        )

    def active(self, today: dt.date) -> bool:
        return today <= self.expires


SEVERITIES = ("low", "medium", "high", "critical")
SNS_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


class RouteFilter(_Strict):
    severity: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    hipaa_sections: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    accounts: list[str] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)

    @field_validator("severity")
    @classmethod
    def _known_severities(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in SEVERITIES]
        if unknown:
            raise ValueError(f"unknown severity {', '.join(unknown)} (known: {', '.join(SEVERITIES)})")
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e not in EVENTS]
        if unknown:
            raise ValueError(f"unknown event(s) {', '.join(unknown)} (known: {', '.join(EVENTS)})")
        return value


class SmtpSettings(_Strict):
    """SMTP server of an email route; credentials come from the environment or a file, never the policy."""

    host: str = Field(min_length=1, pattern=_NON_BLANK)
    port: StrictInt = Field(default=587, ge=1, le=65535)
    starttls: StrictBool = True  # STARTTLS on a plain connection (port 587)
    ssl: StrictBool = False  # implicit TLS instead (port 465)
    username_env: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    from_address: str = Field(min_length=1, pattern=_NON_BLANK)
    ca_file: str | None = None  # CA bundle for a private CA (default: the system's)


class NotificationRoute(_Strict):
    name: str = Field(min_length=1, pattern=_NON_BLANK)
    channel: Literal["sns", "email", "slack", "webhook", "apprise"]
    target: str | None = Field(default=None, validate_default=True)
    when: RouteFilter = Field(default_factory=RouteFilter)
    digest: StrictBool = False
    reminder_hours: StrictInt | None = Field(default=None, ge=1)
    secret_env: str | None = None
    secret_file: str | None = None
    owner_tag: str | None = None
    template: str | None = None
    smtp: SmtpSettings | None = Field(default=None, validate_default=True)

    @field_validator("target")
    @classmethod
    def _no_secret_target(cls, value: str | None, info: ValidationInfo) -> str | None:
        channel = info.data.get("channel")
        if value and channel in ("slack", "apprise"):
            raise ValueError(
                f"a {channel} URL is a secret: put it in an environment variable named by secret_env "
                "or a file named by secret_file, not in the policy"
            )
        if channel == "sns":
            if not value:
                raise ValueError("an sns route needs target: the topic ARN (arn:aws:sns:REGION:ACCOUNT_ID:TOPIC_NAME)")
            if not SNS_TOPIC_ARN.match(value.strip()):
                raise ValueError(f"malformed SNS topic ARN '{value}': expected arn:aws:sns:REGION:ACCOUNT_ID:TOPIC_NAME")
        if channel == "webhook" and not (value or "").strip().lower().startswith(("https://", "http://")):
            raise ValueError("a webhook route needs target: the https URL to POST to")
        return value

    @field_validator("template")
    @classmethod
    def _template_channels(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and info.data.get("channel") in ("sns", "webhook"):
            raise ValueError("template applies to email, slack and apprise routes (SNS and webhook bodies are the alert JSON)")
        return value

    @field_validator("smtp")
    @classmethod
    def _smtp_for_email(cls, value: SmtpSettings | None, info: ValidationInfo) -> SmtpSettings | None:
        if value is not None and info.data.get("channel") not in ("email", None):
            raise ValueError("smtp applies to email routes only")
        if value is None and info.data.get("channel") == "email":
            raise ValueError("an email route needs smtp: {host, port, starttls, from_address, username_env, password_env}")
        return value


def _yaml_off(value: Any) -> Any:
    """YAML 1.1 reads a bare ``off`` as false: take it as the mode it was meant to be."""
    return "off" if value is False else value


class RuleRemediation(_Strict):
    mode: Literal["off", "dry-run", "manual", "auto"]
    _off = field_validator("mode", mode="before")(classmethod(lambda cls, v: _yaml_off(v)))
    # runbook parameters the rule cannot give (e.g. a flow log's destination); checked against the runbook
    parameters: dict[str, Any] = Field(default_factory=dict)


class Remediation(_Strict):
    mode: Literal["off", "dry-run", "manual", "auto"] = "dry-run"
    _off = field_validator("mode", mode="before")(classmethod(lambda cls, v: _yaml_off(v)))
    max_per_run: StrictInt = Field(default=20, ge=0)
    max_per_hour: StrictInt | None = Field(default=None, ge=0)
    rules: dict[str, RuleRemediation] = Field(default_factory=dict)


class Policy(_Strict):
    packs: list[str] = Field(default_factory=lambda: ["hipaa"])
    rules: dict[str, RuleOverride] = Field(default_factory=dict)
    exceptions: list[ExceptionEntry] = Field(default_factory=list)
    notifications: list[NotificationRoute] = Field(default_factory=list)
    remediation: Remediation = Field(default_factory=Remediation)
    custom_rules: list[str] = Field(default_factory=list)
    # where the policy came from, for messages (not part of the file)
    source: str = Field(default="(default policy)", exclude=True)
    base_dir: str = Field(default=".", exclude=True)

    def override(self, rule_id: str) -> RuleOverride | None:
        return self.rules.get(rule_id)

    def exception_for(self, rule_id: str, item: Identified) -> ExceptionEntry | None:
        for entry in self.exceptions:
            if entry.matches(rule_id, item):
                return entry
        return None


class _Lines:
    """Find the line of a field path in the YAML source."""

    def __init__(self, text: str = "", root: Any = None) -> None:
        self.root = root
        if root is None and text:
            try:
                self.root = load_yaml(text)[1]
            except YamlProblem:
                self.root = None

    def line(self, path: tuple[Any, ...]) -> int | None:
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in path:
            if node is None:
                break
            if isinstance(node, yaml.MappingNode):
                nxt = None
                for key, value in node.value:
                    if key.value == str(part):
                        nxt = value
                        line = key.start_mark.line + 1
                        break
                node = nxt
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line


def error_text(err: Any) -> str:
    """A pydantic error (one of ``ValidationError.errors()``) as the reason shown to the user."""
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == _NON_BLANK:
        return "must not be blank"
    msg = str(err["msg"])
    return msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg


def yaml_problem_message(source: str, exc: YamlProblem) -> str:
    """``source:line: field: message`` for a YAML text that could not be read."""
    field = ".".join(str(p) for p in exc.path)
    return f"{source}:{exc.line or '?'}: {field + ': ' if field else ''}malformed YAML: {exc.problem}"


def policy_error(source: str, lines: _Lines, path: tuple[Any, ...], message: str) -> str:
    line = lines.line(path)
    field = ".".join(str(p) for p in path) or "(top level)"
    return f"{source}:{line or '?'}: {field}: {message}"


def load_policy(path: str | Path | None) -> Policy:
    """Read and validate a policy file (None: the default policy, every HIPAA rule)."""
    if path is None:
        return Policy()
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read policy file {p}: {exc.strerror or exc}") from exc
    return parse_policy(text, str(p), str(p.parent))


def parse_policy(text: str, source: str = "policy.yaml", base_dir: str = ".") -> Policy:
    try:
        data, root = load_yaml(text)
    except YamlProblem as exc:
        raise UsageError(yaml_problem_message(source, exc)) from None
    if data is None:
        data = {}
    lines = _Lines(root=root)
    if not isinstance(data, dict):
        raise UsageError(f"{source}:1: (top level): expected a mapping of packs, rules, exceptions, notifications, remediation")
    internal = [key for key in ("source", "base_dir") if key in data]  # fields of the model, not of the file
    if internal:
        raise UsageError("invalid policy:\n  " + "\n  ".join(policy_error(source, lines, (k,), "unknown key") for k in internal))
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            messages.append(policy_error(source, lines, tuple(err["loc"]), error_text(err)))
        raise UsageError("invalid policy:\n  " + "\n  ".join(messages)) from exc
    seen: set[str] = set()
    for i, route in enumerate(policy.notifications):
        if route.name in seen:  # routes are keyed by name in the outbox
            raise UsageError(
                "invalid policy:\n  " + policy_error(source, lines, ("notifications", i, "name"), f"duplicate route name '{route.name}'")
            )
        seen.add(route.name)
    policy.source = source
    policy.base_dir = base_dir
    policy._lines = lines  # type: ignore[attr-defined]
    return policy


def validate_against_rules(
    policy: Policy,
    rules: dict[str, Any],
    known_packs: set[str],
    running: set[str] | None = None,
    waiting: dict[str, list[str]] | None = None,
) -> None:
    """Check rule ids, parameter names and types, packs, exception rule ids, scopes; raise with line numbers.

    ``running``: the ids of the rules the policy runs; remediation and notification settings that
    name another rule are errors (they would never act). ``waiting``: the rules the policy selects
    that need parameters it does not give ({id: [names]}); configuring one under ``rules:`` without
    them is an error, as AWS Config refuses to deploy such a rule."""
    waiting = waiting or {}
    lines: _Lines = getattr(policy, "_lines", _Lines(""))
    problems: list[str] = []
    for i, pack in enumerate(policy.packs):
        if pack not in known_packs:
            problems.append(
                policy_error(policy.source, lines, ("packs", i), f"unknown pack '{pack}' (known: {', '.join(sorted(known_packs))})")
            )
    for rule_id, override in policy.rules.items():
        rule = rules.get(rule_id)
        if rule is None:
            problems.append(
                policy_error(policy.source, lines, ("rules", rule_id), f"unknown rule id '{rule_id}' (see `phiwatch rules list`)")
            )
            continue
        given_parameters = bool(override.parameters)
        for name, value in list(override.parameters.items()):
            param = rule.parameters.get(name)
            if param is None:
                known = ", ".join(sorted(rule.parameters)) or "none"
                problems.append(
                    policy_error(policy.source, lines, ("rules", rule_id, "parameters", name), f"unknown parameter (known: {known})")
                )
                continue
            if isinstance(value, str) and not value.strip():
                # as AWS Config reads an empty parameter: not given (the default applies; a required one is missing)
                del override.parameters[name]
                continue
            if value is None and param.default is not None:
                # null would replace the default and reach the rule as None
                problems.append(
                    policy_error(
                        policy.source,
                        lines,
                        ("rules", rule_id, "parameters", name),
                        f"null is not a {param.type} (leave the parameter out to use the default {param.default!r})",
                    )
                )
                continue
            try:
                override.parameters[name] = param.coerce(value)
            except ValueError as exc:
                problems.append(policy_error(policy.source, lines, ("rules", rule_id, "parameters", name), str(exc)))
        if rule_id in waiting and override.enabled is not False:
            needs = ", ".join(waiting[rule_id])
            problems.append(
                policy_error(
                    policy.source,
                    lines,
                    ("rules", rule_id, "parameters") if given_parameters else ("rules", rule_id),
                    f"rule {rule_id} needs parameter {needs}, which has no default (AWS Config does not deploy the rule "
                    f"without it): give it under rules: {{{rule_id}: {{parameters: {{...}}}}}}, or enabled: false",
                )
            )
        if override.scope is not None and override.scope.resource_types and rule.resource_types:
            for j, resource_type in enumerate(override.scope.resource_types):
                if resource_type not in rule.resource_types:
                    problems.append(
                        policy_error(
                            policy.source,
                            lines,
                            ("rules", rule_id, "scope", "resource_types", j),
                            f"rule {rule_id} does not judge {resource_type} (it judges {', '.join(rule.resource_types)})",
                        )
                    )
    for i, entry in enumerate(policy.exceptions):
        if entry.rule not in rules and not entry.rule.endswith("*"):
            problems.append(policy_error(policy.source, lines, ("exceptions", i, "rule"), f"unknown rule id '{entry.rule}'"))
    not_run = "the policy does not run rule '{}' (add its pack to packs, or enable it: rules: {{{}: {{enabled: true}}}})"

    def not_run_text(rule_id: str) -> str:
        if rule_id in waiting:
            return f"rule '{rule_id}' does not run: it needs parameter {', '.join(waiting[rule_id])} (set it under rules: {{{rule_id}: {{parameters: ...}}}})"
        return not_run.format(rule_id, rule_id)

    for i, route in enumerate(policy.notifications):
        for j, rule_id in enumerate(route.when.rules):
            if rule_id not in rules:
                problems.append(
                    policy_error(policy.source, lines, ("notifications", i, "when", "rules", j), f"unknown rule id '{rule_id}'")
                )
            elif running is not None and rule_id not in running:
                problems.append(policy_error(policy.source, lines, ("notifications", i, "when", "rules", j), not_run_text(rule_id)))
    for rule_id, setting in policy.remediation.rules.items():
        if rule_id not in rules:
            problems.append(policy_error(policy.source, lines, ("remediation", "rules", rule_id), f"unknown rule id '{rule_id}'"))
        elif running is not None and rule_id not in running and setting.mode != "off":
            problems.append(policy_error(policy.source, lines, ("remediation", "rules", rule_id), not_run_text(rule_id)))
        elif setting.parameters:
            problems.extend(_runbook_parameter_problems(policy, lines, rule_id, rules[rule_id], setting.parameters))
    if problems:
        raise UsageError("invalid policy:\n  " + "\n  ".join(problems))


#: what a remediation parameter may name in braces, filled per finding (``{{`` and ``}}`` are braces)
PLACEHOLDERS = ("account_id", "region", "resource_id", "resource_name")


def placeholder_problem(value: Any) -> str | None:
    """Why a remediation parameter's text (or a list of texts) has a placeholder phiwatch cannot fill, or None."""
    for text in value if isinstance(value, list) else [value]:
        if not isinstance(text, str):
            continue
        try:
            fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
        except ValueError as exc:
            return f"{exc} in {text!r} (write {{{{ and }}}} for a literal brace)"
        for name, spec, conv in fields:
            if name not in PLACEHOLDERS or spec or conv:
                shown = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
                return f"unknown placeholder {shown} (known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
    return None


def fill_placeholders(value: Any, values: dict[str, str]) -> Any:
    """``value`` with its placeholders filled from ``values`` (checked by :func:`placeholder_problem`)."""
    if isinstance(value, list):
        return [fill_placeholders(v, values) for v in value]
    if isinstance(value, str) and ("{" in value or "}" in value):
        return value.format_map(values)
    return value


def _runbook_parameter_problems(policy: Policy, lines: _Lines, rule_id: str, rule: Any, given: dict[str, Any]) -> list[str]:
    """Names under ``remediation.rules.RULE.parameters`` that the rule's runbook does not declare,
    and placeholders that cannot be filled."""
    where = ("remediation", "rules", rule_id, "parameters")
    if not rule.remediation:
        return [policy_error(policy.source, lines, where, f"rule {rule_id} has no remediation runbook")]
    try:
        declared = builtin(rule.remediation).parameters
    except RunbookError as exc:
        return [policy_error(policy.source, lines, where, str(exc))]
    problems = [
        policy_error(
            policy.source, lines, (*where, name), f"unknown parameter of {rule.remediation} (known: {', '.join(sorted(declared))})"
        )
        for name in given
        if name not in declared
    ]
    for name, value in given.items():
        problem = placeholder_problem(value)
        if problem:
            problems.append(policy_error(policy.source, lines, (*where, name), problem))
    return problems
