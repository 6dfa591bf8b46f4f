"""The remediation pass (:class:`Remediator`) and the scan's entry points to it.

What it does, mode by mode, is described in :mod:`phiwatch.remediate`. The class is assembled from
one base and three steps, each in its module: :class:`~phiwatch.remediate.selection.Selector`
(state, targets, parameters), :class:`~phiwatch.remediate.planning.Planner`,
:class:`~phiwatch.remediate.verifying.Verifier` and :class:`~phiwatch.remediate.applying.Applier`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phiwatch.policy import Policy
from phiwatch.remediate.applying import Applier
from phiwatch.remediate.modes import PLANNED, SKIPPED, remediation_enabled
from phiwatch.remediate.results import Outcome, RemediationReport, Target, resource_fields
from phiwatch.store import remediations as rem_store
from phiwatch.store.db import Store

__all__ = ["Outcome", "RemediationReport", "Remediator", "Target", "recover_interrupted", "remediate_after_scan"]


class Remediator(Applier):
    """Plans and applies remediations for one store, policy and AWS context."""

    def run(self, scan_id: str | None = None) -> RemediationReport:
        """Plan or apply every open finding's runbook as the policy's modes say."""
        report = RemediationReport(run_id=self.run_id)
        self.recover_interrupted(report, scan_id)
        to_apply: list[Target] = []
        entries: list[Outcome | tuple[Target, str]] = []  # in order: a skipped finding's outcome, or a plan to make
        for target in self._execution_order(self.targets()):
            mode = self.mode(target.rule_id)
            if mode == "off":
                continue
            blocked = self._blocked(target)
            if blocked:
                entries.append(self._outcome(target, mode, SKIPPED, reason=blocked))
                continue
            if mode in ("dry-run", "manual"):
                entries.append((target, mode))
            else:
                to_apply.append(target)
        planned = iter(self._plan_all([e for e in entries if isinstance(e, tuple)], report, scan_id))
        report.outcomes.extend(next(planned) if isinstance(entry, tuple) else entry for entry in entries)
        if to_apply:
            self._apply_batch(to_apply, "auto", report, scan_id, limited=True)
        return report

    def approve(self, prefix: str) -> RemediationReport:
        """A human approves the finding's plan: audit the approval, re-check, execute, verify.

        For an account-wide runbook the approval covers every finding of the account that the
        same plan fixes (:meth:`_account_group`): one execution, where auto mode would run it.
        """
        target = self._manual_target(prefix)
        group = self._account_group(target)
        report = RemediationReport(run_id=self.run_id)
        with self.store.engine.connect() as conn:
            latest = {t.finding_id: rem_store.latest_remediation(conn, t.finding_id) for t in group}
        plans = {fid: row if row is not None and row["status"] == PLANNED else None for fid, row in latest.items()}
        now = self.now()
        with self.store.engine.begin() as conn:
            for member in group:
                plan = plans[member.finding_id]
                if plan is not None:
                    rem_store.approve_plan(conn, plan["id"], now, self.actor)
                    plan = plans[member.finding_id] = {**plan, "approved_at": now, "approved_by": self.actor}
                self._audit(
                    conn,
                    "approve",
                    {
                        "rule_id": member.rule_id,
                        "runbook_id": member.runbook_id,
                        **resource_fields(member.item),
                        "plan": plan["id"] if plan else None,
                        "parameters": plan["parameters"] if plan else None,
                        "note": None if plan else "no stored plan: approved the runbook's current plan",
                        "approved_with": None if member is target else target.finding_id,
                    },
                    plan["id"] if plan else None,
                    member.finding_id,
                )
        # a human approves later than the plan was made: always re-check the resource first
        self._apply_batch(group, "approved", report, None, limited=False, approved_plans=plans, recheck=True)
        return report


def recover_interrupted(aws: Any, store: Store, policy: Policy, rules: dict[str, Any]) -> RemediationReport | None:
    """Close remediations a dead process left running (:meth:`Remediator.recover_interrupted`):
    a scan calls it after collecting and before evaluating, so a run that took effect is recorded
    as the remediation it was, not as a finding that resolved by itself."""
    if aws is None:
        return None
    if rem_store.count_running(store) == 0:
        return None
    remediator = Remediator(aws, store, policy, rules)
    report = RemediationReport(run_id=remediator.run_id)
    remediator.recover_interrupted(report)
    return report


def remediate_after_scan(
    aws: Any,
    store: Store,
    policy: Policy,
    rules: dict[str, Any],
    scan_id: str,
    *,
    evaluate: Callable[[], Any],
) -> RemediationReport | None:
    """The scan's remediation step (None when the policy turns remediation off); ``evaluate``: as
    :class:`Remediator`'s."""
    if aws is None or not remediation_enabled(policy):
        return None
    return Remediator(aws, store, policy, rules, evaluate=evaluate).run(scan_id=scan_id)
