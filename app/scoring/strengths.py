"""Strengths: the capabilities that stand out above the country's own typical level.

A list of strengths is only useful if it singles something out: naming most capabilities
says nothing. docs/scoring.md explains the rule; this is its only implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import median

from app.scoring.maturity import AssessmentScore, CapabilityScore


@dataclass(frozen=True, slots=True)
class Strengths:
    """The capabilities a report names as strengths, and the figures that explain the choice."""

    capabilities: tuple[str, ...]  # ids: highest level first, then weight, then catalogue order
    floor: int  # the level a strength must reach (one below the top, at least 1)
    reached: bool  # True: they are at floor or above; False: below it, but ahead of the rest
    typical: float | None  # the median level of the capabilities with a level
    at_floor: int  # how many capabilities are at floor or above, strengths or not
    scored: int  # how many capabilities have a level


def strength_floor(max_level: int) -> int:
    """The lowest level a strength may be at: one below the top of the scale, at least 1."""
    return max(max_level - 1, 1)


def find_strengths(score: AssessmentScore) -> Strengths:
    """The capabilities above the country's median level; at floor or above where any are.

    A capability stands out when its level is higher than the median level of the
    assessment's capabilities that have a level. The strengths are those that stand out
    and reach the floor; when none reaches it, the most advanced of those that stand out
    are named instead (`reached` is then False). When every capability is at about the same
    level, nothing stands out and no strength is named.
    """
    floor = strength_floor(score.max_level)
    leveled = [result for result in score.capabilities if result.level is not None]
    if not leveled:
        return Strengths((), floor, False, None, 0, 0)
    typical = float(median(result.level for result in leveled))  # type: ignore[misc]
    standing_out = [result for result in leveled if _level(result) > typical]
    at_floor = sum(1 for result in leveled if _level(result) >= floor)
    chosen = [result for result in standing_out if _level(result) >= floor]
    reached = bool(chosen)
    if not chosen and standing_out:
        best = max(_level(result) for result in standing_out)
        chosen = [result for result in standing_out if _level(result) == best]
    position = {result.capability_id: index for index, result in enumerate(score.capabilities)}
    chosen.sort(key=lambda r: (-_level(r), -r.weight, position[r.capability_id]))
    return Strengths(
        capabilities=tuple(result.capability_id for result in chosen),
        floor=floor,
        reached=reached,
        typical=typical,
        at_floor=at_floor,
        scored=len(leveled),
    )


def _level(result: CapabilityScore) -> int:
    assert result.level is not None  # only called on capabilities with a level
    return result.level
