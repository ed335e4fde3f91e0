"""procrastinate's tables, types and functions, kept in a PostgreSQL schema of their own.

They live in the `procrastinate` schema, beside (not among) the application's tables, so the
application's models, `alembic check` and the backups of its data never see them; every
connection procrastinate opens puts that schema first on its search path.

The SQL comes from the installed procrastinate package, never from a copy: the first
migration applies the package's full schema and records its version as the schema's comment.
To upgrade procrastinate later, raise its version in pyproject.toml, then add an Alembic
migration whose upgrade() calls `bring_up_to_date(op.get_bind())`: it applies, in order, the
package's own migration files newer than the recorded version (docs/deployment.md).
"""

from __future__ import annotations

import re
from importlib import metadata, resources
from pathlib import Path

from sqlalchemy.engine import Connection

SCHEMA = "procrastinate"
_VERSION_FILE = re.compile(r"^(\d+)\.(\d+)\.(\d+)_(\d+)_.*\.sql$")


def installed_version() -> str:
    return metadata.version("procrastinate")


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _in_schema(connection: Connection, sql: str) -> None:
    """Run sql with the procrastinate schema first on the search path, then restore it."""
    previous = connection.exec_driver_sql("SHOW search_path").scalar()
    connection.exec_driver_sql(f"SET LOCAL search_path TO {SCHEMA}")
    # Straight to the driver without parameters: the script runs as written (its `%` signs
    # are not placeholders), several statements at once, in the migration's transaction.
    connection.connection.driver_connection.execute(sql)
    connection.exec_driver_sql(
        "SELECT set_config('search_path', %(previous)s, true)", {"previous": previous}
    )


def _record(connection: Connection, version: str) -> None:
    connection.exec_driver_sql(f"COMMENT ON SCHEMA {SCHEMA} IS 'procrastinate {version}'")


def recorded_version(connection: Connection) -> str | None:
    """The procrastinate version whose schema the database holds; None without one."""
    comment = connection.exec_driver_sql(
        "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %(s)s",
        {"s": SCHEMA},
    ).scalar()
    return comment.split()[-1] if comment else None


def create(connection: Connection) -> None:
    """Create the schema with the installed package's full SQL (PostgreSQL only)."""
    connection.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
    sql = (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")
    _in_schema(connection, sql)
    _record(connection, installed_version())


def pending_migrations(recorded: str, installed: str) -> list[Path]:
    """procrastinate's migration files after recorded, up to installed, in order."""
    from procrastinate.schema import migrations_path

    low, high = _version_tuple(recorded), _version_tuple(installed)
    found = []
    for path in Path(migrations_path).iterdir():
        match = _VERSION_FILE.match(path.name)
        if match and low < tuple(int(g) for g in match.groups()[:3]) <= high:
            found.append(path)
    return sorted(found, key=lambda p: [int(g) for g in _VERSION_FILE.match(p.name).groups()])


def bring_up_to_date(connection: Connection) -> list[str]:
    """Apply the installed package's migrations newer than the recorded version."""
    recorded = recorded_version(connection)
    if recorded is None:
        create(connection)
        return ["schema.sql"]
    installed = installed_version()
    applied = []
    for path in pending_migrations(recorded, installed):
        _in_schema(connection, path.read_text(encoding="utf-8"))
        applied.append(path.name)
    _record(connection, installed)
    return applied


def drop(connection: Connection) -> None:
    connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
