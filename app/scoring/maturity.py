"""Maturity scoring: indicator answers become capability levels, area scores and an overall score.

Pure functions over plain frozen dataclasses: no database, no I/O. docs/scoring.md explains
the method in plain language; this module is its only implementation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Literal

from babel.numbers import format_decimal

from app.catalogue.schema import (
    Capability,
    CapabilityLevelMethod,
    Catalogue,
    OverallMethod,
    ScoringMethod,
    UnknownPolicy,
)

# The method versions this module implements. A catalogue asking for another version is
# refused rather than scored under rules it did not ask for.
SUPPORTED_METHOD_VERSIONS: frozenset[int] = frozenset({1})

ResponseKind = Literal["level", "not_applicable", "unknown"]
AnswerKey = tuple[str, str]  # (capability id, indicator id)

_RESPONSES: frozenset[str] = frozenset({"level", "not_applicable", "unknown"})


class ScoringError(ValueError):
    """Inputs that cannot be scored: unknown ids, levels off the scale, unsupported method."""


@dataclass(frozen=True, slots=True)
class AnswerValue:
    """One indicator's answer: a level on the maturity scale, "not applicable" or "unknown"."""

    response: ResponseKind
    level: int | None = None
    # Copied from the previous cycle and not yet confirmed in this one: it counts at its
    # value, but the result resting on it stays provisional until someone confirms it.
    carried_over: bool = False

    def __post_init__(self) -> None:
        # Accept the assessments' Response StrEnum too, but store the plain string so results
        # compare, hash and serialise the same whichever the caller passed.
        response = str(self.response)
        if response not in _RESPONSES:
            raise ScoringError(f"unknown response {response!r}")
        object.__setattr__(self, "response", response)
        object.__setattr__(self, "carried_over", bool(self.carried_over))
        if response == "level":
            if not isinstance(self.level, int) or isinstance(self.level, bool):
                raise ScoringError("an answer with response 'level' needs an integer level")
        elif self.level is not None:
            raise ScoringError(f"an answer with response {response!r} carries no level")

    @classmethod
    def at_level(cls, level: int) -> AnswerValue:
        """An answer giving a maturity level."""
        return cls("level", level)

    @classmethod
    def not_applicable(cls) -> AnswerValue:
        """An answer saying the indicator does not apply to the country."""
        return cls("not_applicable")

    @classmethod
    def unknown(cls) -> AnswerValue:
        """An answer saying the respondent does not know."""
        return cls("unknown")


Answers = Mapping[AnswerKey, AnswerValue]


@dataclass(frozen=True, slots=True)
class Completeness:
    """How many indicators are answered and how; "not applicable" and "unknown" are answers.

    `unconfirmed` counts the answers among them carried over from the previous cycle and not
    yet confirmed: they are counted at their value, but are not answers of this cycle.
    """

    total: int
    with_level: int = 0
    unknown: int = 0
    not_applicable: int = 0
    unconfirmed: int = 0

    @property
    def answered(self) -> int:
        """Indicators with any answer, confirmed or carried over."""
        return self.with_level + self.unknown + self.not_applicable

    @property
    def confirmed(self) -> int:
        """Indicators answered in this cycle: carried-over answers wait for confirmation."""
        return self.answered - self.unconfirmed

    @property
    def unanswered(self) -> int:
        """Indicators nobody has answered yet."""
        return self.total - self.answered

    @property
    def provisional(self) -> bool:
        """True while any indicator is unanswered or unconfirmed: the score may still change."""
        return self.answered < self.total or self.unconfirmed > 0

    @property
    def tentative(self) -> bool:
        """True when the score rests on anything but confirmed knowledge: an unanswered or
        unconfirmed indicator, or an "unknown" answer. Reports label such scores provisional."""
        return self.provisional or self.unknown > 0

    @property
    def share(self) -> float:
        """Answered indicators as a share of all indicators, 0.0 to 1.0."""
        return self.answered / self.total if self.total else 1.0

    def __add__(self, other: Completeness) -> Completeness:
        return Completeness(
            total=self.total + other.total,
            with_level=self.with_level + other.with_level,
            unknown=self.unknown + other.unknown,
            not_applicable=self.not_applicable + other.not_applicable,
            unconfirmed=self.unconfirmed + other.unconfirmed,
        )

    @classmethod
    def combine(cls, parts: Iterable[Completeness]) -> Completeness:
        """The completeness of several parts taken together."""
        combined = cls(total=0)
        for part in parts:
            combined = combined + part
        return combined


@dataclass(frozen=True, slots=True)
class ScoringProvenance:
    """Everything needed to reproduce a score later: catalogue identity, hash and method."""

    catalogue_id: str
    catalogue_version: str
    catalogue_hash: str
    method: str
    method_version: int
    capability_level: str
    unknown: str
    overall: str


@dataclass(frozen=True, slots=True)
class CapabilityScore:
    """One capability's level and score, with how complete and how reliable it is."""

    capability_id: str
    area_id: str
    weight: float
    level: int | None  # None: not applicable, or nothing counted yet
    score: float | None  # level / max level × 100
    not_applicable: bool  # every indicator answered "not applicable"
    counted: int  # indicators whose answer counted toward the level
    completeness: Completeness

    @property
    def provisional(self) -> bool:
        """True while any of the capability's indicators is unanswered or unconfirmed."""
        return self.completeness.provisional

    @property
    def scored(self) -> bool:
        """True when the capability has a level."""
        return self.level is not None


@dataclass(frozen=True, slots=True)
class AreaScore:
    """One area's score on 0-100, with how complete it is."""

    area_id: str
    weight: float
    score: float | None  # None: no capability in the area has a level
    capability_count: int
    scored_capabilities: int
    not_applicable_capabilities: int
    completeness: Completeness

    @property
    def provisional(self) -> bool:
        """True while any indicator in the area is unanswered or unconfirmed."""
        return self.completeness.provisional

    @property
    def not_applicable(self) -> bool:
        """True when every capability in the area is not applicable."""
        return self.not_applicable_capabilities == self.capability_count


@dataclass(frozen=True, slots=True)
class AssessmentScore:
    """A whole assessment scored: capabilities, areas, overall, completeness and provenance."""

    provenance: ScoringProvenance
    max_level: int
    capabilities: tuple[CapabilityScore, ...]  # in catalogue order
    areas: tuple[AreaScore, ...]  # in catalogue order
    overall: float | None  # None: no area (or capability) has a score
    completeness: Completeness

    @property
    def provisional(self) -> bool:
        """True while any indicator of the assessment is unanswered or unconfirmed."""
        return self.completeness.provisional

    def capability(self, capability_id: str) -> CapabilityScore:
        """The result for one capability; KeyError if the catalogue has no such capability."""
        for result in self.capabilities:
            if result.capability_id == capability_id:
                return result
        raise KeyError(capability_id)

    def area(self, area_id: str) -> AreaScore:
        """The result for one area; KeyError if the catalogue has no such area."""
        for result in self.areas:
            if result.area_id == area_id:
                return result
        raise KeyError(area_id)


def capability_level(levels: Sequence[int], method: CapabilityLevelMethod) -> int | None:
    """The capability level from its counted indicator levels; None when nothing counted."""
    if not levels:
        return None
    if method == CapabilityLevelMethod.MINIMUM:
        return min(levels)
    # Integer floor division: a capability only reaches a level its indicators fully earn.
    return sum(levels) // len(levels)


def score_capability(
    catalogue: Catalogue, capability: Capability, answers: Answers
) -> CapabilityScore:
    """Score one capability of catalogue from the answers (other capabilities' keys ignored)."""
    _check_method(catalogue.scoring)
    own = {key: value for key, value in answers.items() if key[0] == capability.id}
    _check_answers(catalogue, own)
    result, _ = _score_capability(catalogue, capability, catalogue.area_of(capability.id).id, own)
    return result


def score_assessment(
    catalogue: Catalogue, answers: Answers, *, catalogue_hash: str
) -> AssessmentScore:
    """Score a whole assessment under the catalogue's scoring method."""
    _check_method(catalogue.scoring)
    if not catalogue_hash:
        raise ScoringError("catalogue_hash is required so the score can be reproduced")
    _check_answers(catalogue, answers)

    capability_results: list[CapabilityScore] = []
    area_results: list[AreaScore] = []
    # Exact fractions until the very end, so a score is the same whatever order answers were
    # given in, and boundaries such as 50 are not 49.99999999 when rounded for display.
    exact_capabilities: list[tuple[float, Fraction]] = []
    exact_areas: list[tuple[float, Fraction]] = []

    for area in catalogue.areas:
        in_area: list[CapabilityScore] = []
        exact_in_area: list[tuple[float, Fraction]] = []
        for capability in area.capabilities:
            result, exact = _score_capability(catalogue, capability, area.id, answers)
            in_area.append(result)
            if exact is not None:
                exact_in_area.append((capability.weight, exact))
        area_exact = _weighted_mean(exact_in_area)
        if area_exact is not None:
            exact_areas.append((area.weight, area_exact))
        exact_capabilities += exact_in_area
        capability_results += in_area
        area_results.append(
            AreaScore(
                area_id=area.id,
                weight=area.weight,
                score=_as_float(area_exact),
                capability_count=len(in_area),
                scored_capabilities=sum(1 for result in in_area if result.scored),
                not_applicable_capabilities=sum(1 for result in in_area if result.not_applicable),
                completeness=Completeness.combine(result.completeness for result in in_area),
            )
        )

    if catalogue.scoring.overall == OverallMethod.CAPABILITY_WEIGHTED_MEAN:
        overall = _weighted_mean(exact_capabilities)
    else:
        overall = _weighted_mean(exact_areas)

    return AssessmentScore(
        provenance=provenance(catalogue, catalogue_hash=catalogue_hash),
        max_level=catalogue.max_level,
        capabilities=tuple(capability_results),
        areas=tuple(area_results),
        overall=_as_float(overall),
        completeness=Completeness.combine(result.completeness for result in area_results),
    )


def provenance(catalogue: Catalogue, *, catalogue_hash: str) -> ScoringProvenance:
    """The provenance record of scores computed from catalogue under its scoring method."""
    scoring = catalogue.scoring
    return ScoringProvenance(
        catalogue_id=catalogue.id,
        catalogue_version=catalogue.version,
        catalogue_hash=catalogue_hash,
        method=scoring.method,
        method_version=scoring.method_version,
        capability_level=scoring.capability_level.value,
        unknown=scoring.unknown.value,
        overall=scoring.overall.value,
    )


def round_for_display(value: float) -> Decimal:
    """A score rounded to one decimal, halves away from zero (62.45 -> 62.5)."""
    # Through the shortest repr so a float stored as 62.4499999... still reads as 62.45, the
    # number the official would compute by hand.
    return Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def display_score(value: float | None, locale: str = "en", *, missing: str = "–") -> str:
    """A score as text with one decimal in the locale's style; missing for no score."""
    if value is None:
        return missing
    return format_decimal(round_for_display(value), format="#,##0.0", locale=locale)


def _score_capability(
    catalogue: Catalogue, capability: Capability, area_id: str, answers: Answers
) -> tuple[CapabilityScore, Fraction | None]:
    unknown_counts = catalogue.scoring.unknown == UnknownPolicy.AS_ZERO
    counted: list[int] = []
    with_level = unknown = not_applicable = unconfirmed = 0
    for indicator in capability.indicators:
        answer = answers.get((capability.id, indicator.id))
        if answer is None:
            continue  # unanswered: not counted, and makes the result provisional
        unconfirmed += answer.carried_over
        if answer.response == "not_applicable":
            not_applicable += 1
        elif answer.response == "unknown":
            unknown += 1
            if unknown_counts:
                counted.append(0)
        else:
            assert answer.level is not None  # guaranteed by AnswerValue
            with_level += 1
            counted.append(answer.level)

    completeness = Completeness(
        total=len(capability.indicators),
        with_level=with_level,
        unknown=unknown,
        not_applicable=not_applicable,
        unconfirmed=unconfirmed,
    )
    level = capability_level(counted, catalogue.scoring.capability_level)
    exact = None if level is None else Fraction(level * 100, catalogue.max_level)
    result = CapabilityScore(
        capability_id=capability.id,
        area_id=area_id,
        weight=capability.weight,
        level=level,
        score=_as_float(exact),
        # Only when every indicator says so: a partly answered capability may still apply.
        not_applicable=not_applicable == completeness.total,
        counted=len(counted),
        completeness=completeness,
    )
    return result, exact


def _weighted_mean(items: Iterable[tuple[float, Fraction]]) -> Fraction | None:
    # Weights are renormalised over what is present: N/A and unscored items are simply absent.
    total = Fraction(0)
    total_weight = Fraction(0)
    for weight, value in items:
        exact_weight = Fraction(weight)
        total += exact_weight * value
        total_weight += exact_weight
    return total / total_weight if total_weight else None


def _as_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _check_method(scoring: ScoringMethod) -> None:
    if scoring.method_version not in SUPPORTED_METHOD_VERSIONS:
        raise ScoringError(
            f"scoring method {scoring.method} version {scoring.method_version} is not "
            f"supported; this service implements version(s) {sorted(SUPPORTED_METHOD_VERSIONS)}"
        )


def _check_answers(catalogue: Catalogue, answers: Answers) -> None:
    # Refuse rather than skip: a silently ignored answer would make the score disagree with
    # what the official sees on screen. Messages carry ids only, never answer content.
    known = set(catalogue.indicator_keys())
    stray = sorted(key for key in answers if key not in known)
    if stray:
        listed = ", ".join(f"{capability}/{indicator}" for capability, indicator in stray[:5])
        more = f" and {len(stray) - 5} more" if len(stray) > 5 else ""
        raise ScoringError(f"answers to indicators not in the catalogue: {listed}{more}")
    off_scale = sorted(
        key
        for key, answer in answers.items()
        if answer.level is not None and not 0 <= answer.level <= catalogue.max_level
    )
    if off_scale:
        listed = ", ".join(f"{capability}/{indicator}" for capability, indicator in off_scale[:5])
        raise ScoringError(
            f"levels outside the maturity scale 0-{catalogue.max_level} for: {listed}"
        )
