"""Loading and validating SSM Automation documents: :func:`load_document` reads YAML or JSON
text, a file or a mapping, and checks every field before building a
:class:`~phiwatch.runbooks.model.Document` (the first problem raises a RunbookError naming the
step and field, so a document never half-runs). What is supported is listed in
:mod:`phiwatch.runbooks.document`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from phiwatch.runbooks.errors import RunbookError
from phiwatch.runbooks.model import Document, Output, ParamSpec, Step
from phiwatch.runbooks.paths import parse_path
from phiwatch.runbooks.step_inputs import StepInputChecks
from phiwatch.runbooks.syntax import GLOBALS, MAX_ATTEMPTS, REF, SUPPORTED_ACTIONS, TYPES, strings_with_paths
from phiwatch.yaml_input import YamlProblem, load_yaml

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


class _Validator(StepInputChecks):
    """Checks one document's data (top-level fields, parameters, steps, references) and builds it."""

    def __init__(self, doc_id: str, data: Any) -> None:
        self.id = doc_id
        self.data = data

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

    def step_refs(self, step: Step, raw: dict, params: dict[str, ParamSpec], available: set[str]) -> None:
        where = f"step '{step.name}'"
        inputs = dict(step.inputs)
        if step.action == "aws:executeScript":
            inputs.pop("Script", None)  # Python source: braces there are not interpolations
        for path, text in strings_with_paths(inputs, "inputs"):
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
