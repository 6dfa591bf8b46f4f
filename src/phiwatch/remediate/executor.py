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
assertion or the parameters already fail). Given the finding's collected item (``item_reads``),
a dry run answers the reads the item holds from it instead of AWS, recorded as the same call
marked ``from_item`` (:mod:`~phiwatch.remediate.item_reads`).

Modules: the records are in :mod:`~phiwatch.remediate.execution`, ``{{ }}`` values and their
conversions in :mod:`~phiwatch.remediate.values`, the run's state and AWS calls (with the dry
run's planning of writes) in :mod:`~phiwatch.remediate.run_state`, and what each action does
in :mod:`~phiwatch.remediate.steps`. This module holds :func:`execute`: the order of steps,
retries, timeouts and the run's bounds; the run gets its clock (``time``) and
:func:`_call_with_timeout` from here.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

from phiwatch.aws.session import AwsContext
from phiwatch.model import to_jsonable
from phiwatch.remediate import steps
from phiwatch.remediate.execution import (
    DRY_RUN,
    FAILED,
    SKIPPED,
    SUCCESS,
    TIMED_OUT,
    ApiCall,
    Execution,
    PlanStops,
    StepFailure,
    StepResult,
    StepTimeout,
)
from phiwatch.remediate.item_reads import ItemReads
from phiwatch.remediate.run_state import RunState
from phiwatch.runbooks.document import Document, Step

__all__ = ["ApiCall", "Execution", "StepResult", "execute"]

WAIT_DEFAULT_TIMEOUT = 3600.0
_BACKOFF_START, _BACKOFF_MAX = 0.5, 5.0


def _call_with_timeout(fn: Callable[[], Any], timeout: float) -> Any:
    """Run ``fn`` in a worker thread; StepTimeout when it outlives ``timeout`` seconds."""
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
        raise StepTimeout(f"no answer within {timeout:.1f} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _run_step(run: RunState, step: Step) -> StepResult:
    """A (non-branch) step run: attempts up to ``maxAttempts`` with backoff, each bounded by
    its ``timeoutSeconds`` and what is left of the run's ``max_seconds``."""
    result = StepResult(name=step.name, action=step.action, status=SUCCESS)
    started = time.monotonic()
    for attempt in range(1, step.max_attempts + 1):
        result.attempts = attempt
        budget = run.remaining()
        if budget <= 0:
            result.status, result.message = TIMED_OUT, f"the runbook exceeded max_seconds ({run.max_seconds:g} s)"
            break
        limit = step.timeout_seconds
        if limit is None and step.action == "aws:waitForAwsResourceProperty":
            limit = WAIT_DEFAULT_TIMEOUT
        timeout = min(limit, budget) if limit is not None else budget
        try:
            steps.attempt(run, step, result, timeout)
            break
        except StepTimeout as exc:
            result.status = TIMED_OUT
            result.message = f"timed out after {timeout:.1f} s: {exc}"
            retry = True
        except StepFailure as exc:
            result.status, result.message, retry = FAILED, str(exc), exc.retry
        if not retry or attempt == step.max_attempts:
            break
        pause = min(_BACKOFF_START * 2 ** (attempt - 1), _BACKOFF_MAX)
        if run.remaining() <= pause:
            break
        time.sleep(pause)
    result.duration = round(time.monotonic() - started, 3)
    return result


def execute(
    doc: Document,
    parameters: dict,
    aws: AwsContext,
    region: str,
    *,
    dry_run: bool,
    max_seconds: float = 600,
    item_reads: ItemReads | None = None,
) -> Execution:
    """Run (or, with ``dry_run``, plan) ``doc`` with ``parameters`` in ``region``.

    Raises RunbookError (naming the parameter) for a missing, unknown or invalid parameter,
    before any AWS call. Everything else — API errors, failed assertions, timeouts — ends in
    the returned Execution (status Failed, ``failed_step``, ``error``), never in an exception.
    See the module docstring for the semantics and what a dry run calls. ``item_reads`` (dry run
    only): the finding's item, which answers the reads it holds instead of AWS.
    """
    values = doc.bind(parameters)
    run = RunState(doc, values, aws, region, dry_run, max_seconds, clock=time, call_with_timeout=_call_with_timeout, item_reads=item_reads)
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
                target = steps.branch(run, step)
            except PlanStops as exc:
                result.status, result.message = SKIPPED, f"plan stops here: {exc}"
                break
            except StepFailure as exc:
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
                result = _run_step(run, step)
            except PlanStops as exc:
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
    known, unknown = run.values.known, run.values.unknown
    execution.outputs = {name: known[name] for name in doc.outputs if name in known and name not in unknown}
    execution.duration = round(time.monotonic() - run.started, 3)
    return execution
