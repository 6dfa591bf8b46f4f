"""The records of a runbook run, and how a step attempt ends.

:class:`Execution` is a run (or dry-run plan) of a runbook, with a :class:`StepResult` per step
run and an :class:`ApiCall` per AWS call a step sent or planned; the status constants are the
values their ``status`` fields take. :class:`StepFailure`, :class:`StepTimeout` and
:class:`PlanStops` are raised inside a step and turned into its status by the executor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from phiwatch.model import to_jsonable
from phiwatch.runbooks.document import is_write_api

SUCCESS, FAILED, SKIPPED, TIMED_OUT, DRY_RUN = "Success", "Failed", "Skipped", "TimedOut", "DryRun"


@dataclass
class ApiCall:
    """One AWS call of a step: interpolated params, JSON-normalised response or the error.
    ``planned`` is True for a call a dry run did not send; ``from_item`` for a read a dry run
    answered from the finding's collected item instead of sending it
    (:mod:`~phiwatch.remediate.item_reads`)."""

    service: str
    api: str
    params: dict
    response: dict | None = None
    error: str | None = None
    planned: bool = False
    error_code: str | None = None
    from_item: bool = False

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


class StepFailure(Exception):
    """The step attempt failed (status Failed); ``retry`` False when another attempt cannot help."""

    def __init__(self, message: str, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class StepTimeout(Exception):
    """The step attempt outlived its timeout (status TimedOut)."""


class PlanStops(Exception):
    """Dry run: a branch depends on a value only a planned write would produce."""
