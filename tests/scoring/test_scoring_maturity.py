"""Capability levels, area and overall scores, completeness and provenance, computed by hand."""

from __future__ import annotations

import pytest

from app.assessments.models import Response
from app.catalogue.schema import CapabilityLevelMethod
from app.scoring import (
    AnswerValue,
    Completeness,
    ScoringError,
    capability_level,
    display_score,
    round_for_display,
    score_assessment,
    score_capability,
)

NA = AnswerValue.not_applicable()
UNKNOWN = AnswerValue.unknown()
HASH = "sha256:" + "ab" * 32


def lv(level: int) -> AnswerValue:
    return AnswerValue.at_level(level)


def answers_for(capability_id: str, *values: AnswerValue | None) -> dict:
    """Answers to indicators i1, i2, ... of one capability; None leaves one unanswered."""
    return {
        (capability_id, f"i{number}"): value
        for number, value in enumerate(values, start=1)
        if value is not None
    }


def one_capability(build_catalogue, indicators: int, **options):
    return build_catalogue({"area": [{"id": "cap", "indicators": indicators}]}, **options)


# --- capability level -------------------------------------------------------------------


def test_mean_floor_rounds_the_mean_down(build_catalogue):
    catalogue = one_capability(build_catalogue, 3)
    result = score_assessment(
        catalogue, answers_for("cap", lv(3), lv(2), lv(2)), catalogue_hash=HASH
    ).capability("cap")
    # (3 + 2 + 2) / 3 = 2.33 -> 2; 2 of 4 levels = 50
    assert (result.level, result.score, result.counted) == (2, 50.0, 3)
    assert not result.provisional


def test_mean_floor_does_not_round_up_just_below_the_next_level(build_catalogue):
    catalogue = one_capability(build_catalogue, 4)
    answers = answers_for("cap", lv(4), lv(4), lv(4), lv(3))
    # 15 / 4 = 3.75: three indicators at the top do not make the capability Mature
    assert score_assessment(catalogue, answers, catalogue_hash=HASH).capability("cap").level == 3


def test_minimum_counts_a_level_only_when_every_indicator_reaches_it(build_catalogue):
    catalogue = one_capability(build_catalogue, 3, capability_level="minimum")
    answers = answers_for("cap", lv(3), lv(2), lv(4))
    result = score_assessment(catalogue, answers, catalogue_hash=HASH).capability("cap")
    assert (result.level, result.score) == (2, 50.0)


@pytest.mark.parametrize(
    ("capability_level_method", "unknown", "expected_level", "expected_counted"),
    [
        ("mean_floor", "as_zero", 2, 3),  # (4 + 4 + 0) / 3 = 2.67 -> 2
        ("mean_floor", "exclude", 4, 2),  # (4 + 4) / 2
        ("minimum", "as_zero", 0, 3),  # the unknown is a 0
        ("minimum", "exclude", 4, 2),
    ],
)
def test_unknown_counts_as_zero_or_is_left_out_by_policy(
    build_catalogue, capability_level_method, unknown, expected_level, expected_counted
):
    catalogue = one_capability(
        build_catalogue, 3, capability_level=capability_level_method, unknown=unknown
    )
    answers = answers_for("cap", lv(4), UNKNOWN, lv(4))
    result = score_assessment(catalogue, answers, catalogue_hash=HASH).capability("cap")
    assert (result.level, result.counted) == (expected_level, expected_counted)
    # Reported whatever the policy, and an unknown is an answer: nothing is provisional.
    assert result.completeness == Completeness(total=3, with_level=2, unknown=1)
    assert not result.provisional


def test_all_unknown_is_level_zero_as_zero_and_no_level_when_excluded(build_catalogue):
    answers = answers_for("cap", UNKNOWN, UNKNOWN)
    as_zero = score_assessment(
        one_capability(build_catalogue, 2), answers, catalogue_hash=HASH
    ).capability("cap")
    excluded = score_assessment(
        one_capability(build_catalogue, 2, unknown="exclude"), answers, catalogue_hash=HASH
    ).capability("cap")
    assert (as_zero.level, as_zero.score) == (0, 0.0)
    assert (excluded.level, excluded.score, excluded.not_applicable) == (None, None, False)
    assert not excluded.provisional  # fully answered, just not knowable


def test_not_applicable_indicators_are_left_out(build_catalogue):
    catalogue = one_capability(build_catalogue, 3)
    answers = answers_for("cap", lv(3), NA, lv(1))
    result = score_assessment(catalogue, answers, catalogue_hash=HASH).capability("cap")
    assert (result.level, result.counted, result.not_applicable) == (2, 2, False)
    assert result.completeness == Completeness(total=3, with_level=2, not_applicable=1)


def test_capability_with_every_indicator_not_applicable_is_not_applicable(build_catalogue):
    catalogue = one_capability(build_catalogue, 2)
    result = score_assessment(
        catalogue, answers_for("cap", NA, NA), catalogue_hash=HASH
    ).capability("cap")
    assert (result.level, result.score, result.not_applicable) == (None, None, True)
    assert not result.provisional


def test_partly_not_applicable_and_partly_unanswered_is_not_yet_not_applicable(build_catalogue):
    catalogue = one_capability(build_catalogue, 2)
    result = score_assessment(
        catalogue, answers_for("cap", NA, None), catalogue_hash=HASH
    ).capability("cap")
    # The unanswered indicator may still apply: no level yet, and not excluded as N/A.
    assert (result.level, result.not_applicable, result.provisional) == (None, False, True)


def test_unanswered_indicators_are_not_counted_and_make_the_level_provisional(build_catalogue):
    catalogue = one_capability(build_catalogue, 3)
    result = score_assessment(
        catalogue, answers_for("cap", lv(3), None, lv(1)), catalogue_hash=HASH
    ).capability("cap")
    assert (result.level, result.counted) == (2, 2)
    assert (result.completeness.answered, result.completeness.total) == (2, 3)
    assert result.completeness.unanswered == 1
    assert result.provisional


def test_capability_with_nothing_answered_has_no_level(build_catalogue):
    catalogue = one_capability(build_catalogue, 2)
    result = score_assessment(catalogue, {}, catalogue_hash=HASH).capability("cap")
    assert (result.level, result.score, result.provisional) == (None, None, True)
    assert result.completeness.share == 0.0


def test_capability_level_helper():
    assert capability_level([], CapabilityLevelMethod.MEAN_FLOOR) is None
    assert capability_level([1, 2], CapabilityLevelMethod.MEAN_FLOOR) == 1
    assert capability_level([3, 4, 4], CapabilityLevelMethod.MEAN_FLOOR) == 3
    assert capability_level([3, 4, 4], CapabilityLevelMethod.MINIMUM) == 3
    assert capability_level([0, 4], CapabilityLevelMethod.MINIMUM) == 0


def test_score_capability_scores_one_capability_alone(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x"}, {"id": "y"}]})
    answers = {**answers_for("x", lv(4), lv(2)), **answers_for("y", lv(0), lv(0))}
    result = score_capability(catalogue, catalogue.capability("x"), answers)
    assert (result.capability_id, result.area_id, result.level, result.score) == (
        "x",
        "a",
        3,
        75.0,
    )


# --- area and overall scores ------------------------------------------------------------


def test_area_score_weights_capabilities(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x", "weight": 2}, {"id": "y"}]})
    answers = {**answers_for("x", lv(3), lv(3)), **answers_for("y", lv(1), lv(1))}
    score = score_assessment(catalogue, answers, catalogue_hash=HASH)
    # (2 × 75 + 1 × 25) / 3 = 58.33
    assert score.area("a").score == pytest.approx(175 / 3)
    assert display_score(score.area("a").score) == "58.3"
    assert score.overall == pytest.approx(175 / 3)


def test_not_applicable_capability_is_left_out_and_weights_renormalised(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x", "weight": 3}, {"id": "y"}, {"id": "z"}]})
    answers = {
        **answers_for("x", NA, NA),
        **answers_for("y", lv(4), lv(4)),
        **answers_for("z", lv(2), lv(2)),
    }
    area = score_assessment(catalogue, answers, catalogue_hash=HASH).area("a")
    # x's weight of 3 disappears: (100 + 50) / 2
    assert area.score == 75.0
    assert (area.scored_capabilities, area.not_applicable_capabilities) == (2, 1)
    assert not area.not_applicable


def test_capability_without_a_level_is_left_out_of_its_area(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x"}, {"id": "y"}]})
    answers = answers_for("x", lv(2), lv(2))  # y not answered at all
    area = score_assessment(catalogue, answers, catalogue_hash=HASH).area("a")
    assert area.score == 50.0
    assert area.provisional
    assert (area.completeness.answered, area.completeness.total) == (2, 4)


def test_area_entirely_not_applicable_has_no_score_and_leaves_the_overall(build_catalogue):
    catalogue = build_catalogue(
        {"a": [{"id": "x"}], "b": [{"id": "y"}, {"id": "w"}], "c": [{"id": "z"}]},
        area_weights={"a": 1, "b": 2, "c": 3},
    )
    answers = {
        **answers_for("x", lv(2), lv(2)),  # 50
        **answers_for("y", NA, NA),
        **answers_for("w", NA, NA),
        **answers_for("z", lv(4), lv(4)),  # 100
    }
    score = score_assessment(catalogue, answers, catalogue_hash=HASH)
    area_b = score.area("b")
    assert (area_b.score, area_b.not_applicable, area_b.provisional) == (None, True, False)
    # b's weight of 2 disappears: (1 × 50 + 3 × 100) / 4
    assert score.overall == 87.5
    assert score.completeness == Completeness(total=8, with_level=4, not_applicable=4)
    assert not score.provisional


def test_everything_not_applicable_gives_no_overall(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x"}]})
    score = score_assessment(catalogue, answers_for("x", NA, NA), catalogue_hash=HASH)
    assert (score.area("a").score, score.overall, score.provisional) == (None, None, False)


def _two_area_catalogue(build_catalogue, overall: str, weight_q: float = 1):
    return build_catalogue(
        {"p": [{"id": "x", "weight": 2}, {"id": "y"}], "q": [{"id": "z"}]},
        area_weights={"q": weight_q},
        overall=overall,
    )


TWO_AREA_ANSWERS = {
    **answers_for("x", lv(4), lv(4)),  # 100, weight 2
    **answers_for("y", lv(0), lv(0)),  # 0, weight 1
    **answers_for("z", lv(2), lv(2)),  # 50, weight 1
}


def test_overall_as_area_weighted_mean(build_catalogue):
    score = score_assessment(
        _two_area_catalogue(build_catalogue, "area_weighted_mean"),
        TWO_AREA_ANSWERS,
        catalogue_hash=HASH,
    )
    # p = (2 × 100 + 0) / 3 = 66.67; q = 50; overall = (66.67 + 50) / 2 = 58.33
    assert score.area("p").score == pytest.approx(200 / 3)
    assert score.area("q").score == 50.0
    assert score.overall == pytest.approx(175 / 3)
    assert display_score(score.overall) == "58.3"


def test_overall_as_area_weighted_mean_uses_area_weights(build_catalogue):
    score = score_assessment(
        _two_area_catalogue(build_catalogue, "area_weighted_mean", weight_q=3),
        TWO_AREA_ANSWERS,
        catalogue_hash=HASH,
    )
    # (1 × 66.67 + 3 × 50) / 4 = 54.17
    assert score.overall == pytest.approx((200 / 3 + 150) / 4)
    assert display_score(score.overall) == "54.2"


def test_overall_as_capability_weighted_mean_ignores_areas(build_catalogue):
    score = score_assessment(
        _two_area_catalogue(build_catalogue, "capability_weighted_mean", weight_q=3),
        TWO_AREA_ANSWERS,
        catalogue_hash=HASH,
    )
    # (2 × 100 + 1 × 0 + 1 × 50) / 4 = 62.5, area weights play no part
    assert score.overall == 62.5
    assert score.area("p").score == pytest.approx(200 / 3)


def test_scores_are_exact_at_boundaries(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x", "weight": 0.1}, {"id": "y", "weight": 0.2}]})
    answers = {**answers_for("x", lv(2), lv(2)), **answers_for("y", lv(2), lv(2))}
    # Plain float arithmetic gives (0.1 × 50 + 0.2 × 50) / (0.1 + 0.2) = 49.99999999999999.
    score = score_assessment(catalogue, answers, catalogue_hash=HASH)
    assert score.area("a").score == 50.0
    assert score.overall == 50.0


# --- provisional flags, provenance and the shipped catalogue -----------------------------


def test_one_missing_answer_makes_its_capability_area_and_overall_provisional(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x"}, {"id": "y"}], "b": [{"id": "z"}]})
    answers = {
        **answers_for("x", lv(2), None),
        **answers_for("y", lv(2), lv(2)),
        **answers_for("z", lv(2), lv(2)),
    }
    score = score_assessment(catalogue, answers, catalogue_hash=HASH)
    assert [c.provisional for c in score.capabilities] == [True, False, False]
    assert [a.provisional for a in score.areas] == [True, False]
    assert score.provisional
    assert (score.completeness.answered, score.completeness.total) == (5, 6)
    assert score.completeness.share == pytest.approx(5 / 6)
    complete = score_assessment(catalogue, {**answers, ("x", "i2"): lv(2)}, catalogue_hash=HASH)
    assert not complete.provisional
    assert complete.overall == 50.0


def test_result_records_catalogue_identity_hash_and_method(build_catalogue):
    catalogue = build_catalogue(
        {"a": [{"id": "x"}]},
        capability_level="minimum",
        unknown="exclude",
        overall="capability_weighted_mean",
    )
    score = score_assessment(catalogue, {}, catalogue_hash=HASH)
    record = score.provenance
    assert (record.catalogue_id, record.catalogue_version, record.catalogue_hash) == (
        "crafted",
        "1",
        HASH,
    )
    assert (record.method, record.method_version) == ("gsr-maturity", 1)
    assert (record.capability_level, record.unknown, record.overall) == (
        "minimum",
        "exclude",
        "capability_weighted_mean",
    )
    assert score.max_level == 4


def test_shipped_catalogue_all_developing_scores_fifty(shipped):
    catalogue = shipped.catalogue
    answers = {key: lv(2) for key in catalogue.indicator_keys()}
    score = score_assessment(catalogue, answers, catalogue_hash=shipped.content_hash)
    assert {c.level for c in score.capabilities} == {2}
    assert {a.score for a in score.areas} == {50.0}
    assert score.overall == 50.0
    assert not score.provisional
    assert score.provenance.catalogue_hash == shipped.content_hash
    assert score.provenance.catalogue_version == catalogue.version
    assert len(score.capabilities) == len(catalogue.capabilities())


def test_shipped_catalogue_with_no_answers_has_no_scores(shipped):
    catalogue = shipped.catalogue
    score = score_assessment(catalogue, {}, catalogue_hash=shipped.content_hash)
    assert score.overall is None
    assert all(a.score is None for a in score.areas)
    assert score.completeness == Completeness(total=len(catalogue.indicator_keys()))
    assert score.provisional


def test_shipped_catalogue_leadership_area_by_hand(shipped):
    catalogue = shipped.catalogue
    answers = {
        **{("leadership", i.id): lv(3) for i in catalogue.capability("leadership").indicators},
        **{("legislation", i.id): lv(1) for i in catalogue.capability("legislation").indicators},
    }
    policy = score_assessment(catalogue, answers, catalogue_hash=shipped.content_hash).area(
        "policy"
    )
    # leadership (weight 2) at 75, legislation (weight 2) at 25; the other two unanswered
    assert policy.score == 50.0
    assert policy.provisional
    assert policy.scored_capabilities == 2


# --- inputs -----------------------------------------------------------------------------


def test_answer_value_accepts_the_assessments_response_enum():
    assert AnswerValue(Response.LEVEL, 2) == lv(2)
    assert AnswerValue(Response.NOT_APPLICABLE) == NA
    assert AnswerValue(Response.UNKNOWN).response == "unknown"
    assert type(AnswerValue(Response.UNKNOWN).response) is str


@pytest.mark.parametrize(
    ("response", "level"),
    [("level", None), ("level", True), ("level", 2.0), ("unknown", 1), ("bogus", None)],
)
def test_answer_value_rejects_inconsistent_answers(response, level):
    with pytest.raises(ScoringError):
        AnswerValue(response, level)


def test_answers_off_the_scale_are_refused(build_catalogue):
    catalogue = one_capability(build_catalogue, 2)
    with pytest.raises(ScoringError, match="0-4 for: cap/i1"):
        score_assessment(catalogue, {("cap", "i1"): lv(5)}, catalogue_hash=HASH)
    with pytest.raises(ScoringError, match="cap/i2"):
        score_assessment(catalogue, {("cap", "i2"): lv(-1)}, catalogue_hash=HASH)


def test_answers_to_unknown_indicators_are_refused(build_catalogue):
    catalogue = one_capability(build_catalogue, 2)
    with pytest.raises(ScoringError, match="not in the catalogue: cap/i9, other/i1"):
        score_assessment(
            catalogue, {("cap", "i9"): lv(1), ("other", "i1"): lv(1)}, catalogue_hash=HASH
        )


def test_unsupported_method_version_is_refused(build_catalogue):
    catalogue = one_capability(build_catalogue, 2, method_version=2)
    with pytest.raises(ScoringError, match="version 2 is not supported"):
        score_assessment(catalogue, {}, catalogue_hash=HASH)


def test_hash_is_required(build_catalogue):
    with pytest.raises(ScoringError, match="catalogue_hash"):
        score_assessment(one_capability(build_catalogue, 2), {}, catalogue_hash="")


# --- display ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "locale", "text"),
    [
        (62.45, "en", "62.5"),  # halves go up, as by hand
        (62.44999, "en", "62.4"),
        (100.0, "en", "100.0"),
        (0.0, "en", "0.0"),
        (200 / 3, "en", "66.7"),
        (62.45, "fr", "62,5"),
        (None, "en", "–"),
    ],
)
def test_display_score(value, locale, text):
    assert display_score(value, locale) == text


def test_round_for_display_keeps_one_decimal():
    assert str(round_for_display(87.5)) == "87.5"
    assert str(round_for_display(1 / 3 * 100)) == "33.3"
    assert display_score(None, missing="n/a") == "n/a"


# --- answers carried over from the previous cycle ---------------------------------------


def test_carried_over_answers_count_at_their_value_but_keep_the_score_provisional(
    build_catalogue,
):
    catalogue = build_catalogue({"a": [{"id": "x"}, {"id": "y"}], "b": [{"id": "z"}]})
    carried = {
        ("x", "i1"): AnswerValue("level", 3, carried_over=True),
        ("x", "i2"): AnswerValue("unknown", carried_over=True),
    }
    confirmed = {
        ("y", "i1"): AnswerValue.at_level(2),
        ("y", "i2"): AnswerValue.at_level(2),
        ("z", "i1"): AnswerValue.at_level(4),
        ("z", "i2"): AnswerValue.not_applicable(),
    }
    score = score_assessment(catalogue, {**carried, **confirmed}, catalogue_hash=HASH)
    plain = score_assessment(
        catalogue,
        {**{key: AnswerValue(v.response, v.level) for key, v in carried.items()}, **confirmed},
        catalogue_hash=HASH,
    )
    # The same numbers as if confirmed: only the flags and counts differ.
    assert [c.level for c in score.capabilities] == [c.level for c in plain.capabilities]
    assert score.overall == plain.overall
    x, y, z = score.capabilities
    assert x.completeness == Completeness(total=2, with_level=1, unknown=1, unconfirmed=2)
    assert (x.completeness.answered, x.completeness.confirmed) == (2, 0)
    assert (x.provisional, y.provisional, z.provisional) == (True, False, False)
    assert [area.provisional for area in score.areas] == [True, False]
    assert score.provisional and not plain.provisional
    assert score.completeness.unconfirmed == 2 and score.completeness.confirmed == 4


def test_tentative_also_covers_unknown_answers(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x"}]})
    known = {("x", "i1"): AnswerValue.at_level(2), ("x", "i2"): AnswerValue.at_level(3)}
    firm = score_assessment(catalogue, known, catalogue_hash=HASH)
    assert not firm.completeness.provisional and not firm.completeness.tentative
    with_unknown = {**known, ("x", "i2"): AnswerValue.unknown()}
    unsure = score_assessment(catalogue, with_unknown, catalogue_hash=HASH)
    # An unknown is an answer (not provisional), but the score does rest on it.
    assert not unsure.completeness.provisional and unsure.completeness.tentative
