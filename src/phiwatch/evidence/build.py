"""Build the HIPAA report (:mod:`phiwatch.evidence.model`) from the store's history.

Nothing is re-scanned: compliance is the evaluations as they stood at the period's end
(``evaluation_history``), failing resources and exceptions are the findings' states then
(``finding_events``), the trend replays only the period's lifecycle events from the state at its
start, and attestations are those standing at the end. Every resource id, name and reason goes
through PHI masking before it enters the report.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from phiwatch import __version__
from phiwatch.evidence import model as m
from phiwatch.evidence.attest import attestations_for, key_fingerprint, signature_valid
from phiwatch.hipaa import Part as HipaaPart
from phiwatch.hipaa import Specification as HipaaSpec
from phiwatch.hipaa import covers, parts, resolve
from phiwatch.model import utcnow
from phiwatch.phi import mask_phi
from phiwatch.policy import Policy
from phiwatch.rules.active import resolve_rules, runs
from phiwatch.rules.base import Rule
from phiwatch.store import Store
from phiwatch.store import timeline as tl
from phiwatch.store.attestations import list_attestations, valid_at

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
TOP_RISKS = 10


@dataclass(frozen=True)
class ReportRequest:
    """What the report covers: ``start`` None is a point in time (``end``)."""

    end: dt.datetime
    start: dt.datetime | None = None
    section: str | None = None  # only the specifications this citation covers
    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    title: str = "HIPAA Security Rule compliance report"


@dataclass
class _RuleCounts:
    compliant: set[int] = field(default_factory=set)
    non_compliant: set[int] = field(default_factory=set)
    excepted: set[int] = field(default_factory=set)
    could_not_check: set[int] = field(default_factory=set)


def hipaa_rules(policy: Policy) -> dict[str, Rule]:
    """The rules with HIPAA sections (from any pack or a custom rule) the policy knows."""
    return {rule_id: r for rule_id, r in resolve_rules(policy).items() if r.hipaa_sections}


def rules_by_specification(rules: dict[str, Rule]) -> dict[str, list[str]]:
    """Specification citation -> ids of the rules giving evidence for it."""
    out: dict[str, list[str]] = defaultdict(list)
    for rule_id in sorted(rules):
        seen: set[str] = set()
        for citation in rules[rule_id].hipaa_sections:
            for spec in resolve(citation):
                if spec.citation not in seen:
                    seen.add(spec.citation)
                    out[spec.citation].append(rule_id)
    return out


def _ref(row: dict[str, Any]) -> m.ResourceRef:
    return m.ResourceRef(
        resource_type=row["resource_type"],
        resource_id=mask_phi(row["resource_id"]) or "",
        account_id=row["account_id"],
        region=row["region"],
        name=mask_phi(row.get("resource_name")) if row.get("resource_name") != row["resource_id"] else None,
    )


def build_report(store: Store, policy: Policy, request: ReportRequest) -> m.Report:
    rules = hipaa_rules(policy)
    end = request.end
    accounts, regions = request.accounts or None, request.regions or None

    # compliance at the end, per rule and resource
    counts: dict[str, _RuleCounts] = defaultdict(_RuleCounts)
    resources: set[int] = set()
    for e in tl.evaluations_at(store, end, rule_ids=list(rules), accounts=accounts, regions=regions):
        c = counts[e["rule_id"]]
        pk = e["resource_pk"]
        if e["compliance"] == "COMPLIANT":
            c.compliant.add(pk)
        elif e["compliance"] == "NON_COMPLIANT":
            c.non_compliant.add(pk)
        elif e["compliance"] == "INSUFFICIENT_DATA":
            c.could_not_check.add(pk)
        else:
            continue
        resources.add(pk)
    active = [f for f in tl.findings_at(store, end, statuses=list(tl.ACTIVE), accounts=accounts, regions=regions) if f.rule_id in rules]
    failing_by_rule: dict[str, list[m.Failing]] = defaultdict(list)
    exceptions_by_rule: dict[str, list[m.ExceptionEntry]] = defaultdict(list)
    for f in active:
        if f.status == "excepted":
            counts[f.rule_id].excepted.add(f.resource_pk)
            counts[f.rule_id].non_compliant.discard(f.resource_pk)
            exc = f.exception or {}
            exceptions_by_rule[f.rule_id].append(
                m.ExceptionEntry(
                    rule_id=f.rule_id,
                    resource=_ref(f.resource),
                    owner=mask_phi(exc.get("owner")) or "(not recorded)",
                    justification=mask_phi(exc.get("justification")) or "(not recorded)",
                    expires=dt.date.fromisoformat(exc["expires"]) if exc.get("expires") else end.date(),
                )
            )
        else:
            failing_by_rule[f.rule_id].append(
                m.Failing(
                    rule_id=f.rule_id,
                    resource=_ref(f.resource),
                    severity=f.severity,
                    reason=mask_phi(f.annotation) or "",
                    opened_at=f.opened_at,
                )
            )

    statuses = {rule_id: _rule_status(counts.get(rule_id)) for rule_id in rules}
    ran = {rule_id for rule_id in rules if rule_id in counts or runs(policy, rules[rule_id])}
    rule_rows = {
        rule_id: m.RuleStatus(
            rule_id=rule_id,
            description=rules[rule_id].compliant_when or rules[rule_id].rationale,
            severity=rules[rule_id].severity,
            status=statuses[rule_id],
            compliant=len(_c(counts, rule_id).compliant - _c(counts, rule_id).non_compliant),
            non_compliant=len(_c(counts, rule_id).non_compliant),
            excepted=len(_c(counts, rule_id).excepted),
            could_not_check=len(_c(counts, rule_id).could_not_check),
            sections_source=rules[rule_id].sections_source,
        )
        for rule_id in ran
    }

    remediations = tl.remediations_between(store, request.start, end, accounts=accounts, regions=regions)
    remediations_by_rule: dict[str, list[m.RemediationEntry]] = defaultdict(list)
    for r in remediations:
        remediations_by_rule[r["rule_id"]].append(
            m.RemediationEntry(
                remediation_id=r["id"],
                rule_id=r["rule_id"],
                runbook_id=r["runbook_id"],
                resource=_ref(r),
                mode=r["mode"],
                status=r["status"],
                finished_at=r["finished_at"],
                approved_by=r["approved_by"],
            )
        )

    standing = [a for a in list_attestations(store, with_evidence=True) if valid_at(a, end)]
    by_spec = rules_by_specification({k: v for k, v in rules.items() if k in ran})

    out_parts = []
    for part in parts():
        built = _part(part, request, by_spec, rule_rows, failing_by_rule, exceptions_by_rule, remediations_by_rule, standing)
        if built is not None:
            out_parts.append(built)

    trend, opened, fixed, mttr = _activity(store, request, set(rules), accounts, regions)
    all_failing = [f for fs in failing_by_rule.values() for f in fs]
    top = sorted(all_failing, key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.opened_at, f.rule_id))[:TOP_RISKS]
    spec_counts: dict[str, int] = defaultdict(int)
    for p in out_parts:
        for s in p.standards:
            for spec in s.specifications:
                spec_counts[spec.status] += 1
    notes = []
    starts = tl.history_starts(store)
    if starts is None:
        notes.append("The store holds no evaluations yet: run `phiwatch scan` first.")
    elif (request.start or end) < starts - dt.timedelta(seconds=1):  # a period opening just before the first scan is whole
        notes.append(f"The store's history begins {m_time(starts)}: nothing is known before that time.")
    scope_rows = tl.resources_at(store, end, accounts=accounts, regions=regions)
    summary = m.Summary(
        posture=m.worst([p.status for p in out_parts]),
        resources=len(resources),
        rules_run=len([r for r in rule_rows.values() if r.status != m.NOT_EVALUATED]),
        failing=len(all_failing),
        excepted=sum(len(v) for v in exceptions_by_rule.values()),
        could_not_check=sum(len(_c(counts, r).could_not_check) for r in rule_rows),
        opened_in_period=opened,
        fixed_in_period=fixed,
        mean_time_to_remediate_hours=mttr,
        sections=dict(spec_counts),
        trend=tuple(trend),
        top_risks=tuple(top),
    )
    return m.Report(
        title=request.title,
        generated_at=utcnow(),
        tool_version=__version__,
        period=m.Period(end=end, start=request.start),
        scope=m.Scope(
            accounts=tuple(sorted(request.accounts or {r["account_id"] for r in scope_rows})),
            regions=tuple(sorted(request.regions or {r["region"] for r in scope_rows})),
        ),
        summary=summary,
        parts=tuple(out_parts),
        sections_filter=request.section,
        notes=tuple(notes),
    )


def m_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _c(counts: dict[str, _RuleCounts], rule_id: str) -> _RuleCounts:
    return counts.get(rule_id) or _RuleCounts()


def _rule_status(c: _RuleCounts | None) -> str:
    if c is None:
        return m.NOT_EVALUATED
    if c.non_compliant:
        return m.FAILING
    if c.could_not_check:
        return m.COULD_NOT_CHECK
    if c.excepted:
        return m.EXCEPTED
    if c.compliant:
        return m.COMPLIANT
    return m.NOT_EVALUATED


def _part(
    part: HipaaPart,
    request: ReportRequest,
    by_spec: dict[str, list[str]],
    rule_rows: dict[str, m.RuleStatus],
    failing_by_rule: dict[str, list[m.Failing]],
    exceptions_by_rule: dict[str, list[m.ExceptionEntry]],
    remediations_by_rule: dict[str, list[m.RemediationEntry]],
    standing: list[dict[str, Any]],
) -> m.Part | None:
    standards = []
    for standard in part.standards:
        specs = []
        for spec in standard.specifications:
            if request.section and not (covers(request.section, spec.citation) or covers(request.section, standard.citation)):
                continue
            specs.append(_specification(spec, by_spec, rule_rows, failing_by_rule, exceptions_by_rule, remediations_by_rule, standing))
        if specs:
            standards.append(
                m.Standard(
                    citation=standard.citation,
                    title=standard.title,
                    explanation=standard.explanation,
                    status=m.worst([s.status for s in specs]),
                    specifications=tuple(specs),
                )
            )
    if not standards:
        return None
    return m.Part(citation=part.citation, title=part.title, status=m.worst([s.status for s in standards]), standards=tuple(standards))


def _specification(
    spec: HipaaSpec,
    by_spec: dict[str, list[str]],
    rule_rows: dict[str, m.RuleStatus],
    failing_by_rule: dict[str, list[m.Failing]],
    exceptions_by_rule: dict[str, list[m.ExceptionEntry]],
    remediations_by_rule: dict[str, list[m.RemediationEntry]],
    standing: list[dict[str, Any]],
) -> m.Specification:
    rule_ids = by_spec.get(spec.citation, [])
    rules = tuple(rule_rows[r] for r in rule_ids if r in rule_rows)
    attestations = tuple(
        m.Attestation(
            attestation_id=a["id"],
            section=a["section"],
            by=mask_phi(a["attested_by"]) or "",
            statement=mask_phi(a["statement"]) or "",
            attested_at=a["attested_at"],
            expires=dt.date.fromisoformat(a["expires"]) if a.get("expires") else None,
            evidence_name=a.get("evidence_name"),
            evidence_sha256=a.get("evidence_sha256"),
            key_fingerprint=key_fingerprint(a),
            signature_valid=signature_valid(a),
        )
        for a in attestations_for(standing, spec.citation)
    )
    attested = any(a.signature_valid for a in attestations)
    from_rules = m.worst([r.status for r in rules]) if rules else None
    if spec.evidence == "aws-shared":
        base = m.ATTESTED if attested else m.COVERED_BY_AWS
    elif spec.evidence == "attestation" or from_rules in (None, m.NOT_EVALUATED):
        # no AWS data proves it (or no rule found anything to judge): a person must attest
        base = m.ATTESTED if attested else m.ATTESTATION_NEEDED
    else:
        base = m.COMPLIANT
    status = m.worst([base] + ([from_rules] if from_rules and from_rules != m.NOT_EVALUATED else []))
    failing = sorted(
        (f for r in rule_ids for f in failing_by_rule.get(r, ())), key=lambda f: (SEVERITY_RANK.get(f.severity, 9), f.opened_at, f.rule_id)
    )
    exceptions = [e for r in rule_ids for e in exceptions_by_rule.get(r, ())]
    remediations = sorted(
        (x for r in rule_ids for x in remediations_by_rule.get(r, ())),
        key=lambda x: x.finished_at or dt.datetime.min.replace(tzinfo=dt.UTC),
        reverse=True,
    )
    return m.Specification(
        citation=spec.citation,
        title=spec.title,
        required=spec.required,
        explanation=spec.explanation,
        evidence=spec.evidence,
        status=status,
        rules=rules,
        failing=tuple(failing[: m.LISTED]),
        exceptions=tuple(exceptions[: m.LISTED]),
        remediations=tuple(remediations[: m.LISTED]),
        attestations=attestations,
        more_failing=max(len(failing) - m.LISTED, 0),
        more_exceptions=max(len(exceptions) - m.LISTED, 0),
        more_remediations=max(len(remediations) - m.LISTED, 0),
    )


def _activity(
    store: Store, request: ReportRequest, rule_ids: set[str], accounts: Sequence[str] | None, regions: Sequence[str] | None
) -> tuple[list[m.Day], int, int, float | None]:
    """The period's trend (open findings at each day's end, opened and fixed per day), how many
    opened and were fixed, and the mean hours from opening to fix of those fixed in the period."""
    if request.start is None:
        return [], 0, 0, None
    start, end = request.start, request.end
    state: dict[str, str] = {}
    opened_at: dict[str, dt.datetime] = {}
    for f in tl.findings_at(store, start, accounts=accounts, regions=regions):
        if f.rule_id in rule_ids:
            state[f.finding_id] = f.status
            opened_at[f.finding_id] = f.opened_at
    moves = [t for t in tl.transitions(store, start, end, accounts=accounts, regions=regions) if t.rule_id in rule_ids]
    days: list[m.Day] = []
    opened = fixed = 0
    durations: list[float] = []
    i = 0
    day = start.date()
    while day <= end.date():
        day_end = min(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC), end + dt.timedelta(microseconds=1))
        day_opened = day_fixed = 0
        while i < len(moves) and moves[i].time < day_end:
            t = moves[i]
            before = state.get(t.finding_id)
            if t.status == "open" and before != "open":
                if before not in tl.ACTIVE:
                    opened_at[t.finding_id] = t.time
                    day_opened += 1
            elif t.status in tl.FIXED and before in tl.ACTIVE:
                day_fixed += 1
                if t.finding_id in opened_at:
                    durations.append((t.time - opened_at[t.finding_id]).total_seconds() / 3600)
            elif t.status == "excepted" and before not in tl.ACTIVE:
                opened_at[t.finding_id] = t.time
            state[t.finding_id] = t.status
            i += 1
        opened += day_opened
        fixed += day_fixed
        days.append(m.Day(day=day, failing=sum(1 for s in state.values() if s == "open"), opened=day_opened, fixed=day_fixed))
        day += dt.timedelta(days=1)
    mttr = round(sum(durations) / len(durations), 2) if durations else None
    return days, opened, fixed, mttr
