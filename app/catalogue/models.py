"""Stored catalogue versions: every version an assessment may be pinned to."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, utcnow


class CatalogueVersion(Base):
    __tablename__ = "catalogue_versions"
    __table_args__ = (UniqueConstraint("catalogue_key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    catalogue_key: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(40))
    content_hash: Mapped[str] = mapped_column(String(80), index=True)
    # Large, and only read when a version is first rebuilt in a process (see
    # catalogue_for_version): never loaded with the rows that name a version.
    content: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
