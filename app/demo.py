"""Demo data: fictional countries on private-use codes, so a new user sees a living system."""

from __future__ import annotations

from collections.abc import Iterator

from app.catalogue import service as catalogue_service
from app.catalogue.loader import load_catalogue
from app.core.config import get_settings
from app.core.db import make_engine, session_factory
from app.countries import service as country_service


def load_demo() -> Iterator[str]:
    """Seed the demo data into the configured database; safe to run again."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine).begin() as session:
            loaded = load_catalogue(settings.catalogue_path)
            version = catalogue_service.register_version(session, loaded)
            yield f"catalogue {loaded.catalogue.version} stored as version {version.id}"
            country_service.sync_countries(session)
            for record in country_service.DEMO_COUNTRIES:
                country = country_service.get_by_code(session, record.code)
                country.is_member = True
            yield f"demo countries: {', '.join(r.name for r in country_service.DEMO_COUNTRIES)}"
    finally:
        engine.dispose()
