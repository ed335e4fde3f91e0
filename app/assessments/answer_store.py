"""The statements of an answer save, built once, as Core statements.

Saving an answer is the product's busiest write: every contributor with a questionnaire
open saves every few seconds, and a country's contributors all raise the same assessment's
revision. So this path skips the ORM's statement building and object loading: each
statement below is built once at import (SQLAlchemy then reuses its compiled SQL, psycopg
its prepared statement), and a save is two round trips to the database:

1. `read`: the assessment's state, its catalogue's hash, the current answer and the
   caller's assigned areas, in one query;
2. `write`: the answer's compare-and-set (or first insert), its history row and the
   assessment's revision raise. On PostgreSQL that is one statement of data-modifying
   CTEs that writes all three or nothing, so the API runs it with each statement
   committing on its own (app/core/db.py, StatementSessionDep) and no row lock outlives
   it. SQLite has no such CTEs: there it is three statements in the request's
   transaction, and a refusal is undone by the caller's rollback.

The guarantees are the same as with the ORM: the answer changes only if it still has the
version the client saw; the revision is raised in SQL, once per save, and only while the
assessment is editable (a save racing a submit lands before it or not at all: the row
lock makes the later of the two re-check its condition on the committed row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Integer,
    Row,
    String,
    and_,
    bindparam,
    exists,
    false,
    func,
    select,
    true,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.assessments.models import Answer, AnswerChange, AreaAssignment, Assessment
from app.catalogue.models import CatalogueVersion
from app.core.db import UTCDateTime

CONTENT = ("response", "level", "justification", "evidence_notes", "evidence_links", "confidence")

_answers = Answer.__table__
_changes = AnswerChange.__table__
_assessments = Assessment.__table__
_assignments = AreaAssignment.__table__
_versions = CatalogueVersion.__table__


@dataclass(frozen=True)
class AssessmentState:
    """What the permission predicates read of an assessment (app/assessments/permissions.py)."""

    id: int
    country_id: int
    status: str
    catalogue_version_id: int


_READ = (
    select(
        _assessments.c.country_id,
        _assessments.c.status,
        _assessments.c.catalogue_version_id,
        _versions.c.content_hash,
        # The caller's assigned areas (only contributors have any), one per line.
        select(func.aggregate_strings(_assignments.c.area_id, "\n"))
        .where(
            _assignments.c.assessment_id == _assessments.c.id,
            _assignments.c.user_id == bindparam("by"),
        )
        .scalar_subquery()
        .label("assigned"),
        _answers.c.id.label("answer_id"),
        _answers.c.version,
        *(_answers.c[name] for name in CONTENT),
        _answers.c.carried_over,
    )
    .select_from(
        _assessments.join(
            _versions, _versions.c.id == _assessments.c.catalogue_version_id
        ).outerjoin(
            _answers,
            and_(
                _answers.c.assessment_id == _assessments.c.id,
                _answers.c.capability_id == bindparam("capability"),
                _answers.c.indicator_id == bindparam("indicator"),
            ),
        )
    )
    .where(_assessments.c.id == bindparam("assessment"))
)


@dataclass(frozen=True)
class Current:
    """The state a save starts from."""

    assessment: AssessmentState
    content_hash: str
    assigned: frozenset[str]
    answer_id: int | None
    version: int
    content: dict[str, Any] | None
    carried_over: bool


def read(
    session: Session, *, assessment_id: int, capability_id: str, indicator_id: str, user_id: int
) -> Current | None:
    """The assessment and the current answer to one indicator; None if no such assessment."""
    row: Row | None = (
        session.connection()
        .execute(
            _READ,
            {
                "assessment": assessment_id,
                "capability": capability_id,
                "indicator": indicator_id,
                "by": user_id,
            },
        )
        .first()
    )
    if row is None:
        return None
    state = AssessmentState(assessment_id, row.country_id, row.status, row.catalogue_version_id)
    content = None
    if row.answer_id is not None:
        content = {name: getattr(row, name) for name in CONTENT}
        content["evidence_links"] = list(content["evidence_links"] or [])
    return Current(
        assessment=state,
        content_hash=row.content_hash,
        assigned=frozenset(row.assigned.split("\n")) if row.assigned else frozenset(),
        answer_id=row.answer_id,
        version=row.version or 0,
        content=content,
        carried_over=bool(row.carried_over),
    )


# ---------------------------------------------------------------- the write

_EDITABLE = bindparam("editable", expanding=True)
_NEW_CONTENT = {name: bindparam(f"new_{name}") for name in CONTENT}
_STAMP = {
    "updated_by_id": bindparam("by"),
    "updated_at": bindparam("at"),
    "carried_over": False,
}

# Compare-and-set: only one of two concurrent saves based on one version matches it.
_UPDATE_ANSWER = (
    update(_answers)
    .where(_answers.c.id == bindparam("answer"), _answers.c.version == bindparam("based_on"))
    .values(version=bindparam("new_version"), **_STAMP, **_NEW_CONTENT)
    .returning(_answers.c.id)
)


def _insert_answer(dialect_insert):
    # The first version: a concurrent first save of the same indicator makes this insert
    # nothing (instead of failing the transaction), and the caller answers with a conflict.
    return (
        dialect_insert(_answers)
        .values(
            assessment_id=bindparam("assessment"),
            capability_id=bindparam("capability"),
            indicator_id=bindparam("indicator"),
            version=bindparam("new_version"),
            **_STAMP,
            **_NEW_CONTENT,
        )
        .on_conflict_do_nothing(index_elements=["assessment_id", "capability_id", "indicator_id"])
        .returning(_answers.c.id)
    )


_SQLITE_INSERT_ANSWER = _insert_answer(sqlite.insert)

_HISTORY_COLUMNS = ["answer_id", "version", "changed_by_id", "changed_at", "source"]
_HISTORY_VALUES = (
    bindparam("by", type_=Integer),
    bindparam("at", type_=UTCDateTime()),
    bindparam("change_source", type_=String()),
    bindparam("old_content", type_=JSON()),
    bindparam("new_content", type_=JSON()),
)


def _raise_revision(saved=None):
    query = update(_assessments).where(
        _assessments.c.id == bindparam("assessment"), _assessments.c.status.in_(_EDITABLE)
    )
    if saved is not None:
        query = query.where(exists(select(saved.c.id)))
    return query.values(revision=_assessments.c.revision + 1, updated_at=bindparam("at")).returning(
        _assessments.c.revision
    )


def _history_from(saved):
    return _changes.insert().from_select(
        [*_HISTORY_COLUMNS, "old_value", "new_value"],
        select(saved.c.id, bindparam("new_version", type_=Integer), *_HISTORY_VALUES),
    )


def _pg_update():
    """PostgreSQL, a new version of an existing answer, all or nothing in one statement.

    The answer's row is locked first (FOR UPDATE re-reads it if a concurrent save changed
    it, so a stale version finds nothing); the revision is raised only if the version
    matched and the assessment is still editable; the answer and its history change only
    if the revision was raised. So every outcome is clean: all three written, or nothing.
    """
    target = (
        select(_answers.c.id)
        .where(_answers.c.id == bindparam("answer"), _answers.c.version == bindparam("based_on"))
        .with_for_update()
        .cte("target")
    )
    raised = _raise_revision(target).cte("raised")
    saved = (
        update(_answers)
        .where(_answers.c.id.in_(select(target.c.id)), exists(select(raised.c.revision)))
        .values(version=bindparam("new_version"), **_STAMP, **_NEW_CONTENT)
        .returning(_answers.c.id)
        .cte("saved")
    )
    return select(
        exists(select(target.c.id)).label("matched"),
        select(saved.c.id).scalar_subquery().label("answer_id"),
        select(raised.c.revision).scalar_subquery().label("revision"),
    ).add_cte(_history_from(saved).cte("history"))


def _pg_insert():
    """PostgreSQL, the first version of an answer, all or nothing in one statement.

    The revision is raised first (only while the assessment is editable) and the answer
    inserted only then; a concurrent first save of the same indicator makes the insert
    fail on the unique key, which undoes the whole statement, revision raise included.
    """
    raised = _raise_revision().cte("raised")
    made = (
        _answers.insert()
        .from_select(
            [
                "assessment_id",
                "capability_id",
                "indicator_id",
                "version",
                "updated_by_id",
                "updated_at",
                "carried_over",
                *CONTENT,
            ],
            select(
                bindparam("assessment", type_=Integer),
                bindparam("capability", type_=String()),
                bindparam("indicator", type_=String()),
                bindparam("new_version", type_=Integer),
                bindparam("by", type_=Integer),
                bindparam("at", type_=UTCDateTime()),
                false(),
                *(bindparam(f"new_{name}", type_=_answers.c[name].type) for name in CONTENT),
            ).where(exists(select(raised.c.revision))),
        )
        .returning(_answers.c.id)
        .cte("made")
    )
    return select(
        true().label("matched"),
        select(made.c.id).scalar_subquery().label("answer_id"),
        select(raised.c.revision).scalar_subquery().label("revision"),
    ).add_cte(_history_from(made).cte("history"))


_PG_WRITE = {"update": _pg_update(), "insert": _pg_insert()}
_HISTORY_ROW = _changes.insert().values(
    answer_id=bindparam("answer"),
    version=bindparam("new_version"),
    changed_by_id=bindparam("by"),
    changed_at=bindparam("at"),
    source=bindparam("change_source"),
    old_value=bindparam("old_content"),
    new_value=bindparam("new_content"),
)
_RAISE_REVISION = _raise_revision()


@dataclass(frozen=True)
class Written:
    """What a write did: `conflict` if the answer's version had moved on, `read_only` if
    the assessment was signed off or closed meanwhile (nothing written on PostgreSQL; on
    SQLite the caller's rollback undoes the answer), else `saved`."""

    outcome: str
    answer_id: int | None = None
    revision: int | None = None


CONFLICT = Written("conflict")
READ_ONLY = Written("read_only")


def write(
    session: Session,
    *,
    current: Current,
    capability_id: str,
    indicator_id: str,
    content: dict[str, Any],
    user_id: int,
    source: str,
    now: datetime,
    editable: list[str],
) -> Written:
    """Write a new version of the answer on top of `current`, with its history row, and
    raise the assessment's revision."""
    connection = session.connection()
    params = {
        "assessment": current.assessment.id,
        "capability": capability_id,
        "indicator": indicator_id,
        "answer": current.answer_id,
        "based_on": current.version,
        "new_version": current.version + 1,
        "by": user_id,
        "at": now,
        "change_source": source,
        "old_content": current.content,
        "new_content": content,
        "editable": editable,
        **{f"new_{name}": value for name, value in content.items()},
    }
    kind = "update" if current.answer_id is not None else "insert"
    dialect = connection.dialect.name
    if dialect == "postgresql":
        if kind == "update":
            row = connection.execute(_PG_WRITE[kind], params).one()
        else:
            try:
                # Inside a transaction, a failed insert must not abort it: a savepoint. A
                # single-statement session (app/core/db.py) needs none.
                if _autocommit(connection):
                    row = connection.execute(_PG_WRITE[kind], params).one()
                else:
                    with session.begin_nested():
                        row = session.connection().execute(_PG_WRITE[kind], params).one()
            except IntegrityError:  # someone else saved the first version meanwhile
                return CONFLICT
        if not row.matched:
            return CONFLICT
        if row.revision is None:
            return READ_ONLY
        return Written("saved", row.answer_id, row.revision)
    first = _UPDATE_ANSWER if kind == "update" else _SQLITE_INSERT_ANSWER
    answer_id = connection.execute(first, params).scalar()
    if answer_id is None:
        return CONFLICT
    connection.execute(_HISTORY_ROW, {**params, "answer": answer_id})
    revision = connection.execute(_RAISE_REVISION, params).scalar()
    return READ_ONLY if revision is None else Written("saved", answer_id, revision)


def _autocommit(connection) -> bool:
    return connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def sync_loaded(
    session: Session, *, answer_id: int, assessment_id: int, values: dict[str, Any], revision: int
) -> Answer | None:
    """Bring the objects this session already loaded up to date with what was written (the
    statements above bypass the ORM); returns the session's Answer object, if it has one."""
    assessment = session.identity_map.get(session.identity_key(Assessment, (assessment_id,)))
    if assessment is not None:
        set_committed_value(assessment, "revision", revision)
        set_committed_value(assessment, "updated_at", values["updated_at"])
    answer = session.identity_map.get(session.identity_key(Answer, (answer_id,)))
    if answer is not None:
        for name, value in values.items():
            set_committed_value(answer, name, value)
    return answer
