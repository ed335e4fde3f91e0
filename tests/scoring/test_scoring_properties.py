"""Invariants of scoring and gap ranking that must hold for any answers, checked by hypothesis."""

from __future__ import annotations

import copy
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.catalogue.schema import CapabilityLevelMethod, Catalogue, OverallMethod, UnknownPolicy
from app.scoring import (
    AnswerValue,
    AssessmentScore,
    draft_actions,
    rank_gaps,
    score_assessment,
)

HASH = "sha256:" + "ef" * 32
NA = AnswerValue.not_applicable()
UNKNOWN = AnswerValue.unknown()
EXTRA = "extra-not-applicable"

PROPERTY = settings(max_examples=150, deadline=None)


def with_method(
    catalogue: Catalogue,
    capability_level: CapabilityLevelMethod,
    unknown: UnknownPolicy,
    overall: OverallMethod,
) -> Catalogue:
    scoring = catalogue.scoring.model_copy(
        update={"capability_level": capability_level, "unknown": unknown, "overall": overall}
    )
    return catalogue.model_copy(update={"scoring": scoring})


def every_method(catalogue: Catalogue) -> list[Catalogue]:
    return [
        with_method(catalogue, *combination)
        for combination in itertools.product(CapabilityLevelMethod, UnknownPolicy, OverallMethod)
    ]


@pytest.fixture(scope="module")
def catalogues(shipped, build_catalogue) -> list[Catalogue]:
    """The shipped catalogue and a small lopsided one, each under every scoring method."""
    crafted = build_catalogue(
        {
            "a": [
                {"id": "x", "indicators": 5, "weight": 2.5},
                {"id": "y", "weight": 0.5, "depends_on": ["x"]},
            ],
            "b": [{"id": "z", "indicators": 3, "depends_on": ["y"]}],
            "c": [{"id": "w", "weight": 3}, {"id": "v", "indicators": 4, "depends_on": ["w"]}],
        },
        area_weights={"a": 0.7, "b": 3, "c": 1.2},
        max_level=3,
    )
    return every_method(shipped.catalogue) + every_method(crafted)


@pytest.fixture(scope="module")
def extended_pairs(shipped) -> list[tuple[Catalogue, Catalogue]]:
    """(shipped, shipped plus one heavy extra capability) for every area and for a new area."""
    content = shipped.content
    extra = copy.deepcopy(content["areas"][0]["capabilities"][0])
    extra.update(id=EXTRA, depends_on=[], weight=5)
    variants = []
    for index in range(len(content["areas"])):
        grown = copy.deepcopy(content)
        grown["areas"][index]["capabilities"].append(copy.deepcopy(extra))
        variants.append(grown)
    grown = copy.deepcopy(content)
    new_area = {**copy.deepcopy(content["areas"][0]), "id": "extra-area", "weight": 5}
    new_area["capabilities"] = [copy.deepcopy(extra)]
    grown["areas"].append(new_area)
    variants.append(grown)
    pairs: list[tuple[Catalogue, Catalogue]] = []
    for variant in variants:
        bigger = Catalogue.from_content(variant)
        pairs += zip(every_method(shipped.catalogue), every_method(bigger), strict=True)
    return pairs


def answer_maps(catalogue: Catalogue, *, unanswered: bool = True) -> st.SearchStrategy[dict]:
    """Answers to the catalogue's indicators: mostly levels, some N/A, unknown or missing."""
    level = st.integers(0, catalogue.max_level).map(AnswerValue.at_level)
    others = [NA, UNKNOWN, None] if unanswered else [NA, UNKNOWN]
    value = st.one_of(level, level, st.sampled_from(others))
    keys = catalogue.indicator_keys()
    return st.lists(value, min_size=len(keys), max_size=len(keys)).map(
        lambda values: {k: v for k, v in zip(keys, values, strict=True) if v is not None}
    )


def score(catalogue: Catalogue, answers: dict) -> AssessmentScore:
    return score_assessment(catalogue, answers, catalogue_hash=HASH)


def assert_not_lower(before: AssessmentScore, after: AssessmentScore) -> None:
    capabilities = zip(before.capabilities, after.capabilities, strict=True)
    areas = zip(before.areas, after.areas, strict=True)
    pairs: list[tuple[float | None, float | None]] = [
        *((old.level, new.level) for old, new in capabilities),
        *((old.score, new.score) for old, new in areas),
        (before.overall, after.overall),
    ]
    for old_value, new_value in pairs:
        # The same indicators count before and after, so a value cannot appear or vanish.
        if old_value is None or new_value is None:
            assert old_value is None and new_value is None
        else:
            assert new_value >= old_value


# --- bounds -----------------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_levels_and_scores_stay_in_bounds(catalogues, data):
    catalogue = data.draw(st.sampled_from(catalogues))
    answers = data.draw(answer_maps(catalogue))
    result = score(catalogue, answers)
    top = catalogue.max_level

    for capability in result.capabilities:
        if capability.level is None:
            assert capability.score is None
        else:
            assert 0 <= capability.level <= top
            assert capability.score == pytest.approx(capability.level / top * 100)
            assert 0 <= capability.score <= 100
        assert capability.counted <= capability.completeness.total
        assert capability.provisional == any(
            (capability.capability_id, i.id) not in answers
            for i in catalogue.capability(capability.capability_id).indicators
        )

    by_area = {
        area.area_id: [c.score for c in result.capabilities if c.area_id == area.area_id]
        for area in result.areas
    }
    for area in result.areas:
        scored = [s for s in by_area[area.area_id] if s is not None]
        if not scored:
            assert area.score is None
        else:
            # A weighted mean lies between the smallest and the largest of what it averages.
            assert min(scored) - 1e-9 <= area.score <= max(scored) + 1e-9
            assert 0 <= area.score <= 100

    if catalogue.scoring.overall == OverallMethod.AREA_WEIGHTED_MEAN:
        parts = [a.score for a in result.areas if a.score is not None]
    else:
        parts = [c.score for c in result.capabilities if c.score is not None]
    if not parts:
        assert result.overall is None
    else:
        assert min(parts) - 1e-9 <= result.overall <= max(parts) + 1e-9

    assert result.completeness.answered == len(answers)
    assert result.completeness.total == len(catalogue.indicator_keys())
    assert result.provisional == (len(answers) < result.completeness.total)
    assert result.completeness.unknown == sum(a.response == "unknown" for a in answers.values())
    assert result.completeness.not_applicable == sum(
        a.response == "not_applicable" for a in answers.values()
    )


@PROPERTY
@given(data=st.data())
def test_minimum_never_exceeds_mean_floor(catalogues, data):
    catalogue = data.draw(st.sampled_from(catalogues))
    answers = data.draw(answer_maps(catalogue))
    policy, overall = catalogue.scoring.unknown, catalogue.scoring.overall
    floor = score(
        with_method(catalogue, CapabilityLevelMethod.MEAN_FLOOR, policy, overall), answers
    )
    minimum = score(with_method(catalogue, CapabilityLevelMethod.MINIMUM, policy, overall), answers)
    for by_mean, by_minimum in zip(floor.capabilities, minimum.capabilities, strict=True):
        assert (by_mean.level is None) == (by_minimum.level is None)
        if by_mean.level is not None:
            assert by_minimum.level <= by_mean.level


# --- monotonicity -----------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_raising_one_indicator_never_lowers_any_score(catalogues, data):
    catalogue = data.draw(st.sampled_from(catalogues))
    answers = data.draw(answer_maps(catalogue))
    key = data.draw(st.sampled_from(catalogue.indicator_keys()))
    low = data.draw(st.integers(0, catalogue.max_level))
    high = data.draw(st.integers(low, catalogue.max_level))
    before = score(catalogue, {**answers, key: AnswerValue.at_level(low)})
    after = score(catalogue, {**answers, key: AnswerValue.at_level(high)})
    assert_not_lower(before, after)


@PROPERTY
@given(data=st.data())
def test_replacing_unknown_with_a_level_never_lowers_when_unknown_is_zero(catalogues, data):
    as_zero = [c for c in catalogues if c.scoring.unknown == UnknownPolicy.AS_ZERO]
    catalogue = data.draw(st.sampled_from(as_zero))
    answers = data.draw(answer_maps(catalogue))
    key = data.draw(st.sampled_from(catalogue.indicator_keys()))
    level = data.draw(st.integers(0, catalogue.max_level))
    before = score(catalogue, {**answers, key: UNKNOWN})
    after = score(catalogue, {**answers, key: AnswerValue.at_level(level)})
    assert_not_lower(before, after)


# --- not applicable ---------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_not_applicable_beside_equal_levels_keeps_that_level(catalogues, data):
    catalogue = data.draw(st.sampled_from(catalogues))
    answers = data.draw(answer_maps(catalogue))
    capability = data.draw(st.sampled_from(catalogue.capabilities()))
    level = data.draw(st.integers(0, catalogue.max_level))
    marked = data.draw(st.sampled_from(capability.indicators)).id
    for indicator in capability.indicators:
        answers[(capability.id, indicator.id)] = AnswerValue.at_level(level)
    uniform = score(catalogue, answers).capability(capability.id)
    answers[(capability.id, marked)] = NA
    with_na = score(catalogue, answers).capability(capability.id)
    assert uniform.level == with_na.level == level
    assert with_na.counted == uniform.counted - 1


@PROPERTY
@given(data=st.data())
def test_adding_an_all_not_applicable_capability_changes_no_score(extended_pairs, data):
    base, bigger = data.draw(st.sampled_from(extended_pairs))
    answers = data.draw(answer_maps(base))
    extra = {(EXTRA, indicator.id): NA for indicator in bigger.capability(EXTRA).indicators}
    before = score(base, answers)
    after = score(bigger, {**answers, **extra})

    assert after.overall == before.overall
    assert [a.score for a in after.areas][: len(before.areas)] == [a.score for a in before.areas]
    assert all(a.score is None for a in after.areas[len(before.areas) :])
    kept = [c for c in after.capabilities if c.capability_id != EXTRA]
    assert kept == list(before.capabilities)
    assert after.capability(EXTRA).not_applicable
    # The extra indicators are answered (N/A), so completeness changes only in the totals.
    assert after.provisional == before.provisional
    assert after.completeness.not_applicable == before.completeness.not_applicable + len(extra)


# --- order invariance -------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_order_of_answers_and_targets_changes_nothing(catalogues, data):
    catalogue = data.draw(st.sampled_from(catalogues))
    answers = data.draw(answer_maps(catalogue))
    shuffled = dict(data.draw(st.permutations(list(answers.items()))))
    ids = [c.id for c in catalogue.capabilities()]
    targets = data.draw(st.dictionaries(st.sampled_from(ids), st.integers(0, catalogue.max_level)))
    shuffled_targets = dict(data.draw(st.permutations(list(targets.items()))))

    first, second = score(catalogue, answers), score(catalogue, shuffled)
    assert first == second
    assert rank_gaps(catalogue, first, targets) == rank_gaps(catalogue, second, shuffled_targets)


# --- gap ranking ------------------------------------------------------------------------


@PROPERTY
@given(data=st.data())
def test_gap_ranking_is_complete_consistent_and_respects_dependencies(catalogues, data):
    catalogue = data.draw(st.sampled_from(catalogues))
    answers = data.draw(answer_maps(catalogue))
    ids = [c.id for c in catalogue.capabilities()]
    targets = data.draw(st.dictionaries(st.sampled_from(ids), st.integers(0, catalogue.max_level)))
    result = score(catalogue, answers)
    analysis = rank_gaps(catalogue, result, targets)
    order = [gap.capability_id for gap in analysis.gaps]

    expected_gaps = {
        c.capability_id
        for c in result.capabilities
        if c.capability_id in targets
        and not c.not_applicable
        and targets[c.capability_id] > (c.level or 0)
    }
    assert set(order) == expected_gaps and len(order) == len(expected_gaps)
    assert sorted([*order, *analysis.met, *analysis.not_applicable]) == sorted(targets)
    assert [gap.rank for gap in analysis.gaps] == list(range(1, len(order) + 1))

    for gap in analysis.gaps:
        current = result.capability(gap.capability_id)
        assert gap.current_level == current.level
        assert gap.gap == gap.target_level - (current.level or 0) > 0
        assert gap.priority == gap.gap * gap.weight * (1 + len(gap.dependants))
        assert gap.effective_priority >= gap.priority
        for prerequisite in gap.prerequisites:
            assert order.index(prerequisite) < order.index(gap.capability_id)
        for dependant in gap.dependants:
            assert gap.capability_id in analysis.gaps[order.index(dependant)].prerequisites
    effective = [gap.effective_priority for gap in analysis.gaps]
    assert effective == sorted(effective, reverse=True)

    actions = draft_actions(catalogue, analysis.gaps)
    assert len(actions) == sum(
        len(catalogue.capability(gap.capability_id).steps[step])
        for gap in analysis.gaps
        for step in range(gap.target_level - gap.gap + 1, gap.target_level + 1)
    )
    assert [a.gap_rank for a in actions] == sorted(a.gap_rank for a in actions)
