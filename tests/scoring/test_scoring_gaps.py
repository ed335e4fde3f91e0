"""Gap ranking and draft actions, computed by hand."""

from __future__ import annotations

import pytest

from app.scoring import AnswerValue, ScoringError, draft_actions, rank_gaps, score_assessment

HASH = "sha256:" + "cd" * 32
NA = AnswerValue.not_applicable()


def at(capability_id: str, level: int, indicators: int = 2) -> dict:
    """Every indicator of a capability answered at one level."""
    return {
        (capability_id, f"i{number}"): AnswerValue.at_level(level)
        for number in range(1, indicators + 1)
    }


def analyse(catalogue, answers: dict, targets: dict):
    return rank_gaps(catalogue, score_assessment(catalogue, answers, catalogue_hash=HASH), targets)


def test_prerequisite_takes_the_urgency_of_what_waits_for_it(build_catalogue):
    catalogue = build_catalogue(
        {
            "a": [
                {"id": "found", "weight": 1},
                {"id": "build", "weight": 3, "depends_on": ["found"]},
                {"id": "alone", "weight": 2},
            ]
        }
    )
    answers = {**at("found", 2), **at("build", 0), **at("alone", 1)}
    analysis = analyse(catalogue, answers, {"found": 3, "build": 3, "alone": 3})

    # priority = gap × weight × (1 + dependants with gaps)
    #   found: 1 × 1 × 2 = 2, raised to 9 because build waits for it
    #   build: 3 × 3 × 1 = 9
    #   alone: 2 × 2 × 1 = 4
    assert [g.capability_id for g in analysis.gaps] == ["found", "build", "alone"]
    assert [g.rank for g in analysis.gaps] == [1, 2, 3]
    found, build, alone = analysis.gaps
    assert (found.current_level, found.target_level, found.gap) == (2, 3, 1)
    assert (found.priority, found.effective_priority) == (2, 9)
    assert (build.priority, build.effective_priority) == (9, 9)
    assert (alone.priority, alone.effective_priority) == (4, 4)
    assert found.dependants == ("build",) and found.prerequisites == ()
    assert build.prerequisites == ("found",) and build.dependants == ()
    assert found.reason == (
        "gap of 1 level (level 2, target 3); weight 1; 1 capability with a gap depends on it; "
        "priority 2; raised to 9 because “Capability build” waits for it"
    )
    assert build.reason == (
        "gap of 3 levels (level 0, target 3); weight 3; priority 9; "
        "comes after “Capability found”, which it depends on"
    )
    assert alone.reason == "gap of 2 levels (level 1, target 3); weight 2; priority 4"
    assert analysis.provenance.catalogue_hash == HASH


def test_dependency_order_holds_even_when_the_dependant_scores_higher(build_catalogue):
    # "later" comes first in the catalogue and has the higher own priority; it still waits.
    catalogue = build_catalogue({"a": [{"id": "later", "depends_on": ["first"]}, {"id": "first"}]})
    answers = {**at("later", 0), **at("first", 3)}
    analysis = analyse(catalogue, answers, {"later": 4, "first": 4})
    # later: 4 × 1 × 1 = 4; first: 1 × 1 × 2 = 2, raised to 4: a tie broken by dependency
    assert [g.capability_id for g in analysis.gaps] == ["first", "later"]
    assert [g.effective_priority for g in analysis.gaps] == [4, 4]


def test_dependency_through_a_capability_without_a_gap_still_orders(build_catalogue):
    catalogue = build_catalogue(
        {
            "a": [
                {"id": "top", "weight": 2, "depends_on": ["middle"]},
                {"id": "middle", "depends_on": ["base"]},
                {"id": "base"},
            ]
        }
    )
    answers = {**at("top", 1), **at("middle", 3), **at("base", 2)}
    analysis = analyse(catalogue, answers, {"top": 3, "middle": 3, "base": 3})
    assert analysis.met == ("middle",)
    assert [g.capability_id for g in analysis.gaps] == ["base", "top"]
    base, top = analysis.gaps
    assert base.dependants == ("top",)
    assert top.prerequisites == ("base",)
    # base: 1 × 1 × 2 = 2, raised to top's 2 × 2 × 1 = 4
    assert (base.priority, base.effective_priority, top.priority) == (2, 4, 4)


def test_reason_names_only_the_nearest_prerequisites(build_catalogue):
    catalogue = build_catalogue(
        {
            "a": [
                {"id": "root"},
                {"id": "left", "depends_on": ["root"]},
                {"id": "right", "depends_on": ["root"]},
                {"id": "leaf", "depends_on": ["left", "right"]},
            ]
        }
    )
    answers = {**at("root", 0), **at("left", 0), **at("right", 0), **at("leaf", 0)}
    analysis = analyse(catalogue, answers, {"root": 1, "left": 1, "right": 1, "leaf": 1})
    assert [g.capability_id for g in analysis.gaps] == ["root", "left", "right", "leaf"]
    leaf = analysis.gaps[-1]
    assert leaf.prerequisites == ("root", "left", "right")
    assert leaf.reason.endswith(
        "comes after “Capability left” and “Capability right”, which it depends on"
    )
    root = analysis.gaps[0]
    assert root.priority == 4  # 1 × 1 × (1 + 3)
    assert "3 capabilities with gaps depend on it" in root.reason


def test_equal_priorities_keep_catalogue_order(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "p"}, {"id": "q"}], "b": [{"id": "r"}]})
    answers = {**at("p", 1), **at("q", 1), **at("r", 1)}
    analysis = analyse(catalogue, answers, {"r": 2, "q": 2, "p": 2})
    assert [g.capability_id for g in analysis.gaps] == ["p", "q", "r"]


def test_bigger_gap_and_weight_rank_first_without_dependencies(build_catalogue):
    catalogue = build_catalogue(
        {"a": [{"id": "small"}, {"id": "heavy", "weight": 1.5}, {"id": "wide"}]}
    )
    answers = {**at("small", 2), **at("heavy", 2), **at("wide", 0)}
    analysis = analyse(catalogue, answers, {"small": 3, "heavy": 3, "wide": 3})
    # wide 3 × 1 = 3; heavy 1 × 1.5 = 1.5; small 1 × 1 = 1
    assert [(g.capability_id, g.priority) for g in analysis.gaps] == [
        ("wide", 3),
        ("heavy", 1.5),
        ("small", 1),
    ]
    assert analysis.gaps[1].reason.startswith("gap of 1 level (level 2, target 3); weight 1.5;")


def test_no_level_yet_counts_as_zero_and_is_provisional(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x", "indicators": 3}]})
    analysis = analyse(catalogue, {}, {"x": 2})
    (gap,) = analysis.gaps
    assert (gap.current_level, gap.gap, gap.provisional) == (None, 2, True)
    assert gap.reason == (
        "gap of 2 levels (no level yet, taken as 0, target 2); weight 1; priority 2; "
        "provisional: 0 of 3 indicators answered"
    )


def test_targets_missing_met_or_not_applicable_make_no_gap(build_catalogue):
    catalogue = build_catalogue(
        {"a": [{"id": "untargeted"}, {"id": "above"}, {"id": "exact"}, {"id": "na"}]}
    )
    answers = {**at("untargeted", 0), **at("above", 4), **at("exact", 2)}
    answers |= {("na", "i1"): NA, ("na", "i2"): NA}
    analysis = analyse(catalogue, answers, {"above": 3, "exact": 2, "na": 4})
    assert analysis.gaps == ()
    assert analysis.met == ("above", "exact")
    assert analysis.not_applicable == ("na",)


def test_target_zero_is_always_met(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x"}]})
    analysis = analyse(catalogue, {}, {"x": 0})
    assert (analysis.gaps, analysis.met) == ((), ("x",))


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"nope": 2}, "not in the catalogue: nope"),
        ({"x": 5}, "0-4 for: x"),
        ({"x": -1}, "0-4 for: x"),
        ({"x": True}, "0-4 for: x"),
        ({"x": 2.5}, "0-4 for: x"),
    ],
)
def test_bad_targets_are_refused(build_catalogue, targets, message):
    catalogue = build_catalogue({"a": [{"id": "x"}]})
    with pytest.raises(ScoringError, match=message):
        analyse(catalogue, {}, targets)


def test_score_from_another_catalogue_is_refused(build_catalogue):
    one = build_catalogue({"a": [{"id": "x"}]})
    other = build_catalogue({"a": [{"id": "y"}]})
    score = score_assessment(other, {}, catalogue_hash=HASH)
    with pytest.raises(ScoringError, match="not computed from this catalogue"):
        rank_gaps(one, score, {"x": 1})


def test_dependency_cycles_and_dangling_ids_are_refused(build_catalogue):
    # Catalogue.from_content skips the loader's cross-file checks, so ranking guards itself.
    cyclic = build_catalogue(
        {"a": [{"id": "x", "depends_on": ["y"]}, {"id": "y", "depends_on": ["x"]}]}
    )
    with pytest.raises(ScoringError, match="dependency cycle"):
        analyse(cyclic, {}, {"x": 1})
    dangling = build_catalogue({"a": [{"id": "x", "depends_on": ["ghost"]}]})
    with pytest.raises(ScoringError, match="'ghost', which is not in the catalogue"):
        analyse(dangling, {}, {"x": 1})


# --- draft actions ----------------------------------------------------------------------


def test_draft_actions_cover_each_step_from_current_to_target_in_rank_order(build_catalogue):
    catalogue = build_catalogue(
        {
            "a": [
                {"id": "later", "depends_on": ["first"], "actions": {2: 2}},
                {"id": "first", "actions": {3: 3}},
            ]
        }
    )
    answers = {**at("later", 0), **at("first", 2)}
    analysis = analyse(catalogue, answers, {"later": 2, "first": 3})
    actions = draft_actions(catalogue, analysis.gaps)
    assert [(a.capability_id, a.step_level, a.action_index) for a in actions] == [
        ("first", 3, 0),
        ("first", 3, 1),
        ("first", 3, 2),
        ("later", 1, 0),
        ("later", 2, 0),
        ("later", 2, 1),
    ]
    assert [a.gap_rank for a in actions] == [1, 1, 1, 2, 2, 2]
    step = catalogue.capability("later").steps[2][1]
    last = actions[-1]
    assert (last.title, last.detail) == ("later step 2 action 1", "Detail of later step 2 action 1")
    assert (last.lead_sector, last.horizon) == (step.lead, step.horizon) == ("justice", "short")


def test_draft_actions_start_at_step_one_without_a_level(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x"}]})
    actions = draft_actions(catalogue, analyse(catalogue, {}, {"x": 2}).gaps)
    assert [(a.step_level, a.title) for a in actions] == [
        (1, "x step 1 action 0"),
        (2, "x step 2 action 0"),
    ]


def test_draft_actions_in_another_language_fall_back_to_english(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x"}]})
    gaps = analyse(catalogue, at("x", 3), {"x": 4}).gaps
    (french,) = draft_actions(catalogue, gaps, locale="fr")
    (spanish,) = draft_actions(catalogue, gaps, locale="es")
    assert french.title == "x step 4 action 0 (fr)"
    assert french.detail == "Detail of x step 4 action 0"  # no French detail: English
    assert spanish.title == "x step 4 action 0"


def test_no_gaps_no_actions(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x"}]})
    assert draft_actions(catalogue, analyse(catalogue, at("x", 4), {"x": 4}).gaps) == []


# --- the shipped catalogue --------------------------------------------------------------


def test_shipped_catalogue_foundations_come_first(shipped):
    catalogue = shipped.catalogue
    answers = {key: AnswerValue.at_level(1) for key in catalogue.indicator_keys()}
    score = score_assessment(catalogue, answers, catalogue_hash=shipped.content_hash)
    analysis = rank_gaps(catalogue, score, {c.id: 3 for c in catalogue.capabilities()})

    order = [g.capability_id for g in analysis.gaps]
    assert len(order) == len(catalogue.capabilities())
    # Leadership has no prerequisites and almost everything rests on it; legislation next.
    assert order[:2] == ["leadership", "legislation"]
    for gap in analysis.gaps:
        for prerequisite in gap.prerequisites:
            assert order.index(prerequisite) < order.index(gap.capability_id)
    information_sharing = analysis.gaps[order.index("information-sharing")]
    assert set(information_sharing.prerequisites) >= {
        "dedicated-officers",
        "international-cooperation",
        "legislation",
        "leadership",
    }

    actions = draft_actions(catalogue, analysis.gaps)
    expected = sum(len(c.steps[2]) + len(c.steps[3]) for c in catalogue.capabilities())
    assert len(actions) == expected
    assert actions[0].capability_id == "leadership"
    assert actions[0].title == catalogue.capability("leadership").steps[2][0].title.get("en")


def test_under_exclude_a_gap_with_only_unknown_answers_is_provisional(build_catalogue):
    # Fully answered, but nothing counts toward a level: 0 is assumed, not known.
    catalogue = build_catalogue({"a": [{"id": "x"}, {"id": "y"}]}, unknown="exclude")
    unknown = AnswerValue.unknown()
    answers = {("x", "i1"): unknown, ("x", "i2"): unknown, **at("y", 1)}
    analysis = analyse(catalogue, answers, {"x": 2, "y": 2})
    by_id = {gap.capability_id: gap for gap in analysis.gaps}
    assert (by_id["x"].current_level, by_id["x"].provisional) == (None, True)
    assert by_id["x"].reason.endswith(
        "provisional: no answer counts toward a level, so level 0 is assumed"
    )
    assert (by_id["y"].current_level, by_id["y"].provisional) == (1, False)
    assert "provisional" not in by_id["y"].reason


def test_under_as_zero_the_same_unknown_answers_give_a_firm_level_0(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x"}]})
    unknown = AnswerValue.unknown()
    analysis = analyse(catalogue, {("x", "i1"): unknown, ("x", "i2"): unknown}, {"x": 2})
    (gap,) = analysis.gaps
    assert (gap.current_level, gap.provisional) == (0, False)


def test_a_gap_resting_on_carried_over_answers_is_provisional_and_says_why(build_catalogue):
    catalogue = build_catalogue({"a": [{"id": "x", "indicators": 3}]})
    answers = {
        ("x", "i1"): AnswerValue("level", 1, carried_over=True),
        ("x", "i2"): AnswerValue.at_level(1),
        ("x", "i3"): AnswerValue("level", 2, carried_over=True),
    }
    (gap,) = analyse(catalogue, answers, {"x": 3}).gaps
    assert (gap.current_level, gap.provisional) == (1, True)
    assert gap.reason.endswith("provisional: 2 carried over and not yet confirmed")
