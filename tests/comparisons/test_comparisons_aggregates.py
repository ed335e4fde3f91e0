"""Anonymised aggregates: figures checked by hand, and the suppression rule as properties."""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app import scoring
from app.catalogue.loader import load_catalogue
from app.comparisons import aggregates
from app.comparisons.aggregates import (
    ALL_MEMBERS,
    INCOME_GROUP,
    MEMBERSHIP,
    REGION,
    Contribution,
    Measure,
)
from app.core.config import Settings

LEGISLATION = Measure("capability", "legislation")
POLICY = Measure("area", "policy")
F = Fraction


def country(region: str, income: str, **values: Fraction | int | None) -> Contribution:
    measures = {"legislation": LEGISLATION, "policy": POLICY}
    return Contribution(
        region=region,
        income_group=income,
        values={measures[key]: F(value) for key, value in values.items() if value is not None},
    )


# ---------------------------------------------------------------- the threshold setting


@pytest.mark.parametrize(
    ("environment", "expected"), [({}, 5), ({"GSR_AGGREGATE_MIN_GROUP": "7"}, 7)]
)
def test_threshold_defaults_to_5_and_follows_the_setting(monkeypatch, environment, expected):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).aggregate.min_group == expected


@pytest.mark.parametrize("raw", ["2", "0", "-9", "five"])
def test_a_threshold_below_3_or_not_a_number_stops_the_start(monkeypatch, raw):
    monkeypatch.setenv("GSR_AGGREGATE_MIN_GROUP", raw)
    with pytest.raises(ValidationError, match=r"aggregate\.min_group"):
        Settings(_env_file=None)


@pytest.mark.parametrize("k", [2, 1, 0, True])
def test_the_functions_refuse_a_threshold_below_3(k):
    with pytest.raises(ValueError):
        aggregates.suppressed_groups({"A": 10}, k=k)
    with pytest.raises(ValueError):
        aggregates.aggregate([], measures=[LEGISLATION], max_level=4, k=k)


# ---------------------------------------------------------------- statistics by hand


def test_quartiles_interpolate_between_closest_ranks():
    values = [F(v) for v in (0, 1, 2, 2, 3, 4)]
    stats = aggregates.summarise(values, max_level=4)
    # positions (n-1)p = 1.25, 2.5, 3.75 in 0,1,2,2,3,4
    assert stats.lower_quartile == F(5, 4)
    assert stats.median == 2
    assert stats.upper_quartile == F(11, 4)
    assert stats.distribution == (1, 1, 2, 1, 1)
    odd = aggregates.summarise([F(3), F(1), F(2)], max_level=4)
    assert (odd.lower_quartile, odd.median, odd.upper_quartile) == (F(3, 2), 2, F(5, 2))


def test_area_level_is_the_weighted_mean_of_capability_levels():
    # policy: leadership ×2, threat-assessment ×1, legislation ×2, cooperation ×1
    assert aggregates.area_level([(2, 3), (1, 3), (2, 0), (1, 3)]) == 2
    assert aggregates.area_level([(2, 2), (1, 2), (2, 1), (1, 2)]) == F(5, 3)
    assert aggregates.area_level([(2, None), (1, 4)]) == 4  # no level: left out
    assert aggregates.area_level([(1, None)]) is None


def test_contribution_from_a_scored_assessment_of_the_shipped_catalogue():
    catalogue = load_catalogue(Path("capabilities")).catalogue
    levels = {c.id: 2 for c in catalogue.capabilities()} | {"legislation": 0}
    answers = {
        (cap, ind): scoring.AnswerValue.at_level(levels[cap])
        for cap, ind in catalogue.indicator_keys()
    }
    # every indicator of one capability not applicable: that capability has no level
    for indicator in catalogue.capability("transparency").indicators:
        answers[("transparency", indicator.id)] = scoring.AnswerValue.not_applicable()
    score = scoring.score_assessment(catalogue, answers, catalogue_hash="h")
    found = aggregates.contribution_of(score, region="R", income_group="I")
    assert found.values[LEGISLATION] == 0
    assert found.values[Measure("capability", "leadership")] == 2
    assert Measure("capability", "transparency") not in found.values
    assert found.values[POLICY] == F(2 * 2 + 1 * 2 + 2 * 0 + 1 * 2, 6)  # 4/3
    assert found.values[Measure("area", "technology")] == 2  # the other two capabilities
    # an area's value is its score on the maturity scale, exactly
    policy = score.area("policy")
    assert found.values[POLICY] * 100 / catalogue.max_level == F(policy.score).limit_denominator()


def test_aggregates_of_a_crafted_membership_match_hand_computation():
    europe = [
        country("Europe", "High", legislation=0, policy=2),
        country("Europe", "High", legislation=1, policy=F(5, 3)),
        country("Europe", "High", legislation=2, policy=F(4, 3)),
        country("Europe", "High", legislation=2, policy=F(10, 3)),
        country("Europe", "High", legislation=3, policy=1),
        country("Europe", "High", legislation=4, policy=F(8, 3)),
    ]
    americas = [
        country("Americas", "Middle", legislation=1, policy=1),
        country("Americas", "Middle", legislation=1, policy=2),
        country("Americas", "High", legislation=4, policy=3),
        country("Americas", "Middle", legislation=3, policy=2),
        country("Americas", "Middle", legislation=0, policy=3),
    ]
    africa = [
        country("Africa", "Low", legislation=2, policy=1),
        country("Africa", "Low", legislation=3, policy=None),
    ]
    result = aggregates.aggregate(
        europe + americas + africa,
        measures=[POLICY, LEGISLATION],
        max_level=4,
        k=5,
        regions=["Africa", "Americas", "Europe", "Oceania"],
        income_groups=["Low", "Middle", "High"],
    )
    everyone = result.group(MEMBERSHIP, ALL_MEMBERS)
    legislation = everyone.cell(LEGISLATION)
    # 0,0,1,1,1,2,2,2,3,3,3,4,4: positions 3, 6, 9
    assert (legislation.countries, legislation.median) == (13, 2.0)
    assert (legislation.lower_quartile, legislation.upper_quartile) == (1.0, 3.0)
    assert legislation.distribution == (2, 3, 3, 3, 2)
    assert everyone.cell(POLICY).countries == 12  # one country has no policy level

    europe_policy = result.group(REGION, "Europe").cell(POLICY)
    # 1, 4/3, 5/3, 2, 8/3, 10/3: median (5/3 + 2)/2, quartiles at positions 1.25 and 3.75
    assert europe_policy.countries == 6
    assert europe_policy.median == 1.83
    assert europe_policy.lower_quartile == 1.42
    assert europe_policy.upper_quartile == 2.5
    assert europe_policy.distribution == (0, 3, 2, 1, 0)

    # Africa (2) is below k; it alone withheld would equal total minus the others, so the
    # smallest published region (Americas, 5) is withheld too. Oceania is empty: withheld.
    for name in ("Africa", "Americas", "Oceania"):
        cell = result.group(REGION, name).cell(LEGISLATION)
        assert cell.suppressed
        assert (cell.countries, cell.median, cell.distribution) == (None, None, None)
    assert not result.group(REGION, "Europe").cell(LEGISLATION).suppressed
    # income: Low 2 and Middle 4 are both small and hold 6 >= k together: High (7) stays
    high = result.group(INCOME_GROUP, "High").cell(LEGISLATION)
    assert (high.countries, high.median, high.lower_quartile, high.upper_quartile) == (
        7,
        2.0,
        1.5,
        3.5,
    )
    assert result.group(INCOME_GROUP, "Low").cell(LEGISLATION).suppressed
    assert result.group(INCOME_GROUP, "Middle").cell(LEGISLATION).suppressed
    assert [g.group for g in result.partition(REGION)] == [
        "Africa",
        "Americas",
        "Europe",
        "Oceania",
    ]


def test_values_off_the_scale_are_refused():
    with pytest.raises(ValueError, match="off the 0-4 scale"):
        aggregates.aggregate(
            [country("R", "I", legislation=5)], measures=[LEGISLATION], max_level=4, k=3
        )


# ---------------------------------------------------------------- the suppression rule by hand


@pytest.mark.parametrize(
    ("counts", "k", "withheld"),
    [
        ({"A": 6, "B": 5, "C": 7}, 5, set()),
        # one small group: the smallest published one goes with it
        ({"A": 6, "B": 5, "C": 2}, 5, {"B", "C"}),
        # ties between candidates: the one listed first
        ({"A": 5, "B": 5, "C": 1}, 5, {"A", "C"}),
        # two small groups holding fewer than k together: one more
        ({"A": 6, "B": 7, "C": 1, "D": 1}, 5, {"A", "C", "D"}),
        # two small groups holding k together: enough
        ({"A": 6, "B": 3, "C": 2}, 5, {"B", "C"}),
        # empty groups are withheld but protect nothing
        ({"A": 10, "B": 0, "C": 0}, 5, {"B", "C"}),
        ({"A": 10, "B": 0, "C": 1}, 5, {"A", "B", "C"}),
        # the total below k: everything
        ({"A": 2, "B": 2}, 5, {"A", "B"}),
        ({"A": 2, "B": 1}, 3, {"A", "B"}),
        # one group holding everyone: the total, nothing to protect
        ({"A": 9, "B": 0}, 5, {"B"}),
    ],
)
def test_suppression_rule(counts, k, withheld):
    assert aggregates.suppressed_groups(counts, k=k) == withheld


# ---------------------------------------------------------------- properties

REGIONS = ("R1", "R2", "R3", "R4", "R5")
INCOMES = ("I1", "I2", "I3")
CAPABILITIES = (Measure("capability", "a"), Measure("capability", "b"))
AREA = Measure("area", "x")
MEASURES = (*CAPABILITIES, AREA)

levels = st.one_of(st.none(), st.integers(0, 4).map(F))
area_values = st.one_of(st.none(), st.fractions(0, 4, max_denominator=6))
contributions = st.lists(
    st.builds(
        lambda region, income, a, b, x: Contribution(
            region,
            income,
            {m: v for m, v in zip(MEASURES, (a, b, x), strict=True) if v is not None},
        ),
        st.sampled_from(REGIONS[:4]),  # R5 stays empty: listed but nobody in it
        st.sampled_from(INCOMES),
        levels,
        levels,
        area_values,
    ),
    max_size=40,
)
thresholds = st.integers(3, 7)


def _run(members, k):
    return aggregates.aggregate(
        members, measures=MEASURES, max_level=4, k=k, regions=REGIONS, income_groups=INCOMES
    )


def _truth(members, partition, group, measure):
    """The count and distribution a group really has (what must not leak when withheld)."""
    values = [
        m.values[measure]
        for m in members
        if measure in m.values and (partition == MEMBERSHIP or m.group(partition) == group)
    ]
    distribution = [0] * 5
    for value in values:
        distribution[int(value)] += 1
    return len(values), tuple(distribution)


@settings(max_examples=300, deadline=None)
@given(contributions, thresholds)
def test_no_published_cell_holds_fewer_than_k_countries(members, k):
    result = _run(members, k)
    for group in result.groups:
        for measure in MEASURES:
            cell = group.cell(measure)
            count, distribution = _truth(members, group.partition, group.group, measure)
            if count < k:
                assert cell.suppressed
            if cell.suppressed:
                assert cell.countries is None and cell.distribution is None
                assert cell.median is None and cell.lower_quartile is None
            else:
                assert cell.countries == count >= k
                assert cell.distribution == distribution


@settings(max_examples=400, deadline=None)
@given(contributions, thresholds)
def test_no_withheld_group_can_be_recovered_by_subtraction(members, k):
    """Total minus any published groups of a partition never equals one withheld group."""
    result = _run(members, k)
    for measure in MEASURES:
        total = result.group(MEMBERSHIP, ALL_MEMBERS).cell(measure)
        if total.suppressed:
            # no published total to subtract from: every group must be withheld as well
            assert all(g.cell(measure).suppressed for g in result.groups)
            continue
        for partition in (REGION, INCOME_GROUP):
            groups = result.partition(partition)
            published = [g.cell(measure) for g in groups if not g.cell(measure).suppressed]
            withheld = [g for g in groups if g.cell(measure).suppressed]
            secrets = [_truth(members, partition, g.group, measure) for g in withheld]
            secrets = [secret for secret in secrets if secret[0] > 0]
            for size in range(len(published) + 1):
                for subtracted in combinations(published, size):
                    count = total.countries - sum(c.countries for c in subtracted)
                    distribution = tuple(
                        t - sum(c.distribution[level] for c in subtracted)
                        for level, t in enumerate(total.distribution)
                    )
                    if count == 0:
                        continue  # nothing left: every withheld group is empty
                    # what is left is never one withheld group, nor small enough to single
                    # one out (a country subtracting itself still faces k - 1 >= 2 others)
                    assert count >= k
                    for secret_count, secret_distribution in secrets:
                        assert count > secret_count
                        assert distribution != secret_distribution


@settings(max_examples=200, deadline=None)
@given(contributions, thresholds, st.randoms(use_true_random=False))
def test_the_order_of_countries_changes_nothing(members, k, rng):
    shuffled = list(members)
    rng.shuffle(shuffled)
    assert _run(members, k) == _run(shuffled, k)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from("ABCDEFG"), st.integers(0, 12), min_size=1), thresholds)
def test_the_rule_leaves_zero_or_at_least_two_groups_holding_k(counts, k):
    withheld = aggregates.suppressed_groups(counts, k=k)
    assert {group for group, count in counts.items() if count < k} <= withheld
    held = [counts[group] for group in withheld if counts[group] > 0]
    total = sum(counts.values())
    if total < k:
        assert withheld == set(counts)
    else:
        assert not held or (len(held) >= 2 and sum(held) >= k)
    # never more than needed: at most one group beyond those below k
    assert len(withheld - {g for g, c in counts.items() if c < k}) <= 1
