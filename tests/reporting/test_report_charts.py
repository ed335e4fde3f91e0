"""The report figures: well-formed SVG, text escaped, meaning carried by more than colour."""

from datetime import date
from xml.etree import ElementTree

from app.reporting import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup) -> ElementTree.Element:
    return ElementTree.fromstring(str(markup))


def texts(markup) -> list[str]:
    return [node.text or "" for node in parse(markup).iter(f"{SVG}text")]


def test_wrap_breaks_at_spaces_and_splits_overlong_words():
    assert charts.wrap("Victim support and empowerment", 20) == [
        "Victim support and",
        "empowerment",
    ]
    assert charts.wrap("x" * 25, 10) == ["xxxxxxxxx-", "xxxxxxxxx-", "xxxxxxx"]
    assert charts.wrap("one two three four five six", 7, max_lines=2) == ["one two", "three…"]


def test_radar_escapes_labels_and_breaks_its_lines_at_unscored_areas():
    axes = [
        charts.RadarAxis("<b>Policy</b> & law", 50.0, "50.0", target=75.0, previous=25.0),
        charts.RadarAxis("Industry", None, "no score", target=None, previous=50.0),
        charts.RadarAxis("Society", 100.0, "100.0", target=100.0, previous=None),
        charts.RadarAxis("Research", 25.0, "25.0", target=50.0, previous=25.0),
    ]
    labels = charts.RadarLabels("Area scores", "desc", "This cycle", "Targets", "Cycle 2025")
    svg = charts.radar(axes, labels)
    root = parse(svg)  # well-formed, so the label's markup was escaped
    assert "<b>Policy</b> & law" in texts(svg)
    assert "no score" in texts(svg)
    assert root.find(f"{SVG}title").text == "Area scores"
    centre = "320,186"
    # No series passes through the centre, as a 0 would: each line breaks at a missing value.
    lines = root.findall(f"{SVG}polyline")
    assert lines and all(centre not in line.get("points").split() for line in lines)
    current = [line for line in lines if line.get("stroke") == charts.ACCENT]
    # This cycle: Society, Research and Policy in one run round the top; Industry left out.
    assert len(current) == 1 and len(current[0].get("points").split()) == 3
    # Shaded only between neighbouring scored axes (a wedge from the centre per run).
    shaded = [p for p in root.findall(f"{SVG}polygon") if p.get("fill-opacity")]
    assert len(shaded) == 1 and len(shaded[0].get("points").split()) == 4
    # Target and previous cycle are told apart by dash pattern, not only colour.
    dashes = {line.get("stroke-dasharray") for line in lines if line.get("stroke-dasharray")}
    assert len(dashes) == 2
    # The previous cycle has a hollow square at each of its values, and one in the legend.
    squares = [r for r in root.findall(f"{SVG}rect") if r.get("stroke") == charts.PREVIOUS]
    assert len(squares) == 3 + 1
    # The unscored axis is dashed out and marked with a hollow ring.
    rings = [c for c in root.findall(f"{SVG}circle") if c.get("fill") == "#ffffff"]
    assert len(rings) == 1


def test_a_fully_scored_radar_draws_closed_outlines():
    axes = [charts.RadarAxis(name, 60.0, "60", target=80.0, previous=40.0) for name in "ABC"]
    labels = charts.RadarLabels("Area scores", "desc", "This cycle", "Targets", "Cycle 2025")
    root = parse(charts.radar(axes, labels))
    assert root.findall(f"{SVG}polyline") == []
    outlines = [p for p in root.findall(f"{SVG}polygon") if p.get("fill") == "none"]
    # four grid rings, the previous cycle, the target and this cycle
    assert len(outlines) == 4 + 3


def test_score_bars_carry_their_label_as_a_title():
    root = parse(charts.score_bar(62.5, "Score of Policy: 62.5 out of 100"))
    assert root.find(f"{SVG}title").text == "Score of Policy: 62.5 out of 100"


def test_range_chart_can_write_its_ticks_on_another_scale():
    labels = charts.RangeLabels("Position", "d", ("L0", "L1", "L2"), "Band", "Median")
    rows = [charts.RangeRow("Area", (charts.RangeBand("", 1.0, 0.5, 1.5, "median 50"),))]
    plain = texts(charts.range_chart(rows, 2, labels))
    scaled = texts(charts.range_chart(rows, 2, labels, tick_labels=("0", "50", "100")))
    assert "100" in scaled and "100" not in plain


def test_heat_table_marks_unknown_and_not_applicable_with_symbols():
    labels = charts.HeatLabels(
        title="Heat",
        description="d",
        capability="Capability",
        indicators="Indicators",
        level="Level",
        target="Target",
        gap="To go",
        level_names=("Not in place", "Building", "Developing", "Established", "Mature"),
        unknown="Unknown",
        not_applicable="Not applicable",
        unanswered="Not yet answered",
    )
    row = charts.HeatRow(
        number="1.1",
        title="Leadership </text><script>x</script>",
        cells=(
            charts.HeatCell("level", 3),
            charts.HeatCell("unknown"),
            charts.HeatCell("not_applicable"),
            charts.HeatCell("unanswered"),
        ),
        level=1,
        level_text="1 Building",
        target_text="3 Established",
        gap_text="+2",
    )
    svg = charts.heat_table([charts.HeatGroup("1 Policy", "41.7", (row,))], 4, labels)
    words = texts(svg)
    assert "3" in words and "?" in words and "–" in words
    assert any("<script>" in word for word in words)  # as text, not as an element
    assert parse(svg).find(f".//{SVG}script") is None
    assert "+2" in words and "41.7" in words


def test_timeline_places_dated_actions_and_counts_undated_ones():
    today = date(2026, 6, 1)
    items = [
        charts.TimelineItem("Ministry of Justice", "short", "planned", date(2026, 12, 1)),
        charts.TimelineItem("Ministry of Justice", "medium", "done", date(2025, 3, 1)),
        charts.TimelineItem("Police", "long", "in_progress", None),
        charts.TimelineItem("Police", "long", "planned", None),
    ]
    labels = charts.TimelineLabels(
        title="Timeline",
        description="d",
        horizons={"short": "Short", "medium": "Medium", "long": "Long"},
        past="Past due",
        today="Today",
        statuses={"planned": "Planned", "in_progress": "In progress", "done": "Done"},
        undated="{count} undated",
    )
    svg = charts.timeline(items, today, labels)
    words = texts(svg)
    for word in ("Ministry of Justice", "Police", "Today", "Past due", "2 undated", "2027"):
        assert word in words, word
    assert charts.timeline([], today, labels)  # an empty plan still draws its axis
