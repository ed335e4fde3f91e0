"""Run Alembic migrations from code (the CLI, the run script and the tests use this)."""

from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from app.core.config import PROJECT_ROOT

# At most this many broken references are named in the error; the count covers them all.
LISTED_VIOLATIONS = 20


class ForeignKeyViolation(RuntimeError):
    """A migration would leave rows that reference missing rows; nothing was committed."""


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Raise if the models and the migrations disagree."""
    command.check(alembic_config(url))


def prepare_sqlite_for_migrations(engine: Engine) -> None:
    """Make the engine's connections alter tables the way SQLite's documentation prescribes.

    Batch mode rebuilds a table (copy, drop, rename). With foreign keys enforced, dropping
    the old table deletes the rows that reference it through ON DELETE CASCADE, or fails on
    the others, so they are turned off on connecting: the pragma has no effect inside a
    transaction. make_engine already replaces the driver's implicit transactions by an
    explicit BEGIN, so the DDL of a whole run commits or rolls back as one, foreign key
    check included.
    """
    event.listen(engine, "connect", _foreign_keys_off)  # after make_engine's "on"


def _foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def check_sqlite_foreign_keys(connection: Connection) -> None:
    """Raise ForeignKeyViolation if any row references a missing row (run before committing)."""
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if not violations:
        return
    listed = "; ".join(
        f"{table} row {rowid} references a missing {parent} row"
        for table, rowid, parent, _key in violations[:LISTED_VIOLATIONS]
    )
    raise ForeignKeyViolation(
        f"the migration would leave {len(violations)} broken reference(s), so it was rolled "
        f"back: {listed}"
    )
