"""The gap report as a PDF, read back: what it says, where, and that its numbers are the API's."""

import re

from app.scoring import display_score
from tests.reporting.report_helpers import outline_titles, page_with, read_pdf, squash


def test_gap_report_reads_back_complete_and_consistent(worked, renderer, app_client):
    world = worked.world
    response = world.get("coordinator", f"{worked.base}/reports/gap.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="gap-report-XAA-{worked.cycle}.pdf"'
    )
    assert response.headers["cache-control"] == "private, no-store"

    reader, pages = read_pdf(response.content)
    score = world.get("coordinator", f"{worked.base}/score").json()
    catalogue = app_client.app.state.catalogue.catalogue
    country = world.get("coordinator", worked.base).json()["assessment"]["country_name"]
    total = len(pages)

    # Cover: title, country, cycle, status, catalogue version, the confidentiality marking.
    cover = squash(pages[0])
    for phrase in (
        "Gap report",
        country,
        f"Assessment cycle {worked.cycle}",
        "Status Draft",
        f"version {catalogue.version}",
        "CONFIDENTIAL",
        f"For the government of {country} and the alliance secretariat only.",
    ):
        assert phrase in cover, phrase

    # Every page after the cover says "n of N", carries the marking and the running head.
    for number, text in enumerate(pages[1:], start=2):
        flat = squash(text)
        assert f"Page {number} of {total}" in flat
        assert f"CONFIDENTIAL — for the government of {country}" in flat
        assert f"Gap report · {country} · Cycle {worked.cycle}" in flat

    # The contents give each section's true page.
    contents = squash(pages[1])
    assert contents.startswith("Contents")
    sections = [
        ("Executive summary", "Key findings"),
        ("Capability overview", "Each row is a capability"),
        ("Priority gaps and how to close them", "are below their targets"),
        ("Strengths", "What the country can build on"),
        (
            f"Change since cycle {worked.previous_cycle}",
            f"Compared with cycle {worked.previous_cycle}",
        ),
        ("Appendix: how the scores are computed", "The maturity scale"),
    ]
    sections += [
        (f"{number} {area.title.get()}", area.summary.get().split(":")[0])
        for number, area in enumerate(catalogue.areas, start=1)
    ]
    for title, body in sections:
        found = re.search(re.escape(title) + r" ?\.+ ?(\d+)", contents)
        assert found, f"{title!r} missing from the contents"
        listed = int(found.group(1))
        assert body in squash(pages[listed - 1]), f"{title!r} is not on page {listed}"

    # Executive summary: the overall and area scores are the API's, and the findings follow.
    summary_page = page_with(pages, "Key findings")
    summary = squash(pages[summary_page - 1])
    assert display_score(score["score"]["overall"]) in summary
    assert "96 of 96 indicators answered" in summary
    for number, (area, result) in enumerate(
        zip(catalogue.areas, score["score"]["areas"], strict=True), start=1
    ):
        shown = display_score(result["score"])
        assert f"{number} {area.title.get()} {shown}" in summary
    area_scores = {area["area_id"]: area["score"] for area in score["score"]["areas"]}
    weakest = min(area_scores.values())
    weakest_titles = [
        area.title.get() for area in catalogue.areas if area_scores[area.id] == weakest
    ]
    assert any(f"The weakest area is {title}" in summary for title in weakest_titles) or (
        "The weakest areas are" in summary
    )
    unknown = score["score"]["completeness"]["unknown"]
    assert f"{unknown} indicators were answered “unknown”" in summary
    assert "Since cycle" in summary

    # Top gaps come in the API's order, each with what it takes to close it.
    gaps_page = page_with(pages, "Priority gaps and how to close them", summary_page)
    ranked = [catalogue.capability(g["capability_id"]) for g in score["gaps"]["gaps"]]
    gap_text = squash(" ".join(pages[gaps_page - 1 : gaps_page + 6]))
    positions = [gap_text.find(capability.title.get()) for capability in ranked[:3]]
    assert -1 not in positions and positions == sorted(positions)
    first = score["gaps"]["gaps"][0]
    first_step = catalogue.capability(first["capability_id"]).steps[first["target_level"]][0]
    assert first_step.title.get() in gap_text

    # Every area has its section, with each capability's indicators and evidence.
    for area in catalogue.areas:
        for capability in area.capabilities:
            assert any(capability.title.get() in squash(text) for text in pages[10:])
    assert "Cabinet decision 2024/117" in squash(" ".join(pages))

    # The appendix pins the catalogue hash and method version that reproduce the scores.
    provenance = score["score"]["provenance"]
    appendix = squash(" ".join(pages[-2:])).replace(" ", "")
    assert provenance["catalogue_hash"] in appendix
    assert f"{provenance['method']},version{provenance['method_version']}" in appendix

    # Metadata, language, tags and bookmarks.
    assert reader.metadata.title == f"Gap report: {country}, cycle {worked.cycle}"
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "en"
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    titles = [squash(title) for title in outline_titles(reader)]
    for title in ("Executive summary", "Key findings", "Capability overview", "Strengths"):
        assert title in titles
    for number, area in enumerate(catalogue.areas, start=1):
        assert f"{number} {area.title.get()}" in titles
    assert ranked[0].title.get() in titles


def test_no_targets_and_no_previous_cycle_are_explained(world, renderer, app_client):
    created = world.post(
        "other_coordinator",
        "/api/v1/assessments",
        {"country_code": "XAB", "cycle": f"N{world.tag}"},
    ).json()
    response = world.get(
        "other_coordinator", f"/api/v1/assessments/{created['id']}/reports/gap.pdf"
    )
    assert response.status_code == 200, response.text
    _, pages = read_pdf(response.content)
    text = squash(" ".join(pages))
    assert "No indicator has been answered yet, so there is nothing to score." in text
    assert "No targets have been set, so there are no gaps to rank." in text
    assert "Provisional" in squash(pages[0]) or "PROVISIONAL" in squash(pages[0])
