"""Errors as answers: JSON naming the field and the reason for the API; pages for the web."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.core.errors import DomainError, NotAuthenticated


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _field_of(location: tuple) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or "request"


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, NotAuthenticated) and not _is_api(request):
            target = request.url.path
            return RedirectResponse(f"/login?next={target}", status_code=303)
        if not _is_api(request) and hasattr(app.state, "render_error"):
            return app.state.render_error(request, exc)
        body = {"error": {"code": exc.code, "message": exc.message}}
        if exc.field:
            body["error"]["field"] = exc.field
            body["error"]["fields"] = [{"field": exc.field, "reason": exc.message}]
        body["error"].update(exc.details)
        headers = {}
        if "retry_after" in exc.details:
            headers["Retry-After"] = str(exc.details["retry_after"])
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = []
        for error in exc.errors():
            message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
            field = _field_of(tuple(error.get("loc", ())))
            # Model-level rules name their field at the start of the message ("level: ...").
            head, sep, rest = message.partition(": ")
            if sep and field.count(".") == 0 and head.isidentifier():
                field, message = head, rest
            fields.append({"field": field, "reason": message})
        body = {
            "error": {
                "code": "invalid",
                "message": "; ".join(f"{f['field']}: {f['reason']}" for f in fields),
                "fields": fields,
            }
        }
        if not _is_api(request) and hasattr(app.state, "render_error"):
            return app.state.render_error(request, exc, fields=fields)
        return JSONResponse(body, status_code=422)
