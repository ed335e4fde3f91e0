"""The secretariat's view of the membership: members and the review queue, the heatmap of
levels, level distributions, trends across cycles and the anonymised aggregates.

Every page answers anyone but alliance staff with the ordinary "page not found", before any
parameter is read, exactly as the API does. Lists of named countries come in name or region
order and never by a level or a score; no page here offers any other order
(docs/confidentiality.md, promise 2). The figures come from app/comparisons/service.py,
which checks the role again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.accounts.models import User
from app.assessments.schemas import Progress
from app.comparisons import permissions
from app.comparisons import service as comparisons
from app.comparisons.aggregates import INCOME_GROUP, MEMBERSHIP, REGION, Measure
from app.core.db import SessionDep
from app.core.deps import min_group
from app.core.errors import NotFound
from app.core.i18n import lazy_gettext as _
from app.core.inputs import Text
from app.countries.service import INCOME_GROUPS, REGIONS
from app.web.figures import (
    GROUP_LABELS,
    INCOME_LABELS,
    REGION_LABELS,
    Wording,
    number_formatter,
    shade,
    withheld_text,
    wording,
)
from app.web.pages.common import STATUS_LABELS, PageUser, render

router = APIRouter()

MEMBER_STATUS_LABELS = {comparisons.NOT_STARTED: _("Not started"), **STATUS_LABELS}
ORDER_LABELS = {"name": _("Country name"), "region": _("Region, then country name")}


# ---------------------------------------------------------------- shared by the pages


def alliance_user(user: PageUser) -> User:
    """Alliance staff only; anyone else is answered like a missing page."""
    if not permissions.can_compare_countries(user):
        raise NotFound("not found")
    return user


AllianceUser = Annotated[User, Depends(alliance_user)]


def chosen(value: str | None) -> str | None:
    """A filter's value; empty means no filter."""
    value = (value or "").strip()
    return value or None


@dataclass(frozen=True)
class Column:
    capability_id: str
    area_id: str
    title: str


@dataclass(frozen=True)
class AreaSpan:
    area_id: str
    title: str
    columns: int


def localised_columns(
    words: Wording, columns: Sequence[comparisons.CapabilityColumn]
) -> tuple[list[Column], list[AreaSpan]]:
    """The capability columns in the reader's language, and the run of columns of each area."""
    found = [
        Column(c.capability_id, c.area_id, words.capability(c.capability_id, c.title))
        for c in columns
    ]
    spans: list[AreaSpan] = []
    for column in found:
        if spans and spans[-1].area_id == column.area_id:
            last = spans[-1]
            spans[-1] = AreaSpan(last.area_id, last.title, last.columns + 1)
        else:
            spans.append(AreaSpan(column.area_id, words.area(column.area_id), 1))
    return found, spans


def _common(request: Request, section: str) -> dict:
    return {
        "section": section,
        "regions": REGIONS,
        "income_groups": INCOME_GROUPS,
        "REGION_LABELS": REGION_LABELS,
        "INCOME_LABELS": INCOME_LABELS,
        "GROUP_LABELS": GROUP_LABELS,
        "MEMBER_STATUS_LABELS": MEMBER_STATUS_LABELS,
        "ORDER_LABELS": ORDER_LABELS,
        "format_number": number_formatter(request),
    }


# ---------------------------------------------------------------- members and review queue


@router.get("/alliance")
def members(
    request: Request,
    user: AllianceUser,
    session: SessionDep,
    cycle: Text = "",
    region: Text = "",
    income_group: Text = "",
    status: Text = "",
    order: Text = "",
) -> Response:
    overview = comparisons.members_overview(
        session,
        user=user,
        cycle=chosen(cycle),
        region=chosen(region),
        income_group=chosen(income_group),
        status=chosen(status),
        order=chosen(order) or "name",
    )
    queue = comparisons.review_queue(session, user=user)
    kept = {
        "cycle": overview.cycle or "",
        "region": chosen(region) or "",
        "income_group": chosen(income_group) or "",
        "order": overview.order,
    }
    status_links = {
        value: "/alliance?" + urlencode({**kept, "status": value}) for value in comparisons.STATUSES
    }
    rows = [
        {
            "member": member,
            "progress": Progress(answered=member.answered, total=member.indicators),
        }
        for member in overview.members
    ]
    return render(
        request,
        "alliance_members.html",
        {
            **_common(request, "members"),
            "overview": overview,
            "rows": rows,
            "queue": queue,
            "statuses": comparisons.STATUSES,
            "status_links": status_links,
            "all_statuses_link": "/alliance?" + urlencode(kept),
            "filters": {**kept, "status": chosen(status) or ""},
        },
    )


# ---------------------------------------------------------------- heatmap


@router.get("/alliance/heatmap")
def heatmap(
    request: Request,
    user: AllianceUser,
    session: SessionDep,
    cycle: Text = "",
    region: Text = "",
    income_group: Text = "",
    order: Text = "",
) -> Response:
    data = comparisons.heatmap(
        session,
        user=user,
        cycle=chosen(cycle),
        region=chosen(region),
        income_group=chosen(income_group),
        order=chosen(order) or "name",
    )
    words = wording(request)
    columns, spans = localised_columns(words, data.columns)
    rows = [
        {
            "row": row,
            "cells": [(level, shade(level, data.max_level)) for level in row.levels],
        }
        for row in data.rows
    ]
    scale = [
        (level, words.level(level, data.level_names), shade(level, data.max_level))
        for level in range(data.max_level + 1)
    ]
    return render(
        request,
        "alliance_heatmap.html",
        {
            **_common(request, "heatmap"),
            "data": data,
            "columns": columns,
            "spans": spans,
            "rows": rows,
            "scale": scale,
            "filters": {
                "cycle": data.cycle or "",
                "region": chosen(region) or "",
                "income_group": chosen(income_group) or "",
                "order": data.order,
            },
        },
    )


# ---------------------------------------------------------------- level distributions

BAR_WIDTH = 26
BAR_GAP = 8
BAR_HEIGHT = 56
LABEL_ROOM = 16


@dataclass(frozen=True)
class Bar:
    level: int
    count: int
    shade: int
    x: int
    y: int
    height: int
    middle: int


@dataclass(frozen=True)
class BarChart:
    width: int
    bar_width: int
    height: int
    baseline: int
    bars: tuple[Bar, ...]


def bar_chart(distribution: Sequence[int], max_level: int, tallest: int) -> BarChart:
    """The geometry of a small bar chart of countries per level, drawn as SVG by the page.

    Every chart of a page shares the same vertical scale (`tallest`), so charts can be
    compared by eye; the counts are written above the bars as well.
    """
    bars = []
    top = LABEL_ROOM
    for level, count in enumerate(distribution):
        height = round(BAR_HEIGHT * count / tallest) if tallest else 0
        if count and height < 2:
            height = 2  # a country is always visible
        x = level * (BAR_WIDTH + BAR_GAP)
        bars.append(
            Bar(
                level=level,
                count=count,
                shade=shade(level, max_level) or 0,
                x=x,
                y=top + BAR_HEIGHT - height,
                height=height,
                middle=x + BAR_WIDTH // 2,
            )
        )
    width = len(bars) * (BAR_WIDTH + BAR_GAP) - BAR_GAP
    return BarChart(
        width=max(width, BAR_WIDTH),
        bar_width=BAR_WIDTH,
        height=top + BAR_HEIGHT + LABEL_ROOM,
        baseline=top + BAR_HEIGHT,
        bars=tuple(bars),
    )


@router.get("/alliance/distributions")
def distributions(
    request: Request,
    user: AllianceUser,
    session: SessionDep,
    cycle: Text = "",
    region: Text = "",
    income_group: Text = "",
) -> Response:
    data = comparisons.level_distributions(
        session,
        user=user,
        cycle=chosen(cycle),
        region=chosen(region),
        income_group=chosen(income_group),
    )
    words = wording(request)
    tallest = max((max(c.distribution, default=0) for c in data.capabilities), default=0)
    areas: list[dict] = []
    for item in data.capabilities:
        if not areas or areas[-1]["area_id"] != item.area_id:
            areas.append({"area_id": item.area_id, "title": words.area(item.area_id), "items": []})
        areas[-1]["items"].append(
            {
                "item": item,
                "title": words.capability(item.capability_id, item.title),
                "chart": bar_chart(item.distribution, data.max_level, tallest),
            }
        )
    return render(
        request,
        "alliance_distributions.html",
        {
            **_common(request, "distributions"),
            "data": data,
            "areas": areas,
            "level_names": [
                words.level(level, data.level_names) for level in range(data.max_level + 1)
            ],
            "filters": {
                "cycle": data.cycle or "",
                "region": chosen(region) or "",
                "income_group": chosen(income_group) or "",
            },
        },
    )


# ---------------------------------------------------------------- trends

CHART_WIDTH = 560
CHART_HEIGHT = 220
CHART_LEFT = 44
CHART_RIGHT = 24
CHART_INSET = 28  # between the axis and the first and last points
CHART_TOP = 20
CHART_BOTTOM = 36


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    label: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    right: int
    bottom: int
    gridlines: tuple[tuple[int, float], ...]  # (value, y)
    ticks: tuple[tuple[str, float], ...]  # (cycle, x)
    lines: tuple[str, ...]  # SVG polyline points, one per unbroken run
    points: tuple[Point, ...]


def line_chart(labels: Sequence[str], values: Sequence[float | None]) -> LineChart:
    """The geometry of a line of values on a 0-100 scale, one point per cycle.

    A cycle without a value breaks the line rather than joining across it.
    """
    inner_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT - 2 * CHART_INSET
    inner_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    step = inner_width / (len(labels) - 1) if len(labels) > 1 else 0

    def x_of(index: int) -> float:
        if len(labels) == 1:
            return round(CHART_LEFT + CHART_INSET + inner_width / 2, 1)
        return round(CHART_LEFT + CHART_INSET + index * step, 1)

    def y_of(value: float) -> float:
        return round(CHART_TOP + (100 - value) * inner_height / 100, 1)

    lines: list[str] = []
    run: list[str] = []
    points = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        if value is None:
            if len(run) > 1:
                lines.append(" ".join(run))
            run = []
            continue
        point = Point(x_of(index), y_of(value), value, label)
        points.append(point)
        run.append(f"{point.x},{point.y}")
    if len(run) > 1:
        lines.append(" ".join(run))
    return LineChart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        left=CHART_LEFT,
        right=CHART_WIDTH - CHART_RIGHT,
        bottom=CHART_HEIGHT - CHART_BOTTOM,
        gridlines=tuple((value, y_of(value)) for value in (0, 25, 50, 75, 100)),
        ticks=tuple((label, x_of(index)) for index, label in enumerate(labels)),
        lines=tuple(lines),
        points=tuple(points),
    )


@router.get("/alliance/trends")
def trends(
    request: Request,
    user: AllianceUser,
    session: SessionDep,
    region: Text = "",
    income_group: Text = "",
) -> Response:
    data = comparisons.trends(
        session, user=user, region=chosen(region), income_group=chosen(income_group)
    )
    chart = (
        line_chart([c.cycle for c in data.cycles], [c.median_overall for c in data.cycles])
        if any(c.median_overall is not None for c in data.cycles)
        else None
    )
    return render(
        request,
        "alliance_trends.html",
        {
            **_common(request, "trends"),
            "data": data,
            "chart": chart,
            "statuses": comparisons.STATUSES,
            "filters": {
                "region": chosen(region) or "",
                "income_group": chosen(income_group) or "",
            },
        },
    )


# ---------------------------------------------------------------- anonymised aggregates


def aggregate_rows(words: Wording, report: comparisons.AggregateReport, group) -> list[dict]:
    """One group's cells beside their measures, areas first then their capabilities."""
    return [
        {
            "info": info,
            "title": words.measure(info.kind, info.id, info.title),
            "cell": group.cell(Measure(info.kind, info.id)),
        }
        for info in report.measures
    ]


@router.get("/alliance/aggregates")
def aggregates_page(
    request: Request, user: AllianceUser, session: SessionDep, cycle: Text = ""
) -> Response:
    report = comparisons.alliance_aggregates(
        session, user=user, cycle=chosen(cycle), k=min_group(request)
    )
    words = wording(request)

    def tables(partition: str) -> list[dict]:
        found = []
        for group in report.partition(partition):
            rows = aggregate_rows(words, report, group)
            found.append(
                {
                    "group": group.group,
                    "rows": rows,
                    "withheld": all(row["cell"].suppressed for row in rows),
                }
            )
        return found

    query = urlencode({"cycle": report.cycle}) if report.cycle else ""
    return render(
        request,
        "alliance_aggregates.html",
        {
            **_common(request, "aggregates"),
            "report": report,
            "withheld_text": withheld_text(report.min_group),
            "cycles": comparisons.cycles(session),
            "membership": tables(MEMBERSHIP),
            "regions": tables(REGION),
            "income_groups": tables(INCOME_GROUP),
            "levels": [
                (level, words.level(level, report.level_names))
                for level in range(report.max_level + 1)
            ],
            "csv_url": "/api/v1/alliance/aggregates.csv" + (f"?{query}" if query else ""),
            "xlsx_url": "/api/v1/alliance/aggregates.xlsx" + (f"?{query}" if query else ""),
            "filters": {"cycle": report.cycle or ""},
        },
    )
