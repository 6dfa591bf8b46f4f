"""Verifying: the rule judged again on a re-collected item, before acting (:meth:`Verifier._recheck`)
and after (:meth:`Verifier._verify`: applied and the finding remediated, or failed), and the runs
a dead process left ``running`` closed the same way (:meth:`Verifier.recover_interrupted`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from phiwatch.model import STATUS_DELETED, Compliance, ConfigurationItem
from phiwatch.notify.outbox import enqueue_events
from phiwatch.remediate import audit
from phiwatch.remediate.modes import APPLIED, COVERED_BY, FAILED, INTERRUPTED, SKIPPED
from phiwatch.remediate.results import Outcome, RemediationReport, Target, aware, execution_steps, resource_fields
from phiwatch.remediate.selection import Selector
from phiwatch.store import remediations as rem_store
from phiwatch.store.claims import holder_gone
from phiwatch.store.findings import ExceptionInfo, FindingsWriter


class Verifier(Selector):
    """Judges re-collected items and records what a run achieved."""

    def _recheck(
        self, target: Target, item: ConfigurationItem | None, mode: str, report: RemediationReport, scan_id: str | None
    ) -> Target | None:
        """Re-evaluate a re-collected resource before acting; the target to act on, or None."""
        reason = None
        result = None
        if item is None:
            reason = "the resource no longer exists"
        else:
            blocked = self._blocked(target, item)
            if blocked:
                reason = blocked
            else:
                result = self._judge(target, item)
                if result is None or result.compliance in (Compliance.COMPLIANT, Compliance.NOT_APPLICABLE):
                    reason = "compliant now (re-checked before acting): nothing to do"
                elif result.compliance == Compliance.INSUFFICIENT_DATA:
                    reason = f"could not re-check before acting: {result.annotation}"
        with self.store.engine.begin() as conn:
            if item is not None and result is not None:
                writer = FindingsWriter(conn, scan_id or self.run_id, self.now())
                writer.record_evaluation(
                    target.rule_id, target.resource_pk, item.configurationStateId, result.compliance, result.annotation
                )
                exception = self.policy.exception_for(target.rule_id, item)
                info = (
                    ExceptionInfo(exception.owner, exception.justification, exception.expires)
                    if exception and exception.active(self.now().date())
                    else None
                )
                writer.apply(
                    fid=target.finding_id,
                    rule_id=target.rule_id,
                    resource_pk=target.resource_pk,
                    severity=target.severity,
                    compliance=result.compliance,
                    annotation=result.annotation,
                    exception=info,
                )
                report.queued_alerts += enqueue_events(conn, self.policy, self.rules, writer.events, self.now())
                report.events.extend(writer.events)
            if reason:
                self._audit(
                    conn,
                    "skip",
                    {
                        "rule_id": target.rule_id,
                        "runbook_id": target.runbook_id,
                        **resource_fields(target.item),
                        "reason": reason,
                        "state_before": target.state_id,
                        "state_now": item.configurationStateId if item else None,
                    },
                    None,
                    target.finding_id,
                )
        if reason:
            report.outcomes.append(self._outcome(target, mode, SKIPPED, reason=reason))
            return None
        assert item is not None
        return Target(
            finding_id=target.finding_id,
            rule_id=target.rule_id,
            runbook_id=target.runbook_id,
            resource_pk=target.resource_pk,
            item=item,
            severity=target.severity,
            state_id=item.configurationStateId,
            evaluated_state=item.configurationStateId,
            evaluated_at=self.now(),
            status=target.status,
        )

    def _verify(
        self,
        target: Target,
        rid: str,
        execution: Any,
        error: str | None,
        shared_with: str | None,
        item: ConfigurationItem | None,
        mode: str,
        report: RemediationReport,
        scan_id: str | None,
    ) -> Outcome:
        """Judge the re-collected item; record the run as applied (finding remediated) or failed.

        ``shared_with``: the remediation whose execution this finding shares (same change made
        once); its reason then starts with "covered by remediation X".
        """
        result = None
        if item is not None:
            blocked_scope = self.active[target.rule_id].scope
            if blocked_scope is None or blocked_scope.matches(item):
                result = self._judge(target, item)
        fixed = error is None and result is not None and result.compliance == Compliance.COMPLIANT
        if error:
            reason = error
        elif item is None:
            reason = "the resource no longer exists after the runbook ran"
        elif result is None:
            reason = "the rule no longer applies to the resource"
        elif not fixed:
            reason = f"{target.runbook_id} ran but the rule is still {result.compliance.value}: {result.annotation}"
        else:
            reason = ""
        if shared_with:
            covered = f"{COVERED_BY}{shared_with[:12]}"
            reason = f"{covered}: {reason}" if reason else covered
        failed_step = getattr(execution, "failed_step", None) if execution is not None else None
        # a covered finding's record names the run that made the calls and repeats none of them
        steps = execution_steps(execution) if execution is not None and not shared_with else []
        calls = [c for s in steps for c in s["calls"]]
        now = self.now()
        status = APPLIED if fixed else FAILED
        state_after = item.configurationStateId if item is not None else None
        with self.store.engine.begin() as conn:
            rem_store.finish_remediation(
                conn,
                rid,
                status=status,
                result=steps,
                reason=reason or None,
                failed_step=failed_step,
                state_after=state_after,
                finished_at=now,
            )
            if item is not None and result is not None:
                writer = FindingsWriter(conn, scan_id or self.run_id, now)
                writer.record_evaluation(
                    target.rule_id, target.resource_pk, item.configurationStateId, result.compliance, result.annotation
                )
            if fixed:
                assert result is not None  # fixed: the rule judged the item COMPLIANT
                rem_store.mark_remediated(conn, target.finding_id, now, result.annotation or "remediated", scan_id)
                self._event(
                    conn,
                    report,
                    target.finding_id,
                    "remediation_applied",
                    f"remediated by {target.runbook_id} (remediation {rid[:12]}"
                    + (f", {COVERED_BY}{shared_with[:12]}" if shared_with else "")
                    + "): now compliant",
                    scan_id,
                )
            else:
                self._event(
                    conn,
                    report,
                    target.finding_id,
                    "remediation_failed",
                    f"{target.runbook_id} (remediation {rid[:12]}): {reason}"[:1000],
                    scan_id,
                )
            self._audit(
                conn,
                "execute",
                {
                    "mode": mode,
                    "rule_id": target.rule_id,
                    "runbook_id": target.runbook_id,
                    **resource_fields(target.item),
                    "parameters": rem_store.remediation_value(conn, rid, "parameters"),
                    "shared_run": shared_with,
                    "status": status,
                    "execution_status": getattr(execution, "status", None),
                    "failed_step": failed_step,
                    "reason": reason or None,
                    "steps": steps,
                    "calls": len(calls),
                    "state_before": target.state_id,
                    "state_after": state_after,
                    "compliance_after": result.compliance.value if result is not None else None,
                },
                rid,
                target.finding_id,
            )
        params = audit.redact(getattr(execution, "parameters", None) or {})
        return self._outcome(
            target,
            mode,
            status,
            remediation_id=rid,
            parameters=params,
            steps=steps,
            plan=[{"step": s["step"], **c} for s in steps for c in s["calls"]],
            reason=reason,
            failed_step=failed_step,
        )

    def recover_interrupted(self, report: RemediationReport | None = None, scan_id: str | None = None) -> list[Outcome]:
        """Close the runs left ``running`` by a process that died (kill -9, a crash): judge each
        finding's rule on the store's current item (a scan re-collects it first). Compliant: the run
        took effect, it is recorded as applied and the finding remediated, as if the process had
        lived. Otherwise it failed, interrupted (its calls may or may not have been sent), which does
        not stop the next pass from running it again. Runs of a live process, or of another host
        within ``max_seconds``, are left alone."""
        report = report if report is not None else RemediationReport(run_id=self.run_id)
        limit = self.now() - dt.timedelta(seconds=2 * self.max_seconds)
        rows = rem_store.running_remediations(self.store)
        outcomes = []
        for row in rows:
            started = aware(row["started_at"])
            if not (holder_gone(row["runner"]) or (started is not None and started < limit)):
                continue
            outcomes.append(self._close_interrupted(row, report, scan_id))
        return outcomes

    def _close_interrupted(self, row: dict[str, Any], report: RemediationReport, scan_id: str | None) -> Outcome:
        current = rem_store.resource_and_finding(self.store, row["resource_pk"], row["finding_id"])
        item = ConfigurationItem.from_dict(current["item"]) if current is not None and current["status"] != STATUS_DELETED else None
        result = None
        if item is not None and current is not None and row["rule_id"] in self.active:
            target = Target(
                finding_id=row["finding_id"],
                rule_id=row["rule_id"],
                runbook_id=row["runbook_id"],
                resource_pk=row["resource_pk"],
                item=item,
                severity=current["severity"],
                state_id=current["state_id"],
                evaluated_state=None,
                evaluated_at=None,
            )
            scope = self.active[row["rule_id"]].scope
            if scope is None or scope.matches(item):
                result = self._judge(target, item)
        fixed = result is not None and result.compliance == Compliance.COMPLIANT
        state_after = item.configurationStateId if item is not None else None
        if fixed:
            reason = f"{INTERRUPTED}the process running it stopped before it finished; the resource is compliant now (verified on its current configuration)"
        else:
            reason = (
                f"{INTERRUPTED}the process running it stopped before it finished (its calls may or may not have been sent); "
                "the resource is not compliant: the next remediation pass runs it again"
            )
        if (row["reason"] or "").startswith(COVERED_BY):
            reason = f"{row['reason']}; {reason}"
        now = self.now()
        status = APPLIED if fixed else FAILED
        with self.store.engine.begin() as conn:
            rem_store.close_running(conn, row["id"], status=status, reason=reason, state_after=state_after, finished_at=now)
            if fixed:
                assert result is not None  # fixed: the rule judged the item COMPLIANT
                moved = rem_store.mark_remediated(conn, row["finding_id"], now, result.annotation or "remediated", scan_id)
                if moved:
                    self._event(
                        conn,
                        report,
                        row["finding_id"],
                        "remediation_applied",
                        f"remediated by {row['runbook_id']} (remediation {row['id'][:12]}): now compliant",
                        scan_id,
                    )
            self._audit(
                conn,
                "execute",
                {
                    "mode": row["mode"],
                    "rule_id": row["rule_id"],
                    "runbook_id": row["runbook_id"],
                    "resource_pk": row["resource_pk"],
                    "parameters": row["parameters"],
                    "shared_run": None,
                    "status": status,
                    "execution_status": "Interrupted",
                    "failed_step": None,
                    "reason": reason,
                    "steps": [],
                    "calls": None,
                    "state_before": row["state_before"],
                    "state_after": state_after,
                    "compliance_after": result.compliance.value if result is not None else None,
                },
                row["id"],
                row["finding_id"],
            )
        outcome = Outcome(
            finding_id=row["finding_id"],
            rule_id=row["rule_id"],
            runbook_id=row["runbook_id"],
            resource_type=item.resourceType if item else "",
            resource_id=item.resourceId if item else "",
            region=row["region"],
            mode=row["mode"],
            status=status,
            remediation_id=row["id"],
            reason=reason,
        )
        report.outcomes.append(outcome)
        return outcome
