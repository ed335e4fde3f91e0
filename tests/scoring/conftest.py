"""Catalogues for scoring tests: the shipped one, and small crafted ones built from a sketch."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from app.catalogue.loader import LoadedCatalogue, load_catalogue
from app.catalogue.schema import Catalogue
from app.core.config import PROJECT_ROOT

HORIZONS = ("short", "medium", "long")

# A sketch: area id -> capabilities, each a dict with "id" and optionally "indicators" (a
# count, default 2), "weight" (default 1), "depends_on" (default []) and "actions" (step level
# -> number of actions for that step, default 1 each).
Sketch = Mapping[str, Sequence[Mapping[str, Any]]]
CatalogueFactory = Callable[..., Catalogue]


def _text(english: str) -> dict[str, str]:
    return {"en": english, "fr": f"{english} (fr)"}


def capability_content(spec: Mapping[str, Any], max_level: int) -> dict[str, Any]:
    """A valid capability for a sketch entry, with generated but distinct texts."""
    cap_id = spec["id"]
    actions = spec.get("actions", {})
    return {
        "id": cap_id,
        "title": f"Capability {cap_id}",
        "summary": f"Summary of {cap_id}",
        "rationale": f"Rationale of {cap_id}",
        "mnr": [1],
        "lead_sectors": ["government"],
        "depends_on": list(spec.get("depends_on", [])),
        "weight": spec.get("weight", 1),
        "indicators": [
            {
                "id": f"i{number}",
                "question": f"Question {number} of {cap_id}?",
                "levels": {str(level): f"Level {level}" for level in range(max_level + 1)},
                "evidence": ["A document"],
            }
            for number in range(1, spec.get("indicators", 2) + 1)
        ],
        "steps": {
            str(step): [
                {
                    "title": _text(f"{cap_id} step {step} action {index}"),
                    "detail": f"Detail of {cap_id} step {step} action {index}",
                    "lead": "justice" if index % 2 else "government",
                    "horizon": HORIZONS[(step + index) % 3],
                }
                for index in range(actions.get(step, 1))
            ]
            for step in range(1, max_level + 1)
        },
    }


def catalogue_content(
    sketch: Sketch,
    *,
    area_weights: Mapping[str, float] | None = None,
    capability_level: str = "mean_floor",
    unknown: str = "as_zero",
    overall: str = "area_weighted_mean",
    max_level: int = 4,
    method_version: int = 1,
) -> dict[str, Any]:
    """The stored-content form of a crafted catalogue."""
    area_weights = area_weights or {}
    return {
        "id": "crafted",
        "version": "1",
        "title": "Crafted catalogue",
        "description": "A catalogue built for a test",
        "default_locale": "en",
        "locales": ["en", "fr"],
        "maturity_scale": [
            {
                "level": level,
                "key": f"level-{level}",
                "name": f"Level {level}",
                "description": f"Description of level {level}",
            }
            for level in range(max_level + 1)
        ],
        "scoring": {
            "method": "gsr-maturity",
            "method_version": method_version,
            "capability_level": capability_level,
            "unknown": unknown,
            "overall": overall,
        },
        "sectors": [
            {"id": "government", "name": "Government"},
            {"id": "justice", "name": "Justice"},
        ],
        "mnr_capabilities": [{"number": 1, "domain": "Policy", "title": "Leadership"}],
        "areas": [
            {
                "id": area_id,
                "title": f"Area {area_id}",
                "summary": f"Summary of {area_id}",
                "weight": area_weights.get(area_id, 1),
                "capabilities": [capability_content(spec, max_level) for spec in capabilities],
            }
            for area_id, capabilities in sketch.items()
        ],
    }


@pytest.fixture(scope="session")
def build_catalogue() -> CatalogueFactory:
    """A factory: sketch and scoring options in, validated crafted Catalogue out."""

    def build(sketch: Sketch, **options: Any) -> Catalogue:
        return Catalogue.from_content(catalogue_content(sketch, **options))

    return build


@pytest.fixture(scope="session")
def shipped() -> LoadedCatalogue:
    """The catalogue shipped in capabilities/, with its content hash."""
    return load_catalogue(PROJECT_ROOT / "capabilities")
