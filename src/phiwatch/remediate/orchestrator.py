"""The remediation pass (:class:`Remediator`) and the scan's entry points to it.

What it does, mode by mode, is described in :mod:`phiwatch.remediate`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from phiwatch.errors import UsageError
from phiwatch.model import STATUS_DELETED, Compliance, ConfigurationItem, canonical_json, utcnow
from phiwatch.notify.outbox import enqueue_events
from phiwatch.policy import Policy
from phiwatch.remediate import audit
from phiwatch.remediate.executor import execute
from phiwatch.remediate.modes import (
    ACCOUNT_WIDE_RUNBOOKS,
    APPLIED,
    COVERED_BY,
    COVERED_BY_PLAN,
    FAILED,
    INTERRUPTED,
    PLANNED,
    RUNNING,
    SEVERITY_ORDER,
    SKIPPED,
    region_of,
    remediation_enabled,
    rule_mode,
)
from phiwatch.remediate.parameters import parameter_problem, runbook_parameters
from phiwatch.remediate.recollection import recollect, services_for
from phiwatch.remediate.results import Outcome, RemediationReport, Target, aware, execution_steps, plan_calls, resource_fields
from phiwatch.rules.active import active_rules, resolve_rules, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.runbooks.document import RunbookError, builtin
from phiwatch.store import remediations as rem_store
from phiwatch.store.claims import holder_gone, process_token
from phiwatch.store.db import Store
from phiwatch.store.findings import OPEN, ExceptionInfo, FindingsWriter
from phiwatch.store.remediations import Connection

__all__ = ["Outcome", "RemediationReport", "Remediator", "Target", "recover_interrupted", "remediate_after_scan"]

log = logging.getLogger(__name__)


# -- the orchestrator --------------------------------------------------------------------------


class Remediator:
    """Plans and applies remediations for one store, policy and AWS context."""

    def __init__(
        self,
        aws: Any,
        store: Store,
        policy: Policy,
        rules: dict[str, Any] | None = None,
        *,
        actor: str | None = None,
        now: dt.datetime | None = None,
        max_seconds: float = 600.0,
        fresh_seconds: float = 300.0,
        documents: dict[str, Any] | None = None,
        evaluate: Callable[[], Any] | None = None,
    ) -> None:
        """``evaluate``: the evaluation to run after acting (what the re-collection changed is evaluated
        like in a scan); required to apply remediations, not to plan them
        (:func:`phiwatch.scan.remediator` builds a Remediator with the engine's)."""
        self.aws = aws
        self.store = store
        self.policy = policy
        self.rules = rules if rules is not None else resolve_rules(policy)
        self.active = {a.rule.id: a for a in active_rules(policy, self.rules)}
        self.actor = actor or audit.os_user()
        self.fixed_now = now
        self.max_seconds = max_seconds
        self.fresh_seconds = fresh_seconds
        self.documents = dict(documents or {})
        self.evaluate = evaluate
        self.run_id = uuid.uuid4().hex
        self._caller: str | None = None
        self.executions = 0

    # -- helpers ---------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.fixed_now or utcnow()

    @property
    def caller_arn(self) -> str:
        """The AWS identity phiwatch acts as (STS GetCallerIdentity), once per run."""
        if self._caller is None:
            try:
                self._caller = str(self.aws.client("sts").get_caller_identity()["Arn"])
            except Exception as exc:  # noqa: BLE001 - the audit says it could not tell
                self._caller = f"unknown (sts:GetCallerIdentity failed: {type(exc).__name__})"
        return self._caller

    def document(self, runbook_id: str) -> Any:
        if runbook_id not in self.documents:
            self.documents[runbook_id] = builtin(runbook_id)
        return self.documents[runbook_id]

    def mode(self, rule_id: str) -> str:
        return rule_mode(self.policy, rule_id)

    def _rule_params(self, rule_id: str) -> dict[str, Any]:
        active = self.active.get(rule_id)
        return dict(active.params) if active else {}

    def _params(self, doc: Any, target: Target) -> dict[str, Any]:
        """:func:`runbook_parameters`, then the policy's ``remediation.rules.RULE.parameters`` (they win)."""
        params = runbook_parameters(doc, target.item, self._rule_params(target.rule_id), self.aws.default_region, target.rule_id)
        setting = self.policy.remediation.rules.get(target.rule_id)
        if setting is not None:
            params.update({k: v for k, v in setting.parameters.items() if k in doc.parameters and v is not None})
        return params

    def _audit(self, conn: Connection, action: str, data: dict[str, Any], remediation_id: str | None, finding_id: str) -> None:
        audit_id, digest = audit.append(
            conn,
            action,
            data,
            actor=self.actor,
            caller_arn=self.caller_arn,
            remediation_id=remediation_id,
            finding_id=finding_id,
            now=self.now(),
        )
        if remediation_id:
            rem_store.set_audit_ref(conn, remediation_id, audit_id, digest)

    def _event(
        self, conn: Connection, report: RemediationReport, finding_id: str, event: str, annotation: str, scan_id: str | None
    ) -> None:
        row = {"finding_id": finding_id, "event": event, "time": self.now(), "scan_id": scan_id or self.run_id, "annotation": annotation}
        rem_store.insert_finding_event(conn, row)
        report.queued_alerts += enqueue_events(conn, self.policy, self.rules, [row], self.now())
        report.events.append(row)

    # -- selection -------------------------------------------------------------------------
    def targets(self, finding_ids: Iterable[str] | None = None, include_all_statuses: bool = False) -> list[Target]:
        """Open findings (of existing resources) whose rule names a runbook, most severe first."""
        out = []
        with self.store.engine.connect() as conn:
            for row in rem_store.finding_rows(conn, finding_ids, only_open=not include_all_statuses):
                rule = self.rules.get(row["rule_id"])
                if rule is None or not rule.remediation:
                    continue
                out.append(
                    Target(
                        finding_id=row["id"],
                        rule_id=row["rule_id"],
                        runbook_id=rule.remediation,
                        resource_pk=row["resource_pk"],
                        item=ConfigurationItem.from_dict(row["item"]),
                        severity=row["severity"],
                        state_id=row["state_id"],
                        evaluated_state=row["evaluated_state"],
                        evaluated_at=aware(row["evaluated_at"]),
                        status=row["status"],
                    )
                )
        out.sort(key=lambda t: (SEVERITY_ORDER.get(t.severity, 9), t.rule_id, t.item.resourceId))
        return out

    def _blocked(self, target: Target, item: ConfigurationItem | None = None) -> str | None:
        """Why this finding must not be remediated (scope, exception, rule not active), or None."""
        item = item or target.item
        active = self.active.get(target.rule_id)
        if active is None:
            return f"rule {target.rule_id} is not active in the policy"
        if active.scope is not None and not active.scope.matches(item):
            return "resource is outside the rule's scope"
        exception = self.policy.exception_for(target.rule_id, item)
        if exception is not None and exception.active(self.now().date()):
            return f"excepted by the policy (owner {exception.owner}, until {exception.expires})"
        if target.status != OPEN:
            return f"finding is {target.status}: only open findings are remediated"
        return None

    def _outcome(self, target: Target, mode: str, status: str, **kw: Any) -> Outcome:
        return Outcome(
            finding_id=target.finding_id,
            rule_id=target.rule_id,
            runbook_id=target.runbook_id,
            resource_type=target.item.resourceType,
            resource_id=target.item.resourceId,
            region=region_of(target.item, self.aws.default_region),
            mode=mode,
            status=status,
            **kw,
        )

    def executed_last_hour(self) -> int:
        since = self.now() - dt.timedelta(hours=1)
        return rem_store.executed_since(self.store, since)

    # -- the scan's pass ---------------------------------------------------------------------
    def run(self, scan_id: str | None = None) -> RemediationReport:
        """Plan or apply every open finding's runbook as the policy's modes say."""
        report = RemediationReport(run_id=self.run_id)
        self.recover_interrupted(report, scan_id)
        to_apply: list[Target] = []
        plans: dict[str, Outcome] = {}  # account-wide plan key -> the plan that covers the others
        for target in self._execution_order(self.targets()):
            mode = self.mode(target.rule_id)
            if mode == "off":
                continue
            blocked = self._blocked(target)
            if blocked:
                report.outcomes.append(self._outcome(target, mode, SKIPPED, reason=blocked))
                continue
            if mode in ("dry-run", "manual"):
                report.outcomes.append(self._plan_once(target, mode, report, scan_id, plans))
            else:
                to_apply.append(target)
        if to_apply:
            self._apply_batch(to_apply, "auto", report, scan_id, limited=True)
        return report

    # -- planning ---------------------------------------------------------------------------
    def _run_key(self, target: Target, params: dict[str, Any] | None = None) -> str:
        """Findings with the same key are fixed by one execution: same runbook and parameters, in
        the same Region, or anywhere in the same account for an account-wide runbook."""
        if params is None:
            params = self._params(self.document(target.runbook_id), target)
        if target.runbook_id in ACCOUNT_WIDE_RUNBOOKS:
            return canonical_json([target.runbook_id, "account", target.item.accountId, params])
        return canonical_json([target.runbook_id, region_of(target.item, self.aws.default_region), params])

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

    # -- applying ---------------------------------------------------------------------------
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

    def _execution_order(self, ready: list[Target]) -> list[Target]:
        """``ready`` with each account-wide runbook's findings ordered by where it should run: the
        default Region first (or the account-global item), then by Region name; the rest unchanged."""

        def where(target: Target) -> tuple[int, str]:
            if target.runbook_id not in ACCOUNT_WIDE_RUNBOOKS:
                return (0, "")
            region = region_of(target.item, self.aws.default_region)
            return (0, "") if region == self.aws.default_region else (1, region)

        return sorted(ready, key=where)

    def _is_stale(self, target: Target) -> bool:
        if target.evaluated_state is None or target.evaluated_state != target.state_id:
            return True
        if target.evaluated_at is None:
            return True
        return target.evaluated_at < self.now() - dt.timedelta(seconds=self.fresh_seconds)

    def _judge(self, target: Target, item: ConfigurationItem) -> Any:
        cache: dict[str, list[ConfigurationItem]] = {}

        def lookup(resource_type: str) -> list[ConfigurationItem]:
            if resource_type not in cache:
                cache[resource_type] = list(self.store.current_items(resource_type))
            return cache[resource_type]

        return run_rule(self.active[target.rule_id], item, RuleContext(now=self.now(), lookup=lookup))

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
                rem_store.mark_remediated(conn, target.finding_id, now, result.annotation or "remediated")
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

    # -- runs interrupted by a crash ------------------------------------------------------------
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
                moved = rem_store.mark_remediated(conn, row["finding_id"], now, result.annotation or "remediated")
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

    # -- manual approval ----------------------------------------------------------------------
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

    def _check_parameters(self, target: Target) -> None:
        """UsageError naming each runbook parameter that is required and not given, or invalid,
        and where the policy gives it: a plan that cannot be made is neither stored nor audited."""
        problem = self._parameter_problem(target)
        if problem:
            raise UsageError(problem)

    def _parameter_problem(self, target: Target, verb: str = "plan") -> str | None:
        """:func:`~phiwatch.remediate.parameters.parameter_problem` of this finding's runbook and parameters."""
        doc = self.document(target.runbook_id)
        return parameter_problem(doc, self._params(doc, target), target, self.rules.get(target.rule_id), verb)

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
