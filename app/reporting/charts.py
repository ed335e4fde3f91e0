"""The reports' figures, drawn as SVG on the server: an area radar, a capability heat table,
an action-plan timeline, small score bars, and for anonymised aggregates a range chart
(quartile bands with the median, and a country's own level) and stacked level distributions.

Every function takes plain values and already-translated labels and returns markup ready to
inline in the report. All text is escaped here; nothing in a figure refers to anything outside
it. Shapes and dash patterns carry the meaning as well as colour, so a figure still reads when
printed in greyscale.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

FONT = "DejaVu Sans, sans-serif"
INK = "#1b1f24"
MUTED = "#555e68"
GRID = "#c9cfd6"
ACCENT = "#1f4e79"
TARGET = "#8a5a00"
PREVIOUS = "#6b7480"

# Light to dark, so the order of the levels survives greyscale printing.
LEVEL_FILLS = ("#eef2f6", "#c6d6e8", "#8eadd0", "#4f7fb0", "#1f4e79")
LEVEL_TEXT = (INK, INK, INK, "#ffffff", "#ffffff")


def level_fill(level: int, max_level: int) -> tuple[str, str]:
    """Fill and text colour for a level on a scale of any length."""
    index = round(level * (len(LEVEL_FILLS) - 1) / max_level) if max_level else 0
    return LEVEL_FILLS[index], LEVEL_TEXT[index]


def wrap(text: str, width: int, max_lines: int = 3) -> list[str]:
    """Break text into lines of about width characters at spaces; long words are split."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > width:  # a word longer than a line: split it rather than overflow
            if current:
                lines.append(current)
                current = ""
            lines.append(word[: width - 1] + "-")
            word = word[width - 1 :]
        candidate = f"{current} {word}".strip()
        if len(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(".,;:") + "…"
    return lines


def _attrs(values: dict[str, object]) -> str:
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(str(value))}"'
        for name, value in values.items()
        if value is not None
    )


def _el(name: str, content: str = "", **attrs: object) -> str:
    if content:
        return f"<{name}{_attrs(attrs)}>{content}</{name}>"
    return f"<{name}{_attrs(attrs)}/>"


def _text(x: float, y: float, text: str, **attrs: object) -> str:
    attrs.setdefault("font_family", FONT)
    attrs.setdefault("fill", INK)
    return _el("text", str(escape(text)), x=_n(x), y=_n(y), **attrs)


def _lines(x: float, y: float, lines: Sequence[str], step: float, **attrs: object) -> str:
    return "".join(_text(x, y + index * step, line, **attrs) for index, line in enumerate(lines))


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(width: float, height: float, title: str, description: str, body: str) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"'
        f' viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}"'
        f' aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
    )
    return Markup(head + body + "</svg>")


# ---------------------------------------------------------------- radar


@dataclass(frozen=True, slots=True)
class RadarAxis:
    label: str
    value: float | None  # 0-100; None: no score
    value_text: str  # the value as shown to people, or a "no score" mark
    target: float | None = None
    previous: float | None = None


@dataclass(frozen=True, slots=True)
class RadarLabels:
    title: str
    description: str
    current: str
    target: str
    previous: str | None  # None: no previous cycle to draw


def radar(axes: Sequence[RadarAxis], labels: RadarLabels) -> Markup:
    """Area scores on 0-100 around a circle, with the targets and the previous cycle."""
    width, height = 640.0, 404.0
    cx, cy, radius = width / 2, 186.0, 118.0
    count = max(len(axes), 3)

    def point(index: int, value: float) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * index / count
        distance = radius * value / 100
        return cx + distance * math.cos(angle), cy + distance * math.sin(angle)

    parts: list[str] = []
    for ring in (25, 50, 75, 100):
        ring_points = " ".join(
            f"{_n(x)},{_n(y)}" for x, y in (point(i, ring) for i in range(count))
        )
        parts.append(_el("polygon", points=ring_points, fill="none", stroke=GRID, stroke_width=0.8))
        x, y = point(0, ring)
        parts.append(_text(x + 4, y + 4, str(ring), font_size=10, fill=MUTED))
    for index in range(len(axes)):
        x, y = point(index, 100)
        parts.append(_el("line", x1=_n(cx), y1=_n(cy), x2=_n(x), y2=_n(y), stroke=GRID))

    def runs(values: Sequence[float | None]) -> list[list[tuple[float, float]]]:
        """The points of consecutive scored axes; an axis without a value breaks the line."""
        found: list[list[tuple[float, float]]] = [[]]
        for index, value in enumerate(values):
            if value is None:
                found.append([])
            else:
                found[-1].append(point(index, value))
        if len(found) > 1 and found[0] and found[-1]:  # the line wraps round past the top
            found[0] = found.pop() + found[0]
        return [run for run in found if run]

    def line(values: Sequence[float | None], **style: object) -> str:
        if all(v is not None for v in values):  # closed outline
            joined = " ".join(
                f"{_n(x)},{_n(y)}" for x, y in (point(i, v) for i, v in enumerate(values))
            )  # type: ignore[arg-type]
            return _el("polygon", points=joined, fill="none", **style)
        return "".join(
            _el(
                "polyline",
                points=" ".join(f"{_n(x)},{_n(y)}" for x, y in run),
                fill="none",
                **style,
            )
            if len(run) > 1
            else ""
            for run in runs(values)
        )

    def wedges(values: Sequence[float | None]) -> str:
        """The shaded area: only between neighbouring axes that both have a value."""
        if all(v is not None for v in values):
            joined = " ".join(
                f"{_n(x)},{_n(y)}" for x, y in (point(i, v) for i, v in enumerate(values))
            )  # type: ignore[arg-type]
            return _el("polygon", points=joined, fill=ACCENT, fill_opacity=0.16, stroke="none")
        shapes = []
        for run in runs(values):
            if len(run) > 1:
                outline = [(cx, cy), *run]
                shapes.append(
                    _el(
                        "polygon",
                        points=" ".join(f"{_n(x)},{_n(y)}" for x, y in outline),
                        fill=ACCENT,
                        fill_opacity=0.16,
                        stroke="none",
                    )
                )
        return "".join(shapes)

    previous = [a.previous for a in axes]
    show_previous = labels.previous is not None and any(v is not None for v in previous)
    if show_previous:
        parts.append(
            line(
                previous,
                stroke=PREVIOUS,
                stroke_width=1.8,
                stroke_dasharray="1.5 3",
                stroke_linecap="round",
                stroke_linejoin="round",
            )
        )
        for index, value in enumerate(previous):
            if value is not None:
                x, y = point(index, value)
                parts.append(_square(x, y))
    if any(a.target is not None for a in axes):
        parts.append(
            line([a.target for a in axes], stroke=TARGET, stroke_width=1.4, stroke_dasharray="6 4")
        )
    values = [a.value for a in axes]
    parts.append(wedges(values))
    parts.append(line(values, stroke=ACCENT, stroke_width=2, stroke_linejoin="round"))
    for index, axis in enumerate(axes):
        if axis.value is not None:
            x, y = point(index, axis.value)
            parts.append(_el("circle", cx=_n(x), cy=_n(y), r=3, fill=ACCENT))
        else:
            # No score is not 0: the axis is dashed out and a hollow ring marks the centre end.
            x, y = point(index, 100)
            parts.append(
                _el(
                    "line",
                    x1=_n(cx),
                    y1=_n(cy),
                    x2=_n(x),
                    y2=_n(y),
                    stroke=MUTED,
                    stroke_width=1,
                    stroke_dasharray="3 3",
                )
            )
            x, y = point(index, 12)
            parts.append(
                _el(
                    "circle",
                    cx=_n(x),
                    cy=_n(y),
                    r=4,
                    fill="#ffffff",
                    stroke=MUTED,
                    stroke_width=1.2,
                )
            )

    for index, axis in enumerate(axes):
        angle = -math.pi / 2 + 2 * math.pi * index / count
        cos, sin = math.cos(angle), math.sin(angle)
        x, y = cx + (radius + 14) * cos, cy + (radius + 14) * sin
        anchor = "start" if cos > 0.25 else "end" if cos < -0.25 else "middle"
        lines = wrap(axis.label, 22, 2)
        step = 14.0
        block = (len(lines) + 1) * step
        # Labels above the chart grow upwards, those below grow downwards.
        top = y - block + 10 if sin < -0.5 else y - block / 2 + 10 if sin < 0.5 else y + 10
        parts.append(_lines(x, top, lines, step, font_size=12, text_anchor=anchor))
        parts.append(
            _text(
                x,
                top + len(lines) * step,
                axis.value_text,
                font_size=12,
                font_weight="bold",
                text_anchor=anchor,
            )
        )

    legend = [(labels.current, ACCENT, None, 2.0)]
    if any(a.target is not None for a in axes):
        legend.append((labels.target, TARGET, "6 4", 1.4))
    if show_previous:
        legend.append((labels.previous or "", PREVIOUS, "1.5 3", 1.8))
    parts.append(_legend_lines(legend, width, height - 8))
    return _svg(width, height, labels.title, labels.description, "".join(parts))


def _square(x: float, y: float, size: float = 3.2) -> str:
    """The previous cycle's marker: a hollow square, told apart from the current dots."""
    return _el(
        "rect",
        x=_n(x - size),
        y=_n(y - size),
        width=_n(2 * size),
        height=_n(2 * size),
        fill="#ffffff",
        stroke=PREVIOUS,
        stroke_width=1.3,
    )


def _legend_lines(entries: list[tuple[str, str, str | None, float]], width: float, y: float) -> str:
    slot = 200.0
    x = (width - slot * len(entries)) / 2
    parts = []
    for label, colour, dash, stroke in entries:
        parts.append(
            _el(
                "line",
                x1=_n(x),
                y1=_n(y - 3),
                x2=_n(x + 28),
                y2=_n(y - 3),
                stroke=colour,
                stroke_width=stroke + 0.6,
                stroke_dasharray=dash,
                stroke_linecap="round" if dash and dash.startswith("1.5") else None,
            )
        )
        if colour == PREVIOUS:
            parts.append(_square(x + 14, y - 3))
        parts.append(_text(x + 34, y, label, font_size=11.5))
        x += slot
    return "".join(parts)


# ---------------------------------------------------------------- heat table


@dataclass(frozen=True, slots=True)
class HeatCell:
    kind: str  # "level", "not_applicable", "unknown", "unanswered"
    level: int | None = None


@dataclass(frozen=True, slots=True)
class HeatRow:
    number: str
    title: str
    cells: tuple[HeatCell, ...]
    level: int | None
    level_text: str  # e.g. "2 Developing", or "n/a"
    target_text: str  # e.g. "3 Established", or a dash
    gap_text: str  # e.g. "+1", "met" or a dash
    not_applicable: bool = False


@dataclass(frozen=True, slots=True)
class HeatGroup:
    title: str
    score_text: str
    rows: tuple[HeatRow, ...]


@dataclass(frozen=True, slots=True)
class HeatLabels:
    title: str
    description: str
    capability: str
    indicators: str
    level: str
    target: str
    gap: str
    level_names: tuple[str, ...]
    unknown: str
    not_applicable: str
    unanswered: str


def heat_table(groups: Sequence[HeatGroup], max_level: int, labels: HeatLabels) -> Markup:
    """Every capability's indicator answers, level, target and gap, grouped by area."""
    width = 672.0
    row_h, group_h, head_h = 21.0, 22.0, 30.0
    col_no, col_title, cell, col_level, col_target, col_gap = 8.0, 34.0, 24.0, 430.0, 532.0, 630.0
    cells_x = 290.0
    rows = sum(_heat_row_height(row, row_h) for group in groups for row in group.rows)
    height = head_h + rows + len(groups) * group_h + 74
    parts = [
        _text(col_title, 18, labels.capability, font_size=8.5, font_weight="bold", fill=MUTED),
        _text(cells_x, 18, labels.indicators, font_size=8.5, font_weight="bold", fill=MUTED),
        _text(col_level, 18, labels.level, font_size=8.5, font_weight="bold", fill=MUTED),
        _text(col_target, 18, labels.target, font_size=8.5, font_weight="bold", fill=MUTED),
        _text(col_gap, 18, labels.gap, font_size=8.5, font_weight="bold", fill=MUTED),
        _el("line", x1=0, y1=head_h - 6, x2=_n(width), y2=head_h - 6, stroke=INK, stroke_width=0.8),
    ]
    y = head_h
    for group in groups:
        parts.append(
            _el("rect", x=0, y=_n(y), width=_n(width), height=_n(group_h - 4), fill="#f3f5f7")
        )
        parts.append(_text(col_no, y + 12.5, group.title, font_size=9.5, font_weight="bold"))
        parts.append(
            _text(width - 6, y + 12.5, group.score_text, font_size=9, text_anchor="end", fill=MUTED)
        )
        y += group_h
        for row in group.rows:
            height_of_row = _heat_row_height(row, row_h)
            parts.append(_heat_row(row, y, height_of_row, max_level, cells_x, cell, labels))
            parts.append(
                _el(
                    "line",
                    x1=0,
                    y1=_n(y + height_of_row - 1),
                    x2=_n(width),
                    y2=_n(y + height_of_row - 1),
                    stroke="#e3e7ec",
                    stroke_width=0.6,
                )
            )
            y += height_of_row
    parts.append(_heat_legend(y + 16, max_level, labels))
    return _svg(width, height, labels.title, labels.description, "".join(parts))


HEAT_TITLE_CHARS = 46


def _heat_row_height(row: HeatRow, row_h: float) -> float:
    """A row whose name takes two lines is taller, so the name never touches the rules."""
    return row_h if len(wrap(row.title, HEAT_TITLE_CHARS, 2)) == 1 else row_h + 8


def _heat_row(
    row: HeatRow,
    y: float,
    row_h: float,
    max_level: int,
    cells_x: float,
    cell: float,
    labels: HeatLabels,
) -> str:
    mid = y + (row_h - 4) / 2 + 3  # the baseline of one line of text centred in the row
    parts = [_text(8, mid, row.number, font_size=8.5, fill=MUTED)]
    lines = wrap(row.title, HEAT_TITLE_CHARS, 2)
    first = mid if len(lines) == 1 else mid - 5
    parts.append(_lines(34, first, lines, 10, font_size=8.5))
    for index, item in enumerate(row.cells):
        parts.append(
            _heat_cell(item, cells_x + index * (cell + 3), y + 2, cell, row_h - 6, max_level)
        )
    if row.level is not None:
        fill, ink = level_fill(row.level, max_level)
        parts.append(
            _el(
                "rect",
                x=430,
                y=_n(y + 2),
                width=92,
                height=_n(row_h - 6),
                rx=2,
                fill=fill,
                stroke=GRID if row.level == 0 else None,
            )
        )
        parts.append(_text(436, mid, row.level_text, font_size=8.5, fill=ink, font_weight="bold"))
    else:
        parts.append(
            _el(
                "rect",
                x=430,
                y=_n(y + 2),
                width=92,
                height=_n(row_h - 6),
                rx=2,
                fill="#ffffff",
                stroke=GRID,
                stroke_dasharray="2 2",
            )
        )
        parts.append(_text(436, mid, row.level_text, font_size=8.5, fill=MUTED))
    parts.append(_text(532, mid, row.target_text, font_size=8.5))
    parts.append(_text(630, mid, row.gap_text, font_size=8.5, font_weight="bold"))
    return "".join(parts)


def _heat_cell(item: HeatCell, x: float, y: float, w: float, h: float, max_level: int) -> str:
    centre, base = x + w / 2, y + h / 2 + 3.2
    if item.kind == "level" and item.level is not None:
        fill, ink = level_fill(item.level, max_level)
        edge = GRID if item.level == 0 else None
        return _el(
            "rect", x=_n(x), y=_n(y), width=_n(w), height=_n(h), rx=2, fill=fill, stroke=edge
        ) + _text(
            centre,
            base,
            str(item.level),
            font_size=8.5,
            fill=ink,
            text_anchor="middle",
            font_weight="bold",
        )
    if item.kind == "not_applicable":
        return _el("rect", x=_n(x), y=_n(y), width=_n(w), height=_n(h), rx=2, fill="#d9dde2") + (
            _text(centre, base, "–", font_size=9, fill=INK, text_anchor="middle")
        )
    if item.kind == "unknown":
        return _el(
            "rect",
            x=_n(x),
            y=_n(y),
            width=_n(w),
            height=_n(h),
            rx=2,
            fill="#ffffff",
            stroke=INK,
            stroke_width=0.8,
            stroke_dasharray="2 1.5",
        ) + _text(
            centre, base, "?", font_size=9, fill=INK, text_anchor="middle", font_weight="bold"
        )
    return _el(
        "rect",
        x=_n(x + 0.5),
        y=_n(y + 0.5),
        width=_n(w - 1),
        height=_n(h - 1),
        rx=2,
        fill="none",
        stroke=GRID,
        stroke_width=0.8,
    )


def _level_swatches(
    x: float, y: float, level_names: Sequence[str], max_level: int, *, spacing: float
) -> str:
    """A legend row: one numbered swatch per maturity level, with its name beside it."""
    parts = []
    for level, name in enumerate(level_names):
        fill, ink = level_fill(level, max_level)
        parts.append(
            _el(
                "rect",
                x=_n(x),
                y=_n(y - 11),
                width=18,
                height=15,
                rx=2,
                fill=fill,
                stroke=GRID if level == 0 else None,
            )
        )
        parts.append(
            _text(
                x + 9,
                y,
                str(level),
                font_size=8.5,
                fill=ink,
                text_anchor="middle",
                font_weight="bold",
            )
        )
        parts.append(_text(x + 23, y, name, font_size=8.5))
        x += spacing + len(name) * 5.6
    return "".join(parts)


def _heat_legend(y: float, max_level: int, labels: HeatLabels) -> str:
    parts = [_level_swatches(8.0, y, labels.level_names, max_level, spacing=30)]
    y += 22
    x = 8.0
    for item, label in (
        (HeatCell("unknown"), labels.unknown),
        (HeatCell("not_applicable"), labels.not_applicable),
        (HeatCell("unanswered"), labels.unanswered),
    ):
        parts.append(_heat_cell(item, x, y - 11, 18, 15, max_level))
        parts.append(_text(x + 23, y, label, font_size=8.5))
        x += 30 + len(label) * 5.6
    return "".join(parts)


# ---------------------------------------------------------------- score bar


def score_bar(value: float | None, label: str, *, width: float = 120, height: float = 10) -> Markup:
    """A small horizontal bar for a 0-100 score, with quarter marks."""
    parts = [_el("rect", x=0, y=0, width=_n(width), height=_n(height), fill="#eef2f6", rx=1.5)]
    if value is not None:
        parts.append(
            _el(
                "rect",
                x=0,
                y=0,
                width=_n(width * max(0.0, min(value, 100.0)) / 100),
                height=_n(height),
                fill=ACCENT,
                rx=1.5,
            )
        )
    for quarter in (25, 50, 75):
        x = width * quarter / 100
        parts.append(
            _el("line", x1=_n(x), y1=0, x2=_n(x), y2=_n(height), stroke="#ffffff", stroke_width=0.8)
        )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bar" role="img"'
        f' viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}"'
        f' aria-label="{escape(label)}"><title>{escape(label)}</title>' + "".join(parts) + "</svg>"
    )


# ---------------------------------------------------------------- timeline


@dataclass(frozen=True, slots=True)
class TimelineItem:
    row: str  # the lead agency
    horizon: str  # "short", "medium", "long"
    status: str  # "planned", "in_progress", "done", "dropped", or "proposed"
    due: date | None


@dataclass(frozen=True, slots=True)
class TimelineLabels:
    title: str
    description: str
    horizons: dict[str, str]  # horizon -> band label
    past: str  # band before today
    today: str
    statuses: dict[str, str]  # status -> legend label
    undated: str  # "%(count)s undated" style label, already with {count}


HORIZON_YEARS = {"short": (0, 1), "medium": (1, 3), "long": (3, 5)}


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def timeline(items: Sequence[TimelineItem], today: date, labels: TimelineLabels) -> Markup:
    """Actions on a time axis, one row per lead agency, over the three horizon bands.

    Dated actions are marked at their due date, with a shape for their status; undated
    actions are counted in the band of their horizon.
    """
    width = 672.0
    label_w, plot_x0, plot_x1 = 176.0, 186.0, width - 10
    row_h, top = 24.0, 40.0
    rows: list[str] = []
    for item in items:
        if item.row not in rows:
            rows.append(item.row)
    dues = [item.due for item in items if item.due is not None]
    start = min([today, *dues])
    end = max([_add_years(today, 5), *dues])
    end = min(end, _add_years(today, 10))
    start = min(start, end - timedelta(days=1))
    span = (end - start).days or 1

    def x_of(day: date) -> float:
        day = min(max(day, start), end)
        return plot_x0 + (plot_x1 - plot_x0) * (day - start).days / span

    height = top + max(len(rows), 1) * row_h + 76
    plot_bottom = top + max(len(rows), 1) * row_h
    parts: list[str] = []
    if start < today:
        parts.append(
            _el(
                "rect",
                x=_n(plot_x0),
                y=_n(top - 26),
                width=_n(x_of(today) - plot_x0),
                height=_n(plot_bottom - top + 26),
                fill="#f6e9e9",
            )
        )
        if x_of(today) - plot_x0 > 40:
            parts.append(
                _text(
                    (plot_x0 + x_of(today)) / 2,
                    top - 14,
                    labels.past,
                    font_size=8,
                    text_anchor="middle",
                    fill=MUTED,
                )
            )
    band_fills = {"short": "#e9eff6", "medium": "#f5f7fa", "long": "#e9eff6"}
    for horizon, (first, last) in HORIZON_YEARS.items():
        x0 = x_of(_add_years(today, first))
        x1 = x_of(_add_years(today, last)) if horizon != "long" else plot_x1
        parts.append(
            _el(
                "rect",
                x=_n(x0),
                y=_n(top - 26),
                width=_n(x1 - x0),
                height=_n(plot_bottom - top + 26),
                fill=band_fills[horizon],
            )
        )
        label_lines = wrap(labels.horizons[horizon], max(8, int((x1 - x0) / 5.2)), 2)
        parts.append(
            _lines(
                (x0 + x1) / 2,
                top - 15 - (len(label_lines) - 1) * 4.5,
                label_lines,
                9,
                font_size=8,
                text_anchor="middle",
                font_weight="bold",
            )
        )
    for index, row in enumerate(rows):
        y = top + index * row_h
        parts.append(
            _el(
                "line",
                x1=0,
                y1=_n(y + row_h),
                x2=_n(plot_x1),
                y2=_n(y + row_h),
                stroke="#dfe3e8",
                stroke_width=0.6,
            )
        )
        lines = wrap(row, 34, 2)
        parts.append(
            _lines(
                label_w,
                y + (15 if len(lines) == 1 else 10.5),
                lines,
                9.5,
                font_size=8,
                text_anchor="end",
            )
        )
    # Year marks along the bottom.
    for year in range(start.year + 1, end.year + 1):
        x = x_of(date(year, 1, 1))
        parts.append(
            _el(
                "line",
                x1=_n(x),
                y1=_n(top - 2),
                x2=_n(x),
                y2=_n(plot_bottom + 4),
                stroke=GRID,
                stroke_width=0.6,
                stroke_dasharray="2 3",
            )
        )
        parts.append(
            _text(x, plot_bottom + 14, str(year), font_size=8, fill=MUTED, text_anchor="middle")
        )
    x_today = x_of(today)
    parts.append(
        _el(
            "line",
            x1=_n(x_today),
            y1=_n(top - 26),
            x2=_n(x_today),
            y2=_n(plot_bottom + 4),
            stroke=INK,
            stroke_width=1.2,
        )
    )
    parts.append(
        _text(
            x_today,
            plot_bottom + 26,
            labels.today,
            font_size=8,
            font_weight="bold",
            text_anchor="middle",
        )
    )

    for index, row in enumerate(rows):
        y = top + index * row_h + row_h / 2
        undated: dict[str, int] = {}
        placed: list[float] = []
        for item in items:
            if item.row != row:
                continue
            if item.due is None:
                undated[item.horizon] = undated.get(item.horizon, 0) + 1
                continue
            x = x_of(item.due)
            nudge = sum(1 for other in placed if abs(other - x) < 5)
            placed.append(x)
            parts.append(_marker(item.status, x, y + (nudge % 3 - 1) * 5 if nudge else y))
        for horizon, count in undated.items():
            first, last = HORIZON_YEARS[horizon]
            x0 = x_of(_add_years(today, first)) + 3
            x1 = (x_of(_add_years(today, last)) if horizon != "long" else plot_x1) - 3
            parts.append(
                _el(
                    "rect",
                    x=_n(x0),
                    y=_n(y - 6),
                    width=_n(x1 - x0),
                    height=12,
                    rx=6,
                    fill="#ffffff",
                    stroke=ACCENT,
                    stroke_width=0.8,
                    stroke_dasharray="3 2",
                )
            )
            parts.append(
                _text(
                    (x0 + x1) / 2,
                    y + 3,
                    labels.undated.format(count=count),
                    font_size=7.5,
                    text_anchor="middle",
                    fill=ACCENT,
                )
            )
    parts.append(_timeline_legend(plot_bottom + 50, labels))
    return _svg(width, height, labels.title, labels.description, "".join(parts))


def _marker(status: str, x: float, y: float) -> str:
    if status == "done":
        return _el("circle", cx=_n(x), cy=_n(y), r=4.2, fill="#17603a") + _el(
            "path",
            d=f"M{_n(x - 2.2)} {_n(y)} l1.6 1.7 l3 -3.4",
            fill="none",
            stroke="#ffffff",
            stroke_width=1.3,
        )
    if status == "in_progress":
        return _el(
            "path",
            d=f"M{_n(x)} {_n(y - 5)} l5 5 l-5 5 l-5 -5 z",
            fill=ACCENT,
            stroke=ACCENT,
            stroke_width=0.8,
        )
    if status == "dropped":
        return _el(
            "path",
            d=f"M{_n(x - 3.5)} {_n(y - 3.5)} l7 7 m0 -7 l-7 7",
            stroke=PREVIOUS,
            stroke_width=1.6,
            fill="none",
        )
    return _el("circle", cx=_n(x), cy=_n(y), r=4, fill="#ffffff", stroke=ACCENT, stroke_width=1.5)


def _timeline_legend(y: float, labels: TimelineLabels) -> str:
    parts = []
    x = 20.0
    for status, label in labels.statuses.items():
        parts.append(_marker(status, x, y - 3))
        parts.append(_text(x + 9, y, label, font_size=8.5))
        x += 26 + len(label) * 5.4
    parts.append(
        _el(
            "rect",
            x=_n(x),
            y=_n(y - 9),
            width=30,
            height=12,
            rx=6,
            fill="#ffffff",
            stroke=ACCENT,
            stroke_width=0.8,
            stroke_dasharray="3 2",
        )
    )
    parts.append(_text(x + 36, y, labels.undated.format(count="n"), font_size=8.5))
    return "".join(parts)


# ---------------------------------------------------------------- ranges among members


@dataclass(frozen=True, slots=True)
class RangeBand:
    """One group's middle half (lower to upper quartile) and median, or a withheld note."""

    label: str  # the group; empty: drawn on its row's own line, beside the row's label
    median: float | None  # None: not published
    lower: float | None = None
    upper: float | None = None
    value_text: str = ""  # the median as shown to people
    withheld_text: str = ""  # what is said instead of figures when not published


@dataclass(frozen=True, slots=True)
class RangeRow:
    label: str
    bands: tuple[RangeBand, ...]
    own: float | None = None  # a country's own value on the scale, if shown
    own_text: str = ""


@dataclass(frozen=True, slots=True)
class RangeLabels:
    title: str
    description: str
    level_names: tuple[str, ...]
    band: str  # legend: the quartile band
    median: str  # legend: the median tick
    own: str | None = None  # legend: the country's own level; None when no row has one


def range_chart(
    rows: Sequence[RangeRow],
    max_level: int,
    labels: RangeLabels,
    *,
    tick_labels: Sequence[str] | None = None,
) -> Markup:
    """Per row, each group's quartile band and median on the 0-top scale, with an own marker.

    Rows with a single unlabelled band are drawn on one line (label, then band); rows with
    labelled bands get a heading line and one line per band. The own value is a dashed
    vertical line with a diamond across the row's bands. Withheld bands show their note and
    no shape at all. Values are on the level scale; tick_labels, one per level, write the
    ticks on another scale (a report's 0-100) instead of the level numbers.
    """
    width = 672.0
    plot_x0, plot_x1, value_x = 236.0, 590.0, 668.0
    line_h, head_h, top = 17.0, 16.0, 46.0
    top_level = max(max_level, 1)

    def x_of(value: float) -> float:
        return plot_x0 + (plot_x1 - plot_x0) * max(0.0, min(value, top_level)) / top_level

    # Heights first, so the grid can be drawn under everything.
    layout: list[tuple[RangeRow, float, bool, list[str]]] = []
    y = top
    for row in rows:
        compact = len(row.bands) == 1 and not row.bands[0].label
        title_lines = wrap(row.label, 40 if compact else 90, 2)
        if compact:
            height = max(line_h, 11.0 * len(title_lines) + 6)
        else:
            height = head_h + 11.0 * (len(title_lines) - 1) + line_h * len(row.bands) + 6
        layout.append((row, y, compact, title_lines))
        y += height
    plot_bottom = y
    height = plot_bottom + 40

    parts: list[str] = []
    for level in range(top_level + 1):
        x = x_of(level)
        parts.append(
            _el(
                "line",
                x1=_n(x),
                y1=_n(top - 6),
                x2=_n(x),
                y2=_n(plot_bottom),
                stroke=GRID if level in (0, top_level) else "#e3e7ec",
                stroke_width=0.7,
            )
        )
        tick = tick_labels[level] if tick_labels and level < len(tick_labels) else str(level)
        parts.append(_text(x, 12, tick, font_size=9, font_weight="bold", text_anchor="middle"))
        if level < len(labels.level_names):
            name_lines = wrap(labels.level_names[level], 16, 2)
            parts.append(
                _lines(x, 23, name_lines, 8.5, font_size=7.5, fill=MUTED, text_anchor="middle")
            )
    parts.append(
        _el(
            "line",
            x1=0,
            y1=_n(top - 6),
            x2=_n(width),
            y2=_n(top - 6),
            stroke=INK,
            stroke_width=0.8,
        )
    )

    for index, (row, y0, compact, title_lines) in enumerate(layout):
        title_count = len(title_lines)
        if index:
            parts.append(
                _el(
                    "line",
                    x1=0,
                    y1=_n(y0),
                    x2=_n(width),
                    y2=_n(y0),
                    stroke="#e3e7ec",
                    stroke_width=0.6,
                )
            )
        if compact:
            first = y0 + (12.5 if title_count == 1 else 10.5)
            parts.append(_lines(6, first, title_lines, 10.5, font_size=8.5))
            centres = [y0 + max(line_h, 11.0 * title_count + 6) / 2]
        else:
            parts.append(_lines(6, y0 + 12, title_lines, 11, font_size=8.8, font_weight="bold"))
            if row.own_text:
                parts.append(
                    _text(
                        value_x,
                        y0 + 12,
                        row.own_text,
                        font_size=8.5,
                        font_weight="bold",
                        text_anchor="end",
                    )
                )
            start = y0 + head_h + 11.0 * (title_count - 1)
            centres = [start + line_h * (i + 0.5) for i in range(len(row.bands))]
        if row.own is not None:  # under the bands, so a withheld note stays readable
            parts.append(
                _el(
                    "line",
                    x1=_n(x_of(row.own)),
                    y1=_n(centres[0] - 7),
                    x2=_n(x_of(row.own)),
                    y2=_n(centres[-1] + 7),
                    stroke=INK,
                    stroke_width=1.2,
                    stroke_dasharray="2.5 1.5",
                )
            )
        for band, centre in zip(row.bands, centres, strict=True):
            if band.label:
                parts.append(
                    _text(16, centre + 3, wrap(band.label, 40, 1)[0], font_size=8, fill=MUTED)
                )
            parts.append(_range_band(band, centre, x_of, plot_x0, value_x))
        if row.own is not None:
            shown = [
                c for band, c in zip(row.bands, centres, strict=True) if band.median is not None
            ]
            parts.extend(_diamond(x_of(row.own), centre) for centre in shown or centres[:1])

    parts.append(_range_legend(plot_bottom + 26, labels))
    return _svg(width, height, labels.title, labels.description, "".join(parts))


def _range_band(band: RangeBand, centre: float, x_of, plot_x0: float, value_x: float) -> str:
    if band.median is None:
        backing = _el(
            "rect",
            x=_n(plot_x0 + 2),
            y=_n(centre - 6),
            width=_n(len(band.withheld_text) * 4.5 + 8),
            height=12,
            fill="#ffffff",
        )
        return backing + _text(
            plot_x0 + 6,
            centre + 3,
            band.withheld_text,
            font_size=8,
            fill=MUTED,
            font_style="italic",
        )
    lower = band.median if band.lower is None else band.lower
    upper = band.median if band.upper is None else band.upper
    x0, x1 = x_of(lower), x_of(upper)
    parts = [
        _el(
            "rect",
            x=_n(x0),
            y=_n(centre - 4.5),
            width=_n(max(x1 - x0, 1.5)),
            height=9,
            fill="#8eadd0",
            stroke=ACCENT,
            stroke_width=0.8,
        ),
        _el(
            "line",
            x1=_n(x_of(band.median)),
            y1=_n(centre - 7),
            x2=_n(x_of(band.median)),
            y2=_n(centre + 7),
            stroke=INK,
            stroke_width=2.4,
        ),
    ]
    if band.value_text:
        parts.append(_text(value_x, centre + 3, band.value_text, font_size=8.5, text_anchor="end"))
    return "".join(parts)


def _diamond(x: float, y: float, size: float = 5.0) -> str:
    return _el(
        "path",
        d=f"M{_n(x)} {_n(y - size)} l{_n(size)} {_n(size)} l{_n(-size)} {_n(size)} "
        f"l{_n(-size)} {_n(-size)} z",
        fill=INK,
        stroke="#ffffff",
        stroke_width=1,
    )


def _range_legend(y: float, labels: RangeLabels) -> str:
    parts = [
        _el(
            "rect",
            x=8,
            y=_n(y - 8),
            width=30,
            height=9,
            fill="#8eadd0",
            stroke=ACCENT,
            stroke_width=0.8,
        ),
        _text(44, y, labels.band, font_size=8.5),
    ]
    x = 52 + len(labels.band) * 5.3
    parts.append(
        _el(
            "line",
            x1=_n(x),
            y1=_n(y - 10.5),
            x2=_n(x),
            y2=_n(y + 3.5),
            stroke=INK,
            stroke_width=2.4,
        )
    )
    parts.append(_text(x + 7, y, labels.median, font_size=8.5))
    if labels.own:
        x += 24 + len(labels.median) * 5.3
        parts.append(_diamond(x, y - 3.5))
        parts.append(_text(x + 9, y, labels.own, font_size=8.5))
    return "".join(parts)


# ---------------------------------------------------------------- level distributions


@dataclass(frozen=True, slots=True)
class DistributionRow:
    label: str
    counts: tuple[int, ...] | None  # countries at each level; None: not published
    total_text: str = ""  # e.g. "n = 6"
    withheld_text: str = ""
    heading: bool = False  # a heading line between groups of rows, no bar


@dataclass(frozen=True, slots=True)
class DistributionLabels:
    title: str
    description: str
    level_names: tuple[str, ...]


def distribution_chart(
    rows: Sequence[DistributionRow], max_level: int, labels: DistributionLabels
) -> Markup:
    """Stacked bars of how many countries are at each level, one bar per group.

    Each bar is the group's countries as a whole, split by level from light (0) to dark
    (top), with the count written in every segment wide enough to hold it, so the figure
    reads in greyscale. Withheld groups show their note and no bar.
    """
    width = 672.0
    bar_x0, bar_x1, total_x = 214.0, 618.0, 666.0
    row_h, heading_h, top = 18.0, 17.0, 6.0
    y = top
    parts: list[str] = []
    for row in rows:
        if row.heading:
            parts.append(
                _text(4, y + 12.5, row.label, font_size=8.5, font_weight="bold", fill=MUTED)
            )
            parts.append(
                _el(
                    "line",
                    x1=0,
                    y1=_n(y + heading_h - 1),
                    x2=_n(width),
                    y2=_n(y + heading_h - 1),
                    stroke=GRID,
                    stroke_width=0.6,
                )
            )
            y += heading_h
            continue
        centre = y + row_h / 2
        parts.append(_text(12, centre + 3, wrap(row.label, 38, 1)[0], font_size=8.5))
        total = sum(row.counts) if row.counts else 0
        if row.counts is None or total == 0:
            parts.append(
                _el(
                    "rect",
                    x=_n(bar_x0),
                    y=_n(centre - 6),
                    width=_n(bar_x1 - bar_x0),
                    height=12,
                    fill="none",
                    stroke=GRID,
                    stroke_width=0.6,
                    stroke_dasharray="2 2",
                )
            )
            parts.append(
                _text(
                    bar_x0 + 6,
                    centre + 3,
                    row.withheld_text,
                    font_size=8,
                    fill=MUTED,
                    font_style="italic",
                )
            )
        else:
            x = bar_x0
            for level, count in enumerate(row.counts):
                if not count:
                    continue
                segment = (bar_x1 - bar_x0) * count / total
                fill, ink = level_fill(level, max_level)
                parts.append(
                    _el(
                        "rect",
                        x=_n(x),
                        y=_n(centre - 6),
                        width=_n(segment),
                        height=12,
                        fill=fill,
                        stroke="#ffffff" if level else GRID,
                        stroke_width=0.8,
                    )
                )
                if segment >= 11:
                    parts.append(
                        _text(
                            x + segment / 2,
                            centre + 3,
                            str(count),
                            font_size=8,
                            font_weight="bold",
                            fill=ink,
                            text_anchor="middle",
                        )
                    )
                x += segment
            parts.append(_text(total_x, centre + 3, row.total_text, font_size=8, text_anchor="end"))
        y += row_h
    legend_y = y + 20
    parts.append(_level_swatches(12.0, legend_y, labels.level_names, max_level, spacing=32))
    return _svg(width, legend_y + 10, labels.title, labels.description, "".join(parts))
