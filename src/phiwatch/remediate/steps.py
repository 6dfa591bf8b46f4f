"""What each runbook action does in one attempt of a step.

:func:`attempt` runs a step once through its action's handler: :func:`execute_api`
(aws:executeAwsApi), :func:`check_property` (aws:assertAwsResourceProperty and
aws:waitForAwsResourceProperty, which polls 0.2 s doubling to 5 s until the property has one
of the DesiredValues), :func:`sleep` (aws:sleep) and :func:`run_script` (aws:executeScript: a
vetted script from :mod:`phiwatch.runbooks.scripts`, whose AWS calls go through a
:class:`ScriptClient` limited to the APIs it declares). :func:`branch` picks the step an
aws:branch goes to. A handler raises StepFailure, StepTimeout or PlanStops; retries, timeouts
and the order of steps are the executor's.

In a dry run, once a write is planned, :func:`plan_only` records each later step as planned
(status DryRun) without calling AWS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from phiwatch.collect.base import error_code
from phiwatch.model import to_jsonable
from phiwatch.remediate.execution import DRY_RUN, SUCCESS, ApiCall, PlanStops, StepFailure, StepResult, StepTimeout
from phiwatch.remediate.run_state import RunState
from phiwatch.remediate.values import Unknown, as_text, convert_output, matches
from phiwatch.runbooks.document import (
    _WHOLE_REF,
    MISSING,
    NUMERIC_OPS,
    Step,
    parse_duration,
    parse_path,
    parse_timestamp,
    select,
)
from phiwatch.runbooks.scripts import SCRIPTS

_POLL_START, _POLL_MAX = 0.2, 5.0


def attempt(run: RunState, step: Step, result: StepResult, timeout: float) -> None:
    """One attempt of a (non-branch) step, bounded by ``timeout`` seconds."""
    result.status, result.message, result.outputs = SUCCESS, "", {}
    action = step.action
    if action == "aws:executeAwsApi":
        execute_api(run, step, result, timeout)
    elif action in ("aws:assertAwsResourceProperty", "aws:waitForAwsResourceProperty"):
        check_property(run, step, result, timeout)
    elif action == "aws:branch":
        raise AssertionError("branches are evaluated by the run loop")
    elif action == "aws:sleep":
        sleep(run, step, result, timeout)
    elif action == "aws:executeScript":
        run_script(run, step, result, timeout)


def plan_only(run: RunState, step: Step, result: StepResult) -> bool:
    """Dry run after a planned write: record the step's call as planned, run nothing."""
    if not (run.dry_run and run.planned_write):
        return False
    if step.service and step.api:
        params = run.values.interpolate(step.api_params, lenient=True)
        result.calls.append(ApiCall(step.service, step.api, to_jsonable(params), planned=True))
    result.status = DRY_RUN
    what = f"script {step.inputs['Handler']}" if step.action == "aws:executeScript" else "step"
    result.message = f"planned: {what} runs after the planned change"
    run.values.unknown.update(f"{step.name}.{o.name}" for o in step.outputs)
    return True


def store_outputs(run: RunState, step: Step, response: Any, result: StepResult) -> None:
    """The step's declared outputs selected from ``response`` and kept for later references."""
    for out in step.outputs:
        value = select(response, out.path)
        key = f"{step.name}.{out.name}"
        if value is MISSING:
            run.values.known.pop(key, None)
            continue
        value = convert_output(value, out.type, f"step '{step.name}' output '{out.name}'")
        run.values.known[key] = value
        result.outputs[out.name] = value


def execute_api(run: RunState, step: Step, result: StepResult, timeout: float) -> None:
    """aws:executeAwsApi."""
    if plan_only(run, step, result):
        return
    response = run.api_call(step, result, timeout)
    if result.calls and result.calls[-1].planned:
        result.status, result.message = DRY_RUN, "planned: not sent (dry run)"
        run.values.unknown.update(f"{step.name}.{o.name}" for o in step.outputs)
        return
    store_outputs(run, step, response, result)


def check_property(run: RunState, step: Step, result: StepResult, timeout: float) -> None:
    """aws:assertAwsResourceProperty (one look) and aws:waitForAwsResourceProperty (polls)."""
    if plan_only(run, step, result):
        return
    clock = run.clock
    selector = step.inputs["PropertySelector"]
    path = parse_path(selector)
    desired = [as_text(v) for v in run.values.interpolate(step.inputs["DesiredValues"])]
    waiting = step.action == "aws:waitForAwsResourceProperty"
    end = clock.monotonic() + timeout
    pause = _POLL_START
    while True:
        left = end - clock.monotonic()
        if left <= 0:
            raise StepTimeout(f"{selector} never became one of {desired}")
        response = run.api_call(step, result, left)
        value = select(response, path)
        if value is not MISSING and matches(value, desired):
            result.outputs = {"PropertyValue": value}
            result.message = f"{selector} = {as_text(value)}"
            return
        shown = "absent" if value is MISSING else as_text(value)
        if not waiting:
            raise StepFailure(f"{selector} is {shown}, expected one of {desired}")
        if end - clock.monotonic() <= pause:
            clock.sleep(max(end - clock.monotonic(), 0))
            raise StepTimeout(f"{selector} is still {shown}, expected one of {desired}")
        clock.sleep(pause)
        pause = min(pause * 2, _POLL_MAX)


def sleep(run: RunState, step: Step, result: StepResult, timeout: float) -> None:
    """aws:sleep (a Duration, or until a Timestamp); not slept in a dry run."""
    if run.dry_run:
        result.status, result.message = DRY_RUN, "planned: not slept (dry run)"
        return
    spec = run.values.interpolate(step.inputs)
    if "Duration" in spec:
        seconds = parse_duration(spec["Duration"])
        if seconds is None:
            raise StepFailure(f"Duration {spec['Duration']!r} is not ISO 8601 (PT#S)", retry=False)
    else:
        when = parse_timestamp(spec["Timestamp"])
        if when is None:
            raise StepFailure(f"Timestamp {spec['Timestamp']!r} is not ISO 8601", retry=False)
        seconds = max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)
    if seconds > timeout:
        run.clock.sleep(max(timeout, 0))
        raise StepTimeout(f"a sleep of {seconds:g} s does not fit in {timeout:.1f} s")
    run.clock.sleep(seconds)
    result.message = f"slept {seconds:g} s"


class ScriptContext(dict):
    """The ``context`` a vetted script gets: SSM's automation variables as keys, plus
    ``phiwatch_client(service)``, which routes the script's calls through the executor."""

    def __init__(self, variables: dict[str, Any], factory: Callable[[str], Any]) -> None:
        super().__init__(variables)
        self.phiwatch_client = factory


class ScriptClient:
    """A boto3-like client for a script: only the script's declared APIs, each call recorded."""

    def __init__(self, run: RunState, service: str, allowed: set[tuple[str, str]], result: StepResult) -> None:
        self._run, self._service, self._allowed, self._result = run, service, allowed, result
        real = run.aws.client(service, run.region)
        self._api_by_method = dict(real.meta.method_to_api_mapping)
        self.exceptions = real.exceptions

    def __getattr__(self, method: str) -> Callable[..., Any]:
        api = self._api_by_method.get(method)
        if api is None or (self._service, api) not in self._allowed:
            raise PermissionError(f"this script may not call {self._service}.{method}")

        def call(**params: Any) -> Any:
            return self._run.send(self._service, api, params, self._result, raw=True)

        return call


def run_script(run: RunState, step: Step, result: StepResult, timeout: float) -> None:
    """aws:executeScript: the vetted script named by Handler, bounded by ``timeout``."""
    if plan_only(run, step, result):
        return
    spec = SCRIPTS[step.inputs["Handler"]]
    payload = run.values.interpolate(step.inputs.get("InputPayload") or {})
    allowed = set(spec.api_calls)
    variables = {
        "automation:EXECUTION_ID": run.execution_id,
        "automation:DOCUMENT_NAME": run.doc.id,
        "global:REGION": run.values.global_value("global:REGION"),
    }
    context = ScriptContext(variables, lambda service: ScriptClient(run, service, allowed, result))
    try:
        value = run.call_with_timeout(lambda: spec.func(payload, context), timeout)
    except StepTimeout:
        raise
    except ClientError as exc:
        raise StepFailure(f"script {spec.name}: {error_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}") from None
    except Exception as exc:  # noqa: BLE001 - a script's failure is the step's failure
        raise StepFailure(f"script {spec.name}: {type(exc).__name__}: {exc}") from None
    if run.dry_run and run.planned_write:
        # The script itself planned a write: what it returned assumed the write happened.
        result.status, result.message = DRY_RUN, "planned: the script's writes were not sent (dry run)"
    store_outputs(run, step, {"Payload": to_jsonable(value)}, result)


def branch(run: RunState, step: Step) -> str | None:
    """aws:branch: the step it goes to (None: the next step in the list)."""
    for choice in step.inputs["Choices"]:
        if choice_true(run, choice):
            return choice["NextStep"]
    return step.inputs.get("Default")


def choice_true(run: RunState, choice: dict) -> bool:
    """One of a branch's Choices holds (And/Or/Not, numeric, boolean and string operators)."""
    if "And" in choice:
        return all(choice_true(run, c) for c in choice["And"])
    if "Or" in choice:
        return any(choice_true(run, c) for c in choice["Or"])
    if "Not" in choice:
        return not choice_true(run, choice["Not"])
    ref = _WHOLE_REF.match(choice["Variable"]).group(1)  # type: ignore[union-attr]
    value = run.values.lookup(ref)
    if isinstance(value, Unknown):
        raise PlanStops(f"the branch reads {{{{ {ref} }}}}, known only after the planned change")
    op = next(k for k in choice if k not in ("Variable", "NextStep"))
    expected = run.values.interpolate(choice[op])
    if value is MISSING:
        return False
    if op in NUMERIC_OPS:
        try:
            a, b = float(value), float(expected)
        except (TypeError, ValueError):
            raise StepFailure(f"{{{{ {ref} }}}} = {as_text(value)!r} is not a number ({op})", retry=False) from None
        return {
            "NumericEquals": a == b,
            "NumericGreater": a > b,
            "NumericLesser": a < b,
            "NumericGreaterOrEquals": a >= b,
            "NumericLesserOrEquals": a <= b,
        }[op]
    if op == "BooleanEquals":
        actual = value if isinstance(value, bool) else str(value).strip().lower() == "true"
        wanted = expected if isinstance(expected, bool) else str(expected).strip().lower() == "true"
        return actual == wanted
    text, exp = as_text(value), as_text(expected)
    if op == "StringEquals":
        return text == exp
    if op == "EqualsIgnoreCase":
        return text.lower() == exp.lower()
    if op == "StartsWith":
        return text.startswith(exp)
    if op == "EndsWith":
        return text.endswith(exp)
    if isinstance(value, list):  # Contains
        return exp in [as_text(v) for v in value]
    return exp in text
