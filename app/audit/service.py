"""Write and read the audit log. Details carry ids and states, never answer content."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.core.db import write_beside

if TYPE_CHECKING:
    from app.accounts.models import User


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    country_id: int | None = None,
    assessment_id: int | None = None,
    target: tuple[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        country_id=country_id,
        assessment_id=assessment_id,
        target_type=target[0] if target else None,
        target_id=str(target[1]) if target else None,
        details=details or {},
    )
    writer = write_beside(session)
    if writer is not None:
        # A read (a download, an export) is recorded in a short transaction of its own.
        with writer.begin() as own:
            own.add(event)
        return event
    session.add(event)
    return event


def events(
    session: Session, *, assessment_id: int | None = None, limit: int = 200
) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if assessment_id is not None:
        query = query.where(AuditEvent.assessment_id == assessment_id)
    return list(session.scalars(query))
