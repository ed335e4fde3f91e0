"""Server-rendered pages: routes from app/web/pages, static assets and error pages.

Security headers (CSP, no caching, no framing) come from app/core/headers.py for every
response, pages included.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.web.pages import (
    account,
    alliance,
    assessment,
    auth,
    dashboard,
    plan,
    questionnaire,
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
):
    router.include_router(pages.router)


def _is_page(request: Request) -> bool:
    path = request.url.path
    return not path.startswith(("/api/", "/static/", "/docs", "/redoc", "/openapi.json"))


def install(app: FastAPI) -> None:
    """Mount static assets and the page error renderer."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.state.render_error = render_error

    @app.exception_handler(StarletteHTTPException)
    async def page_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_page(request) and exc.status_code in (404, 405):
            return render_error(request, exc)
        return await http_exception_handler(request, exc)
