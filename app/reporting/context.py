"""What each report shows, gathered from the services into plain frozen data.

One query per kind of data (answers, targets, the previous cycle, the plan), whatever the
size of the catalogue; scores come from the same pure scoring functions as the API, so the
numbers in a report are the numbers on the screen. Builders run with the report's language
active, so the labels they put into charts are already translated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.actionplan import priorities
from app.actionplan import service as plan_service
from app.assessments import service as assessment_service
from app.assessments.models import ActionItem, Answer, Assessment
from app.catalogue.schema import Capability, Catalogue
from app.comparisons import service as comparisons
from app.comparisons.aggregates import (
    ALL_MEMBERS,
    MEMBERSHIP,
    REGION,
    Cell,
    GroupAggregate,
    Measure,
    contribution_of,
)
from app.core.errors import NotFound
from app.core.i18n import direction
from app.core.i18n import gettext as _
from app.countries.labels import INCOME_LABELS, REGION_LABELS
from app.reporting import charts, words
from app.reporting.render import fingerprint, format_number, language
from app.scoring import (
    AnswerValue,
    AssessmentScore,
    Completeness,
    GapAnalysis,
    display_score,
    draft_actions,
    find_strengths,
    rank_gaps,
    round_for_display,
    score_assessment,
)

TOP_GAPS = 10
HORIZONS = ("short", "medium", "long")
OPEN_STATUSES = frozenset({"planned", "in_progress", "proposed"})
# Only a cycle the country signed off is a fair baseline for "change since the last cycle".
COMPARABLE_STATUSES = frozenset(comparisons.COUNTED_STATUSES)


# ---------------------------------------------------------------- shared views


@dataclass(frozen=True, slots=True)
class LevelInfo:
    level: int
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class ReportMeta:
    """What the cover, running header and PDF metadata say about the report."""

    kind: str
    title: str
    country_name: str
    country_code: str
    cycle: str
    status: str
    revision: int
    as_of: date
    locale: str
    direction: str
    catalogue_title: str
    catalogue_id: str
    catalogue_version: str
    catalogue_hash: str
    method: str
    method_version: int
    capability_level_rule: str
    unknown_policy: str
    overall_rule: str
    max_level: int
    submitted_on: date | None = None
    validated_on: date | None = None
    signoff_name: str | None = None
    signoff_position: str | None = None
    signoff_date: date | None = None


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    href: str | None  # only http(s) links with a host are made clickable


@dataclass(frozen=True, slots=True)
class IndicatorView:
    id: str
    question: str
    response: str | None  # "level", "not_applicable", "unknown"; None: unanswered
    level: int | None
    level_name: str | None
    justification: str
    evidence_notes: str
    links: tuple[Link, ...]
    confidence: str | None
    carried_over: bool


@dataclass(frozen=True, slots=True)
class CapabilityView:
    id: str
    number: str  # "2.3": area 2, capability 3
    title: str
    summary: str
    area_id: str
    area_title: str
    weight: float
    mnr: tuple[int, ...]
    depends_on: tuple[str, ...]  # titles of the capabilities it depends on
    level: int | None
    level_name: str | None
    score: float | None
    not_applicable: bool
    provisional: bool
    completeness: Completeness
    target: int | None
    target_name: str | None
    gap: int | None  # levels still to go; None without a target or when not applicable
    previous_level: int | None = None
    in_previous: bool = False
    indicators: tuple[IndicatorView, ...] = ()

    @property
    def status(self) -> str:
        """One of not_applicable, no_target, met and gap."""
        if self.not_applicable:
            return "not_applicable"
        if self.target is None:
            return "no_target"
        return "gap" if self.gap else "met"


@dataclass(frozen=True, slots=True)
class AreaView:
    id: str
    number: int
    title: str
    summary: str
    weight: float
    score: float | None
    provisional: bool
    not_applicable: bool
    completeness: Completeness
    capabilities: tuple[CapabilityView, ...]
    previous_score: float | None = None
    target_score: float | None = None


@dataclass(frozen=True, slots=True)
class ActionView:
    title: str
    detail: str
    lead: str
    horizon: str


@dataclass(frozen=True, slots=True)
class StepView:
    level: int
    level_name: str
    actions: tuple[ActionView, ...]


@dataclass(frozen=True, slots=True)
class GapView:
    rank: int
    capability: CapabilityView
    current_level: int | None
    current_name: str
    target_level: int
    target_name: str
    size: int
    priority: float
    dependants: tuple[str, ...]  # titles
    prerequisites: tuple[str, ...]  # titles
    raised: bool  # its place was raised because other gaps wait for it
    provisional: bool
    steps: tuple[StepView, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """One key finding; the template phrases it from kind and values."""

    kind: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CapabilityChange:
    capability: CapabilityView
    before: int | None
    before_name: str | None
    now: int | None


@dataclass(frozen=True, slots=True)
class ChangeView:
    cycle: str
    status: str
    catalogue_version: str
    same_catalogue: bool
    overall_before: float | None
    overall_now: float | None
    areas: tuple[AreaView, ...]  # with previous_score filled in
    raised: tuple[CapabilityChange, ...]
    lowered: tuple[CapabilityChange, ...]
    unchanged: int
    new: tuple[CapabilityView, ...]  # in this cycle's catalogue only
    skipped: tuple[str, ...] = ()  # later cycles not compared: never submitted

    @property
    def overall_delta(self) -> float | None:
        if self.overall_before is None or self.overall_now is None:
            return None
        return self.overall_now - self.overall_before


@dataclass(frozen=True, slots=True)
class PositionRowView:
    """An area or capability: the country's own value beside two groups' published cells."""

    kind: str  # "area" or "capability"
    number: str
    title: str
    own: float | None  # a capability's level, or an area's weighted mean level (0 to top)
    own_name: str | None  # the level's name, for a capability
    not_applicable: bool
    region: Cell
    membership: Cell

    def shown(self, region: bool, membership: bool) -> bool:
        """True when a figure is published for this row in one of the groups shown."""
        return (region and not self.region.suppressed) or (
            membership and not self.membership.suppressed
        )


@dataclass(frozen=True, slots=True)
class PositionAreaView:
    area: PositionRowView
    capabilities: tuple[PositionRowView, ...]


@dataclass(frozen=True, slots=True)
class PositionView:
    """The country's position among members: the published aggregates of the cycle."""

    cycle: str
    min_group: int
    region_label: str
    membership_label: str
    published: bool  # False: no figure at all can be published for this cycle
    region_published: bool
    areas: tuple[PositionAreaView, ...]
    chart: Markup | None
    membership_published: bool = True
    factor: float = 25.0  # levels to the report's 0-100 scale: 100 / top level
    # The rows of the table: those with a figure in a group shown, and the areas they sit in.
    table: tuple[PositionAreaView, ...] = ()
    withheld: tuple[str, ...] = ()  # "2.3 Title" of every row with no figure shown


@dataclass(frozen=True, slots=True)
class PositionFigures:
    """The published aggregates a gap report sets its country beside, and their digest.

    The cells are those of `comparisons.cycle_aggregates`, the very function behind the
    position API, the aggregates API and the membership brief, so they withhold the same
    groups. The digest goes into the report's cache key: when a counted assessment of
    another country changes, the figures change and the report is rendered anew.
    """

    cycle: str
    min_group: int
    region: str
    region_group: GroupAggregate
    membership: GroupAggregate

    @property
    def digest(self) -> str:
        return aggregate_digest(self.min_group, (self.region_group, self.membership))


def aggregate_digest(min_group: int, groups: Sequence[GroupAggregate]) -> str:
    """A digest of published figures: k and every cell of the groups, withheld ones too."""
    return fingerprint(
        [
            {
                "k": min_group,
                "partition": group.partition,
                "group": group.group,
                "cells": [
                    [
                        cell.kind,
                        cell.measure_id,
                        cell.suppressed,
                        cell.countries,
                        cell.median,
                        cell.lower_quartile,
                        cell.upper_quartile,
                        list(cell.distribution) if cell.distribution is not None else None,
                    ]
                    for cell in group.cells
                ],
            }
            for group in groups
        ]
    )


def position_figures(session: Session, assessment: Assessment, *, k: int) -> PositionFigures:
    """The published figures of the assessment's cycle for its region and the membership.

    The caller must already have checked that the user may see the assessment; the figures
    themselves are anonymised and withheld where groups are small.
    """
    report = comparisons.cycle_aggregates(session, assessment.cycle, k=k)
    region = assessment.country.region
    try:
        region_group = report.group(REGION, region)
    except KeyError:  # a region nobody counted in lists: nothing published for it
        region_group = GroupAggregate(REGION, region, ())
    return PositionFigures(
        cycle=assessment.cycle,
        min_group=report.min_group,
        region=region,
        region_group=region_group,
        membership=report.group(MEMBERSHIP, ALL_MEMBERS),
    )


def published_cell(group: GroupAggregate, kind: str, measure_id: str) -> Cell:
    """A group's cell for a measure; withheld when the measure was not aggregated at all."""
    measure = Measure(kind, measure_id)  # type: ignore[arg-type]
    try:
        return group.cell(measure)
    except KeyError:
        return Cell.withheld(measure)


def region_label(region: str) -> str:
    """A World Bank region in the active language."""
    return str(REGION_LABELS.get(region, region))


def income_group_label(group: str) -> str:
    """A World Bank income group in the active language."""
    return str(INCOME_LABELS.get(group, group))


def withheld_text(k: int) -> str:
    """What a withheld cell says instead of any figure."""
    return _("Not published: fewer than %(k)s countries", k=k)


@dataclass(frozen=True, slots=True)
class GapReport:
    meta: ReportMeta
    scale: tuple[LevelInfo, ...]
    overall: float | None
    provisional: bool
    completeness: Completeness
    areas: tuple[AreaView, ...]
    findings: tuple[Finding, ...]
    gaps: tuple[GapView, ...]  # the first TOP_GAPS, with their steps
    other_gaps: tuple[GapView, ...]  # the rest
    met: tuple[CapabilityView, ...]
    targets_not_applicable: tuple[CapabilityView, ...]
    strengths: tuple[CapabilityView, ...]
    strengths_reached: bool  # False: none at strength_level, strengths are the most advanced
    strength_level: LevelInfo
    change: ChangeView | None
    radar: Markup
    heat_table: Markup
    target_count: int
    bars: Mapping[str, Markup] = field(default_factory=dict)  # area id -> score bar
    position: PositionView | None = None
    fund_first: priorities.FundFirst | None = None
    tentative: bool = False  # the overall score rests on unconfirmed, unknown or no answers
    strengths_typical: float | None = None  # the median capability level
    strengths_typical_text: str = ""  # that median in words
    strengths_at_floor: int = 0  # capabilities at strength_level or above, named or not
    strengths_scored: int = 0  # capabilities with a level


def _comparable_previous(
    session: Session, assessment: Assessment
) -> tuple[int, int, tuple[str, ...]] | None:
    """The id and revision of the nearest earlier cycle that was submitted or validated, and
    the cycles passed over on the way (drafts, returned).

    A draft (or an assessment returned for changes) is work in progress, so comparing with
    it would report movements nobody signed off: earlier cycles are followed back instead.
    The country's chain of cycles is read in one query, whatever its length.
    """
    if assessment.previous_id is None:
        return None
    rows = session.execute(
        select(
            Assessment.id,
            Assessment.cycle,
            Assessment.status,
            Assessment.previous_id,
            Assessment.revision,
        ).where(Assessment.country_id == assessment.country_id)
    ).all()
    by_id = {row.id: row for row in rows}
    seen = {assessment.id}
    skipped: list[str] = []
    previous_id = assessment.previous_id
    while previous_id is not None and previous_id not in seen and previous_id in by_id:
        seen.add(previous_id)
        row = by_id[previous_id]
        if row.status in COMPARABLE_STATUSES:
            return row.id, row.revision, tuple(skipped)
        skipped.append(row.cycle)
        previous_id = row.previous_id
    return None


# ---------------------------------------------------------------- gap report


@dataclass(frozen=True, slots=True)
class _Scored:
    """An assessment with its catalogue, answers, score and gaps."""

    assessment: Assessment
    catalogue: Catalogue
    answers: dict[tuple[str, str], Answer]
    targets: dict[str, int]
    score: AssessmentScore
    gaps: GapAnalysis
    skipped: tuple[str, ...] = ()  # as a previous cycle: the later cycles passed over


def _score(session: Session, assessment: Assessment) -> _Scored:
    catalogue = assessment_service.catalogue_of(session, assessment)
    answers = assessment_service.answers_of(session, assessment)
    values = {
        key: AnswerValue(row.response, row.level, carried_over=bool(row.carried_over))
        for key, row in answers.items()
    }
    score = score_assessment(
        catalogue, values, catalogue_hash=assessment.catalogue_version.content_hash
    )
    targets = {
        cid: t.level for cid, t in assessment_service.targets_of(session, assessment).items()
    }
    return _Scored(
        assessment, catalogue, answers, targets, score, rank_gaps(catalogue, score, targets)
    )


def _previous(session: Session, *, user: User, assessment: Assessment) -> _Scored | None:
    found = _comparable_previous(session, assessment)
    if found is None:
        return None
    try:
        previous = assessment_service.get_assessment(session, user=user, assessment_id=found[0])
    except NotFound:
        return None
    return replace(_score(session, previous), skipped=found[2])


def build_gap_report(
    session: Session,
    *,
    user: User,
    assessment: Assessment,
    locale: str,
    figures: PositionFigures,
) -> GapReport:
    """Everything the gap report shows, for an assessment the user may see.

    `figures` are the members' published aggregates from `position_figures` (gathered
    once by the caller, which needs them for the cache key too).
    """
    with language(locale):
        report = _gap_report(
            session,
            user=user,
            assessment=assessment,
            locale=locale,
            figures=figures,
        )
        return words.tame(report)  # long unbroken words segmented before layout


def _gap_report(
    session: Session,
    *,
    user: User,
    assessment: Assessment,
    locale: str,
    figures: PositionFigures,
) -> GapReport:
    current = _score(session, assessment)
    previous = _previous(session, user=user, assessment=assessment)
    catalogue, score = current.catalogue, current.score
    meta = _meta(assessment, catalogue, kind="gap", title=_("Gap report"), locale=locale)
    views = _capability_views(current, previous, locale=locale, with_indicators=True)
    areas = _area_views(current, previous, views, locale=locale)
    gap_views = _gap_views(current, views, locale=locale)
    change = _change(current, previous, areas, views, locale=locale)
    strengths = find_strengths(score)
    report = GapReport(
        meta=meta,
        scale=_scale(catalogue, locale),
        overall=score.overall,
        provisional=score.provisional,
        completeness=score.completeness,
        areas=areas,
        findings=_findings(current, areas, gap_views, change, views, locale=locale),
        gaps=gap_views[:TOP_GAPS],
        other_gaps=gap_views[TOP_GAPS:],
        met=tuple(views[cid] for cid in current.gaps.met),
        targets_not_applicable=tuple(views[cid] for cid in current.gaps.not_applicable),
        strengths=tuple(views[cid] for cid in strengths.capabilities),
        strengths_reached=strengths.reached,
        strength_level=_scale(catalogue, locale)[strengths.floor],
        strengths_typical=strengths.typical,
        strengths_typical_text=_typical_level(catalogue, strengths.typical, locale),
        strengths_at_floor=strengths.at_floor,
        strengths_scored=strengths.scored,
        tentative=score.completeness.tentative,
        change=change,
        radar=_radar(
            areas, locale=locale, previous_cycle=previous.assessment.cycle if previous else None
        ),
        heat_table=_heat_table(areas, catalogue, locale=locale),
        target_count=len(current.targets),
        bars={area.id: _score_bar(area, locale=locale) for area in areas},
        position=_position(current, areas, figures, locale=locale),
        fund_first=priorities.fund_first(
            catalogue,
            current.gaps.gaps,
            plan_service.items_of(session, assessment),
            locale=locale,
        ),
    )
    return report


def _typical_level(catalogue: Catalogue, typical: float | None, locale: str) -> str:
    """The median capability level in words: "3 Established", or between two levels."""
    if typical is None:
        return ""
    low = int(typical)
    if typical == low:
        return f"{low} {catalogue.level_name(low, locale)}"
    return _(
        "between %(low)s and %(high)s",
        low=f"{low} {catalogue.level_name(low, locale)}",
        high=f"{low + 1} {catalogue.level_name(low + 1, locale)}",
    )


def _score_bar(area: AreaView, *, locale: str) -> Markup:
    if area.score is None:
        label = _("Score of %(area)s: no score", area=area.title)
    else:
        label = _(
            "Score of %(area)s: %(score)s out of 100",
            area=area.title,
            score=display_score(area.score, locale),
        )
    return charts.score_bar(area.score, label)


def _position(
    current: _Scored, areas: Sequence[AreaView], figures: PositionFigures, *, locale: str
) -> PositionView:
    """The country's own levels beside its region's and the membership's published cells.

    The own values are computed as the aggregates count them (`contribution_of`), so they
    are the position API's.
    """
    country = current.assessment.country
    own = contribution_of(
        current.score, region=country.region, income_group=country.income_group
    ).values

    def row(kind: str, item_id: str, number: str, title: str, **extra: Any) -> PositionRowView:
        value = own.get(Measure(kind, item_id))  # type: ignore[arg-type]
        return PositionRowView(
            kind=kind,
            number=number,
            title=title,
            own=None if value is None else float(round(value, 2)),
            region=published_cell(figures.region_group, kind, item_id),
            membership=published_cell(figures.membership, kind, item_id),
            **extra,
        )

    rows = tuple(
        PositionAreaView(
            area=row(
                "area",
                area.id,
                str(area.number),
                area.title,
                own_name=None,
                not_applicable=area.not_applicable,
            ),
            capabilities=tuple(
                row(
                    "capability",
                    capability.id,
                    capability.number,
                    capability.title,
                    own_name=capability.level_name,
                    not_applicable=capability.not_applicable,
                )
                for capability in area.capabilities
            ),
        )
        for area in areas
    )
    cells = [
        cell
        for item in rows
        for line in (item.area, *item.capabilities)
        for cell in (line.region, line.membership)
    ]
    published = any(not cell.suppressed for cell in cells)
    region_published = any(
        not line.region.suppressed for item in rows for line in (item.area, *item.capabilities)
    )
    membership_published = any(
        not line.membership.suppressed for item in rows for line in (item.area, *item.capabilities)
    )
    # A group with nothing published gets no column at all, and a row with no figure in the
    # groups shown is named once in a sentence, rather than repeating "not published".
    table: list[PositionAreaView] = []
    withheld: list[str] = []
    for item in rows:
        kept = []
        for line in (item.area, *item.capabilities):
            if line.shown(region_published, membership_published):
                kept.append(line)
            else:
                withheld.append(f"{line.number} {line.title}")
        capabilities = tuple(line for line in kept if line.kind == "capability")
        if capabilities or item.area in kept:
            table.append(PositionAreaView(area=item.area, capabilities=capabilities))
    region_name = region_label(figures.region)
    membership_name = _("All contributing members")
    factor = 100 / max(current.catalogue.max_level, 1)
    chart = None
    if published:
        chart = _position_chart(
            rows,
            current.catalogue,
            region=region_name if region_published else None,
            membership=membership_name if membership_published else None,
            k=figures.min_group,
            locale=locale,
        )
    return PositionView(
        membership_published=membership_published,
        factor=factor,
        table=tuple(table),
        withheld=tuple(withheld),
        cycle=figures.cycle,
        min_group=figures.min_group,
        region_label=region_name,
        membership_label=membership_name,
        published=published,
        region_published=region_published,
        areas=rows,
        chart=chart,
    )


def _range_band(
    label: str, cell: Cell, *, k: int, locale: str, factor: float = 1.0
) -> charts.RangeBand:
    """A group's band; with factor, its median is written on the 0-100 scale."""
    if cell.suppressed or cell.median is None:
        return charts.RangeBand(label=label, median=None, withheld_text=withheld_text(k))
    value = (
        display_score(cell.median * factor, locale)
        if factor != 1.0
        else format_number(cell.median, locale)
    )
    return charts.RangeBand(
        label=label,
        median=cell.median,
        lower=cell.lower_quartile,
        upper=cell.upper_quartile,
        value_text=_("median %(value)s", value=value),
    )


def _position_chart(
    rows: Sequence[PositionAreaView],
    catalogue: Catalogue,
    *,
    region: str | None,
    membership: str | None,
    k: int,
    locale: str,
) -> Markup:
    """Per area, the published groups' bands on the report's 0-100 scale (None: not shown)."""
    factor = 100 / max(catalogue.max_level, 1)
    chart_rows = []
    for item in rows:
        bands = tuple(
            _range_band(label, cell, k=k, locale=locale, factor=factor)
            for label, cell in ((region, item.area.region), (membership, item.area.membership))
            if label is not None
        )
        if all(band.median is None for band in bands):
            continue  # named in the sentence under the table instead
        own = item.area.own
        chart_rows.append(
            charts.RangeRow(
                label=f"{item.area.number}  {item.area.title}",
                bands=bands,
                own=own,
                own_text=(
                    _("yours %(value)s", value=display_score(own * factor, locale))
                    if own is not None
                    else ""
                ),
            )
        )
    shown = [name for name in (region, membership) if name is not None]
    labels = charts.RangeLabels(
        title=_("Your position among members, by area"),
        description=_(
            "For each area, on the scale of 0 to 100, the middle half of member countries "
            "(from the lower to the upper quartile) and their median, for %(groups)s, with "
            "this country's own score marked by a diamond.",
            groups=_(" and ").join(shown),
        ),
        level_names=tuple(level.name.get(locale) for level in catalogue.maturity_scale),
        band=_("Middle half of countries (lower to upper quartile)"),
        median=_("Median"),
        own=_("Your value"),
    )
    ticks = tuple(format_number(level * factor, locale) for level in range(catalogue.max_level + 1))
    return charts.range_chart(chart_rows, catalogue.max_level, labels, tick_labels=ticks)


def _meta(
    assessment: Assessment, catalogue: Catalogue, *, kind: str, title: str, locale: str
) -> ReportMeta:
    scoring = catalogue.scoring
    return ReportMeta(
        kind=kind,
        title=title,
        country_name=assessment.country.name,
        country_code=assessment.country.code,
        cycle=assessment.cycle,
        status=assessment.status,
        revision=assessment.revision,
        as_of=assessment.updated_at.date(),
        locale=locale,
        direction=direction(locale),
        catalogue_title=catalogue.title.get(locale),
        catalogue_id=catalogue.id,
        catalogue_version=catalogue.version,
        catalogue_hash=assessment.catalogue_version.content_hash,
        method=scoring.method,
        method_version=scoring.method_version,
        capability_level_rule=scoring.capability_level.value,
        unknown_policy=scoring.unknown.value,
        overall_rule=scoring.overall.value,
        max_level=catalogue.max_level,
        submitted_on=assessment.submitted_at.date() if assessment.submitted_at else None,
        validated_on=assessment.validated_at.date() if assessment.validated_at else None,
        signoff_name=assessment.signoff_name,
        signoff_position=assessment.signoff_position,
        signoff_date=assessment.signoff_date,
    )


def _scale(catalogue: Catalogue, locale: str) -> tuple[LevelInfo, ...]:
    return tuple(
        LevelInfo(level.level, level.name.get(locale), level.description.get(locale))
        for level in catalogue.maturity_scale
    )


def _links(values: Sequence[str]) -> tuple[Link, ...]:
    return tuple(Link(value, value.strip() if _is_web_link(value) else None) for value in values)


def _is_web_link(value: str) -> bool:
    """Only http(s) links with a host become clickable; anything else stays text."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _capability_views(
    current: _Scored, previous: _Scored | None, *, locale: str, with_indicators: bool
) -> dict[str, CapabilityView]:
    catalogue, score = current.catalogue, current.score
    previous_levels: dict[str, int | None] = {}
    if previous is not None:
        previous_levels = {c.capability_id: c.level for c in previous.score.capabilities}
    titles = {c.id: c.title.get(locale) for c in catalogue.capabilities()}
    views: dict[str, CapabilityView] = {}
    for area_number, area in enumerate(catalogue.areas, start=1):
        for number, capability in enumerate(area.capabilities, start=1):
            result = score.capability(capability.id)
            target = current.targets.get(capability.id)
            gap = None
            if target is not None and not result.not_applicable:
                gap = max(0, target - (result.level or 0))
            views[capability.id] = CapabilityView(
                id=capability.id,
                number=f"{area_number}.{number}",
                title=titles[capability.id],
                summary=capability.summary.get(locale),
                area_id=area.id,
                area_title=area.title.get(locale),
                weight=capability.weight,
                mnr=tuple(capability.mnr),
                depends_on=tuple(titles[d] for d in capability.depends_on if d in titles),
                level=result.level,
                level_name=_level_name(catalogue, result.level, locale),
                score=result.score,
                not_applicable=result.not_applicable,
                provisional=result.provisional,
                completeness=result.completeness,
                target=target,
                target_name=_level_name(catalogue, target, locale),
                gap=gap,
                previous_level=previous_levels.get(capability.id),
                in_previous=capability.id in previous_levels,
                indicators=(
                    _indicator_views(current, capability, locale) if with_indicators else ()
                ),
            )
    return views


def _level_name(catalogue: Catalogue, level: int | None, locale: str) -> str | None:
    return None if level is None else catalogue.level_name(level, locale)


def _indicator_views(
    current: _Scored, capability: Capability, locale: str
) -> tuple[IndicatorView, ...]:
    views = []
    for indicator in capability.indicators:
        answer = current.answers.get((capability.id, indicator.id))
        views.append(
            IndicatorView(
                id=indicator.id,
                question=indicator.question.get(locale),
                response=answer.response if answer else None,
                level=answer.level if answer else None,
                level_name=(
                    _level_name(current.catalogue, answer.level, locale) if answer else None
                ),
                justification=(answer.justification or "").strip() if answer else "",
                evidence_notes=(answer.evidence_notes or "").strip() if answer else "",
                links=_links(answer.evidence_links or []) if answer else (),
                confidence=answer.confidence if answer else None,
                carried_over=bool(answer and answer.carried_over),
            )
        )
    return tuple(views)


def _area_views(
    current: _Scored,
    previous: _Scored | None,
    views: Mapping[str, CapabilityView],
    *,
    locale: str,
) -> tuple[AreaView, ...]:
    previous_scores: dict[str, float | None] = {}
    if previous is not None:
        previous_scores = {area.area_id: area.score for area in previous.score.areas}
    areas = []
    for number, area in enumerate(current.catalogue.areas, start=1):
        result = current.score.area(area.id)
        capabilities = tuple(views[c.id] for c in area.capabilities)
        areas.append(
            AreaView(
                id=area.id,
                number=number,
                title=area.title.get(locale),
                summary=area.summary.get(locale),
                weight=area.weight,
                score=result.score,
                provisional=result.provisional,
                not_applicable=result.not_applicable,
                completeness=result.completeness,
                capabilities=capabilities,
                previous_score=previous_scores.get(area.id),
                target_score=_target_score(capabilities, current.catalogue.max_level),
            )
        )
    return tuple(areas)


def _target_score(capabilities: Sequence[CapabilityView], max_level: int) -> float | None:
    """The area's score if every target in it were met (capabilities without one as they are)."""
    if not any(c.target is not None and not c.not_applicable for c in capabilities):
        return None
    total = weights = 0.0
    for capability in capabilities:
        if capability.not_applicable:
            continue
        level = capability.level
        if capability.target is not None:
            level = max(level or 0, capability.target)
        if level is None:
            continue
        total += capability.weight * level * 100 / max_level
        weights += capability.weight
    return total / weights if weights else None


def _gap_views(
    current: _Scored, views: Mapping[str, CapabilityView], *, locale: str
) -> tuple[GapView, ...]:
    catalogue = current.catalogue
    actions_by_gap: dict[str, dict[int, list[ActionView]]] = {}
    for action in draft_actions(catalogue, current.gaps.gaps, locale=locale):
        steps = actions_by_gap.setdefault(action.capability_id, {})
        steps.setdefault(action.step_level, []).append(
            ActionView(
                title=action.title,
                detail=action.detail,
                lead=catalogue.sector_name(action.lead_sector, locale),
                horizon=action.horizon,
            )
        )
    gaps = []
    for gap in current.gaps.gaps:
        steps = actions_by_gap.get(gap.capability_id, {})
        gaps.append(
            GapView(
                rank=gap.rank,
                capability=views[gap.capability_id],
                current_level=gap.current_level,
                current_name=catalogue.level_name(gap.current_level or 0, locale),
                target_level=gap.target_level,
                target_name=catalogue.level_name(gap.target_level, locale),
                size=gap.gap,
                priority=gap.priority,
                dependants=tuple(views[c].title for c in gap.dependants),
                prerequisites=tuple(views[c].title for c in gap.prerequisites),
                raised=gap.effective_priority > gap.priority,
                provisional=gap.provisional,
                steps=tuple(
                    StepView(level, catalogue.level_name(level, locale), tuple(actions))
                    for level, actions in sorted(steps.items())
                ),
            )
        )
    return tuple(gaps)


def _change(
    current: _Scored,
    previous: _Scored | None,
    areas: Sequence[AreaView],
    views: Mapping[str, CapabilityView],
    *,
    locale: str,
) -> ChangeView | None:
    if previous is None:
        return None
    raised, lowered, new = [], [], []
    unchanged = 0
    for view in views.values():
        if not view.in_previous:
            new.append(view)
            continue
        before, now = view.previous_level, view.level
        change = CapabilityChange(
            view, before, _level_name(previous.catalogue, before, locale), now
        )
        # No level at all (not applicable, or nothing counted) sits below level 0.
        if (-1 if now is None else now) > (-1 if before is None else before):
            raised.append(change)
        elif (-1 if now is None else now) < (-1 if before is None else before):
            lowered.append(change)
        else:
            unchanged += 1

    def size(change: CapabilityChange) -> int:
        return abs((change.now or 0) - (change.before or 0))

    return ChangeView(
        cycle=previous.assessment.cycle,
        status=previous.assessment.status,
        catalogue_version=previous.catalogue.version,
        same_catalogue=(
            previous.assessment.catalogue_version.content_hash
            == current.assessment.catalogue_version.content_hash
        ),
        overall_before=previous.score.overall,
        overall_now=current.score.overall,
        areas=tuple(areas),
        raised=tuple(sorted(raised, key=size, reverse=True)),
        lowered=tuple(sorted(lowered, key=size, reverse=True)),
        unchanged=unchanged,
        new=tuple(new),
        skipped=previous.skipped,
    )


def _findings(
    current: _Scored,
    areas: Sequence[AreaView],
    gaps: Sequence[GapView],
    change: ChangeView | None,
    views: Mapping[str, CapabilityView],
    *,
    locale: str,
) -> tuple[Finding, ...]:
    """Three to five findings read off the data, most important first."""
    score = current.score
    done = score.completeness
    found: list[Finding] = []
    if done.answered == 0:
        return (Finding("no_answers", {"total": done.total}),)
    if score.provisional:
        found.append(
            Finding(
                "provisional",
                {
                    "unanswered": done.unanswered,
                    "unconfirmed": done.unconfirmed,
                    "confirmed": done.confirmed,
                    "total": done.total,
                },
            )
        )
    scores = [area.score for area in areas if area.score is not None]
    if scores and min(scores) != max(scores):
        for kind, value in (("weakest_area", min(scores)), ("strongest_area", max(scores))):
            # Areas that read the same once rounded are named together.
            tied = [
                area.title for area in areas if area.score is not None and _same(area.score, value)
            ]
            found.append(Finding(kind, {"areas": tied, "score": value}))
    elif scores:
        found.append(Finding("even_areas", {"score": scores[0], "count": len(scores)}))
    if gaps:
        largest = max(gaps, key=lambda gap: (gap.size, -gap.rank))
        found.append(
            Finding(
                "largest_gap",
                {
                    "capability": largest.capability.title,
                    "size": largest.size,
                    # No level yet is not "not in place": it is unknown where it stands.
                    "level": largest.current_name
                    if largest.current_level is not None
                    else _("no level yet"),
                    "target": largest.target_name,
                },
            )
        )
        first = gaps[0]
        if first.capability.id != largest.capability.id and first.dependants:
            found.append(
                Finding(
                    "first_priority",
                    {"capability": first.capability.title, "count": len(first.dependants)},
                )
            )
    elif current.targets:
        found.append(Finding("targets_met", {"count": len(current.gaps.met)}))
    else:
        found.append(Finding("no_targets", {}))
    if change is not None and change.overall_delta is not None:
        found.append(
            Finding(
                "change",
                {
                    "cycle": change.cycle,
                    "delta": change.overall_delta,
                    "before": change.overall_before,
                    "now": change.overall_now,
                },
            )
        )
    if done.unknown:
        found.append(
            Finding("unknown", {"count": done.unknown, "policy": current.catalogue.scoring.unknown})
        )
    absent = [view for view in views.values() if view.level == 0]
    if absent:
        found.append(Finding("not_in_place", {"count": len(absent)}))
    return tuple(found[:5])


def _same(first: float, second: float) -> bool:
    return round_for_display(first) == round_for_display(second)


def _radar(areas: Sequence[AreaView], *, locale: str, previous_cycle: str | None) -> Markup:
    axes = [
        charts.RadarAxis(
            label=area.title,
            value=area.score,
            value_text=display_score(area.score, locale)
            if area.score is not None
            else _("no score"),
            target=area.target_score,
            previous=area.previous_score,
        )
        for area in areas
    ]
    # The title is the figure's alternate text in the tagged PDF: it carries the figures.
    described = []
    for area in areas:
        text = f"{area.number} {area.title}: " + (
            display_score(area.score, locale) if area.score is not None else _("no score")
        )
        if previous_cycle and area.previous_score is not None:
            text += (
                " ("
                + _(
                    "cycle %(cycle)s: %(score)s",
                    cycle=previous_cycle,
                    score=display_score(area.previous_score, locale),
                )
                + ")"
            )
        described.append(text)
    labels = charts.RadarLabels(
        title=_("Area scores from 0 to 100") + ". " + "; ".join(described) + ".",
        description=_(
            "Each area's score from 0 to 100, with the score it would reach if its targets "
            "were met and, where there is one, its score in the previous cycle."
        ),
        current=_("This cycle"),
        target=_("If targets are met"),
        previous=_("Cycle %(cycle)s", cycle=previous_cycle) if previous_cycle else None,
    )
    return charts.radar(axes, labels)


def _heat_table(areas: Sequence[AreaView], catalogue: Catalogue, *, locale: str) -> Markup:
    groups = []
    for area in areas:
        rows = []
        for capability in area.capabilities:
            cells = tuple(
                charts.HeatCell(indicator.response or "unanswered", indicator.level)
                for indicator in capability.indicators
            )
            if capability.not_applicable:
                level_text = _("not applicable")
            elif capability.level is None:
                level_text = _("no level yet")
            else:
                level_text = f"{capability.level} {capability.level_name}"
            if capability.target is None:
                target_text, gap_text = "–", "–"
            else:
                target_text = f"{capability.target} {capability.target_name}"
                gap_text = (
                    "–"
                    if capability.gap is None
                    else f"+{capability.gap}"
                    if capability.gap
                    else "✓ " + _("met")
                )
            rows.append(
                charts.HeatRow(
                    number=capability.number,
                    title=capability.title,
                    cells=cells,
                    level=capability.level,
                    level_text=level_text,
                    target_text=target_text,
                    gap_text=gap_text,
                    not_applicable=capability.not_applicable,
                )
            )
        score_text = display_score(area.score, locale) if area.score is not None else _("no score")
        groups.append(
            charts.HeatGroup(
                title=f"{area.number}  {area.title}", score_text=score_text, rows=tuple(rows)
            )
        )
    levels: dict[int, int] = {}
    for area in areas:
        for capability in area.capabilities:
            if capability.level is not None:
                levels[capability.level] = levels.get(capability.level, 0) + 1
    counted = "; ".join(
        _(
            "%(count)s at %(level)s %(name)s",
            count=levels[level],
            level=level,
            name=catalogue.level_name(level, locale),
        )
        for level in sorted(levels, reverse=True)
    )
    capability_count = sum(len(area.capabilities) for area in areas)
    labels = charts.HeatLabels(
        title=_(
            "Capability heat table: %(count)s capabilities (%(levels)s). Each capability's "
            "indicators and their answers are listed in its area's section.",
            count=capability_count,
            levels=counted or _("none with a level yet"),
        ),
        description=_(
            "For every capability: the level given for each of its indicators, the "
            "capability's level, its target and the levels still to go."
        ),
        capability=_("Capability"),
        indicators=_("Indicators"),
        level=_("Level"),
        target=_("Target"),
        gap=_("To go"),
        level_names=tuple(level.name.get(locale) for level in catalogue.maturity_scale),
        unknown=_("Unknown"),
        not_applicable=_("Not applicable"),
        unanswered=_("Not yet answered"),
    )
    return charts.heat_table(groups, catalogue.max_level, labels)


# ---------------------------------------------------------------- action plan


@dataclass(frozen=True, slots=True)
class PlanItemView:
    number: int
    title: str
    detail: str
    capability_number: str | None
    capability_title: str | None
    step_level: int | None
    step_name: str | None
    lead_sector: str | None  # the catalogue sector's name
    agency: str  # the owner agency, else the lead sector, else empty
    horizon: str
    due_date: date | None
    status: str  # an ActionStatus value, or "proposed" for a drafted plan
    notes: str
    origin: str
    overdue: bool
    depends_on: tuple[str, ...]
    cost: str | None = None  # indicative cost with its currency code
    funding_source: str = ""
    mismatch: str | None = None  # "later"/"sooner": the due date contradicts the horizon


@dataclass(frozen=True, slots=True)
class AgencyGroup:
    name: str  # empty: no agency named
    items: tuple[PlanItemView, ...]


@dataclass(frozen=True, slots=True)
class HorizonGroup:
    horizon: str
    agencies: tuple[AgencyGroup, ...]
    count: int


@dataclass(frozen=True, slots=True)
class DependencyView:
    capability: CapabilityView
    prerequisite: CapabilityView
    open_actions: int  # the prerequisite's open actions in this plan


@dataclass(frozen=True, slots=True)
class ActionPlanReport:
    meta: ReportMeta
    today: date
    drafted: bool  # True: no plan yet, these are the catalogue's proposals
    items: tuple[PlanItemView, ...]
    horizons: tuple[HorizonGroup, ...]
    status_counts: Mapping[str, int]
    overdue: int
    undated: int
    dependencies: tuple[DependencyView, ...]
    gap_count: int
    timeline: Markup
    fund_first: priorities.FundFirst | None = None


def build_action_plan(
    session: Session, *, user: User, assessment: Assessment, locale: str, today: date
) -> ActionPlanReport:
    """Everything the action plan report shows, for an assessment the user may see."""
    with language(locale):
        report = _action_plan(session, user=user, assessment=assessment, locale=locale, today=today)
        return words.tame(report)  # long unbroken words segmented before layout


def _action_plan(
    session: Session, *, user: User, assessment: Assessment, locale: str, today: date
) -> ActionPlanReport:
    current = _score(session, assessment)
    catalogue = current.catalogue
    views = _capability_views(current, None, locale=locale, with_indicators=False)
    rows = plan_service.plan_items(session, user=user, assessment_id=assessment.id)
    drafted = not rows
    items = (
        _plan_items(rows, current, views, locale=locale, today=today)
        if rows
        else (_drafted_items(current, views, locale=locale))
    )
    meta = _meta(assessment, catalogue, kind="action-plan", title=_("Action plan"), locale=locale)
    counts = {status: 0 for status in ("planned", "in_progress", "done", "dropped", "proposed")}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return ActionPlanReport(
        meta=meta,
        today=today,
        drafted=drafted,
        items=items,
        horizons=_by_horizon(items),
        status_counts=counts,
        overdue=sum(item.overdue for item in items),
        undated=sum(1 for item in items if item.due_date is None),
        dependencies=_dependencies(items, views, catalogue),
        gap_count=len(current.gaps.gaps),
        timeline=_timeline(items, today=today, drafted=drafted),
        fund_first=priorities.fund_first(catalogue, current.gaps.gaps, rows, locale=locale),
    )


def _plan_items(
    rows: Sequence[ActionItem],
    current: _Scored,
    views: Mapping[str, CapabilityView],
    *,
    locale: str,
    today: date,
) -> tuple[PlanItemView, ...]:
    catalogue = current.catalogue
    items = []
    for number, row in enumerate(rows, start=1):
        view = views.get(row.capability_id) if row.capability_id else None
        sector = catalogue.sector_name(row.lead_sector, locale) if row.lead_sector else None
        step_name = None
        if row.step_level is not None and 0 <= row.step_level <= catalogue.max_level:
            step_name = catalogue.level_name(row.step_level, locale)
        items.append(
            PlanItemView(
                number=number,
                title=row.title,
                detail=row.detail or "",
                capability_number=view.number if view else None,
                capability_title=view.title if view else None,
                step_level=row.step_level,
                step_name=step_name,
                lead_sector=sector,
                agency=(row.owner_agency or "").strip() or sector or "",
                horizon=row.horizon,
                due_date=row.due_date,
                status=row.status,
                notes=row.notes or "",
                origin=row.origin,
                overdue=bool(row.due_date and row.due_date < today and row.status in OPEN_STATUSES),
                depends_on=view.depends_on if view else (),
                cost=priorities.cost_text(row, locale),
                funding_source=row.funding_source or "",
                mismatch=priorities.mismatch_of(row),
            )
        )
    return tuple(items)


def _drafted_items(
    current: _Scored, views: Mapping[str, CapabilityView], *, locale: str
) -> tuple[PlanItemView, ...]:
    catalogue = current.catalogue
    items = []
    for number, action in enumerate(
        draft_actions(catalogue, current.gaps.gaps, locale=locale), start=1
    ):
        view = views[action.capability_id]
        sector = catalogue.sector_name(action.lead_sector, locale)
        items.append(
            PlanItemView(
                number=number,
                title=action.title,
                detail=action.detail,
                capability_number=view.number,
                capability_title=view.title,
                step_level=action.step_level,
                step_name=catalogue.level_name(action.step_level, locale),
                lead_sector=sector,
                agency=sector,
                horizon=action.horizon,
                due_date=None,
                status="proposed",
                notes="",
                origin="catalogue",
                overdue=False,
                depends_on=view.depends_on,
            )
        )
    return tuple(items)


def _by_horizon(items: Sequence[PlanItemView]) -> tuple[HorizonGroup, ...]:
    groups = []
    for horizon in HORIZONS:
        in_horizon = [item for item in items if item.horizon == horizon]
        if not in_horizon:
            continue
        agencies: dict[str, list[PlanItemView]] = {}
        for item in in_horizon:
            agencies.setdefault(item.agency, []).append(item)
        # Named agencies first, in order of first appearance; unassigned actions last.
        ordered = sorted(agencies.items(), key=lambda pair: pair[0] == "")
        groups.append(
            HorizonGroup(
                horizon=horizon,
                agencies=tuple(AgencyGroup(name, tuple(group)) for name, group in ordered),
                count=len(in_horizon),
            )
        )
    return tuple(groups)


def _dependencies(
    items: Sequence[PlanItemView], views: Mapping[str, CapabilityView], catalogue: Catalogue
) -> tuple[DependencyView, ...]:
    by_title = {view.title: view for view in views.values()}
    open_actions: dict[str, int] = {}
    in_plan: list[str] = []
    for item in items:
        if item.capability_title is None:
            continue
        if item.capability_title not in in_plan:
            in_plan.append(item.capability_title)
        if item.status in OPEN_STATUSES:
            open_actions[item.capability_title] = open_actions.get(item.capability_title, 0) + 1
    found = []
    for title in in_plan:
        capability = by_title[title]
        for prerequisite_id in catalogue.capability(capability.id).depends_on:
            prerequisite = views.get(prerequisite_id)
            if prerequisite is None:
                continue
            found.append(
                DependencyView(
                    capability=capability,
                    prerequisite=prerequisite,
                    open_actions=open_actions.get(prerequisite.title, 0),
                )
            )
    return tuple(found)


def _timeline(items: Sequence[PlanItemView], *, today: date, drafted: bool) -> Markup:
    unassigned = _("No lead named")
    timeline_items = [
        charts.TimelineItem(
            row=item.agency or unassigned,
            horizon=item.horizon,
            status=item.status,
            due=item.due_date,
        )
        for item in items
        if item.status != "dropped" or item.due_date is not None
    ]
    statuses = (
        {"proposed": _("Proposed")}
        if drafted
        else {
            "planned": _("Planned"),
            "in_progress": _("In progress"),
            "done": _("Done"),
            "dropped": _("Dropped"),
        }
    )
    labels = charts.TimelineLabels(
        title=_("Timeline of the action plan"),
        description=_(
            "Actions by lead agency over time: dated actions at their due date, shaped by "
            "status; undated actions counted in the band of their time horizon."
        ),
        horizons={
            "short": _("Short term: within 1 year"),
            "medium": _("Medium term: 1 to 3 years"),
            "long": _("Long term: over 3 years"),
        },
        past=_("Past due"),
        today=_("Today"),
        statuses=statuses,
        undated=_("%(count)s undated", count="{count}"),
    )
    return charts.timeline(timeline_items, today, labels)
