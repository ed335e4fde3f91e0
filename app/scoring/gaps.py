"""Gap analysis: how far each capability is from its target, which to work on first, and the
catalogue's step actions that would close each gap.

Pure functions over plain frozen dataclasses; docs/scoring.md explains the priority rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from app.catalogue.schema import Catalogue, Horizon
from app.scoring.maturity import AssessmentScore, CapabilityScore, ScoringError, ScoringProvenance


@dataclass(frozen=True, slots=True)
class Gap:
    """One capability below its target, with its place in the order of work and why."""

    rank: int  # 1 = work on first
    capability_id: str
    area_id: str
    current_level: int | None  # None: no level yet, taken as 0 for the gap
    target_level: int
    gap: int  # target - current (current None counts as 0); always > 0 here
    weight: float
    priority: float  # gap × weight × (1 + len(dependants))
    effective_priority: float  # the highest priority among itself and its dependants
    dependants: tuple[str, ...]  # capabilities with gaps that depend on it, in catalogue order
    prerequisites: tuple[str, ...]  # capabilities with gaps it depends on, in catalogue order
    # The current level may still change (unanswered or unconfirmed answers), or there is
    # no level at all and 0 is only assumed (e.g. every counted answer "unknown" under exclude).
    provisional: bool
    reason: str  # the rank explained in English


@dataclass(frozen=True, slots=True)
class GapAnalysis:
    """The ranked gaps of one assessment, and which targets need no work."""

    provenance: ScoringProvenance
    gaps: tuple[Gap, ...]  # ranked, best first
    met: tuple[str, ...]  # capabilities at or above their target, in catalogue order
    not_applicable: tuple[str, ...]  # capabilities with a target but wholly not applicable


@dataclass(frozen=True, slots=True)
class DraftAction:
    """One catalogue step action proposed for the action plan."""

    capability_id: str
    step_level: int  # the level this action helps reach
    action_index: int  # position among the catalogue's actions for this step, from 0
    title: str
    detail: str
    lead_sector: str  # sector id; Catalogue.sector_name gives its name
    horizon: Horizon
    gap_rank: int  # the rank of the gap this action closes


def rank_gaps(
    catalogue: Catalogue, score: AssessmentScore, targets: Mapping[str, int]
) -> GapAnalysis:
    """Rank the capabilities below their targets by priority, prerequisites first."""
    results = {result.capability_id: result for result in score.capabilities}
    order = [capability.id for capability in catalogue.capabilities()]
    if list(results) != order:
        raise ScoringError("the score was not computed from this catalogue")
    _check_targets(catalogue, targets)

    # Capabilities without a target have no gap: the country has not asked to move them.
    open_gaps: dict[str, tuple[CapabilityScore, int]] = {}
    met: list[str] = []
    not_applicable: list[str] = []
    for capability_id in order:
        if capability_id not in targets:
            continue
        result = results[capability_id]
        if result.not_applicable:
            not_applicable.append(capability_id)
            continue
        # No level yet (nothing counted) is treated as level 0: the whole way is still to go.
        size = max(0, targets[capability_id] - (result.level or 0))
        if size:
            open_gaps[capability_id] = (result, size)
        else:
            met.append(capability_id)

    requires = _transitive_requirements(catalogue)
    prerequisites = {
        capability_id: tuple(other for other in open_gaps if other in requires[capability_id])
        for capability_id in open_gaps
    }
    dependants = {
        capability_id: tuple(other for other in open_gaps if capability_id in requires[other])
        for capability_id in open_gaps
    }
    priority = {
        capability_id: size * result.weight * (1 + len(dependants[capability_id]))
        for capability_id, (result, size) in open_gaps.items()
    }
    # A prerequisite is as urgent as the most urgent work that waits for it.
    effective = {c: max([priority[c], *(priority[d] for d in dependants[c])]) for c in open_gaps}
    position = {capability_id: index for index, capability_id in enumerate(order)}
    ranked = _prerequisites_first(
        list(open_gaps),
        prerequisites,
        key=lambda c: (-effective[c], -priority[c], position[c]),
    )

    gaps = []
    for rank, capability_id in enumerate(ranked, start=1):
        result, size = open_gaps[capability_id]
        gap = Gap(
            rank=rank,
            capability_id=capability_id,
            area_id=result.area_id,
            current_level=result.level,
            target_level=targets[capability_id],
            gap=size,
            weight=result.weight,
            priority=priority[capability_id],
            effective_priority=effective[capability_id],
            dependants=dependants[capability_id],
            prerequisites=prerequisites[capability_id],
            provisional=result.provisional or result.level is None,
            reason="",
        )
        raised_by = None
        if gap.effective_priority > gap.priority:
            raised_by = _most_urgent(gap.dependants, priority, position)
        reason = _reason(catalogue, gap, result, raised_by=raised_by, requires=requires)
        gaps.append(replace(gap, reason=reason))
    return GapAnalysis(
        provenance=score.provenance,
        gaps=tuple(gaps),
        met=tuple(met),
        not_applicable=tuple(not_applicable),
    )


def draft_actions(
    catalogue: Catalogue, gaps: Iterable[Gap], *, locale: str = "en"
) -> list[DraftAction]:
    """The catalogue's step actions from each gap's current level up to its target, in order."""
    actions: list[DraftAction] = []
    for gap in gaps:
        capability = catalogue.capability(gap.capability_id)
        start = (gap.current_level or 0) + 1
        for step_level in range(start, gap.target_level + 1):
            for action_index, action in enumerate(capability.steps[step_level]):
                actions.append(
                    DraftAction(
                        capability_id=capability.id,
                        step_level=step_level,
                        action_index=action_index,
                        title=action.title.get(locale),
                        detail=action.detail.get(locale),
                        lead_sector=action.lead,
                        horizon=action.horizon,
                        gap_rank=gap.rank,
                    )
                )
    return actions


def _check_targets(catalogue: Catalogue, targets: Mapping[str, int]) -> None:
    known = {capability.id for capability in catalogue.capabilities()}
    stray = sorted(set(targets) - known)
    if stray:
        raise ScoringError(f"targets for capabilities not in the catalogue: {', '.join(stray)}")
    off_scale = sorted(
        capability_id
        for capability_id, level in targets.items()
        if not _is_level(level, catalogue.max_level)
    )
    if off_scale:
        raise ScoringError(
            f"targets outside the maturity scale 0-{catalogue.max_level} for: "
            + ", ".join(off_scale)
        )


def _is_level(value: object, max_level: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= max_level


def _transitive_requirements(catalogue: Catalogue) -> dict[str, frozenset[str]]:
    """Every capability id mapped to all the capabilities it depends on, directly or not."""
    by_id = {capability.id: capability for capability in catalogue.capabilities()}
    closure: dict[str, frozenset[str]] = {}
    visiting: set[str] = set()

    # The loader rejects cycles and dangling ids, but a catalogue rebuilt from stored content
    # skips those file-level checks, so they are enforced here too rather than looping.
    def visit(capability_id: str) -> frozenset[str]:
        if capability_id in closure:
            return closure[capability_id]
        if capability_id in visiting:
            raise ScoringError(f"dependency cycle through '{capability_id}'")
        visiting.add(capability_id)
        found: set[str] = set()
        for dependency in by_id[capability_id].depends_on:
            if dependency not in by_id:
                raise ScoringError(
                    f"'{capability_id}' depends on '{dependency}', which is not in the catalogue"
                )
            found.add(dependency)
            found |= visit(dependency)
        visiting.discard(capability_id)
        closure[capability_id] = frozenset(found)
        return closure[capability_id]

    for capability_id in by_id:
        visit(capability_id)
    return closure


def _prerequisites_first(
    items: list[str],
    prerequisites: Mapping[str, tuple[str, ...]],
    key: Callable[[str], tuple[float, float, int]],
) -> list[str]:
    """Items by key, except that none comes before any of its prerequisites."""
    # Repeatedly take the best item whose prerequisites are all placed: the sort order is
    # kept wherever the dependencies allow, and broken only where they demand it.
    placed: list[str] = []
    done: set[str] = set()
    waiting = sorted(items, key=key)
    while waiting:
        ready = next(c for c in waiting if all(p in done for p in prerequisites[c]))
        waiting.remove(ready)
        placed.append(ready)
        done.add(ready)
    return placed


def _most_urgent(
    candidates: tuple[str, ...], priority: Mapping[str, float], position: Mapping[str, int]
) -> str:
    return min(candidates, key=lambda c: (-priority[c], position[c]))


def _reason(
    catalogue: Catalogue,
    gap: Gap,
    result: CapabilityScore,
    *,
    raised_by: str | None,
    requires: Mapping[str, frozenset[str]],
) -> str:
    current = gap.current_level
    start = "no level yet, taken as 0" if current is None else f"level {current}"
    levels = "level" if gap.gap == 1 else "levels"
    parts = [
        f"gap of {gap.gap} {levels} ({start}, target {gap.target_level})",
        f"weight {_number(gap.weight)}",
    ]
    if len(gap.dependants) == 1:
        parts.append("1 capability with a gap depends on it")
    elif gap.dependants:
        parts.append(f"{len(gap.dependants)} capabilities with gaps depend on it")
    parts.append(f"priority {_number(gap.priority)}")
    if raised_by is not None:
        waiting = _title(catalogue, raised_by)
        parts.append(f"raised to {_number(gap.effective_priority)} because {waiting} waits for it")
    # Name only the nearest prerequisites: the ones they in turn wait for are in their reasons.
    nearest = [
        candidate
        for candidate in gap.prerequisites
        if not any(candidate in requires[other] for other in gap.prerequisites)
    ]
    if nearest:
        names = _join([_title(catalogue, c) for c in nearest])
        parts.append(f"comes after {names}, which it depends on")
    if gap.provisional:
        parts.append("provisional: " + _why_provisional(result))
    return "; ".join(parts)


def _why_provisional(result: CapabilityScore) -> str:
    done = result.completeness
    why = []
    if done.unanswered:
        why.append(f"{done.answered} of {done.total} indicators answered")
    if done.unconfirmed:
        why.append(f"{done.unconfirmed} carried over and not yet confirmed")
    if result.level is None and not done.unanswered:
        why.append("no answer counts toward a level, so level 0 is assumed")
    return ", ".join(why)


def _title(catalogue: Catalogue, capability_id: str) -> str:
    return f"“{catalogue.capability(capability_id).title.get('en')}”"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _number(value: float) -> str:
    # 2 rather than 2.0, 1.5 rather than 1.50: the numbers read as an official would write them.
    return f"{value:.2f}".rstrip("0").rstrip(".")
