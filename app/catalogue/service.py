"""Catalogue versions in the database: register the loaded catalogue, fetch pinned ones."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.catalogue.loader import LoadedCatalogue, content_hash
from app.catalogue.models import CatalogueVersion
from app.catalogue.schema import Catalogue


class CatalogueVersionConflict(Exception):
    """Changed content was loaded under a version number that is already stored."""


def register_version(session: Session, loaded: LoadedCatalogue) -> CatalogueVersion:
    """Store the loaded catalogue as a version, or return the stored one if identical.

    Refuses changed content under an existing version number: assessments pinned to that
    version must keep meaning what they meant when they were answered.
    """
    catalogue = loaded.catalogue
    stored = _find(session, catalogue.id, catalogue.version)
    if stored is None:
        try:
            with session.begin_nested():
                stored = CatalogueVersion(
                    catalogue_key=catalogue.id,
                    version=catalogue.version,
                    content_hash=loaded.content_hash,
                    content=loaded.content,
                )
                session.add(stored)
        except IntegrityError:  # another worker stored it at the same moment
            stored = _find(session, catalogue.id, catalogue.version)
            assert stored is not None
    if stored.content_hash != loaded.content_hash:
        raise CatalogueVersionConflict(
            f"catalogue '{catalogue.id}' version {catalogue.version} is already stored with "
            f"content {stored.content_hash}, but the files now hash to {loaded.content_hash}. "
            "Assessments are pinned to stored versions, so changed content needs a new "
            "version number: raise `version` in catalogue.yaml."
        )
    return stored


def _find(session: Session, key: str, version: str) -> CatalogueVersion | None:
    return session.scalar(
        select(CatalogueVersion).where(
            CatalogueVersion.catalogue_key == key, CatalogueVersion.version == version
        )
    )


def list_versions(session: Session) -> list[CatalogueVersion]:
    return list(session.scalars(select(CatalogueVersion).order_by(CatalogueVersion.id)))


def catalogue_for_version(session: Session, version_id: int) -> Catalogue:
    """The catalogue an assessment is pinned to, rebuilt from its stored content."""
    row = session.get(CatalogueVersion, version_id)
    if row is None:
        raise LookupError(f"catalogue version {version_id} not found")
    cached = _rebuilt.get(row.content_hash)
    if cached is None:
        if content_hash(row.content) != row.content_hash:
            raise ValueError(f"stored catalogue {row.id} does not match its hash")
        cached = _rebuilt[row.content_hash] = Catalogue.from_content(row.content)
    return cached


# Rebuilt catalogues by content hash: content under one hash never changes.
_rebuilt: dict[str, Catalogue] = {}


def rebuilt_catalogue(content_hash: str) -> Catalogue | None:
    """The catalogue of content_hash if this process has rebuilt it already, else None.

    For hot paths that read a version's hash with their own query: a hit costs no query
    (catalogue_for_version reads the version's row first).
    """
    return _rebuilt.get(content_hash)
