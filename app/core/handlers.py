"""Errors as answers: JSON naming the field and the reason for the API; pages for the web.

Every error has one shape, whoever raises it (a service, request validation, the router,
the body parser or an unexpected failure):

    {"error": {"code": ..., "message": ..., "field": ...?, "fields": [{"field", "reason"}]}}
"""

from __future__ import annotations

import logging
import traceback
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import DomainError, NotAuthenticated

logger = logging.getLogger("gsr.errors")

# Paths answered in JSON even without /api/: the explorer, the schema and static files.
_NOT_PAGES = ("/api/", "/static/", "/docs", "/redoc", "/openapi.json")
_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "throttled",
}
_LOCATIONS = ("body", "query", "path", "form", "header", "cookie")
INTERNAL_MESSAGE = "something went wrong on our side; the error is logged, please try again later"


def error_body(
    code: str,
    message: str,
    *,
    field: str | None = None,
    fields: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The one error shape; a single field becomes both `field` and the one `fields` entry."""
    if fields is None:
        fields = [{"field": field, "reason": message}] if field else []
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    error["fields"] = fields
    error.update(extra)
    return {"error": error}


def _is_page(request: Request) -> bool:
    return hasattr(request.app.state, "render_error") and not request.url.path.startswith(
        _NOT_PAGES
    )


def _field_of(error: dict[str, Any]) -> str:
    """The parameter or body field an error is about: 'cycle', 'comments.CAP-1', 'body'."""
    location = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        return "body"  # the rest of the location is a character offset, not a field
    parts = [str(part) for part in location[1:] if part != "[key]"]
    if location and location[0] not in _LOCATIONS:
        parts = [str(part) for part in location]
    return ".".join(parts) or (str(location[0]) if location else "body")


def _reason_of(error: dict[str, Any], request: Request) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "the body is not valid JSON"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if tuple(error.get("loc", ())) == ("body",) and kind in ("model_attributes_type", "dict_type"):
        if "json" not in request.headers.get("content-type", ""):
            return "send a JSON object with Content-Type: application/json"
        return "send a JSON object"
    if kind == "missing" and tuple(error.get("loc", ())) == ("body",):
        return "a JSON body is required"
    return message


def validation_fields(exc: RequestValidationError, request: Request) -> list[dict[str, str]]:
    fields = []
    for error in exc.errors():
        field = _field_of(error)
        message = _reason_of(error, request)
        # Model-level rules name their field at the start of the message ("level: ...").
        head, sep, rest = message.partition(": ")
        if sep and "." not in field and head.isidentifier():
            field, message = head, rest
        fields.append({"field": field, "reason": message})
    return fields


def _plain_500() -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><title>Something went wrong</title><h1>Something went wrong</h1>"
        "<p>The error is logged. Please try again later.</p>",
        status_code=500,
    )


def internal_error_response(request: Request) -> Response:
    """The answer to an unexpected failure: nothing of the request or the error in it."""
    if _is_page(request):
        try:
            return request.app.state.render_error(request, RuntimeError())
        except Exception:  # the page itself could not be drawn: a fixed one will do
            logger.error("the error page could not be rendered")
            return _plain_500()
    return JSONResponse(error_body("internal", INTERNAL_MESSAGE), status_code=500)


def _frames(exc: BaseException) -> str:
    """The stack of exc and of what a group of exceptions holds, without any message."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    for inner in getattr(exc, "exceptions", ()):
        frames += f"-- in the group: {type(inner).__qualname__}\n{_frames(inner)}"
    return frames


def _log_failure(request: Request, exc: BaseException) -> None:
    """Log where it failed without the messages, which may quote what was sent or stored."""
    frames = _frames(exc)
    causes = []
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(causes) < 5:
        causes.append(type(cause).__qualname__)
        cause = cause.__cause__ or cause.__context__
    logger.error(
        "unexpected %s on %s %s (caused by: %s)\n%s",
        type(exc).__qualname__,
        request.method,
        request.url.path,
        ", ".join(causes) or "nothing else",
        frames,
    )


class CatchUnexpected:
    """Answer any unexpected exception in the one error shape (or the error page).

    It sits inside the security-headers middleware, so a 500 carries the same headers as
    every other answer; and it logs the failure itself, without exception messages.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            request = Request(scope)
            _log_failure(request, exc)
            if started:
                return  # part of the answer is out already; the connection just ends
            response = internal_error_response(request)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_middleware(CatchUnexpected)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, NotAuthenticated) and not request.url.path.startswith("/api/"):
            target = request.url.path
            return RedirectResponse(f"/login?next={target}", status_code=303)
        # A refusal that names the page to go to instead (e.g. set up two-factor log-in).
        location = getattr(exc, "page_location", None)
        if location and _is_page(request):
            return RedirectResponse(location, status_code=303)
        if _is_page(request):
            return request.app.state.render_error(request, exc)
        body = error_body(exc.code, exc.message, field=exc.field, **exc.details)
        headers = {}
        if "retry_after" in exc.details:
            headers["Retry-After"] = str(exc.details["retry_after"])
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = validation_fields(exc, request)
        if _is_page(request):
            return request.app.state.render_error(request, exc, fields=fields)
        message = "; ".join(f"{f['field']}: {f['reason']}" for f in fields)
        return JSONResponse(error_body("invalid", message, fields=fields), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        """The router's 404 and 405, the body parser's 400, and any HTTPException raised."""
        if _is_page(request):
            response = request.app.state.render_error(request, exc)
        else:
            status = HTTPStatus(exc.status_code)
            detail = exc.detail if isinstance(exc.detail, str) and exc.detail else None
            message = detail or status.phrase
            code = _HTTP_CODES.get(exc.status_code, "internal" if exc.status_code >= 500 else "")
            body = error_body(code or status.phrase.lower().replace(" ", "_"), message)
            response = JSONResponse(body, status_code=exc.status_code)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response
