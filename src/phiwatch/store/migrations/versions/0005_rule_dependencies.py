"""rule dependencies

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:15:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_dependencies",
        sa.Column("rule_id", sa.String(length=256), nullable=False),
        sa.Column("resource_type", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "resource_type"),
    )


def downgrade() -> None:
    op.drop_table("rule_dependencies")
