"""Server-rendered pages: routes from app/web/pages, static assets and error pages.

Security headers (CSP, no caching, no framing) come from app/core/headers.py for every
response, pages included.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from app.web.assets import FingerprintedStaticFiles
from app.web.pages import (
    account,
    alliance,
    assessment,
    auth,
    dashboard,
    plan,
    questionnaire,
    reports,
    results,
    sharing,
    workbook,
)
from app.web.pages.common import STATIC_DIR, render_error

router = APIRouter(include_in_schema=False)
for pages in (
    auth,
    dashboard,
    assessment,
    questionnaire,
    account,
    alliance,
    sharing,
    plan,
    workbook,
    results,
    reports,
):
    router.include_router(pages.router)


def install(app: FastAPI) -> None:
    """Mount static assets (fingerprinted, see app/web/assets.py) and the page error renderer
    (app/core/handlers.py calls it)."""
    app.mount("/static", FingerprintedStaticFiles(directory=STATIC_DIR), name="static")
    app.state.render_error = render_error
