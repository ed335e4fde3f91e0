"""The catalogue's data model: what a capability catalogue may contain, strictly validated.

The YAML files are validated file by file (the head file, then each area file with the
head's vocabularies passed as validation context), then assembled into one immutable
`Catalogue`. Errors carry a rule name (the PydanticCustomError type) so the loader can
report which rule was broken.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")


def _context(info: ValidationInfo, key: str) -> Any:
    return (info.context or {}).get(key)


def _check_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise PydanticCustomError(
            "invalid_id",
            "'{value}' is not a valid id: use lowercase letters, digits and single hyphens",
            {"value": value},
        )
    return value


def _check_weight(value: float) -> float:
    if value <= 0:
        raise PydanticCustomError(
            "weight_not_positive", "weight must be greater than 0, got {value}", {"value": value}
        )
    return value


Id = Annotated[str, AfterValidator(_check_id)]
Weight = Annotated[float, AfterValidator(_check_weight)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Text(RootModel[dict[str, str]]):
    """Translatable text: a plain string (English) or a mapping of locale to text."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _plain_string_is_english(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"en": value}
        return value

    @model_validator(mode="after")
    def _check_locales(self, info: ValidationInfo) -> Text:
        texts = self.root
        if not texts.get("en", "").strip():
            raise PydanticCustomError("missing_english", "English text ('en') is required")
        allowed = _context(info, "locales")
        for locale, text in texts.items():
            if allowed is not None and locale not in allowed:
                raise PydanticCustomError(
                    "unknown_locale",
                    "locale '{locale}' is not declared in the catalogue's locales {allowed}",
                    {"locale": locale, "allowed": sorted(allowed)},
                )
            if not text.strip():
                raise PydanticCustomError(
                    "empty_text", "text for locale '{locale}' is empty", {"locale": locale}
                )
        return self

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return {
            "title": "Text",
            "description": "English text, or a mapping of locale code to text ('en' required).",
            "anyOf": [
                {"type": "string", "minLength": 1},
                {
                    "type": "object",
                    "required": ["en"],
                    "additionalProperties": {"type": "string", "minLength": 1},
                },
            ],
        }

    def get(self, locale: str = "en") -> str:
        """The text in locale, falling back to its base language, then to English."""
        if locale in self.root:
            return self.root[locale]
        base = locale.split("_")[0]
        return self.root.get(base, self.root["en"])

    def __str__(self) -> str:
        return self.root["en"]


class MaturityLevel(Strict):
    level: Annotated[int, Field(ge=0, le=9)]
    key: Id
    name: Text
    description: Text


class CapabilityLevelMethod(StrEnum):
    MEAN_FLOOR = "mean_floor"
    MINIMUM = "minimum"


class UnknownPolicy(StrEnum):
    AS_ZERO = "as_zero"
    EXCLUDE = "exclude"


class OverallMethod(StrEnum):
    AREA_WEIGHTED_MEAN = "area_weighted_mean"
    CAPABILITY_WEIGHTED_MEAN = "capability_weighted_mean"


def _enum_member(enum: type[StrEnum], what: str):
    def check(value: Any) -> Any:
        allowed = [member.value for member in enum]
        if value not in allowed:
            raise PydanticCustomError(
                "unknown_scoring_method",
                "unknown {what} '{value}'; expected one of {allowed}",
                {"what": what, "value": value, "allowed": allowed},
            )
        return enum(value)

    return check


class ScoringMethod(Strict):
    """How answers combine into capability levels and scores (semantics: docs/scoring.md)."""

    method: Literal["gsr-maturity"] = "gsr-maturity"
    method_version: Annotated[int, Field(ge=1)]
    capability_level: Annotated[
        CapabilityLevelMethod,
        Field(json_schema_extra={"enum": [m.value for m in CapabilityLevelMethod]}),
    ]
    unknown: UnknownPolicy
    overall: OverallMethod

    @field_validator("capability_level", mode="before")
    @classmethod
    def _known_level_method(cls, value: Any) -> Any:
        return _enum_member(CapabilityLevelMethod, "capability level method")(value)

    @field_validator("unknown", mode="before")
    @classmethod
    def _known_unknown_policy(cls, value: Any) -> Any:
        return _enum_member(UnknownPolicy, "unknown-answer policy")(value)

    @field_validator("overall", mode="before")
    @classmethod
    def _known_overall_method(cls, value: Any) -> Any:
        return _enum_member(OverallMethod, "overall score method")(value)

    @field_validator("method", mode="before")
    @classmethod
    def _known_method(cls, value: Any) -> Any:
        if value != "gsr-maturity":
            raise PydanticCustomError(
                "unknown_scoring_method",
                "unknown scoring method '{value}'; expected 'gsr-maturity'",
                {"value": value},
            )
        return value


class Sector(Strict):
    id: Id
    name: Text


class MnrCapability(Strict):
    number: Annotated[int, Field(ge=1)]
    domain: Text
    title: Text


Horizon = Literal["short", "medium", "long"]


def _check_sector(value: str, info: ValidationInfo) -> str:
    sectors = _context(info, "sectors")
    if sectors is not None and value not in sectors:
        raise PydanticCustomError(
            "unknown_sector",
            "sector '{value}' is not one of the catalogue's sectors",
            {"value": value},
        )
    return value


SectorRef = Annotated[str, AfterValidator(_check_sector)]


class StepAction(Strict):
    """A recommended action for one step up the maturity scale."""

    title: Text
    detail: Text
    lead: SectorRef
    horizon: Horizon


class Indicator(Strict):
    id: Id
    question: Text
    levels: dict[int, Text]
    evidence: Annotated[list[Text], Field(min_length=1)]

    @field_validator("levels")
    @classmethod
    def _every_level_described(cls, levels: dict[int, Text], info: ValidationInfo) -> dict:
        expected = _context(info, "levels")
        if expected is None:
            return levels
        missing = sorted(set(expected) - set(levels))
        if missing:
            raise PydanticCustomError(
                "missing_level_descriptor",
                "no descriptor for level(s) {missing}; every level of the scale needs one",
                {"missing": missing},
            )
        extra = sorted(set(levels) - set(expected))
        if extra:
            raise PydanticCustomError(
                "unknown_level", "level(s) {extra} are not on the maturity scale", {"extra": extra}
            )
        return dict(sorted(levels.items()))


class Capability(Strict):
    id: Id
    title: Text
    summary: Text
    rationale: Text
    mnr: Annotated[list[int], Field(min_length=1)]
    gsr_guide: bool = False
    gsr_url: str | None = None
    lead_sectors: Annotated[list[SectorRef], Field(min_length=1)]
    depends_on: list[Id] = []
    weight: Weight = 1.0
    indicators: Annotated[list[Indicator], Field(min_length=2, max_length=5)]
    steps: dict[int, Annotated[list[StepAction], Field(min_length=1)]]

    @field_validator("mnr")
    @classmethod
    def _known_mnr(cls, numbers: list[int], info: ValidationInfo) -> list[int]:
        known = _context(info, "mnr")
        unknown = [n for n in numbers if known is not None and n not in known]
        if unknown:
            raise PydanticCustomError(
                "unknown_mnr",
                "MNR capability number(s) {unknown} do not exist",
                {"unknown": unknown},
            )
        return numbers

    @field_validator("steps")
    @classmethod
    def _every_step_has_actions(cls, steps: dict, info: ValidationInfo) -> dict:
        levels = _context(info, "levels")
        if levels is None:
            return steps
        expected = [level for level in levels if level > 0]
        missing = [level for level in expected if level not in steps]
        if missing:
            raise PydanticCustomError(
                "missing_step_action",
                "no recommended action for step(s) up to level {missing}",
                {"missing": missing},
            )
        extra = sorted(set(steps) - set(expected))
        if extra:
            raise PydanticCustomError(
                "unknown_level", "step(s) {extra} are not on the maturity scale", {"extra": extra}
            )
        return dict(sorted(steps.items()))

    @model_validator(mode="after")
    def _unique_indicator_ids(self) -> Capability:
        seen: set[str] = set()
        for indicator in self.indicators:
            if indicator.id in seen:
                raise PydanticCustomError(
                    "duplicate_id",
                    "indicator id '{id}' appears twice in capability '{cap}'",
                    {"id": indicator.id, "cap": self.id},
                )
            seen.add(indicator.id)
        return self


class AreaInfo(Strict):
    id: Id
    title: Text
    summary: Text
    weight: Weight = 1.0


class AreaFile(Strict):
    """One file under areas/: an area and its capabilities."""

    area: AreaInfo
    capabilities: Annotated[list[Capability], Field(min_length=1)]


class CatalogueHead(Strict):
    """The head file (catalogue.yaml): shared definitions and the list of area files."""

    id: Id
    version: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[0-9A-Za-z.\-]+$")]
    title: Text
    description: Text
    default_locale: Literal["en"] = "en"
    locales: Annotated[list[str], Field(min_length=1)]
    maturity_scale: Annotated[list[MaturityLevel], Field(min_length=2)]
    scoring: ScoringMethod
    sectors: Annotated[list[Sector], Field(min_length=1)]
    mnr_capabilities: Annotated[list[MnrCapability], Field(min_length=1)]
    areas: Annotated[list[str], Field(min_length=1)]

    @field_validator("locales")
    @classmethod
    def _valid_locales(cls, locales: list[str]) -> list[str]:
        for locale in locales:
            if not LOCALE_PATTERN.match(locale):
                raise PydanticCustomError(
                    "unknown_locale", "'{locale}' is not a locale code", {"locale": locale}
                )
        if "en" not in locales:
            raise PydanticCustomError("unknown_locale", "locales must include 'en'")
        return locales

    @field_validator("maturity_scale")
    @classmethod
    def _contiguous_scale(cls, scale: list[MaturityLevel]) -> list[MaturityLevel]:
        numbers = [level.level for level in scale]
        if numbers != list(range(len(scale))):
            raise PydanticCustomError(
                "invalid_scale",
                "maturity levels must be numbered 0, 1, 2, ... in order; got {numbers}",
                {"numbers": numbers},
            )
        return scale

    def validation_context(self) -> dict[str, Any]:
        """What area files are validated against."""
        return {
            "locales": set(self.locales),
            "sectors": {sector.id for sector in self.sectors},
            "mnr": {mnr.number for mnr in self.mnr_capabilities},
            "levels": [level.level for level in self.maturity_scale],
        }


class Area(AreaInfo):
    capabilities: list[Capability]


class Catalogue(Strict):
    """The whole catalogue, assembled and validated: immutable once built."""

    id: Id
    version: str
    title: Text
    description: Text
    default_locale: str
    locales: list[str]
    maturity_scale: list[MaturityLevel]
    scoring: ScoringMethod
    sectors: list[Sector]
    mnr_capabilities: list[MnrCapability]
    areas: list[Area]

    @property
    def max_level(self) -> int:
        return self.maturity_scale[-1].level

    def capabilities(self) -> list[Capability]:
        """Every capability, in questionnaire order."""
        return [capability for area in self.areas for capability in area.capabilities]

    def capability(self, capability_id: str) -> Capability:
        for area in self.areas:
            for capability in area.capabilities:
                if capability.id == capability_id:
                    return capability
        raise KeyError(capability_id)

    def area_of(self, capability_id: str) -> Area:
        for area in self.areas:
            if any(capability.id == capability_id for capability in area.capabilities):
                return area
        raise KeyError(capability_id)

    def area(self, area_id: str) -> Area:
        for area in self.areas:
            if area.id == area_id:
                return area
        raise KeyError(area_id)

    def indicator_keys(self) -> list[tuple[str, str]]:
        """(capability id, indicator id) for every indicator, in questionnaire order."""
        return [
            (capability.id, indicator.id)
            for capability in self.capabilities()
            for indicator in capability.indicators
        ]

    def sector_name(self, sector_id: str, locale: str = "en") -> str:
        for sector in self.sectors:
            if sector.id == sector_id:
                return sector.name.get(locale)
        return sector_id

    def level_name(self, level: int, locale: str = "en") -> str:
        return self.maturity_scale[level].name.get(locale)

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> Catalogue:
        """Rebuild a catalogue from its stored JSON content (as saved in the database)."""
        head_fields = {k: content[k] for k in CatalogueHead.model_fields if k != "areas"}
        head = CatalogueHead.model_validate({**head_fields, "areas": ["stored"]})
        return cls.model_validate(content, context=head.validation_context())


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the catalogue's YAML files (head file and area files)."""
    from pydantic.json_schema import models_json_schema

    _, definitions = models_json_schema(
        [(CatalogueHead, "validation"), (AreaFile, "validation")],
        ref_template="#/$defs/{model}",
        title="gsr-assess capability catalogue",
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **definitions,
        "description": (
            "capabilities/catalogue.yaml is a CatalogueHead; each file it lists under "
            "`areas` is an AreaFile. Generated from app/catalogue/schema.py: "
            "run `gsr catalogue schema` after changing the models."
        ),
        "anyOf": [{"$ref": "#/$defs/CatalogueHead"}, {"$ref": "#/$defs/AreaFile"}],
    }
