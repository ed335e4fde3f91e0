"""Every ISO 3166-1 country, with its region and income group, plus demo countries."""

import pycountry
from sqlalchemy import func, select

from app.countries import service
from app.countries.models import Country


def test_every_iso_country_has_a_region_and_income_group():
    records = {record.code: record for record in service.iso_countries()}
    assert set(records) == {country.alpha_3 for country in pycountry.countries}
    assert records["KEN"].region == "Sub-Saharan Africa"
    assert records["IND"].income_group == "Lower-middle income"
    assert records["FRA"].income_group == "High income"
    assert all(record.region in service.REGIONS for record in records.values())


def test_demo_countries_use_private_use_codes():
    real = {country.alpha_3 for country in pycountry.countries}
    for demo in service.DEMO_COUNTRIES:
        assert demo.code.startswith("X") and demo.code not in real
        assert "(demo)" in demo.name


def test_sync_is_idempotent(session):
    service.sync_countries(session)
    count = session.scalar(select(func.count()).select_from(Country))
    assert count == len(pycountry.countries) + len(service.DEMO_COUNTRIES)
    assert service.sync_countries(session) == 0
    assert service.get_by_code(session, "xaa").is_demo
