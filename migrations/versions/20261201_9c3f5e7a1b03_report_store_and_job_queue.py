"""the shared report store (PDFs by content digest, render claims) and the job queue

Revision ID: 9c3f5e7a1b03
Revises: 5f1d2c3b4a01
Create Date: 2026-12-01 12:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db
from app.jobs import schema as job_schema

revision: str = "9c3f5e7a1b03"
down_revision: str | None = "5f1d2c3b4a01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_files",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("render_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_report_files_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_report_files")),
    )
    with op.batch_alter_table("report_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_files_assessment_id"),
            ["assessment_id", "kind", "locale"],
            unique=False,
        )
    op.create_table(
        "report_renders",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("requested_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("superseded_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_report_renders_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_report_renders")),
    )
    # The job queue is procrastinate's, on PostgreSQL only; SQLite runs jobs in-process.
    if op.get_bind().dialect.name == "postgresql":
        job_schema.create(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        job_schema.drop(op.get_bind())
    op.drop_table("report_renders")
    with op.batch_alter_table("report_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_files_assessment_id"))
    op.drop_table("report_files")
