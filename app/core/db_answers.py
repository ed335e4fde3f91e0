"""Database trouble as answers: a lock or a full pool is 503 with Retry-After, a race is 409.

These never become 500s, and never echo the statement or its parameters (they carry
answers, e-mails and password hashes).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

from app.core.errors import Conflict, DomainError, ServiceBusy

logger = logging.getLogger("gsr.db")

RETRY_AFTER_SECONDS = 2


def _busy() -> ServiceBusy:
    return ServiceBusy(
        "the service is busy; nothing was changed, please try again in a moment",
        retry_after=RETRY_AFTER_SECONDS,
    )


def install(app: FastAPI) -> None:
    async def answer(request: Request, error: DomainError) -> Response:
        # Answered exactly as a service's own error would be (JSON or page).
        return await app.exception_handlers[DomainError](request, error)

    @app.exception_handler(OperationalError)
    async def busy(request: Request, exc: OperationalError) -> Response:
        logger.warning(
            "database busy on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__
        )
        return await answer(request, _busy())

    @app.exception_handler(PoolTimeout)
    async def pool_full(request: Request, exc: PoolTimeout) -> Response:
        logger.warning("no free database connection on %s %s", request.method, request.url.path)
        return await answer(request, _busy())

    @app.exception_handler(IntegrityError)
    async def race(request: Request, exc: IntegrityError) -> Response:
        logger.info("integrity conflict on %s %s", request.method, request.url.path)
        return await answer(
            request,
            Conflict("this conflicts with a change made at the same moment; reload and try again"),
        )

    @app.exception_handler(StaleDataError)
    async def stale(request: Request, exc: StaleDataError) -> Response:
        return await answer(
            request,
            Conflict("this was changed by someone else since you opened it; reload it first"),
        )
