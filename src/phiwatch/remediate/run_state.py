"""The state of one runbook run, and its AWS calls.

:class:`RunState` holds what a run carries from step to step: the document, the AWS context
and region, the run's deadline (``max_seconds``), its :class:`~phiwatch.remediate.values.RunValues`
and, in a dry run, whether a write has been planned. It also holds the clock and the
timeout-bounded caller the executor hands it, so every step waits and sleeps the same way.

:meth:`RunState.send` is the one place a call reaches AWS: it records an
:class:`~phiwatch.remediate.execution.ApiCall`, and in a dry run plans a write (any Api not
starting with Get/Describe/List/Head), and every call after one, instead of sending it; a dry
run given the finding's item answers the reads the item holds from it
(:mod:`~phiwatch.remediate.item_reads`).
:meth:`RunState.api_call` sends a step's own Api with its inputs interpolated and fitted to
the botocore input shape.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from phiwatch.aws.session import AwsContext
from phiwatch.collect.base import error_code, snake
from phiwatch.model import to_jsonable
from phiwatch.remediate.execution import ApiCall, StepFailure, StepResult
from phiwatch.remediate.item_reads import NOT_ANSWERED, ItemReads
from phiwatch.remediate.values import RunValues, fit_to_shape
from phiwatch.runbooks.document import Document, Step, is_write_api, service_model


class Clock(Protocol):
    """What a run reads time with and sleeps with (the ``time`` module)."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float, /) -> None: ...


CallWithTimeout = Callable[[Callable[[], Any], float], Any]
"""``(fn, timeout)``: ``fn()``'s value, or StepTimeout when it outlives ``timeout`` seconds."""


_METHODS: dict[tuple[str, str], dict[str, str]] = {}


def method_name(client: Any, api: str) -> str:
    """boto3's method name for a PascalCase operation (snake_case as the fallback)."""
    model = client.meta.service_model
    key = (model.service_name, model.api_version)
    methods = _METHODS.get(key)
    if methods is None:
        methods = {v: k for k, v in client.meta.method_to_api_mapping.items()}
        _METHODS[key] = methods
    return methods.get(api) or snake(api)


class RunState:
    """One run of a document: its inputs, deadline, values, dry-run planning and AWS calls."""

    def __init__(
        self,
        doc: Document,
        params: dict,
        aws: AwsContext,
        region: str,
        dry_run: bool,
        max_seconds: float,
        *,
        clock: Clock,
        call_with_timeout: CallWithTimeout,
        item_reads: ItemReads | None = None,
    ) -> None:
        self.doc, self.aws, self.region, self.dry_run = doc, aws, region, dry_run
        #: dry run only: answers reads the finding's collected item holds (not sent to AWS)
        self.item_reads = item_reads if dry_run else None
        self.clock, self.call_with_timeout = clock, call_with_timeout
        self.started = clock.monotonic()
        self.deadline = self.started + max_seconds
        self.max_seconds = max_seconds
        self.execution_id = str(uuid.uuid4())
        self.values = RunValues(doc, params, aws, region, self.execution_id)
        self.planned_write = False

    def remaining(self) -> float:
        return self.deadline - self.clock.monotonic()

    def send(self, service: str, api: str, params: dict, result: StepResult, raw: bool = False) -> Any:
        """Call ``service.api`` (or plan it, in a dry run, when it writes); record an ApiCall.
        Returns the JSON-normalised response, or boto3's own when ``raw`` (scripts)."""
        record = ApiCall(service=service, api=api, params=to_jsonable(params))
        result.calls.append(record)
        if self.dry_run and (is_write_api(api) or self.planned_write):
            record.planned = True
            self.planned_write = self.planned_write or is_write_api(api)
            return {}
        if self.item_reads is not None:
            answer = self.item_reads.answer(service, api, params)
            if answer is not NOT_ANSWERED:
                record.from_item = True
                if isinstance(answer, ClientError):
                    record.error_code = error_code(answer)
                    record.error = f"{record.error_code}: {answer.response['Error']['Message']}"
                    raise answer
                record.response = to_jsonable(answer)
                return answer if raw else record.response
        client = self.aws.client(service, self.region)
        method = method_name(client, api)
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
        """The step's Api called with its interpolated inputs, bounded by ``timeout``."""
        service, api = step.service, step.api
        if service is None or api is None:  # validation gives every API step both
            raise StepFailure(f"step '{step.name}' names no API", retry=False)
        params = self.values.interpolate(step.api_params, lenient=self.dry_run)
        shape = service_model(service).operation_model(api).input_shape
        params = fit_to_shape(params, shape)
        try:
            return self.call_with_timeout(lambda: self.send(service, api, params, result), timeout)
        except (ClientError, ParamValidationError, BotoCoreError) as exc:
            raise StepFailure(result.calls[-1].error or str(exc), retry=not isinstance(exc, ParamValidationError)) from None
