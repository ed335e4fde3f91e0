"""sharing settings, peer consents, pending imports

Revision ID: 8ee07cd7ec58
Revises: 6811b9dab424
Create Date: 2026-11-28 13:39:40.709987+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "8ee07cd7ec58"
down_revision: str | None = "6811b9dab424"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "peer_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country_id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.Integer(), nullable=False),
        sa.Column("given_by_id", sa.Integer(), nullable=True),
        sa.Column("given_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("country_id <> peer_id", name=op.f("ck_peer_consents_not_self")),
        sa.ForeignKeyConstraint(
            ["country_id"], ["countries.id"], name=op.f("fk_peer_consents_country_id_countries")
        ),
        sa.ForeignKeyConstraint(
            ["given_by_id"], ["users.id"], name=op.f("fk_peer_consents_given_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["peer_id"], ["countries.id"], name=op.f("fk_peer_consents_peer_id_countries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_consents")),
        sa.UniqueConstraint(
            "country_id", "peer_id", name=op.f("uq_peer_consents_country_id_peer_id")
        ),
    )
    with op.batch_alter_table("peer_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_peer_consents_country_id"), ["country_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_peer_consents_peer_id"), ["peer_id"], unique=False)

    op.create_table(
        "sharing_settings",
        sa.Column("country_id", sa.Integer(), nullable=False),
        sa.Column("include_in_aggregates", sa.Boolean(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["country_id"], ["countries.id"], name=op.f("fk_sharing_settings_country_id_countries")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_sharing_settings_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("country_id", name=op.f("pk_sharing_settings")),
    )
    op.create_table(
        "pending_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False, comment="workbook"),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("preview", sa.JSON(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", app.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'applied', 'cancelled')",
            name=op.f("ck_pending_imports_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_pending_imports_assessment_id_assessments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_pending_imports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_imports")),
    )
    with op.batch_alter_table("pending_imports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pending_imports_assessment_id"), ["assessment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pending_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_imports_assessment_id"))

    op.drop_table("pending_imports")
    op.drop_table("sharing_settings")
    with op.batch_alter_table("peer_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_peer_consents_peer_id"))
        batch_op.drop_index(batch_op.f("ix_peer_consents_country_id"))

    op.drop_table("peer_consents")
