"""who holds a claim: outbox.claimed_by, remediations.runner

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 01:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=256), nullable=True))
    with op.batch_alter_table("remediations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("runner", sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("remediations", schema=None) as batch_op:
        batch_op.drop_column("runner")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_by")
