"""Application factory: wiring only."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import inspect

import app
from app import jobs
from app.accounts.router import router as accounts_router
from app.actionplan.router import router as actionplan_router
from app.assessments.router import router as assessments_router
from app.catalogue import service as catalogue_service
from app.catalogue.loader import load_catalogue
from app.catalogue.router import router as catalogue_router
from app.comparisons.router import router as comparisons_router
from app.core import compression, db_answers, handlers, headers
from app.core.config import Settings, get_settings
from app.core.db import make_engine, make_sessions
from app.core.health import router as health_router
from app.countries import service as country_service
from app.jobs import queue as job_queue
from app.portability.router import router as portability_router
from app.reporting.results_router import router as results_router
from app.reporting.router import alliance_router as alliance_reports_router
from app.reporting.router import pages as report_pages
from app.reporting.router import router as reports_router
from app.web import router as web

logger = logging.getLogger("gsr")


class DatabaseNotReady(RuntimeError):
    pass


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for settings (the environment's by default)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, database=settings.database)
        application.state.engine = engine
        application.state.sessions = make_sessions(engine)
        # Writing sessions, for start-up work and for tests that seed data.
        application.state.sessionmaker = application.state.sessions.write
        _prepare(application, settings)
        application.state.jobs = job_queue.start(
            engine, sessions=application.state.sessions, settings=settings, state=application.state
        )
        jobs.defer(application, "reports.sweep", key="reports.sweep", delay=1.0)
        yield
        application.state.jobs.close()
        jobs.detach(engine)
        renderer = getattr(application.state, "report_renderer", None)
        if renderer is not None:
            renderer.close()
        engine.dispose()

    # The API explorer's scripts are served from the package, never from a CDN.
    application = FastAPIOffline(
        title="gsr-assess",
        version=app.__version__,
        summary="National self-assessment against the Global Strategic Response",
        lifespan=lifespan,
    )
    application.state.settings = settings
    application.include_router(health_router)
    handlers.install(application)
    db_answers.install(application)
    headers.install(application)
    application.include_router(catalogue_router, prefix="/api/v1")
    application.include_router(accounts_router, prefix="/api/v1")
    application.include_router(assessments_router, prefix="/api/v1")
    application.include_router(actionplan_router, prefix="/api/v1")
    application.include_router(comparisons_router, prefix="/api/v1")
    application.include_router(portability_router, prefix="/api/v1")
    application.include_router(reports_router, prefix="/api/v1")
    application.include_router(alliance_reports_router, prefix="/api/v1")
    application.include_router(report_pages)
    application.include_router(results_router, prefix="/api/v1")
    web.install(application)
    application.include_router(web.router)
    # Outermost of our middleware: error pages and security headers are compressed too.
    compression.install(application)
    return application


def _prepare(application: FastAPI, settings: Settings) -> None:
    """Load and store the catalogue, refresh reference data; refuse to start if unusable."""
    loaded = load_catalogue(settings.catalogue_path)
    with application.state.sessionmaker.begin() as session:
        if not inspect(session.connection()).has_table("alembic_version"):
            raise DatabaseNotReady("the database has no schema yet: run `gsr db upgrade` first")
        version = catalogue_service.register_version(session, loaded)
        country_service.sync_countries(session, include_demo=settings.demo_mode)
        application.state.catalogue = loaded
        application.state.catalogue_version_id = version.id
    logger.info(
        "catalogue %s %s loaded (%s)",
        loaded.catalogue.id,
        loaded.catalogue.version,
        loaded.content_hash,
    )
