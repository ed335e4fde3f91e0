"""indicators marked for review by the country's team

Revision ID: 7a2e4c6d8b02
Revises: b4d6f8a0c204
Create Date: 2026-12-01 12:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "7a2e4c6d8b02"
down_revision: str | None = "b4d6f8a0c204"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("capability_id", sa.String(length=60), nullable=False),
        sa.Column("indicator_id", sa.String(length=60), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("flagged_by_id", sa.Integer(), nullable=True),
        sa.Column("flagged_at", app.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_review_flags_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["flagged_by_id"],
            ["users.id"],
            name=op.f("fk_review_flags_flagged_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_flags")),
        sa.UniqueConstraint(
            "assessment_id",
            "capability_id",
            "indicator_id",
            name=op.f("uq_review_flags_assessment_id_capability_id_indicator_id"),
        ),
    )
    with op.batch_alter_table("review_flags", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_flags_assessment_id"), ["assessment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("review_flags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_flags_assessment_id"))
    op.drop_table("review_flags")
