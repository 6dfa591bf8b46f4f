"""Run an SSM Automation document through boto3 (phiwatch's own executor).

:func:`execute` binds and checks the parameters (RunbookError naming the parameter, before any
call), then walks ``mainSteps`` like SSM Automation does:

* the next step is the branch's choice, else the step's ``nextStep``, else the next one in the
  list; ``isEnd`` stops after the step (whether it succeeded or failed);
* a failed step (an API error, a failed assertion, a script exception, an unresolvable input)
  is retried up to ``maxAttempts`` times with a short backoff (0.5 s, 1 s, 2 s ... at most 5 s);
  then ``onFailure`` decides: Abort (default) stops the run, Continue goes on with the next
  step, ``step:X`` jumps to X. A failed step with ``isCritical`` (default true, false when
  onFailure is Continue) makes the run Failed and sets ``failed_step`` (the first one);
* ``timeoutSeconds`` bounds each attempt of a step (an API call that outlives it leaves its
  result unknown: the step is TimedOut, i.e. failed); ``max_seconds`` bounds the whole run,
  and a run never executes more than ``max(100, 10 x steps)`` steps (no loops, no retry
  storms; botocore's own throttling retries stay bounded by the AwsContext's config);
* ``aws:waitForAwsResourceProperty`` polls (0.2 s doubling to 5 s) until the property has one
  of the DesiredValues or its timeout (SSM's default 3600 s, capped by ``max_seconds``).

Values: output selectors run on the JSON-normalised response (datetimes as ISO text, no
ResponseMetadata); a selector that matches nothing leaves the output without a value (a
branch condition on it is false, ``Not`` of it true; using it as an input fails the step).
``{{ X }}`` as a whole string keeps X's type (lists, maps, integers, booleans); inside a
larger string it is formatted (text as is, anything else as JSON). API parameters are then
fitted to the botocore input shape ("14" -> 14 for an integer member, "true" -> True ...).
Assertions compare text: booleans as True/False (case-insensitive), numbers as digits; a
list property passes when it is non-empty and every element is desired.

Dry run (``dry_run=True``): no write call is ever sent (a write is any Api not starting with
Get/Describe/List/Head). Read-only executeAwsApi steps, branches, assertions/waits and the
vetted scripts' declared reads DO run until the first write is planned, so the plan follows
the branch the real run would take and shows the interpolated parameters the writes would get
(also STS GetCallerIdentity when the runbook uses ``{{ global:ACCOUNT_ID }}``). Every write is
recorded as an :class:`ApiCall` with ``planned=True`` and step status "DryRun"; once a write is
planned, every later step is planned the same way without calling AWS (its reads would see the
state before the change); a branch on a value only the planned write would produce stops the
plan there (step status "Skipped"). The run's status is "DryRun" (or "Failed" when a read, an
assertion or the parameters already fail).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from phiwatch.aws.session import AwsContext
from phiwatch.collect.base import error_code, snake
from phiwatch.model import to_jsonable
from phiwatch.runbooks.document import (
    _WHOLE_REF,
    MISSING,
    NUMERIC_OPS,
    REF,
    Document,
    RunbookError,
    Step,
    coerce_value,
    is_write_api,
    parse_duration,
    parse_path,
    parse_timestamp,
    select,
    service_model,
)
from phiwatch.runbooks.scripts import SCRIPTS

SUCCESS, FAILED, SKIPPED, TIMED_OUT, DRY_RUN = "Success", "Failed", "Skipped", "TimedOut", "DryRun"
WAIT_DEFAULT_TIMEOUT = 3600.0
_BACKOFF_START, _BACKOFF_MAX = 0.5, 5.0
_POLL_START, _POLL_MAX = 0.2, 5.0


@dataclass
class ApiCall:
    """One AWS call of a step: interpolated params, JSON-normalised response or the error.
    ``planned`` is True for a call a dry run did not send."""

    service: str
    api: str
    params: dict
    response: dict | None = None
    error: str | None = None
    planned: bool = False
    error_code: str | None = None

    @property
    def write(self) -> bool:
        return is_write_api(self.api)


@dataclass
class StepResult:
    """A step as run: Success | Failed | TimedOut | Skipped | DryRun (planned, not run)."""

    name: str
    action: str
    status: str
    calls: list[ApiCall] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)
    message: str = ""
    attempts: int = 0
    duration: float = 0.0


@dataclass
class Execution:
    """A run (or dry-run plan) of a runbook: Success | Failed | DryRun."""

    runbook_id: str
    parameters: dict
    status: str
    steps: list[StepResult] = field(default_factory=list)
    error: str | None = None
    failed_step: str | None = None
    dry_run: bool = False
    region: str = ""
    execution_id: str = ""
    started_at: str = ""
    duration: float = 0.0
    outputs: dict = field(default_factory=dict)

    @property
    def calls(self) -> list[ApiCall]:
        return [c for s in self.steps for c in s.calls]

    @property
    def write_calls(self) -> list[ApiCall]:
        """Writes sent (or, in a dry run, planned)."""
        return [c for c in self.calls if c.write]

    def to_dict(self) -> dict:
        """JSON-ready form (for the plan store and the audit log)."""
        return to_jsonable(asdict(self))


class _StepFailure(Exception):
    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class _StepTimeout(Exception):
    pass


class _PlanStops(Exception):
    """Dry run: a branch depends on a value only a planned write would produce."""


class _Unknown:
    """Dry run: the value of a planned step's output."""

    def __init__(self, ref: str) -> None:
        self.ref = ref


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _convert_output(value: Any, type_name: str, where: str) -> Any:
    """An output value converted to its declared Type (SSM converts where it can)."""
    if type_name == "String" and not isinstance(value, str):
        return _as_text(value)
    if type_name == "StringList" and isinstance(value, list):
        return [_as_text(v) for v in value]
    if type_name == "StringList" and not isinstance(value, (dict, list)):
        return [_as_text(value)]
    try:
        return coerce_value(value, type_name, where)
    except RunbookError as exc:
        raise _StepFailure(str(exc), retry=False) from None


def _fit_to_shape(value: Any, shape: Any) -> Any:
    """Interpolated values fitted to botocore's input shape (text <-> numbers and booleans)."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: _fit_to_shape(v, shape.members.get(k)) if k in shape.members else v for k, v in value.items()}
    if kind == "list":
        if isinstance(value, list):
            return [_fit_to_shape(v, shape.member) for v in value]
        return value
    if kind == "map" and isinstance(value, dict):
        return {k: _fit_to_shape(v, shape.value) for k, v in value.items()}
    if kind == "string" and not isinstance(value, str) and isinstance(value, (bool, int, float, list, dict)):
        return ("true" if value else "false") if isinstance(value, bool) else _as_text(value)
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


def _call_with_timeout(fn: Callable[[], Any], timeout: float) -> Any:
    """Run ``fn`` in a worker thread; _StepTimeout when it outlives ``timeout`` seconds."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name="phiwatch-runbook-step", daemon=True)
    worker.start()
    worker.join(max(timeout, 0.0))
    if worker.is_alive():
        raise _StepTimeout(f"no answer within {timeout:.1f} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


class ScriptContext(dict):
    """The ``context`` a vetted script gets: SSM's automation variables as keys, plus
    ``phiwatch_client(service)``, which routes the script's calls through the executor."""

    def __init__(self, variables: dict[str, Any], factory: Callable[[str], Any]) -> None:
        super().__init__(variables)
        self.phiwatch_client = factory


class _ScriptClient:
    """A boto3-like client for a script: only the script's declared APIs, each call recorded."""

    def __init__(self, run: _Run, service: str, allowed: set[tuple[str, str]], result: StepResult) -> None:
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


class _Run:
    def __init__(self, doc: Document, params: dict, aws: AwsContext, region: str, dry_run: bool, max_seconds: float):
        self.doc, self.aws, self.region, self.dry_run = doc, aws, region, dry_run
        self.started = time.monotonic()
        self.deadline = self.started + max_seconds
        self.max_seconds = max_seconds
        self.values: dict[str, Any] = dict(params)
        self.unknown: set[str] = set()  # dry run: outputs of planned steps
        self.planned_write = False
        self.execution_id = str(uuid.uuid4())
        self._globals: dict[str, Any] = {}

    # -- values

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def global_value(self, name: str) -> Any:
        if name not in self._globals:
            now = dt.datetime.now(dt.UTC)
            if name == "global:ACCOUNT_ID":
                value: Any = self.aws.account_id()
            elif name == "global:REGION":
                value = self.region if self.region != "global" else self.aws.default_region
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
        region = self.region if self.region != "global" else self.aws.default_region
        try:
            return self.aws.session.get_partition_for_region(region)
        except Exception:  # noqa: BLE001 - unknown region: the commercial partition
            return "aws"

    def lookup(self, ref: str) -> Any:
        """A reference's value: MISSING when a selector matched nothing, _Unknown in a plan."""
        if ref in self.unknown:
            return _Unknown(ref)
        if ref.startswith(("global:", "automation:")):
            return self.global_value(ref)
        return self.values.get(ref, MISSING)

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
            return v if isinstance(v, str) else _as_text(v)

        return REF.sub(repl, value)

    def _resolved(self, ref: str, lenient: bool, literal: str) -> Any:
        v = self.lookup(ref)
        if isinstance(v, _Unknown):
            if lenient:
                return literal
            raise _PlanStops(f"needs {{{{ {ref} }}}}, known only after the planned change")
        if v is MISSING:
            raise _StepFailure(f"{{{{ {ref} }}}} has no value (its selector matched nothing)", retry=False)
        return v

    # -- AWS calls

    def send(self, service: str, api: str, params: dict, result: StepResult, raw: bool = False) -> Any:
        """Call ``service.api`` (or plan it, in a dry run, when it writes); record an ApiCall.
        Returns the JSON-normalised response, or boto3's own when ``raw`` (scripts)."""
        record = ApiCall(service=service, api=api, params=to_jsonable(params))
        result.calls.append(record)
        if self.dry_run and (is_write_api(api) or self.planned_write):
            record.planned = True
            self.planned_write = self.planned_write or is_write_api(api)
            return {}
        client = self.aws.client(service, self.region)
        method = _method_name(client, api)
        try:
            response = getattr(client, method)(**params)
        except (ClientError, ParamValidationError, BotoCoreError) as exc:
            record.error_code = error_code(exc)
            message = exc.response.get("Error", {}).get("Message", "") if isinstance(exc, ClientError) else str(exc)
            record.error = f"{record.error_code}: {message}".strip().rstrip(":")
            raise
        clean = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        record.response = to_jsonable(clean)
        return clean if raw else record.response

    def api_call(self, step: Step, result: StepResult, timeout: float) -> Any:
        service, api = step.service, step.api
        if service is None or api is None:  # validation gives every API step both
            raise _StepFailure(f"step '{step.name}' names no API", retry=False)
        params = self.interpolate(step.api_params, lenient=self.dry_run)
        shape = service_model(service).operation_model(api).input_shape
        params = _fit_to_shape(params, shape)
        try:
            return _call_with_timeout(lambda: self.send(service, api, params, result), timeout)
        except (ClientError, ParamValidationError, BotoCoreError) as exc:
            raise _StepFailure(result.calls[-1].error or str(exc), retry=not isinstance(exc, ParamValidationError)) from None

    # -- steps

    def run_step(self, step: Step) -> StepResult:
        result = StepResult(name=step.name, action=step.action, status=SUCCESS)
        started = time.monotonic()
        for attempt in range(1, step.max_attempts + 1):
            result.attempts = attempt
            budget = self.remaining()
            if budget <= 0:
                result.status, result.message = TIMED_OUT, f"the runbook exceeded max_seconds ({self.max_seconds:g} s)"
                break
            limit = step.timeout_seconds
            if limit is None and step.action == "aws:waitForAwsResourceProperty":
                limit = WAIT_DEFAULT_TIMEOUT
            timeout = min(limit, budget) if limit is not None else budget
            try:
                self.attempt(step, result, timeout)
                break
            except _StepTimeout as exc:
                result.status = TIMED_OUT
                result.message = f"timed out after {timeout:.1f} s: {exc}"
                retry = True
            except _StepFailure as exc:
                result.status, result.message, retry = FAILED, str(exc), exc.retry
            if not retry or attempt == step.max_attempts:
                break
            pause = min(_BACKOFF_START * 2 ** (attempt - 1), _BACKOFF_MAX)
            if self.remaining() <= pause:
                break
            time.sleep(pause)
        result.duration = round(time.monotonic() - started, 3)
        return result

    def attempt(self, step: Step, result: StepResult, timeout: float) -> None:
        result.status, result.message, result.outputs = SUCCESS, "", {}
        action = step.action
        if action == "aws:executeAwsApi":
            self.execute_api(step, result, timeout)
        elif action in ("aws:assertAwsResourceProperty", "aws:waitForAwsResourceProperty"):
            self.check_property(step, result, timeout)
        elif action == "aws:branch":
            raise AssertionError("branches are evaluated by the run loop")
        elif action == "aws:sleep":
            self.sleep(step, result, timeout)
        elif action == "aws:executeScript":
            self.script(step, result, timeout)

    def plan_only(self, step: Step, result: StepResult) -> bool:
        """Dry run after a planned write: record the step's call as planned, run nothing."""
        if not (self.dry_run and self.planned_write):
            return False
        if step.service and step.api:
            params = self.interpolate(step.api_params, lenient=True)
            result.calls.append(ApiCall(step.service, step.api, to_jsonable(params), planned=True))
        result.status = DRY_RUN
        what = f"script {step.inputs['Handler']}" if step.action == "aws:executeScript" else "step"
        result.message = f"planned: {what} runs after the planned change"
        self.unknown.update(f"{step.name}.{o.name}" for o in step.outputs)
        return True

    def store_outputs(self, step: Step, response: Any, result: StepResult) -> None:
        for out in step.outputs:
            value = select(response, out.path)
            key = f"{step.name}.{out.name}"
            if value is MISSING:
                self.values.pop(key, None)
                continue
            value = _convert_output(value, out.type, f"step '{step.name}' output '{out.name}'")
            self.values[key] = value
            result.outputs[out.name] = value

    def execute_api(self, step: Step, result: StepResult, timeout: float) -> None:
        if self.plan_only(step, result):
            return
        response = self.api_call(step, result, timeout)
        if result.calls and result.calls[-1].planned:
            result.status, result.message = DRY_RUN, "planned: not sent (dry run)"
            self.unknown.update(f"{step.name}.{o.name}" for o in step.outputs)
            return
        self.store_outputs(step, response, result)

    def check_property(self, step: Step, result: StepResult, timeout: float) -> None:
        if self.plan_only(step, result):
            return
        selector = step.inputs["PropertySelector"]
        path = parse_path(selector)
        desired = [_as_text(v) for v in self.interpolate(step.inputs["DesiredValues"])]
        waiting = step.action == "aws:waitForAwsResourceProperty"
        end = time.monotonic() + timeout
        pause = _POLL_START
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise _StepTimeout(f"{selector} never became one of {desired}")
            response = self.api_call(step, result, left)
            value = select(response, path)
            if value is not MISSING and _matches(value, desired):
                result.outputs = {"PropertyValue": value}
                result.message = f"{selector} = {_as_text(value)}"
                return
            shown = "absent" if value is MISSING else _as_text(value)
            if not waiting:
                raise _StepFailure(f"{selector} is {shown}, expected one of {desired}")
            if end - time.monotonic() <= pause:
                time.sleep(max(end - time.monotonic(), 0))
                raise _StepTimeout(f"{selector} is still {shown}, expected one of {desired}")
            time.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)

    def sleep(self, step: Step, result: StepResult, timeout: float) -> None:
        if self.dry_run:
            result.status, result.message = DRY_RUN, "planned: not slept (dry run)"
            return
        spec = self.interpolate(step.inputs)
        if "Duration" in spec:
            seconds = parse_duration(spec["Duration"])
            if seconds is None:
                raise _StepFailure(f"Duration {spec['Duration']!r} is not ISO 8601 (PT#S)", retry=False)
        else:
            when = parse_timestamp(spec["Timestamp"])
            if when is None:
                raise _StepFailure(f"Timestamp {spec['Timestamp']!r} is not ISO 8601", retry=False)
            seconds = max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)
        if seconds > timeout:
            time.sleep(max(timeout, 0))
            raise _StepTimeout(f"a sleep of {seconds:g} s does not fit in {timeout:.1f} s")
        time.sleep(seconds)
        result.message = f"slept {seconds:g} s"

    def script(self, step: Step, result: StepResult, timeout: float) -> None:
        if self.plan_only(step, result):
            return
        spec = SCRIPTS[step.inputs["Handler"]]
        payload = self.interpolate(step.inputs.get("InputPayload") or {})
        allowed = set(spec.api_calls)
        variables = {
            "automation:EXECUTION_ID": self.execution_id,
            "automation:DOCUMENT_NAME": self.doc.id,
            "global:REGION": self.global_value("global:REGION"),
        }
        context = ScriptContext(variables, lambda service: _ScriptClient(self, service, allowed, result))
        try:
            value = _call_with_timeout(lambda: spec.func(payload, context), timeout)
        except _StepTimeout:
            raise
        except ClientError as exc:
            raise _StepFailure(f"script {spec.name}: {error_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}") from None
        except Exception as exc:  # noqa: BLE001 - a script's failure is the step's failure
            raise _StepFailure(f"script {spec.name}: {type(exc).__name__}: {exc}") from None
        if self.dry_run and self.planned_write:
            # The script itself planned a write: what it returned assumed the write happened.
            result.status, result.message = DRY_RUN, "planned: the script's writes were not sent (dry run)"
        self.store_outputs(step, {"Payload": to_jsonable(value)}, result)

    # -- branches

    def branch(self, step: Step) -> str | None:
        """The step a branch goes to (None: the next step in the list)."""
        for choice in step.inputs["Choices"]:
            if self.choice_true(choice):
                return choice["NextStep"]
        return step.inputs.get("Default")

    def choice_true(self, choice: dict) -> bool:
        if "And" in choice:
            return all(self.choice_true(c) for c in choice["And"])
        if "Or" in choice:
            return any(self.choice_true(c) for c in choice["Or"])
        if "Not" in choice:
            return not self.choice_true(choice["Not"])
        ref = _WHOLE_REF.match(choice["Variable"]).group(1)  # type: ignore[union-attr]
        value = self.lookup(ref)
        if isinstance(value, _Unknown):
            raise _PlanStops(f"the branch reads {{{{ {ref} }}}}, known only after the planned change")
        op = next(k for k in choice if k not in ("Variable", "NextStep"))
        expected = self.interpolate(choice[op])
        if value is MISSING:
            return False
        if op in NUMERIC_OPS:
            try:
                a, b = float(value), float(expected)
            except (TypeError, ValueError):
                raise _StepFailure(f"{{{{ {ref} }}}} = {_as_text(value)!r} is not a number ({op})", retry=False) from None
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
        text, exp = _as_text(value), _as_text(expected)
        if op == "StringEquals":
            return text == exp
        if op == "EqualsIgnoreCase":
            return text.lower() == exp.lower()
        if op == "StartsWith":
            return text.startswith(exp)
        if op == "EndsWith":
            return text.endswith(exp)
        if isinstance(value, list):  # Contains
            return exp in [_as_text(v) for v in value]
        return exp in text


_METHODS: dict[tuple[str, str], dict[str, str]] = {}


def _method_name(client: Any, api: str) -> str:
    """boto3's method name for a PascalCase operation (snake_case as the fallback)."""
    model = client.meta.service_model
    key = (model.service_name, model.api_version)
    methods = _METHODS.get(key)
    if methods is None:
        methods = {v: k for k, v in client.meta.method_to_api_mapping.items()}
        _METHODS[key] = methods
    return methods.get(api) or snake(api)


def _matches(value: Any, desired: list[str]) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_matches(v, desired) for v in value)
    text = _as_text(value)
    if isinstance(value, bool):
        return text.lower() in [d.lower() for d in desired]
    return text in desired


def execute(
    doc: Document,
    parameters: dict,
    aws: AwsContext,
    region: str,
    *,
    dry_run: bool,
    max_seconds: float = 600,
) -> Execution:
    """Run (or, with ``dry_run``, plan) ``doc`` with ``parameters`` in ``region``.

    Raises RunbookError (naming the parameter) for a missing, unknown or invalid parameter,
    before any AWS call. Everything else — API errors, failed assertions, timeouts — ends in
    the returned Execution (status Failed, ``failed_step``, ``error``), never in an exception.
    See the module docstring for the semantics and what a dry run calls.
    """
    values = doc.bind(parameters)
    run = _Run(doc, values, aws, region, dry_run, max_seconds)
    execution = Execution(
        runbook_id=doc.id,
        parameters=to_jsonable(values),
        status=DRY_RUN if dry_run else SUCCESS,
        dry_run=dry_run,
        region=region,
        execution_id=run.execution_id,
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    by_name = {s.name: i for i, s in enumerate(doc.steps)}
    index: int | None = 0
    budget = max(100, 10 * len(doc.steps))
    while index is not None and index < len(doc.steps):
        step = doc.steps[index]
        if budget == 0:
            execution.status, execution.failed_step = FAILED, execution.failed_step or step.name
            execution.error = execution.error or f"stopped at step '{step.name}': too many steps run (a loop?)"
            break
        budget -= 1
        following = index + 1 if index + 1 < len(doc.steps) else None
        if step.action == "aws:branch":
            result = StepResult(name=step.name, action=step.action, status=SUCCESS, attempts=1)
            execution.steps.append(result)
            try:
                target = run.branch(step)
            except _PlanStops as exc:
                result.status, result.message = SKIPPED, f"plan stops here: {exc}"
                break
            except _StepFailure as exc:
                result.status, result.message = FAILED, str(exc)
            else:
                result.message = f"next: {target or '(next in list)'}"
                result.outputs = {"NextStep": target}
                if step.is_end:
                    break
                index = by_name[target] if target else following
                continue
        else:
            try:
                result = run.run_step(step)
            except _PlanStops as exc:
                result = StepResult(name=step.name, action=step.action, status=SKIPPED, message=f"plan stops here: {exc}")
                execution.steps.append(result)
                break
            execution.steps.append(result)
        if result.status in (FAILED, TIMED_OUT):
            if step.is_critical and execution.failed_step is None:
                execution.failed_step = step.name
                execution.error = f"step '{step.name}' ({step.action}) {result.status.lower()}: {result.message}"
                execution.status = FAILED
            if step.on_failure == "Abort":
                execution.status = FAILED
                if execution.failed_step is None:
                    execution.failed_step = step.name
                    execution.error = f"step '{step.name}' ({step.action}) {result.status.lower()}: {result.message}"
                break
            if step.is_end:
                break
            index = by_name[step.failure_target] if step.failure_target else (by_name[step.next_step] if step.next_step else following)
            continue
        if step.is_end:
            break
        index = by_name[step.next_step] if step.next_step else following
    execution.outputs = {name: run.values[name] for name in doc.outputs if name in run.values and name not in run.unknown}
    execution.duration = round(time.monotonic() - run.started, 3)
    return execution
