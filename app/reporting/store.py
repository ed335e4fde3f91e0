"""The shared report store: PDFs in the database, by a digest of what they show.

Every server process and worker, on any machine, sees the same rows. The digest covers the
gathered report data as a whole (whatever it holds), the catalogue's content hash, the
templates, styles and reporting code, the translations, the language and the application
version; ids and revision counters are only part of it as far as the report prints them.
So a restored or reset database can never be served a PDF of other data.

A render is claimed first (one `report_renders` row per digest, taken in a guarded write),
so two processes never render the same report at once; a claim whose holder died expires.
Each function runs its own short transaction from a session factory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import hashlib
import json
import threading
import time
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app import __version__ as APP_VERSION
from app.core.db import utcnow
from app.reporting.models import RenderState, ReportFile, ReportRender
from app.reporting.render import template_version, translation_version

# "used" times are refreshed at most this often, so a download is not a write per request.
TOUCH_INTERVAL = timedelta(minutes=10)
# A request whose job has not started in this long is asked for again.
QUEUED_FOR = timedelta(minutes=10)

# Processes waiting for a digest wake up as soon as this process stores or fails it; other
# processes' renders are seen by polling.
_changed = threading.Condition()


# ---------------------------------------------------------------- the digest


def _plain(value: Any) -> Any:
    """value as JSON-able data, the same for equal content whatever its Python types."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "@": type(value).__name__,
            **{f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)},
        }
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, str | int | bool) or value is None:
        return value  # Markup (SVG charts, formatted text) is a str: its text counts
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | Fraction):
        return str(value)
    if isinstance(value, Mapping):
        return {"{}": sorted([json.dumps(_plain(k)), _plain(v)] for k, v in value.items())}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, set | frozenset):
        return {"set": sorted(json.dumps(_plain(item)) for item in value)}
    if hasattr(value, "model_dump"):  # pydantic models (catalogue text)
        return _plain(value.model_dump(mode="json"))
    raise TypeError(f"report data of type {type(value).__name__} has no digest")


def content_digest(kind: str, data: Any, *, locale: str, catalogue_hash: str) -> str:
    """The digest of a report: everything it shows and everything that draws it."""
    payload = {
        "kind": kind,
        "data": _plain(data),
        "catalogue": catalogue_hash,
        "templates": template_version(),
        "translations": translation_version(locale),
        "locale": locale,
        "app": APP_VERSION,
    }
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


# ---------------------------------------------------------------- stored PDFs


def fetch(
    reading: sessionmaker[Session], writing: sessionmaker[Session], digest: str
) -> bytes | None:
    """The stored PDF of digest, if any; its last use is recorded now and then, in a short
    write of its own (a download is a read, which never takes SQLite's write lock)."""
    with reading() as session:
        row = session.execute(
            select(ReportFile.content, ReportFile.last_used_at).where(ReportFile.digest == digest)
        ).first()
    if row is None:
        return None
    now = utcnow()
    if row.last_used_at < now - TOUCH_INTERVAL:
        with writing.begin() as session:
            session.execute(
                update(ReportFile).where(ReportFile.digest == digest).values(last_used_at=now)
            )
    return row.content


def is_stored(session: Session, digest: str) -> bool:
    return session.scalar(select(ReportFile.digest).where(ReportFile.digest == digest)) is not None


def put(
    sessions: sessionmaker[Session],
    digest: str,
    pdf: bytes,
    *,
    kind: str,
    locale: str,
    assessment_id: int | None,
    render_ms: int,
    owner: str,
    max_bytes: int,
) -> None:
    """Store a rendered PDF, release its claim, and prune: the older PDFs of the same
    assessment, kind and language go, then the least used ones beyond max_bytes."""
    now = utcnow()
    with sessions.begin() as session:
        if not is_stored(session, digest):
            session.execute(
                insert(ReportFile).values(
                    digest=digest,
                    kind=kind,
                    locale=locale,
                    assessment_id=assessment_id,
                    content=pdf,
                    size=len(pdf),
                    render_ms=render_ms,
                    created_at=now,
                    last_used_at=now,
                )
            )
        session.execute(delete(ReportRender).where(ReportRender.digest == digest))
        if assessment_id is not None:
            session.execute(
                delete(ReportFile).where(
                    ReportFile.assessment_id == assessment_id,
                    ReportFile.kind == kind,
                    ReportFile.locale == locale,
                    ReportFile.digest != digest,
                )
            )
        _cap(session, max_bytes)
    _notify()


def _cap(session: Session, max_bytes: int) -> None:
    total = session.scalar(select(func.coalesce(func.sum(ReportFile.size), 0))) or 0
    if total <= max_bytes:
        return
    rows = session.execute(
        select(ReportFile.digest, ReportFile.size).order_by(
            ReportFile.last_used_at, ReportFile.created_at
        )
    ).all()
    doomed = []
    for digest, size in rows[:-1]:  # the newest always stays
        if total <= max_bytes:
            break
        doomed.append(digest)
        total -= size
    session.execute(delete(ReportFile).where(ReportFile.digest.in_(doomed)))


def languages_of(session: Session, assessment_id: int) -> set[str]:
    """The languages an assessment's reports were asked for in."""
    return set(
        session.scalars(
            select(ReportFile.locale).where(ReportFile.assessment_id == assessment_id).distinct()
        )
    )


# ---------------------------------------------------------------- claims


def ask(
    sessions: sessionmaker[Session],
    digest: str,
    *,
    kind: str,
    locale: str,
    assessment_id: int | None,
) -> tuple[str | None, bool]:
    """Record that digest is wanted. Returns its state and whether a job must be deferred
    (nobody asked yet, the earlier request was lost, or the last attempt failed)."""
    now = utcnow()
    with sessions.begin() as session:
        if is_stored(session, digest):
            return None, False
        row = session.get(ReportRender, digest)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(
                        ReportRender(
                            digest=digest,
                            kind=kind,
                            locale=locale,
                            assessment_id=assessment_id,
                            state=RenderState.QUEUED,
                            requested_at=now,
                            expires_at=now + QUEUED_FOR,
                        )
                    )
            except IntegrityError:  # asked for by someone else this very moment
                return RenderState.QUEUED, False
            return RenderState.QUEUED, True
        if row.state == RenderState.FAILED or row.expires_at < now:
            session.execute(
                update(ReportRender)
                .where(ReportRender.digest == digest, ReportRender.state == row.state)
                .values(state=RenderState.QUEUED, requested_at=now, expires_at=now + QUEUED_FOR)
            )
            return row.state, True
        return row.state, False


def claim(
    sessions: sessionmaker[Session],
    digest: str,
    *,
    owner: str,
    seconds: float,
    kind: str,
    locale: str,
    assessment_id: int | None,
) -> bool:
    """Take the render of digest for owner until the claim expires; False if another live
    holder has it. The same owner (a retried job) takes its own claim back at once."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    with sessions.begin() as session:
        if is_stored(session, digest):
            return False
        taken = session.execute(
            update(ReportRender)
            .where(
                ReportRender.digest == digest,
                (ReportRender.state != RenderState.RENDERING)
                | (ReportRender.expires_at < now)
                | (ReportRender.owner == owner),
            )
            .values(
                state=RenderState.RENDERING,
                owner=owner,
                expires_at=until,
                attempts=ReportRender.attempts + 1,
                error=None,
            )
        ).rowcount
        if taken:
            return True
        if session.get(ReportRender, digest) is not None:
            return False
        try:
            with session.begin_nested():
                session.add(
                    ReportRender(
                        digest=digest,
                        kind=kind,
                        locale=locale,
                        assessment_id=assessment_id,
                        state=RenderState.RENDERING,
                        owner=owner,
                        attempts=1,
                        requested_at=now,
                        expires_at=until,
                    )
                )
        except IntegrityError:
            return False
        return True


def fail(sessions: sessionmaker[Session], digest: str, *, owner: str, error: str) -> None:
    """Mark owner's render of digest as failed: waiting downloads answer so, the next one
    asks again."""
    with sessions.begin() as session:
        session.execute(
            update(ReportRender)
            .where(ReportRender.digest == digest, ReportRender.owner == owner)
            .values(state=RenderState.FAILED, error=error[:200])
        )
    _notify()


def supersede(sessions: sessionmaker[Session], digest: str, *, by: str | None) -> None:
    """What was asked for as digest is no longer the data: point its waiters at the newer
    report `by` (None: the assessment is gone, nothing will come)."""
    with sessions.begin() as session:
        if by is None:
            session.execute(delete(ReportRender).where(ReportRender.digest == digest))
        else:
            now = utcnow()
            asked = session.get(ReportRender, digest)
            session.execute(
                update(ReportRender)
                .where(
                    ReportRender.digest == digest,
                    ReportRender.state.in_([RenderState.QUEUED, RenderState.FAILED]),
                )
                .values(state=RenderState.SUPERSEDED, superseded_by=by, expires_at=now + QUEUED_FOR)
            )
            # The newer report counts as asked for until its job claims it, so its waiters
            # see "preparing" in between, not "unknown".
            if (
                asked is not None
                and not is_stored(session, by)
                and session.get(ReportRender, by) is None
            ):
                with contextlib.suppress(IntegrityError), session.begin_nested():
                    session.add(
                        ReportRender(
                            digest=by,
                            kind=asked.kind,
                            locale=asked.locale,
                            assessment_id=asked.assessment_id,
                            state=RenderState.QUEUED,
                            requested_at=now,
                            expires_at=now + QUEUED_FOR,
                        )
                    )
    _notify()


def recent_version(
    session: Session, digest: str, *, assessment_id: int | None, kind: str, locale: str
) -> str | None:
    """The stored report a 202 answer pointed at (digest, or what superseded it), if it is
    of this assessment, kind and language and was rendered within the last minutes."""
    digest = resolve(session, digest)
    return session.scalar(
        select(ReportFile.digest).where(
            ReportFile.digest == digest,
            ReportFile.assessment_id.is_(None)
            if assessment_id is None
            else ReportFile.assessment_id == assessment_id,
            ReportFile.kind == kind,
            ReportFile.locale == locale,
            ReportFile.created_at >= utcnow() - QUEUED_FOR,
        )
    )


def resolve(session: Session, digest: str) -> str:
    """The digest a request for digest is answered with: itself, or the newer report that
    superseded it (followed a few steps, as the data may have changed more than once)."""
    for _ in range(5):
        row = session.execute(
            select(ReportRender.state, ReportRender.superseded_by).where(
                ReportRender.digest == digest
            )
        ).first()
        if row is None or row.state != RenderState.SUPERSEDED or not row.superseded_by:
            return digest
        digest = row.superseded_by
    return digest


def state(session: Session, digest: str, *, assessment_id: int | None = None) -> str:
    """ "ready", "preparing", "failed", or "unknown" (not stored, nobody working on it),
    after following supersession. With assessment_id, only a report of that assessment
    counts."""
    digest = resolve(session, digest)
    stored = select(ReportFile.digest).where(ReportFile.digest == digest)
    asked = select(ReportRender.state, ReportRender.expires_at).where(ReportRender.digest == digest)
    if assessment_id is not None:
        stored = stored.where(ReportFile.assessment_id == assessment_id)
        asked = asked.where(ReportRender.assessment_id == assessment_id)
    if session.scalar(stored) is not None:
        return "ready"
    row = session.execute(asked).first()
    if row is None:
        return "unknown"
    if row.state == RenderState.FAILED:
        return "failed"
    return "preparing" if row.expires_at >= utcnow() else "unknown"


def wait(sessions: sessionmaker[Session], digest: str, timeout: float) -> str:
    """Wait up to timeout seconds for digest to leave "preparing"; its state then."""
    deadline = time.monotonic() + timeout
    while True:
        with sessions() as session:
            found = state(session, digest)
        remaining = deadline - time.monotonic()
        if found != "preparing" or remaining <= 0:
            return found
        with _changed:
            _changed.wait(min(0.5, remaining))


def _notify() -> None:
    with _changed:
        _changed.notify_all()
