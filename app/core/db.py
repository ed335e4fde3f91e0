"""Database engine, declarative base and the request's unit of work."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator
from starlette.concurrency import run_in_threadpool

from app.core.config import DatabaseSettings
from app.core.db_errors import keep_data_out_of_errors

# One naming convention for every constraint, so migrations name them the same way on
# SQLite (batch mode) and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Execution option naming the BEGIN a SQLite connection of a writing unit of work emits.
_SQLITE_BEGIN = "gsr_sqlite_begin"
WRITER = "writer"


def _sqlite_connect(busy_timeout_ms: int):
    def configure(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own transaction handling is off: we emit BEGIN ourselves (below), so
        # that a writing request takes the write lock at its start and waits for it up to
        # the busy timeout, instead of failing at once when a reader's snapshot went stale.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    return configure


def _sqlite_begin(connection: Any) -> None:
    mode = connection.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, *, database: DatabaseSettings | None = None, **kwargs: Any) -> Engine:
    """An engine for url: statement parameters and stored values never in its errors or
    logs; SQLite gets foreign keys, WAL, a busy timeout and explicit transactions;
    PostgreSQL a lock time-out."""
    database = database or DatabaseSettings(url=url)
    lock_timeout_ms = int(database.lock_timeout * 1000)
    # Parameters carry answers, e-mails and password hashes: keep them out of errors and logs.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_connect(lock_timeout_ms))
        event.listen(engine, "begin", _sqlite_begin)
        return keep_data_out_of_errors(engine)
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", database.pool_size)
    kwargs.setdefault("max_overflow", database.max_overflow)
    kwargs.setdefault("pool_timeout", database.pool_timeout)
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("connect_args", {"options": f"-c lock_timeout={lock_timeout_ms}"})
    return keep_data_out_of_errors(create_engine(url, **kwargs))


@dataclass(frozen=True)
class Sessions:
    """The two kinds of unit of work: reading (GET pages and API reads) and writing."""

    read: sessionmaker[Session]
    write: sessionmaker[Session]
    # PostgreSQL: every statement commits on its own (see StatementSessionDep); SQLite: write.
    statements: sessionmaker[Session]


def make_sessions(engine: Engine) -> Sessions:
    """Reading sessions are read-only on PostgreSQL; writing ones take SQLite's write lock
    at their first statement."""
    if engine.dialect.name == "sqlite":
        reader = engine
        writer = engine.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
    else:
        reader = engine.execution_options(postgresql_readonly=True)
        writer = engine
    write = sessionmaker(bind=writer, expire_on_commit=False)
    # A reading session knows where to write what a read must record (see `write_beside`).
    read = sessionmaker(
        bind=reader, expire_on_commit=False, info={"read_only": True, WRITER: write}
    )
    statements = write
    if engine.dialect.name != "sqlite":
        statements = sessionmaker(
            bind=engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
    return Sessions(read=read, write=write, statements=statements)


def write_beside(session: Session) -> sessionmaker[Session] | None:
    """For a reading unit of work, the factory of short writes beside it; else None."""
    return session.info.get(WRITER)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Writing sessions on engine (operator commands, start-up, demo data)."""
    return make_sessions(engine).write


@event.listens_for(Session, "before_flush")
def _refuse_writes_when_reading(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get("read_only") and (session.new or session.dirty or session.deleted):
        raise ReadOnlyUnitOfWork("a reading request tried to change data; use a separate write")


class ReadOnlyUnitOfWork(RuntimeError):
    """A GET tried to write inside its read-only transaction: a programming error."""


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request: committed on success, rolled back on any error.

    GET and HEAD requests read only (and never hold SQLite's write lock); what they must
    record (an audit entry, a last-seen time) goes through `separate_write`.

    Making a session does no I/O, so it is made on the event loop; only the end (commit or
    rollback, then close) runs in a worker thread. A sync generator would cost two thread
    hand-overs per request, which is a measurable part of a cheap request's CPU.
    """
    sessions: Sessions = request.app.state.sessions
    factory = sessions.read if request.method in SAFE_METHODS else sessions.write
    async with _unit_of_work(factory) as session:
        yield session


async def get_statement_session(request: Request) -> AsyncIterator[Session]:
    """A unit of work whose statements each commit on their own, on PostgreSQL.

    Only for an endpoint whose every write is one self-contained statement (answer saves,
    app/assessments/answer_store.py): its row locks then last as long as that statement
    on the server, never across a round trip to the application (five contributors of one
    country raise the same assessment's revision), and the request saves the BEGIN and
    COMMIT round trips. Reads are unchanged (read committed takes a snapshot per statement
    anyway). On SQLite it is a writing unit of work, as get_session gives.
    """
    async with _unit_of_work(request.app.state.sessions.statements) as session:
        yield session


@asynccontextmanager
async def _unit_of_work(factory: sessionmaker[Session]) -> AsyncIterator[Session]:
    session = factory()
    try:
        yield session
    except Exception:
        await run_in_threadpool(_end, session, commit=False)
        raise
    except BaseException:  # cancelled: no more awaiting, give the connection back now
        _end(session, commit=False)
        raise
    if not session.in_transaction():  # the endpoint committed already (answer saves)
        session.close()  # no transaction, so no I/O
        return
    await run_in_threadpool(_end, session, commit=True)


def _end(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def separate_write(request: Request) -> Iterator[Session]:
    """A short transaction of its own, committed at once, beside the request's unit of work."""
    sessions: Sessions = request.app.state.sessions
    with sessions.write.begin() as session:
        yield session


# scope="function": the commit happens before the response is sent, so a failed commit
# reaches the client as an error instead of a lost write behind a success answer.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
StatementSessionDep = Annotated[Session, Depends(get_statement_session, scope="function")]
