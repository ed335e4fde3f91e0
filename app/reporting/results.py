"""An assessment's results as the screen and the API give them: the gap report's own data.

The results page and `GET /api/v1/assessments/{id}/results` are built by the function behind
the gap report PDF (`context.build_gap_report`), so the three state the same figures from
the same scoring functions. Two things are added for the screen, and nothing is recomputed:
why a figure is provisional (answers missing, "unknown", or carried over from the previous
cycle and not confirmed yet), and a small version string that changes whenever the results
may have, which an open page polls to know when to refresh.

The members' position is left out: it has a page of its own, and gathering every member's
figures on each load would cost far more than a page people keep open should.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.assessments.models import Assessment
from app.comparisons.aggregates import ALL_MEMBERS, MEMBERSHIP, REGION, GroupAggregate
from app.reporting import context
from app.reporting.context import AreaView, CapabilityView, GapReport, GapView
from app.scoring import round_for_display

# ---------------------------------------------------------------- building


def build_results(
    session: Session, *, user: User, assessment: Assessment, locale: str, k: int
) -> GapReport:
    """The gap report's content for an assessment the user may see, without the position."""
    # No member figures are gathered: the position section is not shown here, so it is
    # built from empty groups (cheap) and then dropped.
    region = assessment.country.region
    figures = context.PositionFigures(
        cycle=assessment.cycle,
        min_group=k,
        region=region,
        region_group=GroupAggregate(REGION, region, ()),
        membership=GroupAggregate(MEMBERSHIP, ALL_MEMBERS, ()),
    )
    report = context.build_gap_report(
        session, user=user, assessment=assessment, locale=locale, figures=figures
    )
    return dataclasses.replace(report, position=None)


def results_version(session: Session, assessment: Assessment) -> str:
    """Changes whenever the results may change: this assessment's revision (every answer,
    target and status change raises it) and that of the previous cycle compared with."""
    version = str(assessment.revision)
    if assessment.previous_id is not None:
        previous = session.scalar(
            select(Assessment.revision).where(Assessment.id == assessment.previous_id)
        )
        if previous is not None:
            version += f"-{previous}"
    return version


# ---------------------------------------------------------------- provisional marks


@dataclasses.dataclass(frozen=True, slots=True)
class Marks:
    """What a figure still rests on that is not settled."""

    unanswered: int = 0
    unknown: int = 0
    to_confirm: int = 0  # carried over from the previous cycle, not confirmed yet

    @property
    def provisional(self) -> bool:
        return bool(self.unanswered or self.unknown or self.to_confirm)

    def __add__(self, other: Marks) -> Marks:
        return Marks(
            self.unanswered + other.unanswered,
            self.unknown + other.unknown,
            self.to_confirm + other.to_confirm,
        )


def capability_marks(capability: CapabilityView) -> Marks:
    done = capability.completeness
    return Marks(
        unanswered=done.unanswered,
        unknown=done.unknown,
        to_confirm=sum(1 for indicator in capability.indicators if indicator.carried_over),
    )


def _sum(marks: Iterable[Marks]) -> Marks:
    total = Marks()
    for mark in marks:
        total = total + mark
    return total


def area_marks(area: AreaView) -> Marks:
    return _sum(capability_marks(capability) for capability in area.capabilities)


def overall_marks(report: GapReport) -> Marks:
    return _sum(area_marks(area) for area in report.areas)


def is_provisional(flag: bool, marks: Marks) -> bool:
    """Provisional as scoring says, or while anything it rests on is unsettled."""
    return flag or marks.provisional


# ---------------------------------------------------------------- as JSON


class MarksOut(BaseModel):
    provisional: bool
    unanswered: int
    unknown: int
    to_confirm: int


class CompletenessOut(BaseModel):
    total: int
    answered: int
    with_level: int
    unknown: int
    not_applicable: int
    unanswered: int


class CapabilityOut(BaseModel):
    id: str
    number: str
    title: str
    area_id: str
    level: int | None
    level_name: str | None
    not_applicable: bool
    target: int | None
    target_name: str | None
    gap: int | None
    status: str  # not_applicable, no_target, met or gap
    previous_level: int | None
    completeness: CompletenessOut
    marks: MarksOut


class AreaOut(BaseModel):
    id: str
    number: int
    title: str
    score: float | None
    score_rounded: float | None
    not_applicable: bool
    target_score: float | None
    previous_score: float | None
    completeness: CompletenessOut
    marks: MarksOut
    capabilities: list[CapabilityOut]


class ActionOut(BaseModel):
    title: str
    detail: str
    lead: str
    horizon: str


class StepOut(BaseModel):
    level: int
    level_name: str
    actions: list[ActionOut]


class GapOut(BaseModel):
    rank: int
    capability_id: str
    number: str
    title: str
    current_level: int | None
    current_name: str
    target_level: int
    target_name: str
    size: int
    priority: float
    raised: bool
    provisional: bool
    dependants: list[str]
    prerequisites: list[str]
    steps: list[StepOut]  # the catalogue's actions for each level up to the target


class FindingOut(BaseModel):
    kind: str
    values: dict[str, Any]


class LevelChangeOut(BaseModel):
    capability_id: str
    before: int | None
    now: int | None


class AreaChangeOut(BaseModel):
    area_id: str
    before: float | None
    now: float | None


class ChangeOut(BaseModel):
    cycle: str
    status: str
    same_catalogue: bool
    overall_before: float | None
    overall_now: float | None
    overall_delta: float | None
    areas: list[AreaChangeOut]
    raised: list[LevelChangeOut]
    lowered: list[LevelChangeOut]
    unchanged: int
    new: list[str]


class ResultsAssessmentOut(BaseModel):
    id: int
    country_code: str
    country_name: str
    cycle: str
    status: str
    revision: int
    as_of: date
    catalogue_version: str
    catalogue_hash: str
    scoring_method: str
    method_version: int


class ResultsOut(BaseModel):
    """Everything the gap report states about the assessment's results, as data."""

    assessment: ResultsAssessmentOut
    version: str
    locale: str
    max_level: int
    overall: float | None
    overall_rounded: float | None
    provisional: bool
    marks: MarksOut
    completeness: CompletenessOut
    findings: list[FindingOut]
    areas: list[AreaOut]
    gaps: list[GapOut]
    met: list[str]
    targets_not_applicable: list[str]
    strengths: list[str]
    strengths_reached: bool
    change: ChangeOut | None


def rounded(value: float | None) -> float | None:
    """A score as the report shows it: one decimal, halves away from zero."""
    return None if value is None else float(round_for_display(value))


def _marks(flag: bool, marks: Marks) -> MarksOut:
    return MarksOut(
        provisional=is_provisional(flag, marks),
        unanswered=marks.unanswered,
        unknown=marks.unknown,
        to_confirm=marks.to_confirm,
    )


def _completeness(done) -> CompletenessOut:
    return CompletenessOut(
        total=done.total,
        answered=done.answered,
        with_level=done.with_level,
        unknown=done.unknown,
        not_applicable=done.not_applicable,
        unanswered=done.unanswered,
    )


def _capability(view: CapabilityView) -> CapabilityOut:
    return CapabilityOut(
        id=view.id,
        number=view.number,
        title=view.title,
        area_id=view.area_id,
        level=view.level,
        level_name=view.level_name,
        not_applicable=view.not_applicable,
        target=view.target,
        target_name=view.target_name,
        gap=view.gap,
        status=view.status,
        previous_level=view.previous_level if view.in_previous else None,
        completeness=_completeness(view.completeness),
        marks=_marks(view.provisional, capability_marks(view)),
    )


def _gap(gap: GapView) -> GapOut:
    return GapOut(
        rank=gap.rank,
        capability_id=gap.capability.id,
        number=gap.capability.number,
        title=gap.capability.title,
        current_level=gap.current_level,
        current_name=gap.current_name,
        target_level=gap.target_level,
        target_name=gap.target_name,
        size=gap.size,
        priority=gap.priority,
        raised=gap.raised,
        provisional=gap.provisional,
        dependants=list(gap.dependants),
        prerequisites=list(gap.prerequisites),
        steps=[
            StepOut(
                level=step.level,
                level_name=step.level_name,
                actions=[ActionOut(**dataclasses.asdict(action)) for action in step.actions],
            )
            for step in gap.steps
        ],
    )


def _change(report: GapReport) -> ChangeOut | None:
    change = report.change
    if change is None:
        return None
    return ChangeOut(
        cycle=change.cycle,
        status=change.status,
        same_catalogue=change.same_catalogue,
        overall_before=change.overall_before,
        overall_now=change.overall_now,
        overall_delta=change.overall_delta,
        areas=[
            AreaChangeOut(area_id=area.id, before=area.previous_score, now=area.score)
            for area in change.areas
        ],
        raised=[
            LevelChangeOut(capability_id=row.capability.id, before=row.before, now=row.now)
            for row in change.raised
        ],
        lowered=[
            LevelChangeOut(capability_id=row.capability.id, before=row.before, now=row.now)
            for row in change.lowered
        ],
        unchanged=change.unchanged,
        new=[view.id for view in change.new],
    )


def results_out(report: GapReport, *, assessment: Assessment, version: str) -> ResultsOut:
    """The report's results as the API returns them."""
    meta = report.meta
    return ResultsOut(
        assessment=ResultsAssessmentOut(
            id=assessment.id,
            country_code=meta.country_code,
            country_name=meta.country_name,
            cycle=meta.cycle,
            status=meta.status,
            revision=meta.revision,
            as_of=meta.as_of,
            catalogue_version=meta.catalogue_version,
            catalogue_hash=meta.catalogue_hash,
            scoring_method=meta.method,
            method_version=meta.method_version,
        ),
        version=version,
        locale=meta.locale,
        max_level=meta.max_level,
        overall=report.overall,
        overall_rounded=rounded(report.overall),
        provisional=is_provisional(report.provisional, overall_marks(report)),
        marks=_marks(report.provisional, overall_marks(report)),
        completeness=_completeness(report.completeness),
        findings=[FindingOut(kind=f.kind, values=dict(f.values)) for f in report.findings],
        areas=[
            AreaOut(
                id=area.id,
                number=area.number,
                title=area.title,
                score=area.score,
                score_rounded=rounded(area.score),
                not_applicable=area.not_applicable,
                target_score=area.target_score,
                previous_score=area.previous_score,
                completeness=_completeness(area.completeness),
                marks=_marks(area.provisional, area_marks(area)),
                capabilities=[_capability(view) for view in area.capabilities],
            )
            for area in report.areas
        ],
        gaps=[_gap(gap) for gap in (*report.gaps, *report.other_gaps)],
        met=[view.id for view in report.met],
        targets_not_applicable=[view.id for view in report.targets_not_applicable],
        strengths=[view.id for view in report.strengths],
        strengths_reached=report.strengths_reached,
        change=_change(report),
    )
