"""Migrations keep the data of a populated database, upgrading and downgrading, on every backend.

Every revision is upgraded from a database filled at its down-revision, so a new migration is
covered as soon as it exists. The rows are generated from the reflected schema: valid rows in
every table, parents first, some with NULLs; values are written by hand only where a check
constraint needs one.
"""

import re
import sqlite3
from contextlib import closing
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError

from app.core import migrate
from app.core.db import make_engine
from tests.conftest import BACKENDS

SCRIPTS = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
REVISIONS: list[Script] = list(reversed(list(SCRIPTS.walk_revisions())))

# Enough for two foreign keys to the same table to point at different rows; the last row of
# each batch leaves NULL every nullable column that no check constraint mentions.
ROWS_PER_TABLE = 3

# Values for columns under a check constraint that a generated value would break.
CHECKED_VALUES: dict[str, dict[str, Any]] = {
    "users": {"role": "coordinator"},  # a country role, so its country_id is set
    "assessments": {"status": "submitted"},
    "action_items": {"origin": "manual", "horizon": "medium", "status": "in_progress"},
    "answers": {"response": "level", "confidence": "documented"},
    "comments": {"kind": "review"},
    "pending_imports": {"status": "applied"},
    "account_links": {"purpose": "reset"},
    "login_challenges": {"step": "code"},
}

Rows = dict[str, dict[tuple, dict[str, Any]]]  # table -> primary key -> column -> value


def _reflect(connection: Connection) -> sa.MetaData:
    metadata = sa.MetaData()
    metadata.reflect(connection)
    if "alembic_version" in metadata.tables:
        metadata.remove(metadata.tables["alembic_version"])
    return metadata


def _generated_value(column: sa.Column, batch: int, index: int) -> Any:
    """A value of the column's type that differs per batch and row, so unique keys hold."""
    kind = column.type
    serial = batch * ROWS_PER_TABLE + index + 1
    if isinstance(kind, sa.Boolean):
        return index % 2 == 0
    if isinstance(kind, sa.Integer):
        return serial
    if isinstance(kind, sa.Numeric):
        return Decimal(serial) / 4
    if isinstance(kind, sa.DateTime):
        moment = datetime(2026, 1 + batch, 1 + index, 8, 30, 15, 123456, tzinfo=UTC)
        return moment if kind.timezone else moment.replace(tzinfo=None)
    if isinstance(kind, sa.Date):
        return date(2026, 1 + batch, 1 + index)
    if isinstance(kind, sa.LargeBinary):
        return f"%PDF {column.table.name} {serial}".encode()
    if isinstance(kind, sa.JSON):
        return {"column": column.name, "batch": batch, "row": index, "items": [1, "two"]}
    if isinstance(kind, sa.String):
        suffix = f"{batch}{index}"
        room = (kind.length or 40) - len(suffix)
        assert room >= 0, f"{column.table.name}.{column.name} is too short for generated values"
        return f"{column.name[:room]}{suffix}"
    raise AssertionError(f"no generated value for {column.table.name}.{column.name} ({kind!r})")


def _checked_columns(table: sa.Table) -> set[str]:
    """Columns a check constraint of the table mentions."""
    checks = [str(c.sqltext) for c in table.constraints if isinstance(c, sa.CheckConstraint)]
    return {
        column.name
        for column in table.columns
        if any(re.search(rf"\b{re.escape(column.name)}\b", check) for check in checks)
    }


def _generated_rows(table: sa.Table, batch: int, parents: dict[str, list[dict]]) -> list[dict]:
    checked = CHECKED_VALUES.get(table.name, {})
    may_be_null = {c.name for c in table.columns if c.nullable} - _checked_columns(table)
    rows: list[dict] = []
    for index in range(ROWS_PER_TABLE):
        row = {
            column.name: checked.get(column.name, _generated_value(column, batch, index))
            for column in table.columns
            if column.computed is None
        }
        # A row references parents of its own batch; a table referencing itself points at
        # rows inserted before it, the first row at itself.
        for position, foreign_key in enumerate(
            sorted(table.foreign_key_constraints, key=lambda fk: fk.column_keys)
        ):
            referred = foreign_key.referred_table.name
            candidates = [*rows, row] if referred == table.name else parents[referred]
            parent = candidates[(index + position) % len(candidates)]
            for element in foreign_key.elements:
                row[element.parent.name] = parent[element.column.name]
        if index == ROWS_PER_TABLE - 1:
            row.update(dict.fromkeys(may_be_null))
        rows.append(row)
    return rows


def fill(url: str, batch: int) -> None:
    """Insert ROWS_PER_TABLE valid rows into every table of the database, parents first."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            parents: dict[str, list[dict]] = {}
            for table in _reflect(connection).sorted_tables:
                rows = _generated_rows(table, batch, parents)
                try:
                    connection.execute(table.insert(), rows)
                except IntegrityError as exc:
                    pytest.fail(
                        f"generated rows for {table.name} break a constraint; give its checked "
                        f"columns values in CHECKED_VALUES: {exc.orig}"
                    )
                parents[table.name] = rows
    finally:
        engine.dispose()


def _row_key(row: sa.RowMapping, key: list[str]) -> tuple:
    return tuple(row[column] for column in key) if key else tuple(map(repr, row.values()))


def snapshot(url: str) -> Rows:
    """Every row of every table as stored, by primary key (the whole row if a table has none)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            quote = connection.dialect.identifier_preparer.quote
            contents: Rows = {}
            for table in inspector.get_table_names():
                if table == "alembic_version":
                    continue
                key = inspector.get_pk_constraint(table)["constrained_columns"]
                rows = connection.exec_driver_sql(f"SELECT * FROM {quote(table)}").mappings()
                contents[table] = {_row_key(row, key): dict(row) for row in rows}
            return contents
    finally:
        engine.dispose()


def lost_data(before: Rows, after: Rows, *, downgrade: bool = False) -> list[str]:
    """Rows and values of before that after lost or changed; dropped columns aside.

    A downgrade may also drop tables, and fill in a NULL where the older schema needs a value.
    """
    lost: list[str] = []
    for table, rows in before.items():
        if table not in after:
            if not downgrade:
                lost.append(f"table {table} and its {len(rows)} rows")
            continue
        for key, row in rows.items():
            kept = after[table].get(key)
            if kept is None:
                lost.append(f"{table} row {key}")
                continue
            lost.extend(
                f"{table} row {key}: {column} was {value!r}, is {kept[column]!r}"
                for column, value in row.items()
                if column in kept and kept[column] != value and not (downgrade and value is None)
            )
    return lost


def columns_of(url: str) -> dict[str, set[str]]:
    """The columns of every table."""
    engine = make_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            table: {column["name"] for column in inspector.get_columns(table)}
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def held_by(rows: Rows, columns: dict[str, set[str]]) -> Rows:
    """The part of rows that a schema of these tables and columns can hold."""
    return {
        table: {
            key: {column: value for column, value in row.items() if column in columns[table]}
            for key, row in rows[table].items()
        }
        for table in rows
        if table in columns
    }


def assert_kept(before: Rows, after: Rows, step: str, *, downgrade: bool = False) -> None:
    lost = lost_data(before, after, downgrade=downgrade)
    assert not lost, f"migrating to {step} lost data:\n" + "\n".join(lost)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("script", REVISIONS, ids=lambda script: script.revision)
def test_migrations_keep_the_data_of_a_populated_database(make_database, backend, script):
    url = make_database(backend).url
    if script.down_revision is not None:
        migrate.upgrade(url, script.down_revision)
    fill(url, batch=1)
    filled = snapshot(url)
    migrate.upgrade(url, "head")
    assert_kept(filled, snapshot(url), "head")
    newest = columns_of(url)

    # Step by step down to the first revision, with rows in every table of the newest schema;
    # at each step, upgrading again brings back all that the older schema could hold.
    fill(url, batch=2)
    for _ in REVISIONS[1:]:
        above = snapshot(url)
        migrate.downgrade(url, "-1")
        assert_kept(above, snapshot(url), "-1", downgrade=True)
        older = columns_of(url)
        migrate.upgrade(url, "+1")
        assert_kept(held_by(above, older), snapshot(url), "+1 after -1")
        migrate.downgrade(url, "-1")

    assert any(snapshot(url).values()), "the last downgrade runs on a populated database"
    migrate.downgrade(url, "base")  # drops every table by design, and must not fail doing so
    assert columns_of(url) == {}
    migrate.upgrade(url, "head")
    assert columns_of(url) == newest


def _sqlite_schema(url: str) -> list[tuple]:
    with closing(sqlite3.connect(make_url(url).database)) as connection:
        return connection.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY name"
        ).fetchall()


def test_sqlite_migration_leaving_a_broken_reference_fails_and_commits_nothing(make_database):
    url = make_database("sqlite").url
    start = SCRIPTS.get_revision(SCRIPTS.get_current_head()).down_revision
    migrate.upgrade(url, start)
    fill(url, batch=1)
    # A reference to a missing row, as a database written without enforced foreign keys holds.
    with closing(sqlite3.connect(make_url(url).database)) as connection:
        connection.execute("UPDATE user_sessions SET user_id = -1 WHERE id = 4")
        connection.commit()
    schema, rows = _sqlite_schema(url), snapshot(url)

    with pytest.raises(
        migrate.ForeignKeyViolation,
        match=r"leave 1 broken reference\(s\), so it was rolled back: "
        r"user_sessions row 4 references a missing users row$",
    ):
        migrate.upgrade(url, "head")

    assert _sqlite_schema(url) == schema  # the rebuilt tables were rolled back too
    assert snapshot(url) == rows
    with closing(sqlite3.connect(make_url(url).database)) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (start,)
        ]
