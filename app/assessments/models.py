"""Assessments and what officials put in them: answers and their history, targets,
area assignments, comments and the action plan."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalogue.models import CatalogueVersion
from app.core.db import Base, UTCDateTime, utcnow
from app.countries.models import Country


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    VALIDATED = "validated"


class Response(StrEnum):
    LEVEL = "level"
    NOT_APPLICABLE = "not_applicable"
    UNKNOWN = "unknown"


class Confidence(StrEnum):
    SELF_REPORTED = "self_reported"
    DOCUMENTED = "documented"
    VERIFIED = "verified"


class ActionStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


def _values(enum: type[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum)


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("country_id", "cycle"),
        CheckConstraint(f"status IN ({_values(Status)})", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    country_id: Mapped[int] = mapped_column(ForeignKey("countries.id"), index=True)
    cycle: Mapped[str] = mapped_column(String(20))
    catalogue_version_id: Mapped[int] = mapped_column(ForeignKey("catalogue_versions.id"))
    status: Mapped[str] = mapped_column(String(20), default=Status.DRAFT)
    deadline: Mapped[date | None] = mapped_column(Date)
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="SET NULL")
    )
    # Bumped on every change to the assessment's content; report caches key on it.
    revision: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signoff_name: Mapped[str | None] = mapped_column(String(200))
    signoff_position: Mapped[str | None] = mapped_column(String(200))
    signoff_date: Mapped[date | None] = mapped_column(Date)

    country: Mapped[Country] = relationship(lazy="raise")
    catalogue_version: Mapped[CatalogueVersion] = relationship(lazy="raise")


class AreaAssignment(Base):
    """A contributor may edit the answers of the areas assigned to them."""

    __tablename__ = "area_assignments"
    __table_args__ = (UniqueConstraint("assessment_id", "area_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    area_id: Mapped[str] = mapped_column(String(60))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Answer(Base):
    """The current answer to one indicator. `version` guards against lost updates."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("assessment_id", "capability_id", "indicator_id"),
        CheckConstraint(f"response IN ({_values(Response)})", name="response_known"),
        CheckConstraint(
            "(response = 'level') = (level IS NOT NULL)", name="level_iff_level_response"
        ),
        CheckConstraint(
            f"confidence IS NULL OR confidence IN ({_values(Confidence)})", name="confidence_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    capability_id: Mapped[str] = mapped_column(String(60))
    indicator_id: Mapped[str] = mapped_column(String(60))
    response: Mapped[str] = mapped_column(String(20))
    level: Mapped[int | None] = mapped_column(SmallInteger)
    justification: Mapped[str] = mapped_column(Text, default="")
    evidence_notes: Mapped[str] = mapped_column(Text, default="")
    evidence_links: Mapped[list[str]] = mapped_column(JSON, default=list)
    confidence: Mapped[str | None] = mapped_column(String(20))
    carried_over: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnswerChange(Base):
    """One change to an answer: who, when, from where, old value -> new value."""

    __tablename__ = "answer_changes"
    __table_args__ = (UniqueConstraint("answer_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer, comment="the answer's version after the change")
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(
        String(20), comment="web, api, workbook, import, carry-over"
    )
    old_value: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new_value: Mapped[dict[str, Any]] = mapped_column(JSON)


class Target(Base):
    """The level a country aims for in a capability, set by its coordinator."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("assessment_id", "capability_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    capability_id: Mapped[str] = mapped_column(String(60))
    level: Mapped[int] = mapped_column(SmallInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Every UPDATE checks the version it read (WHERE version = :read), so two overlapping
    # edits never both land; the service raises it for each change (and imports keep theirs).
    __mapper_args__: ClassVar[dict] = {"version_id_col": version, "version_id_generator": False}
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Comment(Base):
    """A discussion comment on an indicator, or a review comment on a capability."""

    __tablename__ = "comments"
    __table_args__ = (CheckConstraint("kind IN ('discussion', 'review')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    capability_id: Mapped[str] = mapped_column(String(60))
    indicator_id: Mapped[str | None] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20), default="discussion")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActionItem(Base):
    """One item of the action plan: drafted from the catalogue's step actions or added by hand."""

    __tablename__ = "action_items"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(ActionStatus)})", name="status_known"),
        CheckConstraint("origin IN ('catalogue', 'manual')", name="origin_known"),
        CheckConstraint("horizon IN ('short', 'medium', 'long')", name="horizon_known"),
        CheckConstraint("cost_amount IS NULL OR cost_amount >= 0", name="cost_not_negative"),
        CheckConstraint(
            "(cost_amount IS NULL AND cost_currency IS NULL)"
            " OR (cost_amount IS NOT NULL AND cost_currency IS NOT NULL)",
            name="cost_has_currency",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    origin: Mapped[str] = mapped_column(String(20))
    capability_id: Mapped[str | None] = mapped_column(String(60))
    step_level: Mapped[int | None] = mapped_column(SmallInteger)
    action_index: Mapped[int | None] = mapped_column(SmallInteger)
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    lead_sector: Mapped[str | None] = mapped_column(String(60))
    owner_agency: Mapped[str] = mapped_column(String(200), default="")
    horizon: Mapped[str] = mapped_column(String(10))
    due_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=ActionStatus.PLANNED)
    notes: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    edited_by_user: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Every UPDATE checks the version it read (WHERE version = :read), so two overlapping
    # edits never both land; the service raises it for each change (and imports keep theirs).
    __mapper_args__: ClassVar[dict] = {"version_id_col": version, "version_id_generator": False}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An indicative cost, in whole units of an ISO 4217 currency (budgets are discussed in
    # whole units, and currencies differ in their minor units); never summed across currencies.
    cost_amount: Mapped[int | None] = mapped_column(BigInteger)
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    funding_source: Mapped[str] = mapped_column(String(300), default="", server_default="")


class ReviewFlag(Base):
    """An indicator someone of the country's team marked for review: a note to the team,
    not part of the answer, so setting or clearing it changes neither the answer nor the
    assessment's revision. Cleared (deleted) by whoever resolves it; the audit log keeps
    who set and who cleared it."""

    __tablename__ = "review_flags"
    __table_args__ = (UniqueConstraint("assessment_id", "capability_id", "indicator_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), index=True
    )
    capability_id: Mapped[str] = mapped_column(String(60))
    indicator_id: Mapped[str] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(String(500), default="")
    flagged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
