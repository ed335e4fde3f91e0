"""Benchmark of the alliance view: 10 against 200 member countries, 3 cycles each.

    .venv/bin/python benchmarks/comparisons.py            # SQLite (and PostgreSQL when
                                                          # TEST_DATABASE_URL is set)
    .venv/bin/python benchmarks/comparisons.py --no-readme  # print only

Each size gets a fresh database, migrated to head and filled in bulk (executemany, not the
API) with assessments answered on the full catalogue. The members dashboard, heatmap,
aggregates and trends endpoints are then timed through the real application (TestClient)
and their SQL statements counted ("before_cursor_execute"). The table and the ratios are
printed and written to benchmarks/README.md under "## Alliance view".

The seeding helpers below are also what the tests use to build their memberships.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, insert, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.assessments.models import Answer, Assessment, Status
from app.catalogue import service as catalogue_service
from app.catalogue.models import CatalogueVersion
from app.comparisons.models import SharingSettings
from app.core.db import utcnow
from app.countries.models import Country

README = Path(__file__).parent / "README.md"
HEADING = "## Alliance view"
SIZES = (10, 200)
CYCLES = ("2024", "2025", "2026")
REPEATS = 7
ENDPOINTS = (
    ("members dashboard", "/api/v1/alliance/members?cycle=2026"),
    ("heatmap", "/api/v1/alliance/heatmap?cycle=2026"),
    ("aggregates", "/api/v1/alliance/aggregates?cycle=2026"),
    ("trends", "/api/v1/alliance/trends"),
)

# A level for every indicator of a capability, per capability, or per indicator.
LevelSpec = int | Mapping[str, int] | Callable[[str, str], int]


@dataclass(frozen=True, slots=True)
class Seed:
    """One country's assessment for one cycle, to insert in bulk."""

    country_code: str
    cycle: str
    status: str = Status.VALIDATED.value
    levels: LevelSpec = 2
    answered: float = 1.0  # share of the indicators answered, in catalogue order
    include_in_aggregates: bool | None = True  # None: no sharing row, the default applies
    days_ago: int = 10  # when it was last worked on


def _level(spec: LevelSpec, capability_id: str, indicator_id: str) -> int:
    if isinstance(spec, int):
        return spec
    if callable(spec):
        return spec(capability_id, indicator_id)
    return spec.get(capability_id, 0)


def seed(session: Session, seeds: Sequence[Seed], *, now: datetime | None = None) -> dict:
    """Insert the seeds' countries as members, their sharing rows, assessments and answers.

    Returns the new assessment ids by (country code, cycle). Runs a handful of statements
    whatever the number of seeds: answers go in one executemany.
    """
    now = now or utcnow()
    version = session.scalar(select(CatalogueVersion).order_by(CatalogueVersion.id.desc()))
    assert version is not None, "start the application once so the catalogue is stored"
    catalogue = catalogue_service.catalogue_for_version(session, version.id)
    codes = sorted({item.country_code for item in seeds})
    ids = dict(
        session.execute(select(Country.code, Country.id).where(Country.code.in_(codes))).all()
    )
    missing = set(codes) - set(ids)
    assert not missing, f"unknown country codes: {sorted(missing)}"
    session.execute(update(Country).where(Country.code.in_(codes)).values(is_member=True))

    choices = {item.country_code: item.include_in_aggregates for item in seeds}
    wanted = {code: choice for code, choice in choices.items() if choice is not None}
    existing = set(
        session.scalars(
            select(SharingSettings.country_id).where(
                SharingSettings.country_id.in_([ids[code] for code in wanted])
            )
        )
    )
    new_rows = [
        {"country_id": ids[code], "include_in_aggregates": choice, "updated_at": now}
        for code, choice in wanted.items()
        if ids[code] not in existing
    ]
    if new_rows:
        session.execute(insert(SharingSettings), new_rows)
    for code, choice in wanted.items():
        if ids[code] in existing:
            session.execute(
                update(SharingSettings)
                .where(SharingSettings.country_id == ids[code])
                .values(include_in_aggregates=choice)
            )

    assessment_rows = []
    for item in seeds:
        moment = now - timedelta(days=item.days_ago)
        signed = item.status in (Status.SUBMITTED, Status.VALIDATED, Status.RETURNED)
        assessment_rows.append(
            {
                "country_id": ids[item.country_code],
                "cycle": item.cycle,
                "catalogue_version_id": version.id,
                "status": item.status,
                "created_at": moment - timedelta(days=30),
                "updated_at": moment,
                "submitted_at": moment if signed else None,
                "validated_at": moment if item.status == Status.VALIDATED else None,
            }
        )
    inserted = session.execute(
        insert(Assessment).returning(Assessment.id, sort_by_parameter_order=True),
        assessment_rows,
    ).scalars()
    new_ids = list(inserted)

    keys = catalogue.indicator_keys()
    answer_rows = []
    for item, assessment_id in zip(seeds, new_ids, strict=True):
        for capability_id, indicator_id in keys[: round(item.answered * len(keys))]:
            answer_rows.append(
                {
                    "assessment_id": assessment_id,
                    "capability_id": capability_id,
                    "indicator_id": indicator_id,
                    "response": "level",
                    "level": _level(item.levels, capability_id, indicator_id),
                    "updated_at": now,
                }
            )
    if answer_rows:
        session.execute(insert(Answer), answer_rows)
    session.flush()
    return {
        (item.country_code, item.cycle): assessment_id
        for item, assessment_id in zip(seeds, new_ids, strict=True)
    }


def real_country_codes(session: Session, count: int) -> list[str]:
    """The first `count` real (non-demo) countries by code."""
    codes = session.scalars(
        select(Country.code).where(Country.is_demo.is_(False)).order_by(Country.code).limit(count)
    )
    return list(codes)


def membership(
    codes: Sequence[str], cycles: Sequence[str], capabilities: Sequence[str], *, rng: random.Random
) -> list[Seed]:
    """A plausible membership: mostly signed off, some drafts, most opted in to aggregates."""
    seeds = []
    statuses = [Status.VALIDATED] * 5 + [Status.SUBMITTED] * 2 + [Status.DRAFT, Status.RETURNED]
    for code in codes:
        include = rng.random() < 0.8
        for cycle in cycles:
            status = rng.choice(statuses).value
            seeds.append(
                Seed(
                    country_code=code,
                    cycle=cycle,
                    status=status,
                    levels={capability: rng.randint(0, 4) for capability in capabilities},
                    answered=1.0 if status != Status.DRAFT else rng.uniform(0.2, 0.9),
                    include_in_aggregates=include,
                    days_ago=rng.randint(0, 120),
                )
            )
    return seeds


def api_token(session: Session, role: str = "secretariat", country_code: str | None = None) -> str:
    """A new user's API token (the user has no password: it never logs in)."""
    tag = uuid.uuid4().hex[:8]
    user = accounts.create_user(
        session,
        email=f"{role}-{tag}@example.org",
        full_name=f"{role.title()} {tag}",
        role=role,
        country_code=country_code,
    )
    token, _ = accounts.issue_api_token(session, user=user, name="benchmark")
    return token


class QueryCounter:
    """Counts the SQL statements an engine sends while active."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.count = 0

    def _seen(self, _conn, _cursor, statement: str, *_args) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's explicit transaction start
            self.count += 1

    def __enter__(self) -> QueryCounter:
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


def build_app(url: str):
    """The real application on url, with the comparisons API mounted if not yet wired."""
    from app.comparisons.router import router
    from app.core.config import Settings
    from app.main import create_app

    application = create_app(Settings(database_url=url))
    paths = {getattr(route, "path", "") for route in application.routes}
    if "/api/v1/alliance/members" not in paths:
        application.include_router(router, prefix="/api/v1")
    return application


# ---------------------------------------------------------------- the benchmark


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A fresh, migrated database URL on backend, dropped afterwards."""
    from app.core import migrate

    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            migrate.upgrade(url)
            yield url
        return
    server = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    name = f"gsr_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = server.set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True, slots=True)
class Measurement:
    backend: str
    countries: int
    endpoint: str
    milliseconds: float  # median of REPEATS
    queries: int
    seed_seconds: float


def measure(backend: str, countries: int) -> list[Measurement]:
    from fastapi.testclient import TestClient

    with database(backend) as url, TestClient(build_app(url)) as client:
        started = time.perf_counter()
        with client.app.state.sessionmaker.begin() as session:
            codes = real_country_codes(session, countries)
            capabilities = [c.id for c in client.app.state.catalogue.catalogue.capabilities()]
            rng = random.Random(countries)
            seed(session, membership(codes, CYCLES, capabilities, rng=rng))
            token = api_token(session)
        seeded = time.perf_counter() - started
        headers = {"Authorization": f"Bearer {token}"}
        results = []
        for name, path in ENDPOINTS:
            assert client.get(path, headers=headers).status_code == 200  # warm-up
            timings = []
            for _ in range(REPEATS):
                with QueryCounter(client.app.state.engine) as counter:
                    start = time.perf_counter()
                    response = client.get(path, headers=headers)
                    timings.append(time.perf_counter() - start)
                assert response.status_code == 200, response.text
            results.append(
                Measurement(
                    backend,
                    countries,
                    name,
                    statistics.median(timings) * 1000,
                    counter.count,
                    seeded,
                )
            )
        return results


def table(results: Sequence[Measurement]) -> str:
    small, large = SIZES
    lines = [
        f"| backend | endpoint | ms @{small} | ms @{large} | time ratio "
        f"| queries @{small} | queries @{large} |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    found = {(r.backend, r.countries, r.endpoint): r for r in results}
    for backend in dict.fromkeys(r.backend for r in results):
        for name, _ in ENDPOINTS:
            low, high = found[(backend, small, name)], found[(backend, large, name)]
            lines.append(
                f"| {backend} | {name} | {low.milliseconds:.1f} | {high.milliseconds:.1f} "
                f"| {high.milliseconds / low.milliseconds:.1f}× | {low.queries} "
                f"| {high.queries} |"
            )
    return "\n".join(lines)


def write_readme(report: str) -> None:
    """Put the results under our heading, leaving every other section of the file as it is."""
    section = f"{HEADING}\n\n{report}\n"
    if not README.exists():
        README.write_text(f"# Benchmarks\n\n{section}", encoding="utf-8")
        return
    current = README.read_text(encoding="utf-8")
    if HEADING not in current:
        with README.open("a", encoding="utf-8") as handle:
            handle.write(("\n" if current.endswith("\n") else "\n\n") + section)
        return
    # Replace only our own section: from our heading to the next heading of the same level.
    before, _, rest = current.partition(HEADING)
    _, separator, after = rest.partition("\n## ")
    README.write_text(before + section + (f"\n## {after}" if separator else ""), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-readme", action="store_true", help="print only")
    args = parser.parse_args(argv)
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
    results = []
    seeding = []
    for backend in backends:
        for size in SIZES:
            found = measure(backend, size)
            results += found
            seeding.append(
                f"{backend}: {size} countries × {len(CYCLES)} cycles seeded in "
                f"{found[0].seed_seconds:.2f} s"
            )
    body = table(results)
    python = sys.version.split()[0]
    report = "\n".join(
        [
            f"Measured {datetime.now().date().isoformat()} with `benchmarks/comparisons.py` "
            f"(Python {python}); median of {REPEATS} requests through TestClient, after one "
            "warm-up; queries counted per request, authentication included.",
            "",
            body,
            "",
            *(f"- {line}" for line in seeding),
            "- Query counts do not depend on the number of countries: each page section is "
            "one query (tests/comparisons/test_comparisons_queries.py asserts it). Time grows "
            "with the rows scored and serialised.",
        ]
    )
    print(report)
    if not args.no_readme:
        write_readme(report)
        print(f"\nwritten to {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
