"""What a remediation pass produces: the findings it acts on (:class:`Target`), what happened
to each (:class:`Outcome`, :class:`RemediationReport`), and how an execution is serialised for the
store and the audit log (ids and parameters, never response bodies)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from phiwatch.model import ConfigurationItem
from phiwatch.remediate import audit
from phiwatch.runbooks.document import is_write_api
from phiwatch.store.findings import OPEN


@dataclass
class Target:
    """An open finding that has a runbook, with its current item."""

    finding_id: str
    rule_id: str
    runbook_id: str
    resource_pk: int
    item: ConfigurationItem
    severity: str
    state_id: str  # the store's current configurationStateId
    evaluated_state: str | None  # the configuration the rule last judged
    evaluated_at: dt.datetime | None
    status: str = OPEN


@dataclass
class Outcome:
    """What happened to one finding in this run."""

    finding_id: str
    rule_id: str
    runbook_id: str
    resource_type: str
    resource_id: str
    region: str
    mode: str
    status: str  # planned | applied | failed | skipped | deferred
    remediation_id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    plan: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    failed_step: str | None = None
    new: bool = True  # False: an unchanged plan from an earlier run, not repeated
    run_region: str | None = None  # a plan's: the Region its runbook runs in (a covered plan: the covering plan's)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class RemediationReport:
    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    evaluation: Any = None  # the EvaluationSummary of the re-evaluation after re-collection
    queued_alerts: int = 0

    def by_status(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]


# -- serialisation of an execution (what the store and the audit keep) -----------------------


def _call_result(call: Any) -> dict[str, Any]:
    """A call's service, api, parameters and outcome; never the response body (ids and parameters only)."""
    out: dict[str, Any] = {"service": call.service, "api": call.api, "params": audit.redact(call.params or {})}
    if getattr(call, "from_item", False):
        out["from_item"] = True  # a dry run's read answered by the collected item, not sent
    if getattr(call, "planned", False):
        out["result"] = "planned (not sent)"
    elif call.error:
        out["result"] = "error"
        out["error"] = str(call.error)[:500]
    else:
        out["result"] = "ok"
    return out


def execution_steps(execution: Any) -> list[dict[str, Any]]:
    """Each step with its status and its calls' parameters and results (no response bodies)."""
    return [
        {
            "step": s.name,
            "action": s.action,
            "status": s.status,
            "message": str(s.message or "")[:500],
            "calls": [_call_result(c) for c in s.calls],
            "outputs": audit.redact(s.outputs or {}),
        }
        for s in execution.steps
    ]


def plan_calls(execution: Any) -> list[dict[str, Any]]:
    """Every API call of a (dry-run) execution: step, service, api, params, whether it writes, whether
    it was sent, and ``from_item`` for a read answered by the finding's collected item instead."""
    return [
        {
            "step": s.name,
            "service": c.service,
            "api": c.api,
            "params": audit.redact(c.params or {}),
            "write": is_write_api(c.api),
            "sent": not getattr(c, "planned", False) and not getattr(c, "from_item", False),
            **({"from_item": True} if getattr(c, "from_item", False) else {}),
        }
        for s in execution.steps
        for c in s.calls
    ]


def resource_fields(item: ConfigurationItem) -> dict[str, Any]:
    """The item's type, id, account and Region, as an audit entry names the resource."""
    return {"resource_type": item.resourceType, "resource_id": item.resourceId, "account_id": item.accountId, "region": item.awsRegion}


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` with UTC as its time zone when the database gave it none."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
