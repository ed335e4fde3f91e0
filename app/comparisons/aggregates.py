"""Anonymised aggregates: statistics of groups of countries, small groups withheld.

Pure functions over plain data: no database, no I/O, no country names. The same function
feeds the API, the country's position page, the spreadsheet exports and the membership
brief, so a number withheld in one place is withheld everywhere. docs/confidentiality.md
explains the threshold and the complementary suppression rule in plain language; this
module is their only implementation.

Every country counted in the aggregates belongs to exactly one group of each partition
(one region, one income group) and to the membership total. A measure is a capability
(its level) or an area (the weighted mean of its capability levels, on the same scale).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from app.core.config import MIN_GROUP_FLOOR
from app.scoring import AssessmentScore

MEMBERSHIP = "membership"
REGION = "region"
INCOME_GROUP = "income_group"
PARTITIONS = (MEMBERSHIP, REGION, INCOME_GROUP)
ALL_MEMBERS = "All contributing members"

MeasureKind = Literal["area", "capability"]


@dataclass(frozen=True, slots=True)
class Measure:
    """What is summarised: one capability's level or one area's mean level."""

    kind: MeasureKind
    id: str


@dataclass(frozen=True, slots=True)
class Contribution:
    """One country's values as counted in the aggregates: its groups and its levels.

    `values` holds a value on the maturity scale for every measure the country has one
    for; a measure it has no level for (not applicable, nothing counted) is left out.
    """

    region: str
    income_group: str
    values: Mapping[Measure, Fraction]

    def group(self, partition: str) -> str:
        """The country's group in a partition."""
        if partition == REGION:
            return self.region
        if partition == INCOME_GROUP:
            return self.income_group
        if partition == MEMBERSHIP:
            return ALL_MEMBERS
        raise ValueError(f"unknown partition {partition!r}")


@dataclass(frozen=True, slots=True)
class Cell:
    """The statistics of one measure in one group, or nothing at all when withheld."""

    kind: MeasureKind
    measure_id: str
    suppressed: bool
    countries: int | None = None
    median: float | None = None
    lower_quartile: float | None = None
    upper_quartile: float | None = None
    distribution: tuple[int, ...] | None = None  # countries at each level, 0 to the top

    @classmethod
    def withheld(cls, measure: Measure) -> Cell:
        """A suppressed cell: it says nothing, not even how many countries it holds."""
        return cls(kind=measure.kind, measure_id=measure.id, suppressed=True)


@dataclass(frozen=True, slots=True)
class GroupAggregate:
    """One group's cells, in the order of the measures."""

    partition: str
    group: str
    cells: tuple[Cell, ...]

    def cell(self, measure: Measure) -> Cell:
        """The cell of one measure; KeyError if the measure is not aggregated."""
        for cell in self.cells:
            if cell.kind == measure.kind and cell.measure_id == measure.id:
                return cell
        raise KeyError(measure)


@dataclass(frozen=True, slots=True)
class Aggregates:
    """Every group of every partition, with small groups already withheld."""

    min_group: int
    max_level: int
    measures: tuple[Measure, ...]
    groups: tuple[GroupAggregate, ...]  # membership, then regions, then income groups

    def group(self, partition: str, name: str) -> GroupAggregate:
        """One group's aggregate; KeyError if the partition has no such group."""
        return find_group(self.groups, partition, name)

    def partition(self, partition: str) -> tuple[GroupAggregate, ...]:
        """The groups of one partition, in display order."""
        return groups_in(self.groups, partition)


def find_group(groups: Iterable[GroupAggregate], partition: str, name: str) -> GroupAggregate:
    """One group among groups; KeyError if there is no such group."""
    for group in groups:
        if group.partition == partition and group.group == name:
            return group
    raise KeyError((partition, name))


def groups_in(groups: Iterable[GroupAggregate], partition: str) -> tuple[GroupAggregate, ...]:
    """The groups of one partition, in their order."""
    return tuple(group for group in groups if group.partition == partition)


# ---------------------------------------------------------------- the threshold


def _check_threshold(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < MIN_GROUP_FLOOR:
        raise ValueError(f"the minimum group size must be a whole number of at least 3, not {k}")


def suppressed_groups(counts: Mapping[str, int], *, k: int) -> frozenset[str]:
    """The groups of one partition to withhold for one measure, given each group's count.

    `counts` must hold every group of the partition (empty ones too); their sum is the
    total, which is published when it reaches k. The rule:

    1. Primary: a group with fewer than k countries is withheld (an empty one too).
    2. When the total is below k, every group is below k and so withheld.
    3. Complementary: while the non-empty withheld groups are exactly one, or together
       hold fewer than k countries, the published group with the fewest countries is
       withheld as well (ties go to the group listed first).

    After step 3, subtracting the published groups from the total yields either nothing or
    the sum of at least two non-empty groups holding together at least k countries, so no
    single withheld group's count or distribution can be recovered that way.
    """
    _check_threshold(k)
    if any(count < 0 for count in counts.values()):
        raise ValueError("a group cannot hold a negative number of countries")
    withheld = {group for group, count in counts.items() if count < k}
    order = list(counts)

    def exposed() -> bool:
        held = [counts[group] for group in withheld if counts[group] > 0]
        return bool(held) and (len(held) == 1 or sum(held) < k)

    while exposed():
        candidates = [group for group in order if group not in withheld]
        if not candidates:  # all withheld: the total is below k, nothing to subtract from
            break
        withheld.add(min(candidates, key=lambda group: (counts[group], order.index(group))))
    return frozenset(withheld)


# ---------------------------------------------------------------- statistics


def quantile(ordered: Sequence[Fraction], share: Fraction) -> Fraction:
    """The quantile of sorted values by linear interpolation between closest ranks.

    The "inclusive" method (spreadsheets' QUARTILE.INC, numpy's default): position
    share × (n − 1) counted from 0, interpolated between its two neighbours.
    """
    if not ordered:
        raise ValueError("no values")
    if not 0 <= share <= 1:
        raise ValueError("share must be between 0 and 1")
    position = share * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (position - below) * (ordered[above] - ordered[below])


def _rounded(value: Fraction) -> float:
    return float(round(value, 2))


@dataclass(frozen=True, slots=True)
class Statistics:
    """Exact statistics of a set of values on the maturity scale."""

    countries: int
    median: Fraction
    lower_quartile: Fraction
    upper_quartile: Fraction
    distribution: tuple[int, ...]  # values at each level, floored (3.5 counts at 3)


def summarise(values: Iterable[Fraction], *, max_level: int) -> Statistics:
    """Count, median, quartiles and level distribution of at least one value."""
    ordered = sorted(values)
    distribution = [0] * (max_level + 1)
    for value in ordered:
        distribution[math.floor(value)] += 1
    return Statistics(
        countries=len(ordered),
        median=quantile(ordered, Fraction(1, 2)),
        lower_quartile=quantile(ordered, Fraction(1, 4)),
        upper_quartile=quantile(ordered, Fraction(3, 4)),
        distribution=tuple(distribution),
    )


def _published(measure: Measure, values: list[Fraction], max_level: int) -> Cell:
    statistics = summarise(values, max_level=max_level)
    return Cell(
        kind=measure.kind,
        measure_id=measure.id,
        suppressed=False,
        countries=statistics.countries,
        median=_rounded(statistics.median),
        lower_quartile=_rounded(statistics.lower_quartile),
        upper_quartile=_rounded(statistics.upper_quartile),
        distribution=statistics.distribution,
    )


# ---------------------------------------------------------------- the aggregates


def aggregate(
    contributions: Sequence[Contribution],
    *,
    measures: Sequence[Measure],
    max_level: int,
    k: int,
    regions: Sequence[str] = (),
    income_groups: Sequence[str] = (),
) -> Aggregates:
    """Statistics per measure for the membership, each region and each income group.

    `regions` and `income_groups` list the groups to show even when nobody contributes to
    them (withheld, like any group below k, so an empty group looks like a small one).
    Groups found in the contributions but not listed are added after them, sorted.
    """
    _check_threshold(k)
    for contribution in contributions:
        for measure, value in contribution.values.items():
            if not 0 <= value <= max_level:
                raise ValueError(
                    f"{measure.kind} '{measure.id}': value off the 0-{max_level} scale"
                )

    domains = {
        MEMBERSHIP: [ALL_MEMBERS],
        REGION: _domain(regions, (c.region for c in contributions)),
        INCOME_GROUP: _domain(income_groups, (c.income_group for c in contributions)),
    }
    cells: dict[tuple[str, str], list[Cell]] = {
        (partition, group): [] for partition in PARTITIONS for group in domains[partition]
    }
    for measure in measures:
        for partition in PARTITIONS:
            values: dict[str, list[Fraction]] = {group: [] for group in domains[partition]}
            for contribution in contributions:
                value = contribution.values.get(measure)
                if value is not None:
                    values[contribution.group(partition)].append(value)
            withheld = suppressed_groups(
                {group: len(found) for group, found in values.items()}, k=k
            )
            for group, found in values.items():
                cell = (
                    Cell.withheld(measure)
                    if group in withheld
                    else _published(measure, found, max_level)
                )
                cells[(partition, group)].append(cell)
    return Aggregates(
        min_group=k,
        max_level=max_level,
        measures=tuple(measures),
        groups=tuple(
            GroupAggregate(partition=partition, group=group, cells=tuple(found))
            for (partition, group), found in cells.items()
        ),
    )


def _domain(listed: Sequence[str], seen: Iterable[str]) -> list[str]:
    extra = sorted(set(seen) - set(listed))
    return list(dict.fromkeys(listed)) + extra


def area_level(capabilities: Iterable[tuple[float, int | None]]) -> Fraction | None:
    """An area's value: the weighted mean of its capabilities' levels (weight, level).

    Capabilities without a level are left out, as in the area score; None when none has
    one. The result is on the maturity scale: the area score × top level / 100, exactly.
    """
    total = Fraction(0)
    weights = Fraction(0)
    for weight, level in capabilities:
        if level is None:
            continue
        total += Fraction(weight) * level
        weights += Fraction(weight)
    return total / weights if weights else None


def contribution_of(score: AssessmentScore, *, region: str, income_group: str) -> Contribution:
    """A scored assessment as counted in the aggregates: capability levels and area levels."""
    values: dict[Measure, Fraction] = {}
    for area in score.areas:
        level = area_level(
            (result.weight, result.level)
            for result in score.capabilities
            if result.area_id == area.area_id
        )
        if level is not None:
            values[Measure("area", area.area_id)] = level
    for result in score.capabilities:
        if result.level is not None:
            values[Measure("capability", result.capability_id)] = Fraction(result.level)
    return Contribution(region=region, income_group=income_group, values=values)
