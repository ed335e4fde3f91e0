"""Calendar days in the right time zone: never the server's local date.

Countries sign off and plan in their own time zones, from UTC-12 to UTC+14. A date is in
the future only when it has not yet begun anywhere; "today" for shared figures (reports,
overdue actions) is the UTC date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# The earliest and latest time zones in use (Baker Island, Line Islands).
EARLIEST_OFFSET = timedelta(hours=-12)
LATEST_OFFSET = timedelta(hours=14)


def utc_today() -> date:
    """Today's date in UTC."""
    return datetime.now(UTC).date()


def latest_today() -> date:
    """The latest date that has already begun somewhere on Earth (UTC+14)."""
    return (datetime.now(UTC) + LATEST_OFFSET).date()
