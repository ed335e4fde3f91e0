"""Strengths: only the capabilities that stand out above the country's typical level."""

from __future__ import annotations

from app.scoring import AnswerValue, find_strengths, score_assessment, strength_floor

HASH = "sha256:" + "ef" * 32


def scored(catalogue, levels: dict[str, int | None]):
    """Every indicator of each capability at its level; None leaves it unanswered."""
    answers = {
        (capability_id, indicator): AnswerValue.at_level(level)
        for capability_id, level in levels.items()
        if level is not None
        for indicator in ("i1", "i2")
    }
    return score_assessment(catalogue, answers, catalogue_hash=HASH)


def sketch(count: int, weights: dict[str, float] | None = None) -> dict:
    weights = weights or {}
    return {"a": [{"id": f"c{n}", "weight": weights.get(f"c{n}", 1)} for n in range(count)]}


def test_most_capabilities_at_established_do_not_all_count_as_strengths(build_catalogue):
    # 8 of 10 at Established or above: only the two at Mature stand out.
    catalogue = build_catalogue(sketch(10))
    levels = dict(zip([f"c{n}" for n in range(10)], [3, 3, 4, 3, 3, 2, 3, 4, 3, 1], strict=True))
    found = find_strengths(scored(catalogue, levels))
    assert found.capabilities == ("c2", "c7")
    assert (found.reached, found.floor, found.typical) == (True, 3, 3.0)
    assert (found.at_floor, found.scored) == (8, 10)


def test_strengths_come_highest_level_first_then_by_weight_then_catalogue_order(
    build_catalogue,
):
    catalogue = build_catalogue(sketch(6, {"c4": 2}))
    levels = {"c0": 1, "c1": 3, "c2": 4, "c3": 1, "c4": 3, "c5": 1}
    found = find_strengths(scored(catalogue, levels))
    assert found.capabilities == ("c2", "c4", "c1")
    assert found.typical == 2.0  # the median of 1, 1, 1, 3, 3, 4


def test_when_nothing_stands_out_no_strength_is_named(build_catalogue):
    catalogue = build_catalogue(sketch(4))
    found = find_strengths(scored(catalogue, {"c0": 3, "c1": 3, "c2": 3, "c3": 3}))
    assert found.capabilities == ()
    assert (found.reached, found.at_floor, found.scored) == (False, 4, 4)


def test_below_the_floor_the_most_advanced_of_those_standing_out_are_named(build_catalogue):
    catalogue = build_catalogue(sketch(5))
    found = find_strengths(scored(catalogue, {"c0": 0, "c1": 2, "c2": 1, "c3": 2, "c4": 0}))
    assert found.capabilities == ("c1", "c3")
    assert (found.reached, found.typical) == (False, 1.0)


def test_capabilities_without_a_level_are_left_out_of_the_median(build_catalogue):
    catalogue = build_catalogue(sketch(4))
    # c2 and c3 unanswered: the median is that of 2 and 4, which is 3.
    found = find_strengths(scored(catalogue, {"c0": 2, "c1": 4, "c2": None, "c3": None}))
    assert found.capabilities == ("c1",)
    assert (found.typical, found.scored) == (3.0, 2)
    assert find_strengths(scored(catalogue, {})).capabilities == ()


def test_the_floor_is_one_below_the_top_and_at_least_1():
    assert [strength_floor(top) for top in (1, 2, 4, 5)] == [1, 1, 3, 4]
