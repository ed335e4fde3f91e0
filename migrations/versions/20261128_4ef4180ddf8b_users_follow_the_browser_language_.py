"""users follow the browser language unless they choose one

Revision ID: 4ef4180ddf8b
Revises: 8ee07cd7ec58
Create Date: 2026-11-28 13:53:20.268679+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db  # noqa: F401 (custom column types used by autogenerate)

revision: str = "4ef4180ddf8b"
down_revision: str | None = "8ee07cd7ec58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("locale", existing_type=sa.VARCHAR(length=10), nullable=True)
    # "en" was stored for everyone before anyone could choose: let them follow the browser.
    op.execute("UPDATE users SET locale = NULL WHERE locale = 'en'")


def downgrade() -> None:
    op.execute("UPDATE users SET locale = 'en' WHERE locale IS NULL")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("locale", existing_type=sa.VARCHAR(length=10), nullable=False)
