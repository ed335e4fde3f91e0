"""Assessments: who may see and change what, answers without lost updates, the workflow.

Every function takes the acting user and checks access here, in the service layer, so
the web pages and the API enforce exactly the same rules. An assessment a user may not
see is answered with NotFound, exactly as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app import jobs
from app.accounts.models import Role, User
from app.assessments import answer_store, permissions
from app.assessments.models import (
    Answer,
    AnswerChange,
    AreaAssignment,
    Assessment,
    Comment,
    Confidence,
    Response,
    ReviewFlag,
    Status,
    Target,
)
from app.assessments.permissions import is_alliance
from app.assessments.schemas import (
    MAX_COMMENT,
    AnswerInput,
    AssessmentCreate,
    Progress,
    SignOff,
)
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.catalogue import service as catalogue_service
from app.catalogue.schema import Catalogue
from app.core.clock import latest_today
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.countries import service as country_service

IndicatorKey = tuple[str, str]
MAX_FLAG_NOTE = 500  # characters of the note that may come with a review mark


# ---------------------------------------------------------------- access


def _load(session: Session, assessment_id: int) -> Assessment | None:
    return session.scalar(
        select(Assessment)
        .where(Assessment.id == assessment_id)
        # Both are many-to-one: joined into the one query every request starts with.
        .options(joinedload(Assessment.country), joinedload(Assessment.catalogue_version))
    )


def get_assessment(session: Session, *, user: User, assessment_id: int) -> Assessment:
    """The assessment if user may see it; NotFound otherwise, whether or not it exists."""
    assessment = _load(session, assessment_id)
    if assessment is None or not permissions.can_see(user, assessment):
        raise NotFound("assessment not found")
    return assessment


def catalogue_of(session: Session, assessment: Assessment) -> Catalogue:
    return catalogue_service.catalogue_for_version(session, assessment.catalogue_version_id)


def assigned_areas(session: Session, *, assessment: Assessment, user: User) -> set[str]:
    return set(
        session.scalars(
            select(AreaAssignment.area_id).where(
                AreaAssignment.assessment_id == assessment.id, AreaAssignment.user_id == user.id
            )
        )
    )


def editable_areas(session: Session, *, assessment: Assessment, user: User) -> set[str]:
    """The areas whose answers user may change now (empty when read-only)."""
    # Only a contributor's areas depend on assignments: nobody else needs the query.
    contributes = user.role == Role.CONTRIBUTOR and user.country_id == assessment.country_id
    return permissions.editable_areas(
        user,
        assessment,
        areas=[area.id for area in catalogue_of(session, assessment).areas],
        assigned=assigned_areas(session, assessment=assessment, user=user) if contributes else (),
    )


def _refusal(user: User, assessment: Assessment) -> Forbidden:
    """Why a coordinator's change is refused: the role first, then the assessment's state."""
    if not permissions.is_coordinator_of(user, assessment):
        return Forbidden("only the country's coordinator can do this")
    return Forbidden(f"the assessment is {assessment.status} and read-only")


def _advance(
    session: Session,
    assessment: Assessment,
    *,
    when: set[Status],
    at_revision: int | None = None,
    **values: object,
) -> bool:
    """Raise the revision (and set values) in one guarded UPDATE; False if the guard failed.

    The increment happens in SQL, so overlapping changes each count; the status guard
    (and, for sign-off, the revision the caller checked) makes a change racing a
    transition either land before it or be refused, never land after it. Callers run it
    last, just before the commit, so the row lock is held for as short as possible.
    """
    now = utcnow()
    query = update(Assessment).where(
        Assessment.id == assessment.id, Assessment.status.in_([s.value for s in when])
    )
    if at_revision is not None:
        query = query.where(Assessment.revision == at_revision)
    row = session.execute(
        query.values(revision=Assessment.revision + 1, updated_at=now, **values)
        .returning(Assessment.revision)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        return False
    for name, value in {"revision": row.revision, "updated_at": now, **values}.items():
        set_committed_value(assessment, name, value)
    _prepare_reports(session, assessment.id)
    return True


def _prepare_reports(session: Session, assessment_id: int) -> None:
    """Once committed, the assessment's reports are rendered in the background when the
    edits pause (every change that raises the revision calls this)."""
    jobs.defer_after_commit(
        session, "reports.prepare", key=f"prepare:{assessment_id}", assessment_id=assessment_id
    )


def _touch(session: Session, assessment: Assessment) -> None:
    """Count a change to an open assessment; refused if it was signed off meanwhile."""
    if not _advance(session, assessment, when=permissions.EDITABLE):
        raise Forbidden(
            "the assessment was signed off or closed meanwhile and is read-only; nothing was saved"
        )


# ---------------------------------------------------------------- assessments


def list_assessments(
    session: Session, *, user: User, page: int = 1, per_page: int = 50
) -> tuple[list[Assessment], int]:
    query = select(Assessment)
    if not is_alliance(user):
        query = query.where(Assessment.country_id == user.country_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(selectinload(Assessment.country), selectinload(Assessment.catalogue_version))
        .order_by(Assessment.cycle.desc(), Assessment.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total


def create_assessment(
    session: Session, *, user: User, data: AssessmentCreate, catalogue_version_id: int
) -> Assessment:
    """A new assessment for a country and cycle, pinned to the catalogue version in force."""
    country = country_service.get_by_code(session, data.country_code)
    visible = country is not None and (is_alliance(user) or user.country_id == country.id)
    if not visible:
        raise Invalid("unknown country code", field="country_code")
    if not permissions.can_start_assessment(user):
        raise Forbidden("only a coordinator or the secretariat can start an assessment")
    exists = session.scalar(
        select(Assessment.id).where(
            Assessment.country_id == country.id, Assessment.cycle == data.cycle
        )
    )
    if exists is not None:
        raise Invalid(
            f"{country.name} already has an assessment for cycle {data.cycle}", field="cycle"
        )
    previous = session.scalar(
        select(Assessment)
        .where(Assessment.country_id == country.id)
        .order_by(Assessment.created_at.desc(), Assessment.id.desc())
        .limit(1)
    )
    if data.start_from_previous and previous is None:
        raise Invalid("there is no previous assessment to start from", field="start_from_previous")
    assessment = Assessment(
        country_id=country.id,
        cycle=data.cycle,
        catalogue_version_id=catalogue_version_id,
        deadline=data.deadline,
        previous_id=previous.id if previous else None,
        created_by_id=user.id,
        status=Status.DRAFT,
    )
    try:
        with session.begin_nested():
            session.add(assessment)
    except IntegrityError:  # another request created it since the check above
        raise Conflict(
            f"{country.name} already has an assessment for cycle {data.cycle}", field="cycle"
        ) from None
    if data.start_from_previous:
        _carry_over(session, user=user, source=previous, target=assessment)
    audit.record(
        session,
        actor=user,
        action="assessment.created",
        country_id=country.id,
        assessment_id=assessment.id,
        details={"cycle": data.cycle, "from_previous": data.start_from_previous},
    )
    return _load(session, assessment.id)


def _carry_over(session: Session, *, user: User, source: Assessment, target: Assessment) -> None:
    """Copy answers and targets still in the catalogue, marked as carried over to confirm."""
    keys = set(catalogue_of(session, target).indicator_keys())
    for old in session.scalars(select(Answer).where(Answer.assessment_id == source.id)):
        if (old.capability_id, old.indicator_id) not in keys:
            continue
        answer = Answer(
            assessment_id=target.id,
            capability_id=old.capability_id,
            indicator_id=old.indicator_id,
            response=old.response,
            level=old.level,
            justification=old.justification,
            evidence_notes=old.evidence_notes,
            evidence_links=list(old.evidence_links),
            confidence=old.confidence,
            carried_over=True,
            version=1,
            updated_by_id=user.id,
        )
        session.add(answer)
        session.flush()
        session.add(
            AnswerChange(
                answer_id=answer.id,
                version=1,
                changed_by_id=user.id,
                source="carry-over",
                old_value=None,
                new_value=answer_content(answer),
            )
        )
    capabilities = {capability_id for capability_id, _ in keys}
    for old in session.scalars(select(Target).where(Target.assessment_id == source.id)):
        if old.capability_id in capabilities:
            session.add(
                Target(
                    assessment_id=target.id,
                    capability_id=old.capability_id,
                    level=old.level,
                    set_by_id=user.id,
                )
            )
    session.flush()


# ---------------------------------------------------------------- answers


def answer_content(answer: Answer) -> dict:
    return {
        "response": answer.response,
        "level": answer.level,
        "justification": answer.justification,
        "evidence_notes": answer.evidence_notes,
        "evidence_links": list(answer.evidence_links or []),
        "confidence": answer.confidence,
    }


def answers_of(session: Session, assessment: Assessment) -> dict[IndicatorKey, Answer]:
    rows = session.scalars(select(Answer).where(Answer.assessment_id == assessment.id))
    return {(row.capability_id, row.indicator_id): row for row in rows}


def _find_indicator(catalogue: Catalogue, capability_id: str, indicator_id: str):
    try:
        capability = catalogue.capability(capability_id)
    except KeyError:
        raise NotFound("capability not found") from None
    for indicator in capability.indicators:
        if indicator.id == indicator_id:
            return catalogue.area_of(capability_id), capability, indicator
    raise NotFound("indicator not found")


class AnswerConflict(Conflict):
    """The answer changed since the client read it; carries the current answer."""

    def __init__(self, current: Answer):
        super().__init__(
            "this answer was changed by someone else since you opened it; "
            "review their version before saving yours"
        )
        self.current = current


def save_answer(
    session: Session,
    *,
    user: User,
    assessment_id: int,
    capability_id: str,
    indicator_id: str,
    data: AnswerInput,
    source: str = "web",
) -> Answer:
    """Save an answer if the client saw its current version; never overwrite silently.

    Saving the content the answer already has is a harmless no-op, so a retried request
    (a double click, a resend after a dropped connection) neither fails nor adds history.
    The busiest write of the product: two round trips (app/assessments/answer_store.py).
    """
    current = answer_store.read(
        session,
        assessment_id=assessment_id,
        capability_id=capability_id,
        indicator_id=indicator_id,
        user_id=user.id,
    )
    if current is None or not permissions.can_see(user, current.assessment):
        raise NotFound("assessment not found")
    assessment = current.assessment
    catalogue = catalogue_service.rebuilt_catalogue(
        current.content_hash
    ) or catalogue_service.catalogue_for_version(session, assessment.catalogue_version_id)
    area, _, _ = _find_indicator(catalogue, capability_id, indicator_id)
    editable = permissions.editable_areas(
        user, assessment, areas=[a.id for a in catalogue.areas], assigned=current.assigned
    )
    if not permissions.can_edit_answers(user, assessment, editable, area.id):
        if not permissions.is_editable(assessment):
            raise Forbidden(f"the assessment is {assessment.status} and read-only")
        raise Forbidden("you can read this area but not change its answers")
    if data.level is not None and data.level > catalogue.max_level:
        raise Invalid(f"level must be between 0 and {catalogue.max_level}", field="level")

    content = data.content()
    if current.content == content and not current.carried_over:
        return _current_answer(session, assessment.id, capability_id, indicator_id)
    if data.version != current.version:
        raise AnswerConflict(_current_answer(session, assessment.id, capability_id, indicator_id))

    now = utcnow()
    written = answer_store.write(
        session,
        current=current,
        capability_id=capability_id,
        indicator_id=indicator_id,
        content=content,
        user_id=user.id,
        source=source,
        now=now,
        editable=[s.value for s in permissions.EDITABLE],
    )
    if written.outcome == "conflict":  # another save of this answer came first
        raise AnswerConflict(_current_answer(session, assessment.id, capability_id, indicator_id))
    if written.outcome == "read_only":  # on SQLite, the caller's rollback undoes the answer
        raise Forbidden(
            "the assessment was signed off or closed meanwhile and is read-only; nothing was saved"
        )
    _prepare_reports(session, assessment.id)
    values = {
        "version": current.version + 1,
        "updated_by_id": user.id,
        "updated_at": now,
        "carried_over": False,
        **content,
    }
    loaded = answer_store.sync_loaded(
        session,
        answer_id=written.answer_id,
        assessment_id=assessment.id,
        values=values,
        revision=written.revision,
    )
    if loaded is not None:
        return loaded
    # Not attached to the session: what was written, for the caller to show.
    return Answer(
        id=written.answer_id,
        assessment_id=assessment.id,
        capability_id=capability_id,
        indicator_id=indicator_id,
        **values,
    )


def _current_answer(
    session: Session, assessment_id: int, capability_id: str, indicator_id: str
) -> Answer | None:
    return session.scalar(
        select(Answer)
        .where(
            Answer.assessment_id == assessment_id,
            Answer.capability_id == capability_id,
            Answer.indicator_id == indicator_id,
        )
        .execution_options(populate_existing=True)
    )


def _history_query(assessment_id: int, capability_id: str):
    return (
        select(AnswerChange, User.full_name, Answer.indicator_id)
        .join(Answer, Answer.id == AnswerChange.answer_id)
        .outerjoin(User, User.id == AnswerChange.changed_by_id)
        .where(Answer.assessment_id == assessment_id, Answer.capability_id == capability_id)
        .order_by(AnswerChange.version.desc())
    )


def answer_history(
    session: Session, *, user: User, assessment_id: int, capability_id: str, indicator_id: str
) -> list[tuple[AnswerChange, str | None]]:
    """Every change to one answer, newest first, with the name of who made it."""
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    _find_indicator(catalogue_of(session, assessment), capability_id, indicator_id)
    rows = session.execute(
        _history_query(assessment.id, capability_id).where(Answer.indicator_id == indicator_id)
    )
    return [(change, name) for change, name, _ in rows]


def capability_history(
    session: Session, *, user: User, assessment_id: int, capability_id: str
) -> dict[str, list[tuple[AnswerChange, str | None]]]:
    """The history of every answer of one capability, by indicator id, in one query."""
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    history: dict[str, list[tuple[AnswerChange, str | None]]] = {}
    for change, name, indicator_id in session.execute(_history_query(assessment.id, capability_id)):
        history.setdefault(indicator_id, []).append((change, name))
    return history


def user_names(session: Session, ids: set[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())


# ---------------------------------------------------------------- targets, assignments, comments


def targets_of(session: Session, assessment: Assessment) -> dict[str, Target]:
    rows = session.scalars(select(Target).where(Target.assessment_id == assessment.id))
    return {row.capability_id: row for row in rows}


def set_target(
    session: Session, *, user: User, assessment_id: int, capability_id: str, level: int
) -> Target:
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = catalogue_of(session, assessment)
    try:
        catalogue.capability(capability_id)
    except KeyError:
        raise NotFound("capability not found") from None
    if not permissions.can_set_targets(user, assessment):
        raise _refusal(user, assessment)
    if not 0 <= level <= catalogue.max_level:
        raise Invalid(f"target must be between 0 and {catalogue.max_level}", field="level")
    target = targets_of(session, assessment).get(capability_id)
    if target is None:
        target = Target(
            assessment_id=assessment.id, capability_id=capability_id, level=level, set_by_id=user.id
        )
        try:
            with session.begin_nested():
                session.add(target)
        except IntegrityError:  # someone set this target at the same moment
            raise Conflict(
                "this target was set by someone else at the same moment; reload and check it",
                field="level",
            ) from None
    elif target.level != level:
        target.level, target.set_by_id, target.set_at = level, user.id, utcnow()
        target.version += 1
    session.flush()
    _touch(session, assessment)
    return target


def assignments_of(session: Session, assessment: Assessment) -> list[tuple[AreaAssignment, User]]:
    rows = session.execute(
        select(AreaAssignment, User)
        .join(User, User.id == AreaAssignment.user_id)
        .where(AreaAssignment.assessment_id == assessment.id)
        .order_by(AreaAssignment.area_id, User.full_name)
    )
    return [(assignment, member) for assignment, member in rows]


def country_contributors(session: Session, assessment: Assessment) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .where(
                User.country_id == assessment.country_id,
                User.role == Role.CONTRIBUTOR,
                User.is_active.is_(True),
            )
            .order_by(User.full_name)
        )
    )


def assign_area(
    session: Session, *, user: User, assessment_id: int, area_id: str, contributor_id: int
) -> AreaAssignment:
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    if not permissions.can_assign_areas(user, assessment):
        raise _refusal(user, assessment)
    try:
        catalogue_of(session, assessment).area(area_id)
    except KeyError:
        raise Invalid("unknown area", field="area_id") from None
    contributor = session.get(User, contributor_id)
    if (
        contributor is None
        or contributor.country_id != assessment.country_id
        or contributor.role != Role.CONTRIBUTOR
    ):
        raise Invalid("choose a contributor of this country", field="user_id")
    existing = session.scalar(
        select(AreaAssignment).where(
            AreaAssignment.assessment_id == assessment.id,
            AreaAssignment.area_id == area_id,
            AreaAssignment.user_id == contributor.id,
        )
    )
    if existing:
        return existing
    assignment = AreaAssignment(
        assessment_id=assessment.id, area_id=area_id, user_id=contributor.id
    )
    try:
        with session.begin_nested():
            session.add(assignment)
    except IntegrityError:  # the same assignment was made at the same moment
        raise Conflict(
            "this area was just assigned to them by someone else", field="user_id"
        ) from None
    audit.record(
        session,
        actor=user,
        action="assessment.area_assigned",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        details={"area": area_id, "user_id": contributor.id},
    )
    return assignment


def unassign_area(
    session: Session, *, user: User, assessment_id: int, assignment_id: int
) -> AreaAssignment:
    """Remove an area assignment; returns the removed assignment (area and person)."""
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    if not permissions.can_assign_areas(user, assessment):
        raise _refusal(user, assessment)
    assignment = session.get(AreaAssignment, assignment_id)
    if assignment is None or assignment.assessment_id != assessment.id:
        raise NotFound("assignment not found")
    session.delete(assignment)
    audit.record(
        session,
        actor=user,
        action="assessment.area_unassigned",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        details={"area": assignment.area_id, "user_id": assignment.user_id},
    )
    return assignment


def comment_body(body: str) -> str:
    """A comment's text, trimmed; refused when empty or longer than MAX_COMMENT."""
    body = body.strip()
    if not body:
        raise Invalid("write a comment", field="body", rule="empty")
    if len(body) > MAX_COMMENT:
        raise Invalid(
            f"a comment can have at most {MAX_COMMENT} characters",
            field="body",
            rule="too_long",
            limit=MAX_COMMENT,
        )
    return body


def review_comments(comments: dict[str, str]) -> dict[str, str]:
    """Review comments by capability id, trimmed: at least one, none empty or too long."""
    checked = {capability_id: body.strip() for capability_id, body in comments.items()}
    if not checked:
        raise Invalid("write at least one comment saying what to change", field="comments")
    for capability_id, body in checked.items():
        if not body:
            raise Invalid(
                f"the comment on '{capability_id}' is empty", field="comments", rule="empty"
            )
        if len(body) > MAX_COMMENT:
            raise Invalid(
                f"the comment on '{capability_id}' is longer than {MAX_COMMENT} characters",
                field="comments",
                rule="too_long",
                limit=MAX_COMMENT,
            )
    return checked


def comments_of(session: Session, assessment: Assessment) -> list[tuple[Comment, str | None]]:
    rows = session.execute(
        select(Comment, User.full_name)
        .outerjoin(User, User.id == Comment.author_id)
        .where(Comment.assessment_id == assessment.id)
        .order_by(Comment.created_at, Comment.id)
    )
    return [(comment, name) for comment, name in rows]


def add_comment(
    session: Session,
    *,
    user: User,
    assessment_id: int,
    capability_id: str,
    indicator_id: str | None,
    body: str,
    kind: str = "discussion",
) -> Comment:
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = catalogue_of(session, assessment)
    if indicator_id:
        _find_indicator(catalogue, capability_id, indicator_id)
    else:
        try:
            catalogue.capability(capability_id)
        except KeyError:
            raise NotFound("capability not found") from None
    if not permissions.can_comment(user, assessment):
        raise Forbidden("viewers can read but not comment")
    body = comment_body(body)
    comment = Comment(
        assessment_id=assessment.id,
        capability_id=capability_id,
        indicator_id=indicator_id,
        kind=kind,
        author_id=user.id,
        body=body,
    )
    session.add(comment)
    session.flush()
    return comment


# ---------------------------------------------------------------- progress and workflow


def progress(catalogue: Catalogue, answered: set[IndicatorKey]) -> dict[str, Progress]:
    """Answered / total per capability id, per area id and overall (key '')."""
    result: dict[str, Progress] = {}
    overall_done = overall_total = 0
    for area in catalogue.areas:
        area_done = area_total = 0
        for capability in area.capabilities:
            done = sum((capability.id, i.id) in answered for i in capability.indicators)
            result[capability.id] = Progress(answered=done, total=len(capability.indicators))
            area_done += done
            area_total += len(capability.indicators)
        result[area.id] = Progress(answered=area_done, total=area_total)
        overall_done += area_done
        overall_total += area_total
    result[""] = Progress(answered=overall_done, total=overall_total)
    return result


def confirmed(answers: dict[IndicatorKey, Answer]) -> set[IndicatorKey]:
    """The indicators answered in this cycle: carried-over answers wait for confirmation."""
    return {key for key, answer in answers.items() if not answer.carried_over}


def answered_keys(session: Session, assessment_ids: list[int]) -> dict[int, set[IndicatorKey]]:
    """The indicators answered in this cycle, for several assessments, in one query."""
    found: dict[int, set[IndicatorKey]] = {i: set() for i in assessment_ids}
    if assessment_ids:
        rows = session.execute(
            select(Answer.assessment_id, Answer.capability_id, Answer.indicator_id).where(
                Answer.assessment_id.in_(assessment_ids), Answer.carried_over.is_(False)
            )
        )
        for assessment_id, capability_id, indicator_id in rows:
            found[assessment_id].add((capability_id, indicator_id))
    return found


@dataclass(frozen=True)
class MissingAnswer:
    """An indicator that stops submission: unanswered, or carried over and not confirmed."""

    area_id: str
    capability_id: str
    indicator_id: str
    carried_over: bool

    def __str__(self) -> str:
        key = f"{self.capability_id}.{self.indicator_id}"
        return f"{key} (carried over, to confirm)" if self.carried_over else key


def missing_indicators(
    catalogue: Catalogue, answers: dict[IndicatorKey, Answer]
) -> list[MissingAnswer]:
    """What still needs an answer, in questionnaire order: the sign-off page lists these
    and submit() refuses while there are any."""
    missing = []
    for area in catalogue.areas:
        for capability in area.capabilities:
            for indicator in capability.indicators:
                answer = answers.get((capability.id, indicator.id))
                if answer is None or answer.carried_over:
                    missing.append(
                        MissingAnswer(area.id, capability.id, indicator.id, answer is not None)
                    )
    return missing


def missing_answers(catalogue: Catalogue, answers: dict[IndicatorKey, Answer]) -> list[str]:
    """What still needs an answer, as the API's refusal names it."""
    return [str(missing) for missing in missing_indicators(catalogue, answers)]


def submit(session: Session, *, user: User, assessment_id: int, signoff: SignOff) -> Assessment:
    """The coordinator signs the assessment off; refused while anything is unanswered."""
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    if not permissions.can_submit(user, assessment):
        raise _refusal(user, assessment)
    if signoff.date > latest_today():
        raise Invalid("the sign-off date cannot be in the future", field="date")
    checked_revision = assessment.revision
    missing = missing_answers(catalogue_of(session, assessment), answers_of(session, assessment))
    if missing:
        raise Invalid(
            f"{len(missing)} indicator(s) still need an answer", field="answers", missing=missing
        )
    previous = assessment.status
    signed = _advance(
        session,
        assessment,
        when=permissions.EDITABLE,
        at_revision=checked_revision,
        status=Status.SUBMITTED.value,
        submitted_at=utcnow(),
        signoff_name=signoff.name,
        signoff_position=signoff.position,
        signoff_date=signoff.date,
    )
    if not signed:
        raise Conflict(
            "the assessment changed while you were signing it off; "
            "review the latest answers and sign off again"
        )
    audit.record(
        session,
        actor=user,
        action="assessment.submitted",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        details={"from": previous, "to": Status.SUBMITTED},
    )
    return assessment


def _require_secretariat(user: User) -> None:
    if not permissions.is_alliance(user):
        raise NotFound("assessment not found")


def return_for_changes(
    session: Session, *, user: User, assessment_id: int, comments: dict[str, str]
) -> Assessment:
    _require_secretariat(user)
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    if not permissions.can_review(user, assessment):
        raise Forbidden("only a submitted assessment can be returned")
    comments = review_comments(comments)
    catalogue = catalogue_of(session, assessment)
    for capability_id, body in comments.items():
        try:
            catalogue.capability(capability_id)
        except KeyError:
            raise Invalid(f"unknown capability '{capability_id}'", field="comments") from None
        session.add(
            Comment(
                assessment_id=assessment.id,
                capability_id=capability_id,
                kind="review",
                author_id=user.id,
                body=body.strip(),
            )
        )
    if not _advance(session, assessment, when={Status.SUBMITTED}, status=Status.RETURNED.value):
        raise Conflict("the assessment was returned or validated by someone else meanwhile")
    audit.record(
        session,
        actor=user,
        action="assessment.returned",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        details={"from": Status.SUBMITTED, "to": Status.RETURNED, "capabilities": sorted(comments)},
    )
    return assessment


def validate(session: Session, *, user: User, assessment_id: int) -> Assessment:
    _require_secretariat(user)
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    if not permissions.can_review(user, assessment):
        raise Forbidden("only a submitted assessment can be validated")
    validated = _advance(
        session,
        assessment,
        when={Status.SUBMITTED},
        status=Status.VALIDATED.value,
        validated_at=utcnow(),
    )
    if not validated:
        raise Conflict("the assessment was returned or validated by someone else meanwhile")
    audit.record(
        session,
        actor=user,
        action="assessment.validated",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        details={"from": Status.SUBMITTED, "to": Status.VALIDATED},
    )
    return assessment


def audit_log(session: Session, *, user: User, assessment_id: int) -> list[AuditEvent]:
    """Who did what to the assessment, newest first: its coordinator and alliance staff."""
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    if not permissions.can_read_audit_log(user, assessment):
        raise Forbidden("only the coordinator and the secretariat can read the log")
    return audit.events(session, assessment_id=assessment.id)


# ---------------------------------------------------------------- scores and gaps


def score_and_gaps(session: Session, *, user: User, assessment_id: int):
    """The assessment's scores (with provenance) and its ranked gaps against the targets."""
    from app import scoring

    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = catalogue_of(session, assessment)
    answers = {
        # Carried-over answers count, but keep the scores provisional until confirmed.
        key: scoring.AnswerValue(answer.response, answer.level, carried_over=answer.carried_over)
        for key, answer in answers_of(session, assessment).items()
    }
    score = scoring.score_assessment(
        catalogue, answers, catalogue_hash=assessment.catalogue_version.content_hash
    )
    targets = {cid: t.level for cid, t in targets_of(session, assessment).items()}
    return score, scoring.rank_gaps(catalogue, score, targets)


# ---------------------------------------------------------------- what is left; review marks


class IndicatorFilter(StrEnum):
    """The questionnaire's filters: what is left to do on an indicator."""

    UNANSWERED = "unanswered"
    TO_CONFIRM = "to_confirm"
    LOW_CONFIDENCE = "low_confidence"
    FLAGGED = "flagged"


# An answer is of low confidence when it rests on self-reporting or states no confidence at
# all; "unknown" answers claim nothing, so there is no confidence to raise.
LOW_CONFIDENCE = frozenset({None, Confidence.SELF_REPORTED.value})


def indicator_filters(answer: Answer | None, flagged: bool) -> set[IndicatorFilter]:
    """Which filters an indicator matches, from its answer (None: unanswered) and its flag."""
    found = set()
    if answer is None:
        found.add(IndicatorFilter.UNANSWERED)
    else:
        if answer.carried_over:
            found.add(IndicatorFilter.TO_CONFIRM)
        if answer.response != Response.UNKNOWN and answer.confidence in LOW_CONFIDENCE:
            found.add(IndicatorFilter.LOW_CONFIDENCE)
    if flagged:
        found.add(IndicatorFilter.FLAGGED)
    return found


@dataclass(frozen=True)
class AreaWork:
    """What is left in one area: unanswered indicators, carried-over answers to confirm and
    indicators marked for review, each with the first capability (in questionnaire order)
    where one is found, so a page can send the reader straight there."""

    area_id: str
    total: int
    unanswered: int
    to_confirm: int
    flagged: int
    first: dict[str, str]

    @property
    def left(self) -> int:
        return self.unanswered + self.to_confirm

    @property
    def answered(self) -> int:
        return self.total - self.left


def area_work(
    catalogue: Catalogue,
    carried: dict[IndicatorKey, bool],
    flagged: set[IndicatorKey],
    area_ids: set[str],
) -> list[AreaWork]:
    """What is left in each of area_ids, in catalogue order. carried maps every answered
    indicator to whether its answer is carried over (still to confirm)."""
    work = []
    for area in catalogue.areas:
        if area.id not in area_ids:
            continue
        counts = dict.fromkeys(IndicatorFilter, 0)
        first: dict[str, str] = {}
        total = 0
        for capability in area.capabilities:
            for indicator in capability.indicators:
                key = (capability.id, indicator.id)
                total += 1
                kinds = []
                if key not in carried:
                    kinds.append(IndicatorFilter.UNANSWERED)
                elif carried[key]:
                    kinds.append(IndicatorFilter.TO_CONFIRM)
                if key in flagged:
                    kinds.append(IndicatorFilter.FLAGGED)
                for kind in kinds:
                    counts[kind] += 1
                    first.setdefault(kind.value, capability.id)
                if key not in carried or carried[key]:  # still to answer or to confirm
                    first.setdefault("left", capability.id)
        work.append(
            AreaWork(
                area.id,
                total,
                counts[IndicatorFilter.UNANSWERED],
                counts[IndicatorFilter.TO_CONFIRM],
                counts[IndicatorFilter.FLAGGED],
                first,
            )
        )
    return work


def contributor_work(
    session: Session, *, user: User, assessments: list[Assessment]
) -> dict[int, list[AreaWork]]:
    """A contributor's assigned areas in each open assessment, with what is left in them:
    three queries whatever the number of assessments. Empty for anyone else."""
    open_ids = [
        a.id for a in assessments if permissions.is_editable(a) and a.country_id == user.country_id
    ]
    if user.role != Role.CONTRIBUTOR or not open_ids:
        return {}
    assigned: dict[int, set[str]] = {}
    for assessment_id, area_id in session.execute(
        select(AreaAssignment.assessment_id, AreaAssignment.area_id).where(
            AreaAssignment.user_id == user.id, AreaAssignment.assessment_id.in_(open_ids)
        )
    ):
        assigned.setdefault(assessment_id, set()).add(area_id)
    if not assigned:
        return {}
    carried: dict[int, dict[IndicatorKey, bool]] = {i: {} for i in assigned}
    for assessment_id, capability_id, indicator_id, is_carried in session.execute(
        select(
            Answer.assessment_id, Answer.capability_id, Answer.indicator_id, Answer.carried_over
        ).where(Answer.assessment_id.in_(list(assigned)))
    ):
        carried[assessment_id][(capability_id, indicator_id)] = is_carried
    flagged: dict[int, set[IndicatorKey]] = {i: set() for i in assigned}
    for assessment_id, capability_id, indicator_id in session.execute(
        select(ReviewFlag.assessment_id, ReviewFlag.capability_id, ReviewFlag.indicator_id).where(
            ReviewFlag.assessment_id.in_(list(assigned))
        )
    ):
        flagged[assessment_id].add((capability_id, indicator_id))
    by_id = {a.id: a for a in assessments}
    return {
        assessment_id: area_work(
            catalogue_of(session, by_id[assessment_id]),
            carried[assessment_id],
            flagged[assessment_id],
            areas,
        )
        for assessment_id, areas in assigned.items()
    }


def review_flags_of(session: Session, assessment: Assessment) -> dict[IndicatorKey, ReviewFlag]:
    rows = session.scalars(select(ReviewFlag).where(ReviewFlag.assessment_id == assessment.id))
    return {(row.capability_id, row.indicator_id): row for row in rows}


def _flag_target(session: Session, user: User, assessment_id: int, capability_id, indicator_id):
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    _find_indicator(catalogue_of(session, assessment), capability_id, indicator_id)
    if not permissions.can_flag_for_review(user, assessment):
        if not permissions.is_editable(assessment):
            raise Forbidden(f"the assessment is {assessment.status} and read-only")
        raise Forbidden("only the country's coordinator and contributors can mark for review")
    return assessment


def _find_flag(session: Session, assessment_id: int, capability_id: str, indicator_id: str):
    return session.scalar(
        select(ReviewFlag).where(
            ReviewFlag.assessment_id == assessment_id,
            ReviewFlag.capability_id == capability_id,
            ReviewFlag.indicator_id == indicator_id,
        )
    )


def flag_for_review(
    session: Session,
    *,
    user: User,
    assessment_id: int,
    capability_id: str,
    indicator_id: str,
    note: str = "",
) -> ReviewFlag:
    """Mark an indicator for the team to review. Not an answer change: neither the answer's
    version nor the assessment's revision moves. Marking it again keeps the first mark."""
    assessment = _flag_target(session, user, assessment_id, capability_id, indicator_id)
    note = note.strip()
    if len(note) > MAX_FLAG_NOTE:
        raise Invalid(
            f"a note can have at most {MAX_FLAG_NOTE} characters",
            field="note",
            rule="too_long",
            limit=MAX_FLAG_NOTE,
        )
    existing = _find_flag(session, assessment.id, capability_id, indicator_id)
    if existing is not None:
        return existing
    flag = ReviewFlag(
        assessment_id=assessment.id,
        capability_id=capability_id,
        indicator_id=indicator_id,
        note=note,
        flagged_by_id=user.id,
        flagged_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(flag)
    except IntegrityError:  # someone marked it at the same moment: theirs stands
        return _find_flag(session, assessment.id, capability_id, indicator_id)
    audit.record(
        session,
        actor=user,
        action="indicator.flagged_for_review",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        details={"capability": capability_id, "indicator": indicator_id},
    )
    return flag


def clear_review_flag(
    session: Session, *, user: User, assessment_id: int, capability_id: str, indicator_id: str
) -> bool:
    """Clear an indicator's review mark, whoever set it; False when there was none (a
    repeated clear is harmless). The audit log keeps who set it and who cleared it."""
    assessment = _flag_target(session, user, assessment_id, capability_id, indicator_id)
    flag = _find_flag(session, assessment.id, capability_id, indicator_id)
    if flag is None:
        return False
    session.delete(flag)
    session.flush()
    audit.record(
        session,
        actor=user,
        action="indicator.review_flag_cleared",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        details={
            "capability": capability_id,
            "indicator": indicator_id,
            "flagged_by": flag.flagged_by_id,
            "flagged_at": flag.flagged_at.isoformat(),
        },
    )
    return True


# ---------------------------------------------------------------- confirming carried-over answers


@dataclass(frozen=True)
class ToConfirm:
    """A carried-over answer waiting for confirmation, with where it sits."""

    area_id: str
    capability_id: str
    answer: Answer


def carried_over_answers(
    session: Session,
    *,
    user: User,
    assessment_id: int,
    capability_id: str | None = None,
    area_id: str | None = None,
) -> tuple[Assessment, list[ToConfirm]]:
    """The carried-over answers still to confirm in a capability, an area, or (neither given)
    every area user may edit, in questionnaire order: what a bulk confirmation would confirm."""
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = catalogue_of(session, assessment)
    editable = editable_areas(session, assessment=assessment, user=user)
    if capability_id is not None:
        try:
            area_id = catalogue.area_of(capability_id).id
        except KeyError:
            raise NotFound("capability not found") from None
    elif area_id is not None:
        try:
            catalogue.area(area_id)
        except KeyError:
            raise NotFound("area not found") from None
    if not permissions.is_editable(assessment):
        raise Forbidden(f"the assessment is {assessment.status} and read-only")
    if not permissions.can_edit_answers(user, assessment, editable, area_id):
        raise Forbidden("you can read this area but not change its answers")
    answers = answers_of(session, assessment)
    found = []
    for area in catalogue.areas:
        if area.id not in editable or (area_id is not None and area.id != area_id):
            continue
        for capability in area.capabilities:
            if capability_id is not None and capability.id != capability_id:
                continue
            for indicator in capability.indicators:
                answer = answers.get((capability.id, indicator.id))
                if answer is not None and answer.carried_over:
                    found.append(ToConfirm(area.id, capability.id, answer))
    return assessment, found


class ConfirmationConflict(Conflict):
    """Some answers to confirm changed since the preview; nothing was confirmed."""

    def __init__(self, changed: list[str]):
        super().__init__(
            "some of these answers changed since you reviewed them, so nothing was confirmed; "
            "review the list again",
            changed=changed,
        )


def confirm_carried_over(
    session: Session,
    *,
    user: User,
    assessment_id: int,
    expected: list[tuple[str, str, int]],
    source: str = "web",
) -> list[Answer]:
    """Confirm carried-over answers, each at the version the user reviewed, all or none.

    Each confirmation is what confirming one answer is: its version rises, carried_over
    clears and its history records an unchanged value. If any answer changed or was
    confirmed since the preview, ConfirmationConflict names them and nothing is written.
    """
    assessment = get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = catalogue_of(session, assessment)
    if not expected:
        raise Invalid("choose at least one answer to confirm", field="answers")
    if len({(c, i) for c, i, _ in expected}) != len(expected):
        raise Invalid("each answer can be confirmed only once", field="answers")
    editable = editable_areas(session, assessment=assessment, user=user)
    for capability_id, indicator_id, _version in expected:
        area, _, _ = _find_indicator(catalogue, capability_id, indicator_id)
        if not permissions.can_edit_answers(user, assessment, editable, area.id):
            if not permissions.is_editable(assessment):
                raise Forbidden(f"the assessment is {assessment.status} and read-only")
            raise Forbidden("you can read this area but not change its answers")
    current = answers_of(session, assessment)
    changed = [
        f"{capability_id}.{indicator_id}"
        for capability_id, indicator_id, version in expected
        if (answer := current.get((capability_id, indicator_id))) is None
        or not answer.carried_over
        or answer.version != version
    ]
    if changed:
        raise ConfirmationConflict(changed)
    now = utcnow()
    confirmed_answers = []
    # A savepoint, so a race lost half-way leaves none of the confirmations behind.
    with session.begin_nested():
        for capability_id, indicator_id, version in expected:
            answer = current[(capability_id, indicator_id)]
            # Compare-and-set, as a single save: a save racing this one wins or waits.
            updated = session.execute(
                update(Answer)
                .where(
                    Answer.id == answer.id,
                    Answer.version == version,
                    Answer.carried_over.is_(True),
                )
                .values(
                    version=version + 1, carried_over=False, updated_by_id=user.id, updated_at=now
                )
                .execution_options(synchronize_session=False)
            )
            if updated.rowcount != 1:
                raise ConfirmationConflict([f"{capability_id}.{indicator_id}"])
            changed_values = {
                "version": version + 1,
                "carried_over": False,
                "updated_by_id": user.id,
                "updated_at": now,
            }
            for name, value in changed_values.items():
                set_committed_value(answer, name, value)
            content = answer_content(answer)
            session.add(
                AnswerChange(
                    answer_id=answer.id,
                    version=version + 1,
                    changed_by_id=user.id,
                    changed_at=now,
                    source=source,
                    old_value=content,
                    new_value=content,
                )
            )
            confirmed_answers.append(answer)
        session.flush()
    _touch(session, assessment)
    audit.record(
        session,
        actor=user,
        action="answers.confirmed",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        details={
            "count": len(confirmed_answers),
            "indicators": [f"{a.capability_id}.{a.indicator_id}" for a in confirmed_answers],
        },
    )
    return confirmed_answers
