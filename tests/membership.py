"""Crafted memberships for the alliance view, its reports and its pages: one helper for all.

A module that turns countries into members gets a database of its own (the shared test
database must not see them), copied from a template migrated once per backend, and the real
application on it. Levels are chosen so that figures can be checked by hand and so that
ordering rows by score would differ from ordering them by name.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.core.config import ReportSettings, Settings
from app.main import create_app
from benchmarks.comparisons import Seed, api_token
from tests.conftest import BACKENDS

__all__ = ["BACKENDS", "CYCLE", "MEMBERS", "member_seeds", "membership_client", "tokens", "users"]

CYCLE = "2031"

# code: (every capability's level, legislation's level, status, sharing choice)
MEMBERS: dict[str, tuple[int, int, str, bool | None]] = {
    # Europe and Central Asia, all high income: 6 countries counted
    "FRA": (3, 0, "validated", True),
    "DEU": (2, 1, "submitted", True),
    "ITA": (1, 2, "validated", True),
    "ESP": (4, 2, "validated", True),
    "PRT": (0, 3, "validated", True),
    "NLD": (2, 4, "validated", True),
    # Latin America: 5 counted (Chile high income, the others upper-middle), withheld all the
    # same where publishing them would give Sub-Saharan Africa away by subtraction
    "BRA": (2, 1, "validated", True),
    "ARG": (3, 1, "validated", True),
    "CHL": (1, 4, "validated", True),
    "COL": (2, 3, "validated", True),
    "MEX": (4, 0, "validated", True),
    # Sub-Saharan Africa, lower-middle income: 2 counted, too few to publish
    "KEN": (1, 2, "submitted", True),
    "NGA": (0, 3, "validated", True),
    # members that must not count: opted out, a half-answered draft, no choice made
    "GHA": (4, 4, "validated", False),
    "PER": (4, 4, "draft", True),
    "JPN": (4, 4, "validated", None),
}

Members = Mapping[str, tuple[int, int, str, bool | None]]
People = Mapping[str, tuple[str, str | None]]  # who: (role, country code)


def member_seeds(client: TestClient, members: Members = MEMBERS, cycle: str = CYCLE) -> list[Seed]:
    """One assessment per member for cycle, each a day older than the one before it."""
    capabilities = [c.id for c in client.app.state.catalogue.catalogue.capabilities()]
    return [
        Seed(
            code,
            cycle,
            status=status,
            levels={c: base for c in capabilities} | {"legislation": legislation},
            answered=0.5 if status == "draft" else 1.0,
            include_in_aggregates=choice,
            days_ago=index,
        )
        for index, (code, (base, legislation, status, choice)) in enumerate(members.items())
    ]


@contextmanager
def membership_client(
    make_migrated_database, backend: str, *, renderer=None, demo_mode: bool = False
) -> Iterator[TestClient]:
    """The started application on a database of its own, with a report renderer if given.

    The renderer is lent: it is taken back before the application stops, which would close it.
    """
    database = make_migrated_database(backend)
    # Downloads wait for their render (one request, one PDF); nothing renders unasked.
    reports = ReportSettings(download_wait=300, prepare_delay=3600)
    application = create_app(
        Settings(
            database_url=database.url,
            demo_mode=demo_mode,
            reports=reports,
            jobs={"runner": "threads"},  # no `gsr worker` here, on PostgreSQL either
        )
    )
    application.state.report_renderer = renderer
    with TestClient(application) as client:
        try:
            yield client
        finally:
            application.state.report_renderer = None


def tokens(session: Session, people: People) -> dict[str, str]:
    """An API token for each person, as a new user without a password."""
    return {who: api_token(session, role, country) for who, (role, country) in people.items()}


def users(session: Session, people: People, password: str) -> dict[str, str]:
    """A new user with password for each person: their e-mail addresses, by who."""
    emails = {}
    for who, (role, country) in people.items():
        email = f"{who}-{uuid.uuid4().hex[:6]}@example.org"
        accounts.create_user(
            session,
            email=email,
            full_name=f"{who.title()} Person",
            role=role,
            country_code=country,
            password=password,
        )
        emails[who] = email
    return emails
