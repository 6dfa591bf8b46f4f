"""Planning: dry-run a finding's runbook and store, audit and announce the plan (once per finding,
configuration and parameters; once per account for an account-wide runbook), and the finding a
human names for ``phiwatch remediate`` (with the findings the same execution fixes).

A scan's plans (:meth:`Planner._plan_all`) read AWS concurrently: the dry runs of the findings
that need a new plan of their own run on ``planning_workers`` threads, while storing, auditing and
announcing stay on the calling thread, in the findings' order, so the remediation rows, the audit
chain and the events are the same as when the plans are made one after the other. They are
written :data:`PLAN_BATCH` plans to a transaction, once the batch's dry runs are done.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, NamedTuple

from phiwatch.errors import UsageError
from phiwatch.model import canonical_json
from phiwatch.remediate import audit
from phiwatch.remediate.executor import execute
from phiwatch.remediate.item_reads import ItemReads
from phiwatch.remediate.modes import ACCOUNT_WIDE_RUNBOOKS, COVERED_BY_PLAN, FAILED, PLANNED, region_of
from phiwatch.remediate.results import Outcome, RemediationReport, Target, execution_steps, plan_calls, resource_fields
from phiwatch.remediate.selection import Selector
from phiwatch.runbooks.document import RunbookError
from phiwatch.store import remediations as rem_store

log = logging.getLogger(__name__)

#: plans written in one transaction while a scan's plans are made
PLAN_BATCH = 100


class DryRun(NamedTuple):
    """What a runbook's dry run gives a plan: its calls and steps as stored, and why it cannot
    be planned (None when it can)."""

    calls: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    error: str | None


class Planner(Selector):
    """Makes the plans of the dry-run and manual modes and of ``phiwatch remediate FINDING``."""

    def _plan_all(self, jobs: Iterable[tuple[Target, str]], report: RemediationReport, scan_id: str | None) -> list[Outcome]:
        """The plans of ``jobs`` ((target, mode), in :meth:`_execution_order`), exactly as
        :meth:`_plan_once` makes them one after the other, with the dry runs (the part that reads
        AWS) of the findings that need a new plan of their own running on ``planning_workers``
        threads. Storing, auditing and announcing stay on this thread and in this order, so the
        rows, the audit chain and the events do not depend on which dry run finishes first."""
        jobs = list(jobs)
        # each finding is planned once here, and only its own plan changes its newest row: read them all at once
        with self.store.engine.connect() as conn:
            self._latest = rem_store.latest_remediations(conn, (target.finding_id for target, _mode in jobs))
        try:
            return self._plan_jobs(jobs, report, scan_id)
        finally:
            self._latest = None

    def _plan_jobs(self, jobs: list[tuple[Target, str]], report: RemediationReport, scan_id: str | None) -> list[Outcome]:
        plans: dict[str, Outcome] = {}
        pending = self._dry_runs_needed(jobs)
        futures: dict[str, Future[DryRun]] = {}
        if not pending:
            return self._write_in_batches(jobs, lambda target, mode: self._plan_once(target, mode, report, scan_id, plans), futures)
        with ThreadPoolExecutor(max_workers=min(self.planning_workers, len(pending)), thread_name_prefix="phiwatch-plan") as pool:
            try:
                for target in pending:
                    futures[target.finding_id] = pool.submit(self._dry_run, target)
                return self._write_in_batches(
                    jobs,
                    lambda target, mode: self._plan_once(target, mode, report, scan_id, plans, dry_run=futures.get(target.finding_id)),
                    futures,
                )
            except BaseException:
                for future in futures.values():
                    future.cancel()
                raise

    def _write_in_batches(
        self, jobs: list[tuple[Target, str]], plan: Callable[[Target, str], Outcome], futures: dict[str, Future[DryRun]]
    ) -> list[Outcome]:
        """``plan(target, mode)`` for every job, :data:`PLAN_BATCH` jobs at a time: the batch's dry
        runs are waited for first, outside any transaction, then its plans are stored, audited
        and announced in one transaction, the audit entries chained in memory
        (:class:`~phiwatch.remediate.audit.Chain`). One commit per batch, not per plan."""
        outcomes: list[Outcome] = []
        for start in range(0, len(jobs), PLAN_BATCH):
            batch = jobs[start : start + PLAN_BATCH]
            wait([futures[target.finding_id] for target, _mode in batch if target.finding_id in futures])
            with self.store.engine.begin() as conn:
                self._chain = audit.Chain(conn)
                try:
                    outcomes += [plan(target, mode) for target, mode in batch]
                finally:
                    self._chain = None
        return outcomes

    def _dry_runs_needed(self, jobs: list[tuple[Target, str]]) -> list[Target]:
        """The targets of ``jobs`` whose plan :meth:`_plan_once` will make by a dry run: not covered
        by another finding's account-wide plan, and with no unchanged plan to reuse."""
        needed: list[Target] = []
        primaries: set[str] = set()
        for target, mode in jobs:
            if target.runbook_id in ACCOUNT_WIDE_RUNBOOKS:
                key = canonical_json([mode, self._run_key(target)])
                if key in primaries:
                    continue  # covered by the first finding's plan: no calls of its own
                primaries.add(key)
            if self._unchanged_plan(target, mode, self._params(self.document(target.runbook_id), target), None) is None:
                needed.append(target)
        return needed

    def _plan_once(
        self,
        target: Target,
        mode: str,
        report: RemediationReport,
        scan_id: str | None,
        plans: dict[str, Outcome],
        dry_run: Future[DryRun] | None = None,
    ) -> Outcome:
        """:meth:`_plan`, once per account for an account-wide runbook: the first finding (in
        :meth:`_execution_order`) gets the plan, the others a record covered by it."""
        if target.runbook_id not in ACCOUNT_WIDE_RUNBOOKS:
            return self._plan(target, mode, report, scan_id, dry_run=dry_run)
        key = canonical_json([mode, self._run_key(target)])
        outcome = self._plan(target, mode, report, scan_id, covered_by=plans.get(key), dry_run=dry_run)
        plans.setdefault(key, outcome)
        return outcome

    def _unchanged_plan(self, target: Target, mode: str, params: dict[str, Any], shared_reason: str | None) -> Outcome | None:
        """The finding's stored plan when it still holds (same configuration, runbook, parameters,
        mode and, for a covered plan, the same covering plan), else None."""
        if self._latest is not None:
            latest = self._latest.get(target.finding_id)
        else:
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
        return None

    def _dry_run(self, target: Target) -> DryRun:
        """The runbook's dry run for one finding: its calls, its steps and why it cannot be
        planned (None when it can). Reads AWS, never the store: safe on a planning thread; never
        raises (a crash is the plan's error)."""
        doc = self.document(target.runbook_id)
        params = self._params(doc, target)
        region = region_of(target.item, self.aws.default_region)
        try:
            self._check_parameters(target)  # names what the policy must give
            # an item judged moments ago answers the reads it holds; an older one is read again from AWS
            reads = None if self._is_stale(target) else ItemReads(target.item, region)
            execution = execute(doc, params, self.aws, region, dry_run=True, max_seconds=self.max_seconds, item_reads=reads)
            calls, steps = plan_calls(execution), execution_steps(execution)
            error = f"cannot plan: {execution.error or execution.failed_step}" if execution.status == "Failed" else None
            return DryRun(calls, steps, error)
        except RunbookError as exc:
            return DryRun([], [], f"cannot plan: {exc}")
        except UsageError as exc:
            return DryRun([], [], str(exc))
        except Exception as exc:  # noqa: BLE001 - a broken runbook must not stop the scan
            log.exception("planning %s crashed", target.runbook_id)
            return DryRun([], [], f"cannot plan: {type(exc).__name__}: {exc}"[:500])

    def _plan(
        self,
        target: Target,
        mode: str,
        report: RemediationReport,
        scan_id: str | None,
        covered_by: Outcome | None = None,
        dry_run: Future[DryRun] | None = None,
    ) -> Outcome:
        """Plan the runbook for one finding (dry-run execution), stored, audited and announced.

        ``covered_by``: the plan of another finding of the same account-wide change; this one
        then records no calls of its own and its reason starts with "covered by plan X".
        ``dry_run``: this finding's :meth:`_dry_run`, already started on a planning thread.
        """
        doc = self.document(target.runbook_id)
        params = self._params(doc, target)
        shared_reason = None
        if covered_by is not None:
            shared_reason = f"{COVERED_BY_PLAN}{(covered_by.remediation_id or '')[:12]}"
            if covered_by.status != PLANNED:
                shared_reason += f": {covered_by.reason}"
        unchanged = self._unchanged_plan(target, mode, params, shared_reason)
        if unchanged is not None:
            return unchanged
        region = region_of(target.item, self.aws.default_region)
        error = None
        calls: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        if covered_by is not None:
            region = covered_by.run_region or covered_by.region
            error = shared_reason if covered_by.status != PLANNED else None
        else:
            calls, steps, error = dry_run.result() if dry_run is not None else self._dry_run(target)
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
        with self._transaction() as conn:
            if self._latest is None or target.finding_id in self._latest:  # a finding never remediated has no plan to supersede
                rem_store.supersede_plans(conn, target.finding_id)
            audit_id, audit_hash = self._audit(
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
                refer=False,  # the row below is inserted with its entry
            )
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
                audit_id=audit_id,
                audit_hash=audit_hash,
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
