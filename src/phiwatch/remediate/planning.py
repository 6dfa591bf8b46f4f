"""Planning: dry-run a finding's runbook and store, audit and announce the plan (once per finding,
configuration and parameters; once per account for an account-wide runbook), and the finding a
human names for ``phiwatch remediate`` (with the findings the same execution fixes).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from phiwatch.errors import UsageError
from phiwatch.model import canonical_json
from phiwatch.remediate import audit
from phiwatch.remediate.executor import execute
from phiwatch.remediate.modes import ACCOUNT_WIDE_RUNBOOKS, COVERED_BY_PLAN, FAILED, PLANNED, region_of
from phiwatch.remediate.results import Outcome, RemediationReport, Target, execution_steps, plan_calls, resource_fields
from phiwatch.remediate.selection import Selector
from phiwatch.runbooks.document import RunbookError
from phiwatch.store import remediations as rem_store

log = logging.getLogger(__name__)


class Planner(Selector):
    """Makes the plans of the dry-run and manual modes and of ``phiwatch remediate FINDING``."""

    def _plan_once(self, target: Target, mode: str, report: RemediationReport, scan_id: str | None, plans: dict[str, Outcome]) -> Outcome:
        """:meth:`_plan`, once per account for an account-wide runbook: the first finding (in
        :meth:`_execution_order`) gets the plan, the others a record covered by it."""
        if target.runbook_id not in ACCOUNT_WIDE_RUNBOOKS:
            return self._plan(target, mode, report, scan_id)
        key = canonical_json([mode, self._run_key(target)])
        outcome = self._plan(target, mode, report, scan_id, covered_by=plans.get(key))
        plans.setdefault(key, outcome)
        return outcome

    def _plan(
        self, target: Target, mode: str, report: RemediationReport, scan_id: str | None, covered_by: Outcome | None = None
    ) -> Outcome:
        """Plan the runbook for one finding (dry-run execution), stored, audited and announced.

        ``covered_by``: the plan of another finding of the same account-wide change; this one
        then records no calls of its own and its reason starts with "covered by plan X".
        """
        doc = self.document(target.runbook_id)
        params = self._params(doc, target)
        shared_reason = None
        if covered_by is not None:
            shared_reason = f"{COVERED_BY_PLAN}{(covered_by.remediation_id or '')[:12]}"
            if covered_by.status != PLANNED:
                shared_reason += f": {covered_by.reason}"
        with self.store.engine.connect() as conn:
            latest = rem_store.latest_remediation(conn, target.finding_id)
        if (
            latest is not None
            and latest["status"] in (PLANNED, FAILED)
            and not latest["executed"]
            and latest["state_before"] == target.state_id
            and latest["runbook_id"] == target.runbook_id
            and canonical_json(latest["parameters"]) == canonical_json(audit.redact(params))
            and latest["mode"] == mode
            # a covered plan is unchanged while it names the same plan; a plan of its own was not covered
            and (latest["reason"] == shared_reason if shared_reason else not (latest["reason"] or "").startswith(COVERED_BY_PLAN))
        ):
            return self._outcome(
                target,
                mode,
                latest["status"],
                remediation_id=latest["id"],
                parameters=latest["parameters"],
                plan=latest["plan"] or [],
                reason=latest["reason"] or "",
                new=False,
                run_region=latest["region"],
            )
        region = region_of(target.item, self.aws.default_region)
        error = None
        calls: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        if covered_by is not None:
            region = covered_by.run_region or covered_by.region
            error = shared_reason if covered_by.status != PLANNED else None
        else:
            try:
                self._check_parameters(target)  # names what the policy must give
                execution = execute(doc, params, self.aws, region, dry_run=True, max_seconds=self.max_seconds)
                calls, steps = plan_calls(execution), execution_steps(execution)
                if execution.status == "Failed":
                    error = f"cannot plan: {execution.error or execution.failed_step}"
            except RunbookError as exc:
                error = f"cannot plan: {exc}"
            except UsageError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - a broken runbook must not stop the scan
                log.exception("planning %s crashed", target.runbook_id)
                error = f"cannot plan: {type(exc).__name__}: {exc}"[:500]
        rid = uuid.uuid4().hex
        status = FAILED if error else PLANNED
        now = self.now()
        writes = sum(1 for c in calls if c["write"])
        if error:
            annotation = f"{target.runbook_id}: {error}"
        else:
            if shared_reason:
                annotation = (
                    f"{mode} plan {rid[:12]}: {shared_reason} ({target.runbook_id} changes the whole account: "
                    f"one run in {region} for every Region)"
                )
            else:
                annotation = f"{mode} plan {rid[:12]}: {target.runbook_id} would make {writes} change(s)"
            if mode == "manual":
                annotation += f"; approve with `phiwatch remediate {target.finding_id[:12]} --approve`"
        with self.store.engine.begin() as conn:
            rem_store.supersede_plans(conn, target.finding_id)
            rem_store.insert_remediation(
                conn,
                id=rid,
                finding_id=target.finding_id,
                rule_id=target.rule_id,
                runbook_id=target.runbook_id,
                resource_pk=target.resource_pk,
                region=region,
                mode=mode,
                status=status,
                executed=False,
                parameters=audit.redact(params),
                plan=calls,
                result=steps,
                reason=error or shared_reason,
                state_before=target.state_id,
                scan_id=scan_id,
                created_at=now,
                created_by=self.actor,
            )
            self._audit(
                conn,
                "plan",
                {
                    "mode": mode,
                    "rule_id": target.rule_id,
                    "runbook_id": target.runbook_id,
                    **resource_fields(target.item),
                    "parameters": params,
                    "calls": calls,
                    "state_before": target.state_id,
                    "error": error,
                    "shared_plan": covered_by.remediation_id if covered_by is not None else None,
                    "run_region": region,
                },
                rid,
                target.finding_id,
            )
            self._event(conn, report, target.finding_id, "remediation_failed" if error else "remediation_planned", annotation, scan_id)
        return self._outcome(
            target,
            mode,
            status,
            remediation_id=rid,
            parameters=audit.redact(params),
            plan=calls,
            steps=steps,
            reason=error or shared_reason or "",
            run_region=region,
        )

    def find_finding(self, prefix: str) -> dict[str, Any]:
        """The finding whose id starts with ``prefix`` (UsageError when none or several)."""
        prefix = prefix.strip().lower()
        if len(prefix) < 4 or any(ch not in "0123456789abcdef" for ch in prefix):
            raise UsageError(f"{prefix!r} is not a finding id: give at least 4 hex characters of it (see `phiwatch findings`)")
        with self.store.engine.connect() as conn:
            rows = rem_store.findings_by_prefix(conn, prefix)
        if not rows:
            raise UsageError(f"no finding with id {prefix!r}: see `phiwatch findings`")
        if len(rows) > 1:
            raise UsageError(f"{prefix!r} matches several findings ({', '.join(r['id'][:16] for r in rows)}...): give more of the id")
        return rows[0]

    def plan_for(self, prefix: str, scan_id: str | None = None) -> tuple[RemediationReport, Outcome]:
        """Make (or show the unchanged) plan for one finding, whatever the policy mode (but off)."""
        report = RemediationReport(run_id=self.run_id)
        target = self._manual_target(prefix)
        plans: dict[str, Outcome] = {}
        outcomes = {t.finding_id: self._plan_once(t, "manual", report, scan_id, plans) for t in self._account_group(target)}
        outcome = outcomes.pop(target.finding_id)
        report.outcomes.extend([outcome, *outcomes.values()])
        return report, outcome

    def _account_group(self, target: Target) -> list[Target]:
        """The findings one execution of ``target``'s runbook fixes, in :meth:`_execution_order`:
        for an account-wide runbook, every open finding of the account with the same runbook and
        parameters that may be remediated; otherwise ``target`` alone."""
        if target.runbook_id not in ACCOUNT_WIDE_RUNBOOKS:
            return [target]
        key = self._run_key(target)
        group = [target] + [
            other
            for other in self.targets()
            if other.finding_id != target.finding_id
            and other.runbook_id == target.runbook_id
            and self.mode(other.rule_id) != "off"
            and not self._blocked(other)
            and self._run_key(other) == key
        ]
        return self._execution_order(group)

    def _manual_target(self, prefix: str) -> Target:
        finding = self.find_finding(prefix)
        rule = self.rules.get(finding["rule_id"])
        if rule is None or not rule.remediation:
            raise UsageError(f"rule {finding['rule_id']} has no remediation runbook")
        if self.mode(finding["rule_id"]) == "off":
            raise UsageError(f"remediation is off for rule {finding['rule_id']} in the policy")
        found = self.targets([finding["id"]], include_all_statuses=True)
        if not found:
            raise UsageError(f"finding {finding['id'][:12]}: its resource no longer exists")
        target = found[0]
        blocked = self._blocked(target)
        if blocked:
            raise UsageError(f"finding {finding['id'][:12]} is not remediated: {blocked}")
        self._check_parameters(target)
        return target
