"""SQLAlchemy tables of the store. Schema changes go through Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

resources = Table(
    "resources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("account_id", String(32), nullable=False),
    Column("region", String(32), nullable=False),
    Column("resource_type", String(128), nullable=False),
    Column("resource_id", String(512), nullable=False),
    Column("resource_name", String(512)),
    Column("arn", String(1024)),
    Column("status", String(32), nullable=False),
    Column("state_id", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("last_changed", DateTime(timezone=True), nullable=False),
    UniqueConstraint("account_id", "region", "resource_type", "resource_id", name="uq_resources_key"),
)
Index("ix_resources_type", resources.c.resource_type)
Index("ix_resources_arn", resources.c.arn)
Index("ix_resources_name", resources.c.resource_name)

versions = Table(
    "versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state_id", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("capture_time", DateTime(timezone=True), nullable=False),
    Column("run_id", Integer, ForeignKey("collection_runs.id", ondelete="SET NULL")),
    Column("changed_by", String(512)),
    Column("item", JSON, nullable=False),
    UniqueConstraint("resource_pk", "version", name="uq_versions_resource_version"),
)
Index("ix_versions_capture", versions.c.resource_pk, versions.c.capture_time)

resource_tags = Table(
    "resource_tags",
    metadata,
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("value", String(512), nullable=False),
)
Index("ix_resource_tags_kv", resource_tags.c.key, resource_tags.c.value)

collection_runs = Table(
    "collection_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("status", String(32), nullable=False),  # running | complete | failed
    Column("account_id", String(32)),
    Column("regions", JSON, nullable=False),
    Column("services", JSON, nullable=False),
    Column("endpoint", String(512)),
    Column("items_seen", Integer, nullable=False, default=0),
    Column("items_changed", Integer, nullable=False, default=0),
    Column("items_deleted", Integer, nullable=False, default=0),
    Column("requests", Integer, nullable=False, default=0),
    Column("complete", Boolean, nullable=False, default=False),
)

collection_errors = Table(
    "collection_errors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("collection_runs.id", ondelete="CASCADE"), nullable=False),
    Column("service", String(64), nullable=False),
    Column("api", String(128), nullable=False),
    Column("region", String(32), nullable=False),
    Column("error", String(128), nullable=False),
    Column("iam_action", String(256), nullable=False),
    Column("resource_type", String(128)),
    Column("resource_id", String(512)),
    Column("message", Text),
)
Index("ix_collection_errors_run", collection_errors.c.run_id)

# -- evaluation and findings ---------------------------------------------------------------

scans = Table(
    "scans",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("run_id", Integer, ForeignKey("collection_runs.id", ondelete="SET NULL")),
    Column("fingerprint", String(64), nullable=False),
    Column("policy", String(1024)),
    Column("evaluated", Integer, nullable=False, default=0),
    Column("full", Boolean, nullable=False, default=False),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", String(256), nullable=False),
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
    Column("compliance", String(32), nullable=False),
    Column("annotation", Text, nullable=False),
    Column("state_id", String(64), nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    Column("scan_id", String(64)),
    UniqueConstraint("rule_id", "resource_pk", name="uq_evaluations_rule_resource"),
)
Index("ix_evaluations_resource", evaluations.c.resource_pk)

eval_state = Table(
    "eval_state",
    metadata,
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("state_id", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
)

periodic_runs = Table(
    "periodic_runs",
    metadata,
    Column("rule_id", String(256), primary_key=True),
    Column("last_run", DateTime(timezone=True), nullable=False),
)

# rule -> the resource types its evaluation looked up (RuleContext.items): when an item of such a
# type changes, the rule is re-evaluated on all its resources (e.g. an account-wide setting or a
# web ACL association read by a load balancer rule), not only on items that changed themselves.
rule_dependencies = Table(
    "rule_dependencies",
    metadata,
    Column("rule_id", String(256), primary_key=True),
    Column("resource_type", String(256), primary_key=True),
)

findings = Table(
    "findings",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("rule_id", String(256), nullable=False),
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(32), nullable=False),  # open | excepted | resolved | remediated
    Column("severity", String(16), nullable=False),
    Column("annotation", Text, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("exception_owner", String(256)),
    Column("exception_justification", Text),
    Column("exception_expires", String(32)),
)
Index("ix_findings_status", findings.c.status)
Index("ix_findings_resource", findings.c.resource_pk)

finding_events = Table(
    "finding_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("finding_id", String(64), ForeignKey("findings.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(32), nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("scan_id", String(64)),
    Column("annotation", Text),
    Column("detail", JSON),  # an "excepted" event: the exception's owner, justification and expiry
)
Index("ix_finding_events_finding", finding_events.c.finding_id, finding_events.c.time)
Index("ix_finding_events_time", finding_events.c.time)

# Every evaluation as it was: one row per (rule, resource) and stretch of time during which its
# compliance and annotation stayed the same. valid_to is null while it is the current one. "What
# was the compliance at T" is the rows with valid_from <= T < valid_to (or valid_to null).
evaluation_history = Table(
    "evaluation_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("rule_id", String(256), nullable=False),
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
    Column("compliance", String(32), nullable=False),
    Column("annotation", Text, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
    Column("scan_id", String(64)),
)
Index("ix_evaluation_history_key", evaluation_history.c.rule_id, evaluation_history.c.resource_pk, evaluation_history.c.valid_to)
Index("ix_evaluation_history_from", evaluation_history.c.valid_from)
Index("ix_evaluation_history_to", evaluation_history.c.valid_to)

# Signed human statements for what no AWS data can prove (risk analysis, training, BAAs, ...).
attestations = Table(
    "attestations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("section", String(64), nullable=False),
    Column("attested_by", String(256), nullable=False),
    Column("statement", Text, nullable=False),
    Column("attested_at", DateTime(timezone=True), nullable=False),
    Column("expires", String(32)),  # ISO date, or null: does not expire
    Column("evidence_name", String(256)),
    Column("evidence_sha256", String(64)),
    Column("evidence", LargeBinary),  # the file itself, so an evidence pack can carry it
    Column("actor", String(256), nullable=False),  # the OS user who recorded it
    Column("algorithm", String(32), nullable=False),
    Column("public_key", Text, nullable=False),  # PEM
    Column("signature", Text, nullable=False),  # base64, over the canonical JSON of the fields above
    Column("revoked_at", DateTime(timezone=True)),
)
Index("ix_attestations_section", attestations.c.section, attestations.c.attested_at)

# -- notifications ---------------------------------------------------------------------------

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("route", String(256), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("finding_id", String(64)),  # null for digests and tests
    Column("event", String(32), nullable=False),
    Column("payload", JSON, nullable=False),  # the alert message (contract): ids, rule and reason only
    Column("status", String(16), nullable=False),  # pending | sent | failed (retrying)
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("scan_id", String(64)),
    Column("claimed_by", String(256)),  # the process delivering the row (phiwatch.store.claims), while it holds the lease
    UniqueConstraint("route", "finding_id", "event", "scan_id", name="uq_outbox_once"),
)
Index("ix_outbox_status", outbox.c.status, outbox.c.next_attempt_at)
Index("ix_outbox_finding", outbox.c.finding_id, outbox.c.route)

# -- remediation -----------------------------------------------------------------------------

remediations = Table(
    "remediations",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("finding_id", String(64), ForeignKey("findings.id", ondelete="CASCADE"), nullable=False),
    Column("rule_id", String(256), nullable=False),
    Column("runbook_id", String(256), nullable=False),
    Column("resource_pk", Integer, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False),
    Column("region", String(32), nullable=False),
    Column("mode", String(16), nullable=False),  # dry-run | manual | auto | approved
    # planned | applied | failed | skipped | superseded
    Column("status", String(16), nullable=False),
    Column("executed", Boolean, nullable=False, default=False),  # write calls were sent (counts for the limits)
    Column("parameters", JSON, nullable=False),
    Column("plan", JSON, nullable=False),  # [{step, service, api, params}] the runbook would call
    Column("result", JSON),  # steps with each call's outcome (no response bodies)
    Column("reason", Text),
    Column("failed_step", String(256)),
    Column("state_before", String(64)),
    Column("state_after", String(64)),
    Column("scan_id", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(256)),
    Column("approved_at", DateTime(timezone=True)),
    Column("approved_by", String(256)),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("audit_id", Integer),  # the last audit_log entry about this remediation ...
    Column("audit_hash", String(64)),  # ... and its hash: a cross-check against truncating the log
    Column("runner", String(256)),  # the process executing it (phiwatch.store.claims), while running
)
Index("ix_remediations_finding", remediations.c.finding_id, remediations.c.created_at)
Index("ix_remediations_executed", remediations.c.executed, remediations.c.started_at)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # 1, 2, 3 ... without gaps
    Column("time", String(40), nullable=False),  # ISO 8601 UTC, hashed as stored
    Column("actor", String(256), nullable=False),  # the OS user
    Column("caller_arn", String(1024)),  # the AWS caller (STS GetCallerIdentity)
    Column("action", String(32), nullable=False),  # plan | approve | execute | skip
    Column("remediation_id", String(32)),
    Column("finding_id", String(64)),
    Column("data", JSON, nullable=False),  # ids and parameters only: never secrets or PHI
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("prev_hash", name="uq_audit_log_prev_hash"),  # a chain, never a fork
)
