"""The membership brief: a cycle's anonymised aggregates as a PDF fit for publication.

Built from `comparisons.membership_brief_context`, the same withheld cells as the
aggregates API, the CSV and XLSX exports and every country's position, so nothing the brief
leaves out can be completed from elsewhere. The data read here carries no country name or
code: the aggregates never select one, and the only other query reads catalogue versions.
Who may download the brief is checked by the router (the secretariat alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.assessments.models import Assessment
from app.catalogue import service as catalogue_service
from app.catalogue.models import CatalogueVersion
from app.catalogue.schema import Catalogue
from app.comparisons import service as comparisons
from app.comparisons.aggregates import Cell, GroupAggregate
from app.comparisons.models import SharingSettings
from app.core.i18n import direction
from app.core.i18n import gettext as _
from app.countries.models import Country
from app.reporting import charts
from app.reporting.context import (
    LevelInfo,
    aggregate_digest,
    income_group_label,
    published_cell,
    region_label,
    withheld_text,
)
from app.reporting.render import format_number, language


@dataclass(frozen=True, slots=True)
class CatalogueInfo:
    id: str
    version: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class BriefMeta:
    """What the cover, running header and PDF metadata say about the brief."""

    kind: str
    title: str
    cycle: str | None
    produced_on: date
    locale: str
    direction: str
    catalogue_title: str
    catalogues: tuple[CatalogueInfo, ...]  # those of the counted assessments, newest first
    min_group: int
    countries: int | None  # countries counted; None when the membership is not published
    max_level: int
    statuses_counted: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BriefRow:
    kind: str  # "area" or "capability"
    number: str
    title: str
    cell: Cell


@dataclass(frozen=True, slots=True)
class BriefTable:
    """One group's figures for every area and capability."""

    partition: str
    label: str
    anchor: str
    rows: tuple[BriefRow, ...]

    @property
    def published(self) -> bool:
        return any(not row.cell.suppressed for row in self.rows)


@dataclass(frozen=True, slots=True)
class BriefArea:
    number: str
    title: str
    chart: Markup | None  # None: no group's figures are published for this area
    withheld: tuple[str, ...] = ()  # the groups not published for this area, named once


@dataclass(frozen=True, slots=True)
class MembershipBrief:
    meta: BriefMeta
    scale: tuple[LevelInfo, ...]
    membership: BriefTable
    regions: tuple[BriefTable, ...]
    income_groups: tuple[BriefTable, ...]
    areas: tuple[BriefRow, ...]  # the membership's area rows, for the summary
    distributions: tuple[BriefArea, ...]
    summary_chart: Markup | None

    @property
    def published(self) -> bool:
        return self.membership.published


# ---------------------------------------------------------------- data and cache key


@dataclass(frozen=True, slots=True)
class BriefData:
    """What the brief is made from: the withheld tables and the catalogues counted."""

    context: comparisons.BriefContext
    catalogues: tuple[CatalogueInfo, ...]
    catalogue_version_id: int | None  # the newest counted (or stored) version, for wording

    @property
    def groups(self) -> tuple[GroupAggregate, ...]:
        return (self.context.membership, *self.context.regions, *self.context.income_groups)

    @property
    def digest(self) -> str:
        return aggregate_digest(self.context.min_group, self.groups)


def brief_data(session: Session, cycle: str | None, *, k: int) -> BriefData:
    """The aggregates of a cycle and the catalogues they count.

    By default the cycle is the latest one with published figures; failing that, the latest
    with any submitted or validated assessment counted, so a new cycle holding only drafts
    never displaces the last one with something to show.
    """
    found = (
        comparisons.membership_brief_context(session, cycle, k=k)
        if cycle
        else _default_context(session, k=k)
    )
    versions = _counted_versions(session, found.cycle)
    return BriefData(
        context=found,
        catalogues=tuple(
            CatalogueInfo(row.catalogue_key, row.version, row.content_hash) for row in versions
        ),
        catalogue_version_id=versions[0].id if versions else None,
    )


def _default_context(session: Session, *, k: int) -> comparisons.BriefContext:
    counted = _counted_cycles(session)
    # Newest first; most installations hold a handful of cycles, so trying each is cheap.
    for cycle in counted:
        found = comparisons.membership_brief_context(session, cycle, k=k)
        if any(not cell.suppressed for cell in found.membership.cells):
            return found
    return comparisons.membership_brief_context(session, counted[0] if counted else None, k=k)


def _counted_query():
    """Assessments the aggregates count: members that opted in, submitted or validated."""
    return (
        select(Assessment)
        .join(Country, Country.id == Assessment.country_id)
        .join(SharingSettings, SharingSettings.country_id == Country.id)
        .where(
            Country.is_member.is_(True),
            SharingSettings.include_in_aggregates.is_(True),
            Assessment.status.in_(comparisons.COUNTED_STATUSES),
        )
    )


def _counted_cycles(session: Session) -> list[str]:
    """The cycles with at least one counted assessment, newest first (labels sort as text)."""
    query = _counted_query().with_only_columns(Assessment.cycle).distinct()
    return sorted(session.scalars(query), reverse=True)


def _counted_versions(session: Session, cycle: str | None) -> list[CatalogueVersion]:
    """The catalogue versions of the counted assessments, newest first; else the newest stored.

    The conditions are those of `comparisons.cycle_aggregates` (members that opted in, with
    a submitted or validated assessment of the cycle). Only version rows are read.
    """
    rows: list[CatalogueVersion] = []
    if cycle:
        counted = (
            _counted_query()
            .with_only_columns(Assessment.catalogue_version_id)
            .where(Assessment.cycle == cycle)
        )
        rows = list(
            session.scalars(
                select(CatalogueVersion)
                .where(CatalogueVersion.id.in_(counted))
                .order_by(CatalogueVersion.id.desc())
            )
        )
    if not rows:
        rows = list(
            session.scalars(select(CatalogueVersion).order_by(CatalogueVersion.id.desc()).limit(1))
        )
    return rows


# ---------------------------------------------------------------- the brief


def build_membership_brief(
    session: Session, data: BriefData, *, locale: str, today: date
) -> MembershipBrief:
    """Everything the membership brief shows; no country is named anywhere in it."""
    catalogue = (
        catalogue_service.catalogue_for_version(session, data.catalogue_version_id)
        if data.catalogue_version_id is not None
        else None
    )
    with language(locale):
        return _brief(data, catalogue, locale=locale, today=today)


def _brief(
    data: BriefData, catalogue: Catalogue | None, *, locale: str, today: date
) -> MembershipBrief:
    found = data.context
    k = found.min_group
    numbers, titles = _numbering(found.measures, catalogue, locale)

    def table(group: GroupAggregate, label: str, anchor: str) -> BriefTable:
        return BriefTable(
            partition=group.partition,
            label=label,
            anchor=anchor,
            rows=tuple(
                BriefRow(
                    kind=info.kind,
                    number=numbers[(info.kind, info.id)],
                    title=titles[(info.kind, info.id)],
                    cell=published_cell(group, info.kind, info.id),
                )
                for info in found.measures
            ),
        )

    membership = table(found.membership, _("All contributing members"), "membership")
    regions = tuple(
        table(group, region_label(group.group), f"region-{index}")
        for index, group in enumerate(found.regions, start=1)
    )
    income_groups = tuple(
        table(group, income_group_label(group.group), f"income-{index}")
        for index, group in enumerate(found.income_groups, start=1)
    )
    scale = tuple(
        LevelInfo(
            level,
            _level_name(catalogue, level, found.level_names, locale),
            catalogue.maturity_scale[level].description.get(locale)
            if catalogue is not None and level <= catalogue.max_level
            else "",
        )
        for level in range(found.max_level + 1)
    )
    level_names = tuple(level.name for level in scale)
    published_counts = [
        cell.countries for cell in found.membership.cells if not cell.suppressed and cell.countries
    ]
    meta = BriefMeta(
        kind="membership-brief",
        title=_("Membership brief"),
        cycle=found.cycle,
        produced_on=today,
        locale=locale,
        direction=direction(locale),
        catalogue_title=catalogue.title.get(locale) if catalogue is not None else "",
        catalogues=data.catalogues,
        min_group=k,
        countries=max(published_counts) if published_counts else None,
        max_level=found.max_level,
        statuses_counted=found.statuses_counted,
    )
    area_rows = tuple(row for row in membership.rows if row.kind == "area")
    summary_chart = None
    if membership.published:
        summary_chart = charts.range_chart(
            [
                charts.RangeRow(
                    label=f"{row.number}  {row.title}",
                    bands=(_band("", row.cell, k=k, locale=locale),),
                )
                for row in area_rows
            ],
            found.max_level,
            charts.RangeLabels(
                title=_("Area medians of the membership"),
                description=_(
                    "For each area, the median of the contributing member countries and the "
                    "middle half of them, from the lower to the upper quartile."
                ),
                level_names=level_names,
                band=_("Middle half of countries (lower to upper quartile)"),
                median=_("Median"),
            ),
        )
    distributions = tuple(
        BriefArea(
            row.number,
            row.title,
            *_distribution_chart(
                row, membership, regions, income_groups, level_names, found.max_level, k=k
            ),
        )
        for row in area_rows
    )
    return MembershipBrief(
        meta=meta,
        scale=scale,
        membership=membership,
        regions=regions,
        income_groups=income_groups,
        areas=area_rows,
        distributions=distributions,
        summary_chart=summary_chart,
    )


def _numbering(
    measures: Sequence[comparisons.MeasureInfo], catalogue: Catalogue | None, locale: str
) -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """Each measure's number ("2", "2.3") and title in the report's language."""
    numbers: dict[tuple[str, str], str] = {}
    titles: dict[tuple[str, str], str] = {}
    areas: dict[str, int] = {}
    within: dict[str, int] = {}
    for info in measures:
        if info.kind == "area":
            areas[info.id] = len(areas) + 1
            numbers[("area", info.id)] = str(areas[info.id])
        else:
            area = areas.setdefault(info.area_id, len(areas) + 1)
            within[info.area_id] = within.get(info.area_id, 0) + 1
            numbers[("capability", info.id)] = f"{area}.{within[info.area_id]}"
        titles[(info.kind, info.id)] = _title(catalogue, info, locale)
    return numbers, titles


def _title(catalogue: Catalogue | None, info: comparisons.MeasureInfo, locale: str) -> str:
    if catalogue is None:
        return info.title
    try:
        if info.kind == "area":
            return next(a.title.get(locale) for a in catalogue.areas if a.id == info.id)
        return catalogue.capability(info.id).title.get(locale)
    except (KeyError, StopIteration):  # only an older catalogue has it: its English title
        return info.title


def _level_name(
    catalogue: Catalogue | None, level: int, fallback: Sequence[str], locale: str
) -> str:
    if catalogue is not None and level <= catalogue.max_level:
        return catalogue.level_name(level, locale)
    return fallback[level] if level < len(fallback) else str(level)


def _band(label: str, cell: Cell, *, k: int, locale: str) -> charts.RangeBand:
    if cell.suppressed or cell.median is None:
        return charts.RangeBand(label=label, median=None, withheld_text=withheld_text(k))
    return charts.RangeBand(
        label=label,
        median=cell.median,
        lower=cell.lower_quartile,
        upper=cell.upper_quartile,
        value_text=_("median %(value)s", value=format_number(cell.median, locale)),
    )


def _distribution_chart(
    area: BriefRow,
    membership: BriefTable,
    regions: Sequence[BriefTable],
    income_groups: Sequence[BriefTable],
    level_names: tuple[str, ...],
    max_level: int,
    *,
    k: int,
) -> tuple[Markup | None, tuple[str, ...]]:
    """The area's stacked bars for the groups published, and the labels of those that are not.

    Withheld groups get no bar and no line of their own: the brief names them once in a
    sentence, so a cycle with few countries does not read as rows of "not published".
    """
    withheld: list[str] = []

    def bars(tables: Sequence[BriefTable]) -> list[charts.DistributionRow]:
        shown = []
        for table in tables:
            cell = next(
                row.cell for row in table.rows if (row.kind, row.number) == ("area", area.number)
            )
            if cell.suppressed or cell.distribution is None:
                withheld.append(table.label)
            else:
                shown.append(
                    charts.DistributionRow(
                        table.label, cell.distribution, total_text=_("n = %(n)s", n=cell.countries)
                    )
                )
        return shown

    rows = bars([membership])
    for heading, tables in ((_("By region"), regions), (_("By income group"), income_groups)):
        found = bars(tables)
        if found:
            rows += [charts.DistributionRow(heading, None, heading=True), *found]
    if not rows:
        return None, tuple(withheld)
    chart = charts.distribution_chart(
        rows,
        max_level,
        charts.DistributionLabels(
            title=_("Countries at each level: %(area)s", area=area.title),
            description=_(
                "For the membership, each region and each income group published, how many "
                "countries have reached each level in this area, counted at the whole level "
                "reached."
            ),
            level_names=level_names,
        ),
    )
    return chart, tuple(withheld)
