"""The shipped catalogue: valid, complete, and specific enough to answer without guessing."""

import json
import re

import pytest

from app.catalogue.loader import dependency_order, load_catalogue
from app.catalogue.schema import json_schema
from app.core.config import PROJECT_ROOT

CATALOGUE_DIR = PROJECT_ROOT / "capabilities"


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(CATALOGUE_DIR).catalogue


def test_shipped_catalogue_is_valid_and_hashed():
    loaded = load_catalogue(CATALOGUE_DIR)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", loaded.content_hash)
    assert load_catalogue(CATALOGUE_DIR).content_hash == loaded.content_hash


def test_areas_required_by_the_gsr_are_present(catalogue):
    assert [area.id for area in catalogue.areas] == [
        "policy",
        "criminal-justice",
        "victim-support",
        "industry",
        "technology",
        "society",
        "research",
    ]


def test_every_capability_named_in_the_domain_brief_is_present(catalogue):
    ids = {capability.id for capability in catalogue.capabilities()}
    expected = {
        # policy & legislation, with leadership and international cooperation
        "leadership",
        "threat-assessment",
        "legislation",
        "international-cooperation",
        # criminal justice
        "dedicated-officers",
        "information-sharing",
        "online-expertise",
        # victim support
        "crisis-response",
        "survivor-voice",
        "privacy-dignity",
        # technology and industry
        "transparency",
        "safety-by-design",
        "safety-technology",
        "hotline-takedown",
        "detection-reporting",
        # society
        "exposure-restriction",
        "education-outreach",
        "offender-outreach",
        # research
        "children-vulnerabilities",
        "offender-research",
    }
    assert expected <= ids
    assert len(ids) >= 24


def test_every_mnr_capability_is_covered(catalogue):
    referenced = {number for capability in catalogue.capabilities() for number in capability.mnr}
    assert referenced == set(range(1, 22))


def test_guide_capabilities_are_marked(catalogue):
    marked = {c.id for c in catalogue.capabilities() if c.gsr_guide}
    assert {"legislation", "dedicated-officers", "crisis-response", "transparency"} <= marked


def test_level_descriptors_are_distinct_and_complete(catalogue):
    levels = [level.level for level in catalogue.maturity_scale]
    assert levels == [0, 1, 2, 3, 4]
    for capability in catalogue.capabilities():
        assert 2 <= len(capability.indicators) <= 5
        for indicator in capability.indicators:
            texts = [indicator.levels[level].get() for level in levels]
            assert len(set(texts)) == len(texts), f"{capability.id}.{indicator.id} repeats a level"
            # "Not in place" may be short; every phase above it must say what is observable.
            assert all(len(text) > 40 for text in texts[1:]), f"{capability.id}.{indicator.id}"
            assert indicator.evidence


def test_step_actions_are_specific_to_each_capability(catalogue):
    seen_titles: dict[str, str] = {}
    for capability in catalogue.capabilities():
        assert sorted(capability.steps) == [1, 2, 3, 4]
        for actions in capability.steps.values():
            for action in actions:
                assert action.horizon in {"short", "medium", "long"}
                title = action.title.get().lower()
                # The same action title in two capabilities would be generic filler.
                assert title not in seen_titles, (capability.id, seen_titles.get(title))
                seen_titles[title] = capability.id
                assert len(action.detail.get()) > 60


def test_dependencies_order_foundations_first(catalogue):
    order = dependency_order(catalogue)
    assert len(order) == len(catalogue.capabilities())
    position = {capability_id: index for index, capability_id in enumerate(order)}
    for capability in catalogue.capabilities():
        for dependency in capability.depends_on:
            assert position[dependency] < position[capability.id]


def test_text_falls_back_to_english(catalogue):
    mature = catalogue.maturity_scale[4]
    assert mature.name.get("es") == "Madura"
    assert mature.description.get("fr") == mature.description.get("en")
    assert catalogue.capability("legislation").title.get("ar_EG") == (
        catalogue.capability("legislation").title.get()
    )


def test_committed_json_schema_is_current():
    committed = json.loads((CATALOGUE_DIR / "schema.json").read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(json_schema())), (
        "capabilities/schema.json is stale: run `gsr catalogue schema`"
    )
