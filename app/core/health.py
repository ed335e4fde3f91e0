"""Liveness and readiness: the app version, the catalogue hash and a database round trip."""

from fastapi import APIRouter, Request
from sqlalchemy import text

import app
from app.core.db import SessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request, session: SessionDep) -> dict:
    session.execute(text("SELECT 1"))
    loaded = request.app.state.catalogue
    return {
        "status": "ok",
        "version": app.__version__,
        "catalogue": {
            "id": loaded.catalogue.id,
            "version": loaded.catalogue.version,
            "hash": loaded.content_hash,
        },
        "database": session.get_bind().dialect.name,
    }
