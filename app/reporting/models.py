"""The shared report store: rendered PDFs keyed by a digest of what they show, and the claim
rows that keep two processes from rendering the same report at once."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, utcnow


class RenderState(StrEnum):
    QUEUED = "queued"  # asked for; a job is on its way
    RENDERING = "rendering"  # claimed by one process until expires_at
    FAILED = "failed"  # the last attempt failed; the next request tries again
    # The data changed before the render began: the job rendered the newer data, under the
    # digest in superseded_by, which is what this request gets.
    SUPERSEDED = "superseded"


class ReportFile(Base):
    """One rendered PDF. The digest covers the data shown, the catalogue, the templates and
    styles, the language and the application version, so a row can never be served for
    other data, whatever happened to the ids (a restore, a reset)."""

    __tablename__ = "report_files"
    __table_args__ = (Index(None, "assessment_id", "kind", "locale"),)

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    locale: Mapped[str] = mapped_column(String(10))
    # Which assessment it belongs to, for pruning; None for the membership brief.
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE")
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    render_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportRender(Base):
    """A report asked for or being rendered: at most one per digest, so one render."""

    __tablename__ = "report_renders"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    locale: Mapped[str] = mapped_column(String(10))
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE")
    )
    state: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A claim whose holder died is taken over once this has passed.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(String(200))
    superseded_by: Mapped[str | None] = mapped_column(String(64))
