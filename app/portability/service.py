"""Workbooks and exchange files: export, preview, apply; every rule of the assessments apply.

Access goes through the assessments service (another country's assessment is NotFound),
and answers are saved with its compare-and-set `save_answer`, so an upload can never do
what the same user could not do on the web page. The request's session commits, and every
multi-step write runs in a savepoint so a failure changes nothing. One exception: an upload
is parsed with no transaction open (`_end_transaction`), so that on SQLite no write lock
and on PostgreSQL no open transaction waits on a slow parse; the checks that matter are
made again, with the writes, in the short transaction that follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

import app
from app.accounts.models import User
from app.assessments import permissions as assessment_permissions
from app.assessments import service as assessments
from app.assessments.models import (
    ActionItem,
    Answer,
    AnswerChange,
    Assessment,
    Comment,
    Target,
)
from app.assessments.schemas import AnswerInput
from app.audit import service as audit
from app.catalogue import service as catalogue_service
from app.catalogue.models import CatalogueVersion
from app.catalogue.schema import Catalogue
from app.core.db import utcnow
from app.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from app.core.inputs import replace_unstorable
from app.countries import service as country_service
from app.portability import exchange, permissions
from app.portability import workbook as wb
from app.portability.models import PendingImport

# Upload limits, enforced while the request body is read.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_JSON_UPLOAD_BYTES = exchange.MAX_DOCUMENT_BYTES

ANSWER_FIELDS = (
    "response",
    "level",
    "justification",
    "evidence_notes",
    "evidence_links",
    "confidence",
)
_MISSING: Any = object()


class TooLarge(DomainError):
    status_code = 413
    code = "too_large"


def _file_slug(assessment: Assessment) -> str:
    cycle = re.sub(r"[^0-9A-Za-z.-]+", "-", assessment.cycle).strip("-")
    return f"gsr-{assessment.country.code}-{cycle}"


# ---------------------------------------------------------------- workbook export


def export_workbook(
    session: Session, *, user: User, assessment_id: int, locale: str | None = None
) -> tuple[str, bytes]:
    """The assessment as an XLSX workbook (file name, content); recorded in the audit log."""
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessments.catalogue_of(session, assessment)
    wanted = locale or user.locale or "en"
    locale = wanted if wanted in catalogue.locales else "en"
    answers = {
        f"{capability_id}.{indicator_id}": (assessments.answer_content(answer), answer.version)
        for (capability_id, indicator_id), answer in assessments.answers_of(
            session, assessment
        ).items()
    }
    targets = {
        capability_id: (target.level, target.version)
        for capability_id, target in assessments.targets_of(session, assessment).items()
    }
    data = wb.WorkbookData(
        assessment_id=assessment.id,
        country_code=assessment.country.code,
        country_name=assessment.country.name,
        cycle=assessment.cycle,
        status=assessment.status,
        catalogue=catalogue,
        catalogue_hash=assessment.catalogue_version.content_hash,
        answers=answers,
        targets=targets,
        editable_areas=frozenset(
            assessments.editable_areas(session, assessment=assessment, user=user)
        ),
        is_coordinator=assessment_permissions.is_coordinator_of(user, assessment),
        exported_at=utcnow(),
        exported_by_id=user.id,
        locale=locale,
    )
    content = wb.build_workbook(data)
    audit.record(
        session,
        actor=user,
        action="assessment.exported",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        details={"format": "xlsx", "locale": locale},
    )
    return f"{_file_slug(assessment)}.xlsx", content


# ---------------------------------------------------------------- workbook upload: preview


@dataclass(frozen=True)
class _Destination:
    """The assessment an upload is for, as plain data: all that reading the file needs."""

    assessment_id: int
    country_code: str
    cycle: str
    catalogue: Catalogue
    catalogue_version: str
    catalogue_hash: str

    @classmethod
    def of(cls, session: Session, assessment: Assessment) -> _Destination:
        return cls(
            assessment_id=assessment.id,
            country_code=assessment.country.code,
            cycle=assessment.cycle,
            catalogue=assessments.catalogue_of(session, assessment),
            catalogue_version=assessment.catalogue_version.version,
            catalogue_hash=assessment.catalogue_version.content_hash,
        )


@dataclass(frozen=True)
class _ReadWorkbook:
    """What an uploaded workbook holds, read and checked with no database at hand."""

    meta: wb.Metadata
    locale: str
    contents: wb.Contents


def _end_transaction(session: Session) -> None:
    """End the request's transaction before slow work, so no lock or snapshot is held.

    What the request did so far is committed: only reads, and the last-seen time that
    signing in records. Rows loaded before are expired: whatever comes next reads them
    again as they are then.
    """
    session.commit()
    session.expire_all()


def _check_can_upload(session: Session, user: User, assessment: Assessment) -> set[str]:
    """The areas the user may change by upload; Forbidden when there are none."""
    if not assessment_permissions.is_editable(assessment):
        raise Forbidden(f"the assessment is {assessment.status} and read-only; nothing was read")
    editable = assessments.editable_areas(session, assessment=assessment, user=user)
    if not assessment_permissions.can_edit_answers(user, assessment, editable):
        raise Forbidden("you cannot change this assessment's answers, so a workbook cannot be read")
    return editable


def preview_workbook(
    session: Session, *, user: User, assessment_id: int, data: bytes, file_name: str = ""
) -> PendingImport:
    """Read an uploaded workbook and store what applying it would change, for review.

    In three steps, so that no transaction is open while the file is parsed: a short read
    checks that the user may upload and gathers the catalogue; the file is read and checked
    with no transaction open; then one short transaction compares it with the answers as
    they are now and stores the preview. A file that cannot be used stores nothing.
    """
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    _check_can_upload(session, user, assessment)
    destination = _Destination.of(session, assessment)
    _end_transaction(session)
    read = _read_workbook(destination, data, file_name)
    return _store_preview(session, user, destination, read, file_name)


def _read_workbook(destination: _Destination, data: bytes, file_name: str) -> _ReadWorkbook:
    catalogue = destination.catalogue
    book, meta = wb.open_workbook(data, catalogue, file_name)
    try:
        _check_origin(destination, meta)
        locale = meta.locale if meta.locale in catalogue.locales else "en"
        return _ReadWorkbook(meta, locale, wb.read_contents(book, catalogue, locale))
    finally:
        book.close()


def _store_preview(
    session: Session, user: User, destination: _Destination, read: _ReadWorkbook, file_name: str
) -> PendingImport:
    assessment = assessments.get_assessment(
        session, user=user, assessment_id=destination.assessment_id
    )
    # The assessment may have been submitted, or the user's areas changed, meanwhile.
    editable = _check_can_upload(session, user, assessment)
    if assessment.catalogue_version.content_hash != destination.catalogue_hash:
        raise Conflict(
            "the assessment moved to another catalogue version while the workbook was read; "
            "download a fresh workbook"
        )
    catalogue, meta, locale = destination.catalogue, read.meta, read.locale
    answers = assessments.answers_of(session, assessment)
    targets = assessments.targets_of(session, assessment)
    exported_contents = _contents_at_versions(session, answers, meta.answer_versions)
    reader = _PreviewBuilder(
        catalogue=catalogue,
        locale=locale,
        meta=meta,
        answers=answers,
        targets=targets,
        exported_contents=exported_contents,
        editable=editable,
        is_coordinator=assessment_permissions.is_coordinator_of(user, assessment),
        area_titles={area.id: area.title.get(locale) for area in catalogue.areas},
    )
    for row in read.contents.rows:
        if row.damaged:
            continue
        if row.row.indicator_id is None:
            reader.target(row)
        else:
            reader.answer(row)
    problems = wb.sort_problems(read.contents.problems + reader.problems, catalogue, locale)
    pending = PendingImport(
        assessment_id=assessment.id,
        user_id=user.id,
        kind="workbook",
        file_name=(file_name or "workbook.xlsx")[:255],
        status="pending",
        preview={
            "format_version": 1,
            "workbook": {"exported_at": meta.exported_at, "locale": locale},
            "changes": reader.changes,
            "conflicts": reader.conflicts,
            "problems": [problem.as_dict() for problem in problems],
        },
    )
    session.add(pending)
    session.flush()
    audit.record(
        session,
        actor=user,
        action="assessment.workbook_uploaded",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        target=("pending_import", pending.id),
        details={
            "changes": len(reader.changes),
            "conflicts": len(reader.conflicts),
            "problems": len(problems),
        },
    )
    return pending


def _check_origin(destination: _Destination, meta: wb.Metadata) -> None:
    same = (
        meta.assessment_id == destination.assessment_id
        and meta.country_code == destination.country_code
        and meta.cycle == destination.cycle
    )
    if not same:
        raise wb.BadFile(
            f"this workbook belongs to another assessment ({meta.country_code}, cycle "
            f"{meta.cycle}), not to this one ({destination.country_code}, cycle "
            f"{destination.cycle}); download this assessment's workbook and enter the answers "
            "there"
        )
    if meta.catalogue_hash != destination.catalogue_hash:
        raise wb.BadFile(
            f"this workbook was made for another catalogue (version {meta.catalogue_version}, "
            f"{meta.catalogue_hash[:19]}...) than the one this assessment uses (version "
            f"{destination.catalogue_version}, {destination.catalogue_hash[:19]}...); download "
            "a fresh workbook"
        )


def _contents_at_versions(
    session: Session, answers: dict[tuple[str, str], Answer], versions: dict[str, int]
) -> dict[str, dict[str, Any]]:
    """Each answer's content at the version the workbook was exported with, from history."""
    wanted = []
    for (capability_id, indicator_id), answer in answers.items():
        version = versions.get(f"{capability_id}.{indicator_id}", 0)
        if version and version != answer.version:
            wanted.append((answer.id, version))
    if not wanted:
        return {}
    keys = {answer.id: f"{c}.{i}" for (c, i), answer in answers.items()}
    rows = session.execute(
        select(AnswerChange.answer_id, AnswerChange.new_value).where(
            tuple_(AnswerChange.answer_id, AnswerChange.version).in_(wanted)
        )
    )
    return {keys[answer_id]: value for answer_id, value in rows}


def _field_changes(old: dict | None, new: dict, names: tuple[str, str]) -> list[dict]:
    before, after = names
    return [
        {"field": name, before: (old or {}).get(name), after: new.get(name)}
        for name in ANSWER_FIELDS
        if (old or {}).get(name) != new.get(name)
    ]


class _PreviewBuilder:
    """Turns the rows read from a workbook into changes, conflicts and problems."""

    def __init__(
        self,
        *,
        catalogue: Catalogue,
        locale: str,
        meta: wb.Metadata,
        answers: dict[tuple[str, str], Answer],
        targets: dict[str, Target],
        exported_contents: dict[str, dict[str, Any]],
        editable: set[str],
        is_coordinator: bool,
        area_titles: dict[str, str],
    ):
        self.catalogue = catalogue
        self.locale = locale
        self.meta = meta
        self.answers = answers
        self.targets = targets
        self.exported_contents = exported_contents
        self.editable = editable
        self.is_coordinator = is_coordinator
        self.area_titles = area_titles
        self.changes: list[dict[str, Any]] = []
        self.conflicts: list[dict[str, Any]] = []
        self.problems: list[wb.Problem] = []

    def _problem(self, row: wb.RowValues, column: str, reason: str) -> None:
        self.problems.append(wb.Problem(row.ref(column), reason, row.row.key))

    def answer(self, row: wb.RowValues) -> None:
        key = row.row.key
        exported_version = self.meta.answer_versions.get(key)
        if exported_version is None:
            self._problem(row, wb.ANSWER, "the workbook's hidden data does not list this indicator")
            return
        current = self.answers.get((row.row.capability_id, row.row.indicator_id))
        current_version = current.version if current else 0
        current_content = assessments.answer_content(current) if current else None
        if exported_version > current_version:
            self._problem(
                row,
                wb.ANSWER,
                "the workbook's record of this answer does not match the assessment; "
                "the row was not read",
            )
            return
        if exported_version == current_version:
            base = current_content
        elif exported_version == 0:
            base = None
        else:
            base = self.exported_contents.get(key, _MISSING)

        parsed = wb.parse_answer(row, self.catalogue, self.locale)
        if parsed.kind in ("blank", "details_only"):
            if exported_version > 0:
                self._problem(
                    row,
                    wb.ANSWER,
                    "the answer was removed; an answer cannot be taken back, so choose "
                    "Unknown if nobody can tell",
                )
            elif parsed.kind == "details_only":
                self._problem(
                    row,
                    wb.ANSWER,
                    "choose an answer here: a justification or evidence is not saved without one",
                )
            return
        if parsed.kind == "invalid":
            self.problems.extend(parsed.problems)
            return
        found = parsed.content
        if base is not _MISSING and found == wb.comparable(base):
            return  # untouched since the export
        new = _keep_long_texts(found, None if base is _MISSING else base)
        if new == current_content:
            return  # already so
        if row.area_id not in self.editable:
            self._problem(
                row,
                wb.ANSWER,
                f"you cannot change answers in '{self.area_titles[row.area_id]}' (the area is "
                "not assigned to you); this change was not read",
            )
            return
        entry = {
            "kind": "answer",
            "key": key,
            "capability_id": row.row.capability_id,
            "indicator_id": row.row.indicator_id,
            "area_id": row.area_id,
            "cell": row.ref(wb.ANSWER),
        }
        if exported_version == current_version:
            self.changes.append(
                entry
                | {
                    "based_on_version": current_version,
                    "fields": _field_changes(current_content, new, ("old", "new")),
                    "old": current_content,
                    "new": new,
                }
            )
        else:
            self.conflicts.append(
                entry
                | {
                    "exported_version": exported_version,
                    "current_version": current_version,
                    "fields": _field_changes(current_content, new, ("current", "workbook")),
                    "current": current_content,
                    "workbook": new,
                }
            )

    def target(self, row: wb.RowValues) -> None:
        capability_id = row.row.capability_id
        if capability_id not in self.meta.targets:
            self._problem(row, wb.TARGET, "the workbook's hidden data does not list this target")
            return
        exported_level, exported_version = self.meta.targets[capability_id]
        value = row.values.get(wb.TARGET)
        if value in (None, ""):
            if exported_level is not None:
                self._problem(
                    row, wb.TARGET, "the target was removed; targets can be changed, not removed"
                )
            return
        level = wb.parse_level(value, self.catalogue)
        if not isinstance(level, int):
            self._problem(
                row,
                wb.TARGET,
                f"'{wb.shown_value(value)}' is not a target level on the list (0 to "
                f"{self.catalogue.max_level})",
            )
            return
        if level == exported_level:
            return
        current = self.targets.get(capability_id)
        current_version = current.version if current else 0
        current_level = current.level if current else None
        if not self.is_coordinator:
            self._problem(
                row, wb.TARGET, "only the coordinator can set targets; this change was not read"
            )
            return
        if level == current_level:
            return
        entry = {
            "kind": "target",
            "key": f"target:{capability_id}",
            "capability_id": capability_id,
            "indicator_id": None,
            "area_id": row.area_id,
            "cell": row.ref(wb.TARGET),
        }
        if exported_version == current_version:
            self.changes.append(
                entry
                | {
                    "based_on_version": current_version,
                    "fields": [{"field": "level", "old": current_level, "new": level}],
                    "old": None if current is None else {"level": current_level},
                    "new": {"level": level},
                }
            )
        else:
            self.conflicts.append(
                entry
                | {
                    "exported_version": exported_version,
                    "current_version": current_version,
                    "fields": [{"field": "level", "current": current_level, "workbook": level}],
                    "current": None if current is None else {"level": current_level},
                    "workbook": {"level": level},
                }
            )


def _keep_long_texts(found: dict[str, Any], base: dict[str, Any] | None) -> dict[str, Any]:
    """Where a cell still holds the shortened form of a long text, keep the full text."""
    if base is None:
        return found
    shortened = wb.comparable(base)
    result = dict(found)
    for name in ANSWER_FIELDS:
        if found.get(name) == shortened.get(name):
            result[name] = base.get(name)
    return result


# ---------------------------------------------------------------- workbook upload: decide


def preview_out(pending: PendingImport) -> dict[str, Any]:
    preview = pending.preview
    return {
        "import_id": pending.id,
        "status": pending.status,
        "file_name": pending.file_name,
        "created_at": pending.created_at,
        "decided_at": pending.decided_at,
        "exported_at": preview.get("workbook", {}).get("exported_at"),
        "changes": preview["changes"],
        "conflicts": preview["conflicts"],
        "problems": preview["problems"],
        "decision": preview.get("decision"),
    }


def get_import(
    session: Session, *, user: User, assessment_id: int, import_id: int
) -> PendingImport:
    """An uploaded workbook's preview; only its uploader may see or decide it."""
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    pending = session.get(PendingImport, import_id)
    if (
        pending is None
        or pending.assessment_id != assessment.id
        or pending.user_id != user.id
        or pending.kind != "workbook"
    ):
        raise NotFound("upload not found")
    return pending


def _require_pending(pending: PendingImport) -> None:
    if pending.status != "pending":
        raise Conflict(
            f"this upload was already {pending.status}; upload the workbook again to "
            "make new changes"
        )


def _claim(session: Session, pending: PendingImport, decision: str) -> None:
    """Decide a pending upload exactly once, even when two requests race to decide it."""
    now = utcnow()
    claimed = session.execute(
        update(PendingImport)
        .where(PendingImport.id == pending.id, PendingImport.status == "pending")
        .values(status=decision, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.expire(pending)
        _require_pending(pending)
        raise Conflict("this upload is being decided in another request")
    pending.status, pending.decided_at = decision, now


class _ChangedSincePreview(Exception):
    pass


def apply_import(
    session: Session,
    *,
    user: User,
    assessment_id: int,
    import_id: int,
    take_workbook_for: list[str] | None = None,
) -> PendingImport:
    """Apply an upload's changes, all or nothing; conflicts only where the user chose.

    A conflict's workbook value is saved on top of the version the preview showed; if the
    answer changed again since, nothing is saved and the user uploads again.
    """
    pending = get_import(session, user=user, assessment_id=assessment_id, import_id=import_id)
    _require_pending(pending)
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    preview = pending.preview
    conflicts = {conflict["key"]: conflict for conflict in preview["conflicts"]}
    chosen = set(take_workbook_for or [])
    unknown = sorted(chosen - set(conflicts))
    if unknown:
        raise Invalid(
            "these are not conflicts of this upload: " + ", ".join(unknown),
            field="take_workbook_for",
        )
    taken = [conflict for key, conflict in conflicts.items() if key in chosen]
    try:
        with session.begin_nested():
            _claim(session, pending, "applied")
            for change in preview["changes"]:
                _apply_one(session, user, assessment, change, "new", "based_on_version")
            for conflict in taken:
                _apply_one(session, user, assessment, conflict, "workbook", "current_version")
    except (assessments.AnswerConflict, _ChangedSincePreview):
        raise Conflict(
            "something in this upload was changed online after the preview was made, so "
            "nothing was saved; upload the workbook again to see the new differences"
        ) from None
    kept = [key for key in conflicts if key not in chosen]
    decision = {"taken_from_workbook": sorted(chosen), "kept_online": kept}
    pending.preview = {**preview, "decision": decision}
    audit.record(
        session,
        actor=user,
        action="assessment.workbook_applied",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        target=("pending_import", pending.id),
        details={
            "answers": sum(c["kind"] == "answer" for c in preview["changes"] + taken),
            "targets": sum(c["kind"] == "target" for c in preview["changes"] + taken),
            "conflicts_taken": len(taken),
            "conflicts_kept": len(kept),
        },
    )
    session.flush()
    return pending


def _answer_input(version: int, value: dict[str, Any]) -> AnswerInput:
    """The answer a workbook change saves, validated as any input is.

    A workbook cannot carry characters that cannot be stored, so any such text here is what
    the answer already held (saved before inputs were checked) and left as it was: it is
    checked with those characters replaced, then kept exactly as stored.
    """
    legacy = {
        name: text
        for name, text in value.items()
        if isinstance(text, str) and replace_unstorable(text) != text
    }
    if not legacy:
        return AnswerInput(version=version, **value)
    checked = AnswerInput(
        version=version, **{**value, **{n: replace_unstorable(t) for n, t in legacy.items()}}
    )
    return checked.model_copy(update=legacy)


def _apply_one(
    session: Session,
    user: User,
    assessment: Assessment,
    entry: dict[str, Any],
    value_key: str,
    version_key: str,
) -> None:
    """Save one change or chosen conflict on top of the version the preview showed."""
    value, version = entry[value_key], entry[version_key]
    if entry["kind"] == "answer":
        assessments.save_answer(
            session,
            user=user,
            assessment_id=assessment.id,
            capability_id=entry["capability_id"],
            indicator_id=entry["indicator_id"],
            data=_answer_input(version, value),
            source="workbook",
        )
        return
    current = assessments.targets_of(session, assessment).get(entry["capability_id"])
    if (current.version if current else 0) != version:
        if current is not None and current.level == value["level"]:
            return
        raise _ChangedSincePreview
    assessments.set_target(
        session,
        user=user,
        assessment_id=assessment.id,
        capability_id=entry["capability_id"],
        level=value["level"],
    )


def cancel_import(
    session: Session, *, user: User, assessment_id: int, import_id: int
) -> PendingImport:
    pending = get_import(session, user=user, assessment_id=assessment_id, import_id=import_id)
    _require_pending(pending)
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    _claim(session, pending, "cancelled")
    audit.record(
        session,
        actor=user,
        action="assessment.workbook_cancelled",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        target=("pending_import", pending.id),
    )
    session.flush()
    return pending


# ---------------------------------------------------------------- JSON export


def export_json(session: Session, *, user: User, assessment_id: int) -> tuple[str, dict]:
    """The whole assessment as an exchange document (file name, JSON-ready data)."""
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    if not permissions.can_export_json(user, assessment):
        raise Forbidden(
            "only the coordinator and the alliance secretariat can export the whole assessment"
        )
    document = build_document(session, assessment, exported_by=user.full_name)
    audit.record(
        session,
        actor=user,
        action="assessment.exported",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        details={"format": "json", "format_version": exchange.FORMAT_VERSION},
    )
    return f"{_file_slug(assessment)}.json", document.model_dump(mode="json")


def _provenance(session: Session, assessment_id: int) -> dict[str, dict[str, Any]]:
    """Who originally did what, for rows that arrived in this installation by JSON import."""
    merged: dict[str, dict[str, Any]] = {
        "history": {},
        "answers": {},
        "targets": {},
        "comments": {},
        "assessment": {},
    }
    rows = session.scalars(
        select(PendingImport.preview).where(
            PendingImport.assessment_id == assessment_id,
            PendingImport.kind == "assessment",
            PendingImport.status == "applied",
        )
    )
    for preview in rows:
        for part, values in (preview.get("provenance") or {}).items():
            merged.setdefault(part, {}).update(values)
    return merged


def build_document(
    session: Session, assessment: Assessment, *, exported_by: str | None
) -> exchange.AssessmentDocument:
    catalogue = assessments.catalogue_of(session, assessment)
    order = {key: index for index, key in enumerate(catalogue.indicator_keys())}
    answers = sorted(
        assessments.answers_of(session, assessment).values(),
        key=lambda a: (order.get((a.capability_id, a.indicator_id), len(order)), a.id),
    )
    changes: dict[int, list[AnswerChange]] = {answer.id: [] for answer in answers}
    if answers:
        for change in session.scalars(
            select(AnswerChange)
            .where(AnswerChange.answer_id.in_(list(changes)))
            .order_by(AnswerChange.answer_id, AnswerChange.version)
        ):
            changes[change.answer_id].append(change)
    targets = sorted(assessments.targets_of(session, assessment).values(), key=lambda t: t.id)
    items = list(
        session.scalars(
            select(ActionItem)
            .where(ActionItem.assessment_id == assessment.id)
            .order_by(ActionItem.position, ActionItem.id)
        )
    )
    comments = assessments.comments_of(session, assessment)
    people = {assessment.created_by_id}
    people |= {a.updated_by_id for a in answers} | {t.set_by_id for t in targets}
    people |= {c.changed_by_id for rows in changes.values() for c in rows}
    names = assessments.user_names(session, people)
    origin = _provenance(session, assessment.id)

    def history_entry(change: AnswerChange) -> exchange.HistoryEntry:
        source, changed_by = change.source, names.get(change.changed_by_id)
        original = origin["history"].get(str(change.id))
        if change.changed_by_id is None and change.source == "import" and original:
            source, changed_by = original["source"], original["changed_by"]
        return exchange.HistoryEntry(
            version=change.version,
            changed_at=change.changed_at,
            changed_by=changed_by,
            source=source,
            old_value=change.old_value,
            new_value=change.new_value,
        )

    def name_of(user_id: int | None, part: str, row_id: int) -> str | None:
        if user_id is not None:
            return names.get(user_id)
        return origin[part].get(str(row_id))

    return exchange.AssessmentDocument(
        exported_at=utcnow(),
        exported_by=exported_by,
        application=exchange.Application(name="gsr-assess", version=app.__version__),
        catalogue=exchange.CatalogueRef(
            key=assessment.catalogue_version.catalogue_key,
            version=assessment.catalogue_version.version,
            content_hash=assessment.catalogue_version.content_hash,
        ),
        assessment=exchange.AssessmentRecord(
            country_code=assessment.country.code,
            cycle=assessment.cycle,
            status=assessment.status,
            deadline=assessment.deadline,
            revision=assessment.revision,
            created_at=assessment.created_at,
            updated_at=assessment.updated_at,
            created_by=name_of(assessment.created_by_id, "assessment", assessment.id),
            submitted_at=assessment.submitted_at,
            validated_at=assessment.validated_at,
            signoff_name=assessment.signoff_name,
            signoff_position=assessment.signoff_position,
            signoff_date=assessment.signoff_date,
        ),
        answers=[
            exchange.AnswerRecord(
                capability_id=answer.capability_id,
                indicator_id=answer.indicator_id,
                **assessments.answer_content(answer),
                carried_over=answer.carried_over,
                version=answer.version,
                updated_at=answer.updated_at,
                updated_by=name_of(answer.updated_by_id, "answers", answer.id),
                history=[history_entry(change) for change in changes[answer.id]],
            )
            for answer in answers
        ],
        targets=[
            exchange.TargetRecord(
                capability_id=target.capability_id,
                level=target.level,
                version=target.version,
                set_at=target.set_at,
                set_by=name_of(target.set_by_id, "targets", target.id),
            )
            for target in targets
        ],
        action_items=[
            exchange.ActionItemRecord(
                **{name: getattr(item, name) for name in exchange.ActionItemRecord.model_fields}
            )
            for item in items
        ],
        comments=[
            exchange.CommentRecord(
                capability_id=comment.capability_id,
                indicator_id=comment.indicator_id,
                kind=comment.kind,
                author=author if comment.author_id else origin["comments"].get(str(comment.id)),
                body=comment.body,
                created_at=comment.created_at,
            )
            for comment, author in comments
        ],
    )


# ---------------------------------------------------------------- JSON import


def import_json(
    session: Session, *, user: User, raw: bytes | str | dict, file_name: str = ""
) -> Assessment:
    """Create an assessment from an exchange document, keeping versions and history.

    Refused unless the catalogue version it was answered against is stored here with the
    same content hash, and unless the country has no assessment for that cycle yet.
    """
    if not permissions.can_import_json(user):
        raise Forbidden("only the alliance secretariat can import an assessment")
    _end_transaction(session)
    document = exchange.parse_document(raw)
    version = _catalogue_version(session, document.catalogue)
    version_id, version_label = version.id, version.version
    catalogue = catalogue_service.catalogue_for_version(session, version_id)
    # A stored catalogue version never changes, so the document is checked against it with
    # no transaction open; the writes that follow make one short transaction.
    _end_transaction(session)
    _check_against_catalogue(document, catalogue)
    record = document.assessment
    country = country_service.get_by_code(session, record.country_code)
    if country is None:
        raise Invalid(f"unknown country code '{record.country_code}'", field="country_code")
    exists = session.scalar(
        select(Assessment.id).where(
            Assessment.country_id == country.id, Assessment.cycle == record.cycle
        )
    )
    if exists is not None:
        raise Conflict(
            f"{country.name} already has an assessment for cycle {record.cycle} in this "
            "installation; nothing was imported"
        )

    with session.begin_nested():
        previous = session.scalar(
            select(Assessment.id)
            .where(Assessment.country_id == country.id, Assessment.created_at < record.created_at)
            .order_by(Assessment.created_at.desc(), Assessment.id.desc())
            .limit(1)
        )
        assessment = Assessment(
            country_id=country.id,
            cycle=record.cycle,
            catalogue_version_id=version_id,
            status=record.status,
            deadline=record.deadline,
            previous_id=previous,
            revision=record.revision,
            created_by_id=None,
            created_at=record.created_at,
            updated_at=record.updated_at,
            submitted_at=record.submitted_at,
            validated_at=record.validated_at,
            signoff_name=record.signoff_name,
            signoff_position=record.signoff_position,
            signoff_date=record.signoff_date,
        )
        session.add(assessment)
        session.flush()
        answers = []
        for item in document.answers:
            answer = Answer(
                assessment_id=assessment.id,
                capability_id=item.capability_id,
                indicator_id=item.indicator_id,
                **item.content(),
                carried_over=item.carried_over,
                version=item.version,
                updated_by_id=None,
                updated_at=item.updated_at,
            )
            answers.append(answer)
        session.add_all(answers)
        session.flush()
        history = []
        for answer, item in zip(answers, document.answers, strict=True):
            for entry in item.history:
                change = AnswerChange(
                    answer_id=answer.id,
                    version=entry.version,
                    changed_by_id=None,
                    changed_at=entry.changed_at,
                    source="import",
                    old_value=entry.old_value.model_dump(mode="json") if entry.old_value else None,
                    new_value=entry.new_value.model_dump(mode="json"),
                )
                history.append((change, entry))
        session.add_all([change for change, _ in history])
        targets = [
            Target(
                assessment_id=assessment.id,
                capability_id=item.capability_id,
                level=item.level,
                version=item.version,
                set_by_id=None,
                set_at=item.set_at,
            )
            for item in document.targets
        ]
        session.add_all(targets)
        session.add_all(
            ActionItem(assessment_id=assessment.id, **item.model_dump())
            for item in document.action_items
        )
        comments = [
            Comment(
                assessment_id=assessment.id,
                capability_id=item.capability_id,
                indicator_id=item.indicator_id,
                kind=item.kind,
                author_id=None,
                body=item.body,
                created_at=item.created_at,
            )
            for item in document.comments
        ]
        session.add_all(comments)
        session.flush()
        # Who did what stays with the assessment: user ids of the other installation mean
        # nothing here, so the names are kept beside the rows and used by later exports.
        provenance = {
            "assessment": {str(assessment.id): record.created_by},
            "answers": {
                str(answer.id): item.updated_by
                for answer, item in zip(answers, document.answers, strict=True)
            },
            "history": {
                str(change.id): {"source": entry.source, "changed_by": entry.changed_by}
                for change, entry in history
            },
            "targets": {
                str(target.id): item.set_by
                for target, item in zip(targets, document.targets, strict=True)
            },
            "comments": {
                str(comment.id): item.author
                for comment, item in zip(comments, document.comments, strict=True)
            },
        }
        session.add(
            PendingImport(
                assessment_id=assessment.id,
                user_id=user.id,
                kind="assessment",
                file_name=(file_name or "assessment.json")[:255],
                status="applied",
                decided_at=utcnow(),
                preview={
                    "format": exchange.FORMAT,
                    "format_version": exchange.FORMAT_VERSION,
                    "exported_at": document.exported_at.isoformat(),
                    "exported_by": document.exported_by,
                    "application": document.application.model_dump(),
                    "provenance": provenance,
                },
            )
        )
        audit.record(
            session,
            actor=user,
            action="assessment.imported",
            country_id=country.id,
            assessment_id=assessment.id,
            details={
                "format": "json",
                "format_version": exchange.FORMAT_VERSION,
                "catalogue_version": version_label,
                "answers": len(answers),
                "history": len(history),
                "targets": len(targets),
                "action_items": len(document.action_items),
                "comments": len(comments),
            },
        )
        session.flush()
    return assessments.get_assessment(session, user=user, assessment_id=assessment.id)


def _catalogue_version(session: Session, ref: exchange.CatalogueRef) -> CatalogueVersion:
    found = session.scalar(
        select(CatalogueVersion)
        .where(CatalogueVersion.content_hash == ref.content_hash)
        .order_by(CatalogueVersion.id)
        .limit(1)
    )
    if found is not None:
        return found
    same_number = session.scalar(
        select(CatalogueVersion).where(
            CatalogueVersion.catalogue_key == ref.key, CatalogueVersion.version == ref.version
        )
    )
    if same_number is not None:
        raise Invalid(
            f"catalogue '{ref.key}' version {ref.version} is stored here with other content "
            f"({same_number.content_hash}) than the assessment was answered against "
            f"({ref.content_hash}); importing it would change what the answers mean, so "
            "nothing was imported",
            field="catalogue",
        )
    raise Invalid(
        f"the assessment was answered against catalogue '{ref.key}' version {ref.version} "
        f"({ref.content_hash}), which this installation does not have; load that catalogue "
        "version first, then import again",
        field="catalogue",
    )


def _check_against_catalogue(document: exchange.AssessmentDocument, catalogue: Catalogue) -> None:
    """Every reference in the document exists in its catalogue; every answer is valid."""
    problems: list[str] = []
    indicators = set(catalogue.indicator_keys())
    capabilities = {capability.id for capability in catalogue.capabilities()}
    top = catalogue.max_level
    seen: set[str] = set()
    for index, item in enumerate(document.answers):
        where = f"answers.{index} ({item.key})"
        if (item.capability_id, item.indicator_id) not in indicators:
            problems.append(f"{where}: not an indicator of the catalogue")
            continue
        if item.key in seen:
            problems.append(f"{where}: answered twice")
        seen.add(item.key)
        try:
            AnswerInput(version=item.version, **item.content())
        except ValidationError as error:
            reasons = [str(e["msg"]).removeprefix("Value error, ") for e in error.errors()]
            problems.append(f"{where}: {'; '.join(reasons)}")
        values = [item.content()] + [entry.new_value.model_dump() for entry in item.history]
        if any(value["level"] is not None and value["level"] > top for value in values):
            problems.append(f"{where}: a level above {top}, the top of the scale")
    seen = set()
    for index, target in enumerate(document.targets):
        if target.capability_id not in capabilities:
            problems.append(f"targets.{index}: unknown capability '{target.capability_id}'")
        elif target.capability_id in seen:
            problems.append(f"targets.{index}: '{target.capability_id}' has two targets")
        elif target.level > top:
            problems.append(f"targets.{index}: level above {top}, the top of the scale")
        seen.add(target.capability_id)
    for index, item in enumerate(document.action_items):
        if item.capability_id is not None and item.capability_id not in capabilities:
            problems.append(f"action_items.{index}: unknown capability '{item.capability_id}'")
    for index, comment in enumerate(document.comments):
        if comment.capability_id not in capabilities or (
            comment.indicator_id is not None
            and (comment.capability_id, comment.indicator_id) not in indicators
        ):
            problems.append(
                f"comments.{index}: not about a capability or indicator of the catalogue"
            )
    if problems:
        raise Invalid(
            f"the file does not match catalogue {catalogue.version}: " + "; ".join(problems[:5]),
            field=problems[0].partition(":")[0],
            problems=problems[:50],
        )
