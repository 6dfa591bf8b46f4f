"""Declarative custom rules: YAML files whose condition is a JMESPath expression over the item.

```yaml
rules:
  - id: phi-bucket-default-encryption
    resource_types: [AWS::S3::Bucket]
    when: {tags: {PHI: "Yes"}}            # optional: only items with these tags (else not evaluated)
    condition: "supplementaryConfiguration.ServerSideEncryptionConfiguration.Rules[0] != null"
    reads: {supplementaryConfiguration.ServerSideEncryptionConfiguration: GetBucketEncryption}
    severity: high
    hipaa_sections: ["164.312(a)(2)(iv)"]
    compliant: "default encryption is on"
    non_compliant: "PHI bucket without default encryption"
```
The condition sees the item as AWS Config's JSON (``configuration``, ``supplementaryConfiguration``,
``tags``, ...) and ``params`` (the rule's parameters). A truthy result is COMPLIANT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jmespath
import jmespath.exceptions
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from phiwatch.errors import UsageError
from phiwatch.model import ConfigurationItem
from phiwatch.policy import _Lines, error_text, policy_error, yaml_problem_message
from phiwatch.rules.base import Result, Rule, RuleContext, compliant, non_compliant, params_from_meta
from phiwatch.rules.registry import resource_type_problem
from phiwatch.yaml_input import YamlProblem, load_yaml


class _When(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tags: dict[str, str] = Field(default_factory=dict)


class DeclarativeRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    resource_types: list[str] = Field(min_length=1)
    condition: str
    description: str = ""
    when: _When = Field(default_factory=_When)
    reads: dict[str, str] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)
    severity: str = Field(default="medium", pattern=r"^(critical|high|medium|low)$")
    hipaa_sections: list[str] = Field(default_factory=list)
    compliant: str = "condition holds"
    non_compliant: str = "condition does not hold"

    @field_validator("resource_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        problem = resource_type_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("condition")
    @classmethod
    def _jmespath(cls, value: str) -> str:
        try:
            jmespath.compile(value)
        except jmespath.exceptions.JMESPathError as exc:
            raise ValueError(f"bad JMESPath: {' '.join(str(exc).split())}") from None
        except (RecursionError, ValueError, TypeError) as exc:  # the parser gives up on pathological text
            raise ValueError(f"bad JMESPath: {type(exc).__name__}") from None
        return value

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            params_from_meta(value)
        except (TypeError, AttributeError) as exc:
            raise ValueError(str(exc)) from None
        return value


class _Evaluate:
    def __init__(self, spec: DeclarativeRule, expression: Any) -> None:
        self.spec = spec
        self.expression = expression
        self.__module__ = "phiwatch.rules.declarative"
        self.__qualname__ = f"declarative:{spec.id}"

    def __call__(self, item: ConfigurationItem, params: dict[str, Any], ctx: RuleContext) -> Result | None:
        tags = item.tags or {}
        for key, value in self.spec.when.tags.items():
            if tags.get(key) != value and not (value == "*" and key in tags):
                return None
        data = item.to_dict()
        data["params"] = params
        if self.expression.search(data):
            return compliant(self.spec.compliant)
        return non_compliant(self.spec.non_compliant)


def load_declarative_rules(path: Path) -> list[Rule]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"custom rules: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data, root = load_yaml(text)
    except YamlProblem as exc:
        raise UsageError(yaml_problem_message(str(path), exc)) from None
    lines = _Lines(root=root)
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise UsageError(f"{path}:1: (top level): expected a mapping with a 'rules' list")
    unknown = sorted(str(k) for k in data if k != "rules")
    if unknown:
        raise UsageError(policy_error(str(path), lines, (unknown[0],), "unknown key (a rule file has only 'rules')"))
    out: list[Rule] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data["rules"]):
        try:
            spec = DeclarativeRule.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                problems.append(policy_error(str(path), lines, ("rules", i, *err["loc"]), error_text(err)))
            continue
        if spec.id in seen:
            problems.append(
                policy_error(str(path), lines, ("rules", i, "id"), f"rule id '{spec.id}' is already used by rules.{seen[spec.id]}")
            )
            continue
        seen[spec.id] = i
        expression = jmespath.compile(spec.condition)  # checked by the model
        parameters = params_from_meta(spec.parameters)
        out.append(
            Rule(
                id=spec.id,
                resource_types=tuple(spec.resource_types),
                fn=_Evaluate(spec, expression),
                pack="custom",
                severity=spec.severity,
                hipaa_sections=tuple(spec.hipaa_sections),
                sections_source=f"custom rule file {path.name}",
                parameters=parameters,
                rationale=spec.description,
                compliant_when=spec.description,
                reads=spec.reads,
                origin=f"{path}:{lines.line(('rules', i, 'id')) or '?'}",
            )
        )
    if problems:
        raise UsageError("invalid custom rules:\n  " + "\n  ".join(problems))
    return out
