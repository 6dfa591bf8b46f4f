"""The state a remediation pass shares (store, policy, active rules, AWS identity, actor) and the
judgments every step makes with it: which findings are targets and which are blocked, a
target's runbook parameters, which targets one execution fixes (run key, execution order),
whether its evaluation is fresh, and how a step is audited and announced.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from phiwatch.errors import UsageError
from phiwatch.model import ConfigurationItem, canonical_json, utcnow
from phiwatch.notify.outbox import enqueue_events
from phiwatch.policy import Policy, fill_placeholders
from phiwatch.remediate import audit
from phiwatch.remediate.modes import ACCOUNT_WIDE_RUNBOOKS, SEVERITY_ORDER, region_of, rule_mode
from phiwatch.remediate.parameters import parameter_problem, runbook_parameters
from phiwatch.remediate.results import Outcome, RemediationReport, Target, aware
from phiwatch.rules.active import active_rules, resolve_rules, run_rule
from phiwatch.rules.base import RuleContext
from phiwatch.runbooks.document import builtin
from phiwatch.store import remediations as rem_store
from phiwatch.store.db import Store
from phiwatch.store.findings import OPEN
from phiwatch.store.remediations import Connection


class Selector:
    """Base of :class:`~phiwatch.remediate.orchestrator.Remediator`: its state and shared helpers."""

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
        planning_workers: int = 8,
    ) -> None:
        """``evaluate``: the evaluation to run after acting (what the re-collection changed is evaluated
        like in a scan); required to apply remediations, not to plan them
        (:func:`phiwatch.scan.remediator` builds a Remediator with the engine's).
        ``planning_workers``: how many dry runs a pass runs at once (1: one after the other)."""
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
        #: the findings' newest remediation rows, read at once while a scan's plans are made (else None)
        self._latest: dict[str, dict[str, Any]] | None = None
        #: the audit chain of the open batch transaction while a scan's plans are written (else None)
        self._chain: audit.Chain | None = None
        self.evaluate = evaluate
        self.planning_workers = max(1, planning_workers)
        self.run_id = uuid.uuid4().hex
        self._caller: str | None = None
        self.executions = 0

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
            item = target.item
            fill = {
                "account_id": item.accountId,
                "region": region_of(item, self.aws.default_region),
                "resource_id": item.resourceId,
                "resource_name": item.resourceName or item.resourceId,
            }
            params.update({k: fill_placeholders(v, fill) for k, v in setting.parameters.items() if k in doc.parameters and v is not None})
        return params

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """The transaction a write goes in: the open batch's while a scan's plans are written
        together (:meth:`~phiwatch.remediate.planning.Planner._write_in_batches`), else a new one."""
        if self._chain is not None:
            yield self._chain.conn
            return
        with self.store.engine.begin() as conn:
            yield conn

    def _audit(
        self, conn: Connection, action: str, data: dict[str, Any], remediation_id: str | None, finding_id: str, refer: bool = True
    ) -> tuple[int, str]:
        """Append the entry; with ``refer``, record it on the remediation row. Returns its (id, hash)."""
        chain = self._chain if self._chain is not None and self._chain.conn is conn else audit.Chain(conn)
        audit_id, digest = chain.append(
            action,
            data,
            actor=self.actor,
            caller_arn=self.caller_arn,
            remediation_id=remediation_id,
            finding_id=finding_id,
            now=self.now(),
        )
        if remediation_id and refer:
            rem_store.set_audit_ref(conn, remediation_id, audit_id, digest)
        return audit_id, digest

    def _event(
        self, conn: Connection, report: RemediationReport, finding_id: str, event: str, annotation: str, scan_id: str | None
    ) -> None:
        row = {"finding_id": finding_id, "event": event, "time": self.now(), "scan_id": scan_id or self.run_id, "annotation": annotation}
        rem_store.insert_finding_event(conn, row)
        report.queued_alerts += enqueue_events(conn, self.policy, self.rules, [row], self.now())
        report.events.append(row)

    def targets(self, finding_ids: Iterable[str] | None = None, include_all_statuses: bool = False) -> list[Target]:
        """Open findings (of existing resources) whose rule names a runbook, most severe first."""
        out = []
        # only the findings of rules with a runbook: their items are the rows' heaviest part
        runbooks = {rule_id: rule.remediation for rule_id, rule in self.rules.items() if rule.remediation}
        with self.store.engine.connect() as conn:
            for row in rem_store.finding_rows(conn, finding_ids, only_open=not include_all_statuses, rule_ids=runbooks):
                out.append(
                    Target(
                        finding_id=row["id"],
                        rule_id=row["rule_id"],
                        runbook_id=runbooks[row["rule_id"]],
                        resource_pk=row["resource_pk"],
                        item=ConfigurationItem.from_dict(row["item"]),
                        severity=row["severity"],
                        state_id=row["state_id"],
                        evaluated_state=row["evaluated_state"],
                        evaluated_at=aware(row["evaluated_at"]),
                        status=row["status"],
                    )
                )
        # ties broken by Region and finding, never by the store's row order (which collection decides)
        out.sort(key=lambda t: (SEVERITY_ORDER.get(t.severity, 9), t.rule_id, t.item.resourceId, t.item.awsRegion, t.finding_id))
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

    def _run_key(self, target: Target, params: dict[str, Any] | None = None) -> str:
        """Findings with the same key are fixed by one execution: same runbook and parameters, in
        the same Region, or anywhere in the same account for an account-wide runbook."""
        if params is None:
            params = self._params(self.document(target.runbook_id), target)
        if target.runbook_id in ACCOUNT_WIDE_RUNBOOKS:
            return canonical_json([target.runbook_id, "account", target.item.accountId, params])
        return canonical_json([target.runbook_id, region_of(target.item, self.aws.default_region), params])

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
