"""The HIPAA report as data: what every renderer (HTML, PDF, Markdown, JSON) lays out.

The builder (:mod:`phiwatch.evidence.build`) fills it from the store's history; renderers only
lay it out. Every text in it is already safe to show: resource names and reasons have gone
through PHI masking, and no configuration value is copied into it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# status of a rule, an implementation specification, a standard or a part, worst first
FAILING = "failing"
COULD_NOT_CHECK = "could_not_check"
ATTESTATION_NEEDED = "attestation_needed"
EXCEPTED = "excepted"
COMPLIANT = "compliant"
ATTESTED = "attested"
COVERED_BY_AWS = "covered_by_aws"
NOT_EVALUATED = "not_evaluated"  # rules exist but none of them ran or found a resource in scope
STATUS_ORDER = (FAILING, COULD_NOT_CHECK, ATTESTATION_NEEDED, EXCEPTED, NOT_EVALUATED, COMPLIANT, ATTESTED, COVERED_BY_AWS)
STATUS_LABELS = {
    FAILING: "Failing",
    COULD_NOT_CHECK: "Could not check",
    ATTESTATION_NEEDED: "Attestation needed",
    EXCEPTED: "Excepted",
    NOT_EVALUATED: "No resources in scope",
    COMPLIANT: "Compliant",
    ATTESTED: "Attested",
    COVERED_BY_AWS: "Covered by AWS (SOC 2 / BAA)",
}


def worst(statuses: list[str] | tuple[str, ...], default: str = NOT_EVALUATED) -> str:
    """The worst of ``statuses`` by :data:`STATUS_ORDER` (``default`` when there are none)."""
    return min(statuses, key=STATUS_ORDER.index) if statuses else default


@dataclass(frozen=True)
class Period:
    """``start`` None: a point in time (``end``). Otherwise the period [start, end]."""

    end: dt.datetime
    start: dt.datetime | None = None


@dataclass(frozen=True)
class Scope:
    accounts: tuple[str, ...]
    regions: tuple[str, ...]


@dataclass(frozen=True)
class ResourceRef:
    resource_type: str
    resource_id: str  # masked
    account_id: str
    region: str
    name: str | None = None  # masked


@dataclass(frozen=True)
class Failing:
    """A resource failing a rule at the period's end (a finding open then)."""

    rule_id: str
    resource: ResourceRef
    severity: str
    reason: str  # the evaluation's annotation, masked
    opened_at: dt.datetime


@dataclass(frozen=True)
class ExceptionEntry:
    rule_id: str
    resource: ResourceRef
    owner: str
    justification: str
    expires: dt.date


@dataclass(frozen=True)
class RemediationEntry:
    remediation_id: str
    rule_id: str
    runbook_id: str
    resource: ResourceRef
    mode: str  # dry-run | manual | auto | approved
    status: str  # applied | failed | ...
    finished_at: dt.datetime | None
    approved_by: str | None


@dataclass(frozen=True)
class RuleStatus:
    rule_id: str
    description: str  # what the rule checks (compliant_when)
    severity: str
    status: str  # FAILING | COULD_NOT_CHECK | EXCEPTED | COMPLIANT | NOT_EVALUATED
    compliant: int
    non_compliant: int
    excepted: int
    could_not_check: int
    sections_source: str = ""


@dataclass(frozen=True)
class Attestation:
    attestation_id: str
    section: str
    by: str
    statement: str
    attested_at: dt.datetime
    expires: dt.date | None
    evidence_name: str | None
    evidence_sha256: str | None
    key_fingerprint: str
    signature_valid: bool


@dataclass(frozen=True)
class Specification:
    """An implementation specification (or a standard without any), with its evidence."""

    citation: str  # e.g. 164.312(b) or 164.308(a)(1)(ii)(A)
    title: str
    required: bool  # False: addressable
    explanation: str
    evidence: str  # "aws-data" | "attestation" | "aws-shared"
    status: str
    rules: tuple[RuleStatus, ...] = ()
    failing: tuple[Failing, ...] = ()
    exceptions: tuple[ExceptionEntry, ...] = ()
    remediations: tuple[RemediationEntry, ...] = ()
    attestations: tuple[Attestation, ...] = ()
    # listed up to LISTED each (worst and oldest first); how many more there are
    more_failing: int = 0
    more_exceptions: int = 0
    more_remediations: int = 0


#: How many failing resources, exceptions and remediations a specification lists; the rest are
#: counted, and the evidence pack's CSV files hold them all.
LISTED = 25


@dataclass(frozen=True)
class Standard:
    citation: str  # e.g. 164.308(a)(1)
    title: str
    explanation: str
    status: str
    specifications: tuple[Specification, ...]


@dataclass(frozen=True)
class Part:
    citation: str  # 164.308 | 164.310 | 164.312 | 164.314 | 164.316
    title: str  # Administrative safeguards, ...
    status: str
    standards: tuple[Standard, ...]


@dataclass(frozen=True)
class Day:
    """One day of the period's trend."""

    day: dt.date
    failing: int  # findings open at the day's end
    opened: int
    fixed: int  # resolved or remediated that day


@dataclass(frozen=True)
class Summary:
    posture: str  # the worst status of the parts
    resources: int  # resources evaluated in scope at the period's end
    rules_run: int
    failing: int  # open findings at the period's end
    excepted: int
    could_not_check: int
    opened_in_period: int
    fixed_in_period: int
    mean_time_to_remediate_hours: float | None  # over findings fixed in the period
    sections: dict[str, int]  # status -> number of implementation specifications
    trend: tuple[Day, ...]
    top_risks: tuple[Failing, ...]


@dataclass(frozen=True)
class Report:
    title: str
    generated_at: dt.datetime
    tool_version: str
    period: Period
    scope: Scope
    summary: Summary
    parts: tuple[Part, ...]
    sections_filter: str | None = None  # --section, when the report covers one section only
    notes: tuple[str, ...] = field(default_factory=tuple)  # e.g. "history starts 2026-11-02: earlier days have no data"
