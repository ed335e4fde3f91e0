"""The answer save's statements: every outcome is all or nothing, the revision counts saves.

Each test drives two overlapping saves by hand (what two requests would do): both read the
state, one writes and commits, then the other writes on what it read.
"""

from sqlalchemy import func, select, update

from app.accounts import service as accounts
from app.assessments import answer_store, service
from app.assessments.models import Answer, AnswerChange, Assessment
from app.assessments.schemas import AnswerInput


def _start(app_client, world, cycle):
    created = world.post(
        "coordinator",
        "/api/v1/assessments",
        {"country_code": "XAA", "cycle": f"{cycle}{world.tag}"},
    )
    assert created.status_code == 201, created.text
    capability_id, indicator_id = app_client.app.state.catalogue.catalogue.indicator_keys()[0]
    return created.json()["id"], capability_id, indicator_id


def _read(session, world, assessment_id, capability_id, indicator_id):
    return answer_store.read(
        session,
        assessment_id=assessment_id,
        capability_id=capability_id,
        indicator_id=indicator_id,
        user_id=world.ids["coordinator"],
    )


def _write(session, world, current, capability_id, indicator_id, level):
    content = AnswerInput(version=current.version, response="level", level=level).content()
    return answer_store.write(
        session,
        current=current,
        capability_id=capability_id,
        indicator_id=indicator_id,
        content=content,
        user_id=world.ids["coordinator"],
        source="api",
        now=service.utcnow(),
        editable=["draft", "returned"],
    )


def _state(session, assessment_id):
    revision = session.scalar(select(Assessment.revision).where(Assessment.id == assessment_id))
    answers = session.execute(
        select(Answer.version, Answer.level).where(Answer.assessment_id == assessment_id)
    ).all()
    history = session.scalar(
        select(func.count())
        .select_from(AnswerChange)
        .join(Answer, Answer.id == AnswerChange.answer_id)
        .where(Answer.assessment_id == assessment_id)
    )
    return revision, [tuple(a) for a in answers], history


def _read_now(sessions, world, *key):
    with sessions.read() as session:
        return _read(session, world, *key)


def _write_alone(sessions, world, current, capability_id, indicator_id, level):
    """One save's write in a transaction of its own: committed if saved, else rolled back."""
    with sessions.write() as session:
        written = _write(session, world, current, capability_id, indicator_id, level)
        if written.outcome == "saved":
            session.commit()
        else:
            session.rollback()
    return written.outcome


def _now(sessions, assessment_id):
    with sessions.read() as session:
        return _state(session, assessment_id)


def test_a_second_save_on_the_same_version_writes_nothing(app_client, world):
    assessment_id, capability_id, indicator_id = _start(app_client, world, "S1")
    key = (assessment_id, capability_id, indicator_id)
    sessions = app_client.app.state.sessions
    first = _read_now(sessions, world, *key)
    assert _write_alone(sessions, world, first, capability_id, indicator_id, 1) == "saved"
    revision, _, _ = _now(sessions, assessment_id)
    one, two = _read_now(sessions, world, *key), _read_now(sessions, world, *key)
    assert _write_alone(sessions, world, one, capability_id, indicator_id, 2) == "saved"
    assert _write_alone(sessions, world, two, capability_id, indicator_id, 3) == "conflict"
    assert _now(sessions, assessment_id) == (revision + 1, [(2, 2)], 2)


def test_two_first_saves_of_one_indicator_make_one_answer(app_client, world):
    assessment_id, capability_id, indicator_id = _start(app_client, world, "S2")
    key = (assessment_id, capability_id, indicator_id)
    sessions = app_client.app.state.sessions
    revision, _, _ = _now(sessions, assessment_id)
    one, two = _read_now(sessions, world, *key), _read_now(sessions, world, *key)
    assert one.answer_id is None and two.answer_id is None
    assert _write_alone(sessions, world, one, capability_id, indicator_id, 1) == "saved"
    with sessions.write() as session:
        written = _write(session, world, two, capability_id, indicator_id, 4)
        assert written.outcome == "conflict"
        # The transaction is still usable: the conflict is answered with the current answer.
        assert _read(session, world, *key).version == 1
        session.rollback()
    assert _now(sessions, assessment_id) == (revision + 1, [(1, 1)], 1)


def _sign_off_behind_its_back(sessions, assessment_id):
    with sessions.write.begin() as other:
        other.execute(
            update(Assessment).where(Assessment.id == assessment_id).values(status="submitted")
        )


def test_a_save_read_before_a_sign_off_lands_nowhere(app_client, world):
    assessment_id, capability_id, indicator_id = _start(app_client, world, "S3")
    key = (assessment_id, capability_id, indicator_id)
    sessions = app_client.app.state.sessions
    first = _read_now(sessions, world, *key)
    assert _write_alone(sessions, world, first, capability_id, indicator_id, 1) == "saved"
    current = _read_now(sessions, world, *key)
    _sign_off_behind_its_back(sessions, assessment_id)
    before = _now(sessions, assessment_id)
    assert _write_alone(sessions, world, current, capability_id, indicator_id, 3) == "read_only"
    assert _now(sessions, assessment_id) == before
    assert before[1:] == ([(1, 1)], 1)


def test_a_save_in_single_statement_mode_is_refused_whole(app_client, world):
    """The API's answer saves run with each statement committing on its own (PostgreSQL):
    a refused write must leave nothing behind even without a rollback."""
    assessment_id, capability_id, indicator_id = _start(app_client, world, "S4")
    key = (assessment_id, capability_id, indicator_id)
    sessions = app_client.app.state.sessions
    with sessions.statements() as session:
        user = accounts.get_user(session, world.ids["coordinator"])
        saved = service.save_answer(
            session,
            user=user,
            assessment_id=assessment_id,
            capability_id=capability_id,
            indicator_id=indicator_id,
            data=AnswerInput(version=0, response="level", level=2),
        )
        assert saved.version == 1
        session.commit()
    stale = _read_now(sessions, world, *key)
    _sign_off_behind_its_back(sessions, assessment_id)
    before = _now(sessions, assessment_id)
    with sessions.statements() as session:
        outcome = _write(session, world, stale, capability_id, indicator_id, 4).outcome
        assert outcome == "read_only"
        if session.bind.dialect.name == "postgresql":
            session.commit()  # nothing to undo: the refused statement wrote nothing
        else:
            session.rollback()
    assert _now(sessions, assessment_id) == before
    assert before[1:] == ([(1, 2)], 1)


def test_a_lost_first_save_race_in_single_statement_mode_leaves_the_session_usable(
    app_client, world
):
    assessment_id, capability_id, indicator_id = _start(app_client, world, "S5")
    key = (assessment_id, capability_id, indicator_id)
    sessions = app_client.app.state.sessions
    revision, _, _ = _now(sessions, assessment_id)
    one, two = _read_now(sessions, world, *key), _read_now(sessions, world, *key)
    assert _write_alone(sessions, world, one, capability_id, indicator_id, 1) == "saved"
    with sessions.statements() as session:
        assert _write(session, world, two, capability_id, indicator_id, 4).outcome == "conflict"
        assert _read(session, world, *key).version == 1
        session.commit()
    assert _now(sessions, assessment_id) == (revision + 1, [(1, 1)], 1)
