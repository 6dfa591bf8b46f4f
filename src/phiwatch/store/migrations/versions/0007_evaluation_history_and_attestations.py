"""evaluation history, attestations, exception details on finding events

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 15:00:00.000000

Existing stores get one history row per current evaluation, and a "remediated" lifecycle event
for each remediated finding's remediation_applied event. It starts when its finding opened
(non-compliant with an active finding) or when the resource was first seen: the closest the old
schema knows. Earlier changes of compliance were not kept before this revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=256), nullable=False),
        sa.Column("resource_pk", sa.Integer(), nullable=False),
        sa.Column("compliance", sa.String(length=32), nullable=False),
        sa.Column("annotation", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scan_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["resource_pk"], ["resources.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evaluation_history", schema=None) as batch_op:
        batch_op.create_index("ix_evaluation_history_key", ["rule_id", "resource_pk", "valid_to"], unique=False)
        batch_op.create_index("ix_evaluation_history_from", ["valid_from"], unique=False)
        batch_op.create_index("ix_evaluation_history_to", ["valid_to"], unique=False)
    op.create_table(
        "attestations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("section", sa.String(length=64), nullable=False),
        sa.Column("attested_by", sa.String(length=256), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("attested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.String(length=32), nullable=True),
        sa.Column("evidence_name", sa.String(length=256), nullable=True),
        sa.Column("evidence_sha256", sa.String(length=64), nullable=True),
        sa.Column("evidence", sa.LargeBinary(), nullable=True),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("algorithm", sa.String(length=32), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.create_index("ix_attestations_section", ["section", "attested_at"], unique=False)
    with op.batch_alter_table("finding_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail", sa.JSON(), nullable=True))
        batch_op.drop_index("ix_finding_events_finding")
        batch_op.create_index("ix_finding_events_finding", ["finding_id", "time"], unique=False)
        batch_op.create_index("ix_finding_events_time", ["time"], unique=False)
    # a remediated finding gets its lifecycle event (before this revision only the alert event
    # remediation_applied was recorded)
    op.execute(
        """
        INSERT INTO finding_events (finding_id, event, time, scan_id, annotation)
        SELECT fe.finding_id, 'remediated', fe.time, fe.scan_id, fe.annotation
          FROM finding_events fe JOIN findings f ON f.id = fe.finding_id
         WHERE fe.event = 'remediation_applied' AND f.status = 'remediated'
        """
    )
    op.execute(
        """
        INSERT INTO evaluation_history (rule_id, resource_pk, compliance, annotation, valid_from, valid_to, scan_id)
        SELECT e.rule_id, e.resource_pk, e.compliance, e.annotation,
               COALESCE(
                   (SELECT f.opened_at FROM findings f
                     WHERE f.rule_id = e.rule_id AND f.resource_pk = e.resource_pk
                       AND f.status IN ('open', 'excepted') AND e.compliance = 'NON_COMPLIANT'),
                   r.first_seen),
               NULL, e.scan_id
          FROM evaluations e JOIN resources r ON r.id = e.resource_pk
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("finding_events", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_events_time")
        batch_op.drop_index("ix_finding_events_finding")
        batch_op.create_index("ix_finding_events_finding", ["finding_id"], unique=False)
        batch_op.drop_column("detail")
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.drop_index("ix_attestations_section")
    op.drop_table("attestations")
    with op.batch_alter_table("evaluation_history", schema=None) as batch_op:
        batch_op.drop_index("ix_evaluation_history_to")
        batch_op.drop_index("ix_evaluation_history_from")
        batch_op.drop_index("ix_evaluation_history_key")
    op.drop_table("evaluation_history")
