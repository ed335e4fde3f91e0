"""action items carry an indicative cost, its currency and a funding source

Revision ID: 5f1d2c3b4a01
Revises: 7a2e4c6d8b02
Create Date: 2026-12-01 12:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db  # noqa: F401 (custom column types used by autogenerate)

revision: str = "5f1d2c3b4a01"
down_revision: str | None = "7a2e4c6d8b02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost_amount", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("cost_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(
            sa.Column("funding_source", sa.String(length=300), server_default="", nullable=False)
        )
        batch_op.create_check_constraint(
            "cost_not_negative", "cost_amount IS NULL OR cost_amount >= 0"
        )
        batch_op.create_check_constraint(
            "cost_has_currency",
            "(cost_amount IS NULL AND cost_currency IS NULL)"
            " OR (cost_amount IS NOT NULL AND cost_currency IS NOT NULL)",
        )


def downgrade() -> None:
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_constraint("cost_has_currency", type_="check")
        batch_op.drop_constraint("cost_not_negative", type_="check")
        batch_op.drop_column("funding_source")
        batch_op.drop_column("cost_currency")
        batch_op.drop_column("cost_amount")
