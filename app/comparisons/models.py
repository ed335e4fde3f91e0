"""What each country agrees to share: anonymised aggregates, and named peers."""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, UTCDateTime, utcnow


class SharingSettings(Base):
    """A country's sharing choices. No row means the default: secretariat only."""

    __tablename__ = "sharing_settings"

    country_id: Mapped[int] = mapped_column(ForeignKey("countries.id"), primary_key=True)
    include_in_aggregates: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PeerConsent(Base):
    """Country `country_id` agrees to share its levels with `peer_id`.

    Two countries see each other only when each has given consent to the other.
    """

    __tablename__ = "peer_consents"
    __table_args__ = (
        UniqueConstraint("country_id", "peer_id"),
        CheckConstraint("country_id <> peer_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    country_id: Mapped[int] = mapped_column(ForeignKey("countries.id"), index=True)
    peer_id: Mapped[int] = mapped_column(ForeignKey("countries.id"), index=True)
    given_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
