"""Catalogue versions are stored once; changed content under a stored version is refused."""

import pytest

from app.catalogue import service
from app.catalogue.loader import LoadedCatalogue, catalogue_content, content_hash, load_catalogue
from app.core.config import PROJECT_ROOT


@pytest.fixture(scope="module")
def loaded() -> LoadedCatalogue:
    return load_catalogue(PROJECT_ROOT / "capabilities")


def changed_copy(loaded: LoadedCatalogue, *, version: str | None = None) -> LoadedCatalogue:
    catalogue = loaded.catalogue
    area = catalogue.areas[0]
    capability = area.capabilities[0].model_copy(update={"weight": 3.0})
    area = area.model_copy(update={"capabilities": [capability, *area.capabilities[1:]]})
    update = {"areas": [area, *catalogue.areas[1:]]}
    if version:
        update["version"] = version
    changed = catalogue.model_copy(update=update)
    return LoadedCatalogue(changed, content_hash(catalogue_content(changed)))


def test_registering_twice_stores_one_version(session, loaded):
    first = service.register_version(session, loaded)
    second = service.register_version(session, loaded)
    assert first.id == second.id
    assert first.content_hash == loaded.content_hash
    assert first.content["areas"][0]["capabilities"][0]["id"] == "leadership"


def test_changed_content_under_a_stored_version_is_refused(session, loaded):
    service.register_version(session, loaded)
    changed = changed_copy(loaded)
    assert changed.content_hash != loaded.content_hash
    with pytest.raises(service.CatalogueVersionConflict) as refused:
        service.register_version(session, changed)
    message = str(refused.value)
    assert loaded.catalogue.version in message and "new version number" in message


def test_changed_content_under_a_new_version_is_stored(session, loaded):
    old = service.register_version(session, loaded)
    new = service.register_version(session, changed_copy(loaded, version="2099.1"))
    assert new.id != old.id
    rebuilt = service.catalogue_for_version(session, new.id)
    assert rebuilt.version == "2099.1"
    assert rebuilt.capabilities()[0].weight == 3.0
    assert service.catalogue_for_version(session, old.id).capabilities()[0].weight == 2.0
