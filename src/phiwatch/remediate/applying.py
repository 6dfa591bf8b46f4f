"""Applying: execute a batch of targets' runbooks (no retry storm, ``max_per_run`` / ``max_per_hour``,
identical runs once, account-wide runbooks once per account), re-collect what was acted on and
verify it; runs that cannot start are refused and recorded without sending anything.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from phiwatch.model import canonical_json
from phiwatch.remediate import audit
from phiwatch.remediate.executor import execute
from phiwatch.remediate.modes import COVERED_BY, FAILED, INTERRUPTED, RUNNING, SKIPPED, region_of
from phiwatch.remediate.planning import Planner
from phiwatch.remediate.recollection import recollect, services_for
from phiwatch.remediate.results import Outcome, RemediationReport, Target, resource_fields
from phiwatch.remediate.verifying import Verifier
from phiwatch.runbooks.document import RunbookError
from phiwatch.store import remediations as rem_store
from phiwatch.store.claims import process_token

log = logging.getLogger(__name__)


class Applier(Planner, Verifier):
    """Executes runbooks for auto mode and for approvals (:meth:`_apply_batch`)."""

    def _apply_batch(
        self,
        targets: list[Target],
        mode: str,
        report: RemediationReport,
        scan_id: str | None,
        *,
        limited: bool,
        approved_plans: dict[str, dict[str, Any] | None] | None = None,
        recheck: bool = False,
    ) -> None:
        """Execute the targets' runbooks (``approved_plans``: finding id -> the plan a human approved)."""
        if self.evaluate is None:  # checked before anything is sent: the store must not be left unevaluated
            raise TypeError("applying remediations needs the evaluation to run afterwards: Remediator(..., evaluate=...)")
        limit_run = self.policy.remediation.max_per_run if limited else None
        limit_hour = self.policy.remediation.max_per_hour if limited else None
        hour_count = self.executed_last_hour() if limit_hour is not None else 0
        # 1. no retry storm; limits; re-check what is not fresh
        ready: list[Target] = []
        stale: list[Target] = []
        for target in targets:
            with self.store.engine.connect() as conn:
                latest = rem_store.latest_remediation(conn, target.finding_id)
            if (
                limited
                and latest is not None
                and latest["status"] == FAILED
                and (latest["executed"] or (latest["reason"] or "").startswith(COVERED_BY))
                and not (latest["reason"] or "").startswith(INTERRUPTED)
                and latest["state_before"] == target.state_id
                and latest["runbook_id"] == target.runbook_id
            ):
                report.outcomes.append(
                    self._outcome(
                        target,
                        mode,
                        SKIPPED,
                        remediation_id=latest["id"],
                        reason=f"remediation {latest['id'][:12]} failed on this configuration ({latest['reason'] or 'see the audit log'}); "
                        f"not retried automatically: fix the cause, or retry with `phiwatch remediate {target.finding_id[:12]} --approve`",
                    )
                )
                continue
            if recheck or self._is_stale(target):
                stale.append(target)
            else:
                ready.append(target)
        if stale:
            fresh = recollect(
                self.aws,
                self.store,
                [(t.item, services_for(t.item, self.rules.get(t.rule_id))) for t in stale],
                changed_by=f"phiwatch re-check {self.run_id[:12]}",
            )
            for target in stale:
                still = self._recheck(target, fresh.get(target.item.key), mode, report, scan_id)
                if still is not None:
                    ready.append(still)
        # 2. execute (identical runs once, account-wide runbooks once per account), within the limits
        executed: dict[str, tuple[str, Any, str | None, str]] = {}  # run key -> (remediation id, execution, error, region)
        done: list[tuple[Target, str, Any, str | None, str | None]] = []  # ..., the remediation whose run it shares
        for target in self._execution_order(ready):
            doc = self.document(target.runbook_id)
            params = self._params(doc, target)
            region = region_of(target.item, self.aws.default_region)
            approved_plan = (approved_plans or {}).get(target.finding_id)
            if approved_plan is not None and canonical_json(approved_plan["parameters"]) != canonical_json(audit.redact(params)):
                outcome = self._plan(target, "manual", report, scan_id)
                outcome.status = SKIPPED
                outcome.reason = (
                    f"the resource changed since plan {approved_plan['id'][:12]} was made: review the new plan "
                    f"{(outcome.remediation_id or '')[:12]} (`phiwatch remediate {target.finding_id[:12]}`) and approve it"
                )
                report.outcomes.append(outcome)
                continue
            # a run that cannot start (a runbook parameter missing or invalid) sends nothing and is not counted
            problem = self._parameter_problem(target, verb="run")
            if problem:
                report.outcomes.append(self._refuse(target, mode, params, region, problem, report, scan_id))
                continue
            key = self._run_key(target, params)
            if key in executed:
                first_id, execution, error, ran_in = executed[key]
                rid = self._start(
                    target, mode, params, ran_in, scan_id, executed_flag=False, shared_with=first_id, approved_plan=approved_plan
                )
                done.append((target, rid, execution, error, first_id))
                continue
            if limit_run is not None and self.executions >= limit_run:
                report.outcomes.append(
                    self._outcome(
                        target, mode, "deferred", parameters=params, reason=f"max_per_run ({limit_run}) reached: left for the next scan"
                    )
                )
                continue
            if limit_hour is not None and hour_count + self.executions >= limit_hour:
                report.outcomes.append(
                    self._outcome(
                        target, mode, "deferred", parameters=params, reason=f"max_per_hour ({limit_hour}) reached: left for a later scan"
                    )
                )
                continue
            rid = self._start(target, mode, params, region, scan_id, executed_flag=True, approved_plan=approved_plan)
            self.executions += 1
            execution, error = self._execute(doc, params, region)
            executed[key] = (rid, execution, error, region)
            done.append((target, rid, execution, error, None))
        if not done and not stale:
            return
        if done:
            # 3. re-collect what was acted on (each service and region once) and judge again
            fresh = recollect(
                self.aws,
                self.store,
                [(t.item, services_for(t.item, self.rules.get(t.rule_id))) for t, *_ in done],
                changed_by=f"phiwatch remediation {self.run_id[:12]}",
            )
            for target, rid, execution, error, shared_with in done:
                report.outcomes.append(
                    self._verify(target, rid, execution, error, shared_with, fresh.get(target.item.key), mode, report, scan_id)
                )
        # 4. everything the re-collection changed is evaluated like in a scan
        report.evaluation = self.evaluate()
        report.events.extend(report.evaluation.events)

    def _refuse(
        self, target: Target, mode: str, params: dict[str, Any], region: str, reason: str, report: RemediationReport, scan_id: str | None
    ) -> Outcome:
        """Record a run refused before it started (failed, nothing sent, not counted against the
        limits), once per finding, configuration and reason: later scans repeat no record and no alert."""
        with self.store.engine.connect() as conn:
            latest = rem_store.latest_remediation(conn, target.finding_id)
        redacted = audit.redact(params)
        if (
            latest is not None
            and latest["status"] == FAILED
            and not latest["executed"]
            and latest["mode"] == mode
            and latest["state_before"] == target.state_id
            and latest["runbook_id"] == target.runbook_id
            and latest["reason"] == reason
            and canonical_json(latest["parameters"]) == canonical_json(redacted)
        ):
            return self._outcome(target, mode, FAILED, remediation_id=latest["id"], parameters=redacted, reason=reason, new=False)
        rid = uuid.uuid4().hex
        now = self.now()
        with self.store.engine.begin() as conn:
            rem_store.insert_remediation(
                conn,
                id=rid,
                finding_id=target.finding_id,
                rule_id=target.rule_id,
                runbook_id=target.runbook_id,
                resource_pk=target.resource_pk,
                region=region,
                mode=mode,
                status=FAILED,
                executed=False,
                parameters=redacted,
                plan=[],
                result=[],
                reason=reason,
                state_before=target.state_id,
                scan_id=scan_id,
                created_at=now,
                created_by=self.actor,
                finished_at=now,
            )
            self._audit(
                conn,
                "execute",
                {
                    "mode": mode,
                    "rule_id": target.rule_id,
                    "runbook_id": target.runbook_id,
                    **resource_fields(target.item),
                    "parameters": redacted,
                    "shared_run": None,
                    "status": FAILED,
                    "execution_status": None,
                    "failed_step": None,
                    "reason": reason,
                    "steps": [],
                    "calls": 0,
                    "state_before": target.state_id,
                    "state_after": None,
                    "compliance_after": None,
                },
                rid,
                target.finding_id,
            )
            self._event(
                conn,
                report,
                target.finding_id,
                "remediation_failed",
                f"{target.runbook_id} (remediation {rid[:12]}): {reason}"[:1000],
                scan_id,
            )
        return self._outcome(target, mode, FAILED, remediation_id=rid, parameters=redacted, reason=reason)

    def _start(
        self,
        target: Target,
        mode: str,
        params: dict[str, Any],
        region: str,
        scan_id: str | None,
        *,
        executed_flag: bool,
        shared_with: str | None = None,
        approved_plan: dict[str, Any] | None = None,
    ) -> str:
        """Record the run before it starts (a crash leaves it visible as ``running``)."""
        rid = uuid.uuid4().hex
        now = self.now()
        with self.store.engine.begin() as conn:
            if approved_plan is not None:
                rem_store.supersede(conn, approved_plan["id"])
            rem_store.insert_remediation(
                conn,
                id=rid,
                finding_id=target.finding_id,
                rule_id=target.rule_id,
                runbook_id=target.runbook_id,
                resource_pk=target.resource_pk,
                region=region,
                mode=mode,
                status=RUNNING,
                executed=executed_flag,
                parameters=audit.redact(params),
                plan=(approved_plan or {}).get("plan") or [],
                state_before=target.state_id,
                scan_id=scan_id,
                created_at=now,
                created_by=self.actor,
                started_at=now,
                approved_at=(approved_plan or {}).get("approved_at"),
                approved_by=(approved_plan or {}).get("approved_by"),
                reason=f"{COVERED_BY}{shared_with[:12]} (one run for the same change)" if shared_with else None,
                runner=process_token(),  # a process that dies mid-run: the next run closes and audits it
            )
        return rid

    def _execute(self, doc: Any, params: dict[str, Any], region: str) -> tuple[Any, str | None]:
        try:
            execution = execute(doc, params, self.aws, region, dry_run=False, max_seconds=self.max_seconds)
        except RunbookError as exc:
            return None, str(exc)
        except Exception as exc:  # noqa: BLE001 - recorded as a failed run, never a crashed scan
            log.exception("runbook %s crashed", doc.id)
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if execution.status != "Success":
            return execution, execution.error or f"step '{execution.failed_step}' failed"
        return execution, None
