"""Shared fixtures: a migrated database per backend, a rolled-back session per test.

Every database test runs on SQLite; when TEST_DATABASE_URL points at a PostgreSQL server
the same tests run there too, each in a fresh database created for this test session.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from app.core import migrate, security
from app.core.db import make_engine

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])

# Still Argon2, at its smallest cost: a test hashes in microseconds instead of ~100 ms, while
# the application (and every process the tests start) keeps the library's strong default.
CHEAP_ARGON2 = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))


def pytest_configure(config: pytest.Config) -> None:
    security.use_password_hasher(CHEAP_ARGON2)


def worker_name() -> str:
    """This process's pytest-xdist worker ("gw0", "gw1"...), or "main" without workers."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


class TestDatabase:
    """A throw-away database: created empty (or as a copy of another), dropped at the end."""

    def __init__(self, backend: str, tmp_dir: Path, copy_of: TestDatabase | None = None):
        self.backend = backend
        # The worker's name in every database name: workers never share a database.
        unique = f"{worker_name()}_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            path = tmp_dir / f"test-{unique}.db"
            self.url = f"sqlite:///{path}"
            self._admin_url = None
            if copy_of is not None:
                _copy_sqlite(copy_of.url, path)
        else:
            server = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
            name = f"gsr_test_{unique}"
            self._admin_url = server
            self._name = name
            self.url = server.set(database=name).render_as_string(hide_password=False)
            template = f' TEMPLATE "{copy_of._name}"' if copy_of is not None else ""
            self._admin(f'CREATE DATABASE "{name}"{template}')

    def _admin(self, statement: str) -> None:
        engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def drop(self) -> None:
        if self._admin_url is not None:
            self._admin(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


def _copy_sqlite(source_url: str, target: Path) -> None:
    """Copy a SQLite database page by page (safe whatever its journal mode)."""
    source = sqlite3.connect(make_url(source_url).database)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()


@pytest.fixture(scope="session")
def make_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A factory of empty databases on a backend, all dropped when the session ends."""
    created: list[TestDatabase] = []

    def make(backend: str, copy_of: TestDatabase | None = None) -> TestDatabase:
        database = TestDatabase(backend, tmp_path_factory.mktemp("db"), copy_of)
        created.append(database)
        return database

    yield make
    for database in reversed(created):  # copies before the templates they were made from
        database.drop()


@pytest.fixture(scope="session")
def make_migrated_database(make_database) -> Callable[[str], TestDatabase]:
    """A factory of databases at head with the catalogue and countries (the fictional demo
    ones included) stored, ready for an app.

    The first call per backend migrates a template and starts the application on it once;
    every database after that is a copy of the template, which takes a fraction of a second.
    """
    templates: dict[str, TestDatabase] = {}

    def make(backend: str) -> TestDatabase:
        if backend not in templates:
            from fastapi.testclient import TestClient

            from app.core.config import Settings
            from app.main import create_app

            template = make_database(backend)
            migrate.upgrade(template.url)
            with TestClient(create_app(Settings(database_url=template.url))):
                pass  # its start stores the catalogue and the countries
            seed_demo_countries(template.url)
            templates[backend] = template
        return make_database(backend, copy_of=templates[backend])

    return make


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, make_migrated_database) -> TestDatabase:
    """A database migrated to head, shared by the tests of one backend."""
    return make_migrated_database(request.param)


def seed_demo_countries(url: str) -> None:
    """The fictional demo countries the tests' worlds live in (start-up adds only real ones)."""
    from app.core.db import session_factory
    from app.countries import service as country_service

    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        country_service.sync_countries(session, include_demo=True)
    engine.dispose()


@pytest.fixture(scope="session")
def engine(database: TestDatabase) -> Iterator[Engine]:
    engine = make_engine(database.url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test, commits included."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture(scope="session")
def app_client(database: TestDatabase) -> Iterator:
    """The real application on the test database, started once per backend."""
    from fastapi.testclient import TestClient

    from app.core.config import Settings
    from app.main import create_app

    # Background jobs (report renders) in threads of the app, on PostgreSQL too: the tests
    # start no `gsr worker` for it (tests/jobs covers the PostgreSQL queue with real ones).
    settings = Settings(database_url=database.url, jobs={"runner": "threads"})
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="session")
def api_people(app_client):
    """The API world's users and tokens, created once per backend and shared by every test.

    A test that changes a user (role, password, disabling) makes a user of its own instead.
    """
    from tests.api_world import make_people

    return make_people(app_client)


@pytest.fixture
def world(app_client, api_people):
    """The shared people, with a tag unique to this test for the names of what it creates."""
    from tests.api_world import make_world

    return make_world(app_client, api_people)
