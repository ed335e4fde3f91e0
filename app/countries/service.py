"""Reference data for countries: ISO 3166-1 from pycountry, groups from a data file."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pycountry
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.countries.models import Country

DATA_FILE = Path(__file__).parent / "data" / "country_groups.csv"

REGIONS = (
    "East Asia and Pacific",
    "Europe and Central Asia",
    "Latin America and the Caribbean",
    "Middle East and North Africa",
    "North America",
    "South Asia",
    "Sub-Saharan Africa",
)
INCOME_GROUPS = (
    "Low income",
    "Lower-middle income",
    "Upper-middle income",
    "High income",
    "Not classified",
)


@dataclass(frozen=True)
class CountryRecord:
    code: str
    alpha2: str
    name: str
    region: str
    income_group: str
    is_demo: bool = False


# Fictional countries for demonstration, on ISO 3166-1 user-assigned (private-use) codes,
# so they can never collide with a real country.
DEMO_COUNTRIES = (
    CountryRecord("XAA", "XA", "Arvenia (demo)", "Europe and Central Asia", "High income", True),
    CountryRecord("XAB", "XB", "Belmora (demo)", "Sub-Saharan Africa", "Lower-middle income", True),
    CountryRecord(
        "XAC", "XC", "Corvania (demo)", "East Asia and Pacific", "Upper-middle income", True
    ),
)


@lru_cache
def _groups() -> dict[str, tuple[str, str]]:
    with DATA_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    groups = {}
    for row in rows:
        if row["region"] not in REGIONS or row["income_group"] not in INCOME_GROUPS:
            raise ValueError(
                f"{DATA_FILE.name}: unknown region or income group for {row['alpha3']}"
            )
        groups[row["alpha3"]] = (row["region"], row["income_group"])
    return groups


def iso_countries() -> list[CountryRecord]:
    """Every ISO 3166-1 country with its region and income group."""
    groups = _groups()
    records = []
    for country in pycountry.countries:
        region, income = groups.get(country.alpha_3, ("Not classified", "Not classified"))
        name = getattr(country, "common_name", None) or country.name
        records.append(CountryRecord(country.alpha_3, country.alpha_2, name, region, income))
    return records


def sync_countries(session: Session, *, include_demo: bool = True) -> int:
    """Insert or update every known country; returns how many rows changed."""
    wanted = iso_countries() + (list(DEMO_COUNTRIES) if include_demo else [])
    existing = {c.code: c for c in session.scalars(select(Country))}
    changed = 0
    for record in wanted:
        row = existing.get(record.code)
        if row is None:
            session.add(Country(**record.__dict__))
            changed += 1
            continue
        for field, value in record.__dict__.items():
            if getattr(row, field) != value:
                setattr(row, field, value)
                changed += 1
    session.flush()
    return changed


def get_by_code(session: Session, code: str) -> Country | None:
    return session.scalar(select(Country).where(Country.code == code.upper()))


def members(session: Session) -> list[Country]:
    """The alliance's member countries (reference data: names and codes, no results)."""
    return list(session.scalars(select(Country).where(Country.is_member.is_(True))))
