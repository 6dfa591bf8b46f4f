"""The checks of a step's ``inputs`` for each action (API calls, aws:branch choices, aws:sleep,
aws:executeScript) and of its step targets (nextStep, onFailure, onCancel), shared by the
document validator in :mod:`phiwatch.runbooks.validate`."""

from __future__ import annotations

from typing import Any, NoReturn

from phiwatch.runbooks.botocore_model import boto3_service, is_write_api, operation_name, service_model
from phiwatch.runbooks.errors import fail
from phiwatch.runbooks.model import Step
from phiwatch.runbooks.paths import parse_path
from phiwatch.runbooks.scripts import SCRIPTS, same_script
from phiwatch.runbooks.syntax import API_ACTIONS, NUMERIC_OPS, OPERATORS, PYTHON_RUNTIMES, REF, STRING_OPS, WHOLE_REF
from phiwatch.runbooks.values import parse_duration, parse_timestamp


class StepInputChecks:
    """Per-action input checks; every problem raises a RunbookError naming runbook ``id``, step and field."""

    id: str

    def fail(self, where: str, message: str) -> NoReturn:
        fail(f"runbook {self.id}: {where}", message)

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
        if not isinstance(variable, str) or not WHOLE_REF.match(variable):
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
