"""Alembic environment: batch mode everywhere so SQLite can alter tables like PostgreSQL.

On SQLite a run has foreign keys off and is one transaction that commits only when
`PRAGMA foreign_key_check` finds no broken reference (see app.core.migrate).
"""

from alembic import context

from app.core import migrate
from app.core.config import get_settings
from app.core.db import make_engine
from app.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or get_settings().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    on_sqlite = engine.dialect.name == "sqlite"
    if on_sqlite:
        migrate.prepare_sqlite_for_migrations(engine)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=True,
                compare_type=True,
                # One transaction for the whole run on SQLite too (PostgreSQL's default).
                transactional_ddl=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if on_sqlite:
                    migrate.check_sqlite_foreign_keys(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
