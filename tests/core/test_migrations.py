"""Migrations match the models and run both ways, on every backend."""

import pytest
from sqlalchemy import inspect

from app.core import migrate
from app.core.db import make_engine
from app.models import Base
from tests.conftest import BACKENDS


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_downgrade_upgrade_and_check(make_database, backend):
    database = make_database(backend)
    migrate.upgrade(database.url)
    migrate.check(database.url)  # raises if the models and the migrations differ

    engine = make_engine(database.url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables

        migrate.downgrade(database.url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}

        migrate.upgrade(database.url)
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        if backend == "sqlite":
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_constraints_are_named_by_convention(engine):
    inspector = inspect(engine)
    for fk in inspector.get_foreign_keys("answers"):
        assert fk["name"].startswith("fk_answers_")
    uniques = {uq["name"] for uq in inspector.get_unique_constraints("answers")}
    assert "uq_answers_assessment_id_capability_id_indicator_id" in uniques
