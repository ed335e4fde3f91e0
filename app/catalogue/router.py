"""Read-only catalogue API: the framework itself is public, answers are not."""

from typing import Any

from fastapi import APIRouter, Request

from app.catalogue import service
from app.catalogue.models import CatalogueVersion
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.inputs import Id

router = APIRouter(prefix="/catalogue", tags=["catalogue"])


@router.get("")
def current_catalogue(request: Request) -> dict[str, Any]:
    """The catalogue in force: every area, capability, indicator and step action."""
    loaded = request.app.state.catalogue
    return {"content_hash": loaded.content_hash, "catalogue": loaded.content}


@router.get("/versions")
def catalogue_versions(session: SessionDep) -> list[dict[str, Any]]:
    """Every stored catalogue version, oldest first."""
    return [
        {
            "id": row.id,
            "catalogue": row.catalogue_key,
            "version": row.version,
            "content_hash": row.content_hash,
            "loaded_at": row.loaded_at,
        }
        for row in service.list_versions(session)
    ]


@router.get("/versions/{version_id}")
def catalogue_version(version_id: Id, session: SessionDep) -> dict[str, Any]:
    """One stored version with its full content."""
    row = session.get(CatalogueVersion, version_id)
    if row is None:
        raise NotFound("catalogue version not found")
    return {
        "id": row.id,
        "version": row.version,
        "content_hash": row.content_hash,
        "catalogue": row.content,
    }
