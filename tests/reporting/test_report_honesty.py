"""Reports that say what their numbers rest on: carried-over answers waiting for confirmation,
unknown and missing answers, areas without a score, a baseline that was signed off.

One assessment is built for the module, through the services an official would use: cycle A
validated, cycle B left in draft, and cycle C started from B, so that its answers arrive
carried over. In C the first area is confirmed, the last area's answers are removed (an
area with no score) and two more answers are removed elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import delete, select, update

from app.accounts import service as accounts
from app.assessments import service as assessment_service
from app.assessments.models import Answer, Assessment
from app.assessments.schemas import AnswerInput, SignOff
from app.reporting import context, sample
from app.reporting.render import report_html
from tests.api_world import World, make_world
from tests.reporting.report_helpers import figure_alts, page_with, read_pdf, squash


@dataclass
class Honest:
    world: World
    cycles: tuple[str, str, str]
    ids: tuple[int, int, int]
    unconfirmed: int
    unanswered: int
    unknown: int
    total: int

    @property
    def base(self) -> str:
        return f"/api/v1/assessments/{self.ids[2]}"


@pytest.fixture(scope="module")
def honest(app_client, api_people) -> Honest:
    world = make_world(app_client, api_people)
    catalogue = app_client.app.state.catalogue.catalogue
    cycles = (f"HA{world.tag}", f"HB{world.tag}", f"HC{world.tag}")
    ids: list[int] = []
    with app_client.app.state.sessionmaker.begin() as session:
        coordinator = accounts.get_user(session, world.ids["coordinator"])
        secretariat = accounts.get_user(session, world.ids["secretariat"])
    for index, cycle in enumerate(cycles):
        body = {"country_code": "XAA", "cycle": cycle, "start_from_previous": index == 2}
        created = world.post("coordinator", "/api/v1/assessments", body)
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
        if index == 2:
            break
        with app_client.app.state.sessionmaker.begin() as session:
            coordinator = accounts.get_user(session, world.ids["coordinator"])
            sample.answer_all(
                session,
                user=coordinator,
                assessment_id=ids[-1],
                catalogue=catalogue,
                how=sample.SampleAnswers(seed=ids[-1], shift=index),
            )
            sample.set_targets(
                session, user=coordinator, assessment_id=ids[-1], catalogue=catalogue, step=2
            )
            if index == 0:
                secretariat = accounts.get_user(session, world.ids["secretariat"])
                signoff = SignOff(name="Amina Diallo", position="Coordinator", date=date.today())
                assessment_service.submit(
                    session, user=coordinator, assessment_id=ids[0], signoff=signoff
                )
                assessment_service.validate(session, user=secretariat, assessment_id=ids[0])
    first_area, last_area = catalogue.areas[0], catalogue.areas[-1]
    removed = [(c.id, i.id) for c in last_area.capabilities for i in c.indicators]
    middle = catalogue.areas[1].capabilities[0]
    removed += [(middle.id, middle.indicators[0].id), (middle.id, middle.indicators[1].id)]
    with app_client.app.state.sessionmaker.begin() as session:
        # Other tests create XAA assessments too: pin this chain of cycles explicitly.
        session.execute(
            update(Assessment).where(Assessment.id == ids[1]).values(previous_id=ids[0])
        )
        session.execute(
            update(Assessment).where(Assessment.id == ids[2]).values(previous_id=ids[1])
        )
        for capability_id, indicator_id in removed:
            session.execute(
                delete(Answer).where(
                    Answer.assessment_id == ids[2],
                    Answer.capability_id == capability_id,
                    Answer.indicator_id == indicator_id,
                )
            )
    with app_client.app.state.sessionmaker.begin() as session:
        coordinator = accounts.get_user(session, world.ids["coordinator"])
        # Confirming an answer is saving it as it stands.
        for capability in first_area.capabilities:
            for indicator in capability.indicators:
                row = session.scalar(
                    select(Answer).where(
                        Answer.assessment_id == ids[2],
                        Answer.capability_id == capability.id,
                        Answer.indicator_id == indicator.id,
                    )
                )
                assessment_service.save_answer(
                    session,
                    user=coordinator,
                    assessment_id=ids[2],
                    capability_id=capability.id,
                    indicator_id=indicator.id,
                    data=AnswerInput(
                        version=row.version,
                        response=row.response,
                        level=row.level,
                        justification=row.justification or "",
                        evidence_notes=row.evidence_notes or "",
                        evidence_links=list(row.evidence_links or []),
                        confidence=row.confidence,
                    ),
                )
        rows = list(session.scalars(select(Answer).where(Answer.assessment_id == ids[2])))
    total = len(catalogue.indicator_keys())
    return Honest(
        world=world,
        cycles=cycles,
        ids=(ids[0], ids[1], ids[2]),
        unconfirmed=sum(1 for row in rows if row.carried_over),
        unanswered=total - len(rows),
        unknown=sum(1 for row in rows if row.response == "unknown"),
        total=total,
    )


def test_the_fixture_has_every_kind_of_doubt(honest):
    assert honest.unconfirmed > 0 and honest.unanswered > 2 and honest.unknown > 0


def test_cover_and_summary_count_carried_over_answers_as_unconfirmed(honest, renderer):
    response = honest.world.get("coordinator", f"{honest.base}/reports/gap.pdf")
    assert response.status_code == 200, response.text
    _, pages = read_pdf(response.content)
    confirmed = honest.total - honest.unanswered - honest.unconfirmed
    counted = (
        f"{confirmed} of {honest.total} indicators answered in this cycle; "
        f"{honest.unconfirmed} carried over from the previous cycle await confirmation; "
        f"{honest.unanswered} not yet answered"
    )
    cover = squash(pages[0])
    assert counted in cover
    assert "PROVISIONAL" in cover
    assert f"{honest.total} of {honest.total}" not in squash(" ".join(pages))

    summary_page = page_with(pages, "Key findings")
    summary = squash(pages[summary_page - 1])
    assert counted in summary
    assert (
        "Provisional: carried-over answers count as they were until confirmed; unanswered "
        "indicators are left out; “unknown” answers count as level 0."
    ) in summary
    assert (
        f"The assessment is not finished: {honest.unconfirmed} answers carried over from the "
        f"previous cycle await confirmation and {honest.unanswered} indicators are unanswered."
    ) in summary
    # The overall row and the areas say why they are provisional.
    assert re.search(
        rf"Overall [\d.]+ {confirmed}/{honest.total} Provisional: {honest.unconfirmed} to "
        rf"confirm, {honest.unanswered} unanswered",
        summary,
    ), summary


def test_an_area_without_a_score_is_marked_not_drawn_as_zero(honest, app_client):
    catalogue = app_client.app.state.catalogue.catalogue
    last = catalogue.areas[-1]
    with app_client.app.state.sessionmaker() as session:
        user = accounts.get_user(session, honest.world.ids["coordinator"])
        assessment = assessment_service.get_assessment(
            session, user=user, assessment_id=honest.ids[2]
        )
        figures = context.position_figures(session, assessment, k=5)
        report = context.build_gap_report(
            session, user=user, assessment=assessment, locale="en", figures=figures
        )
        html = report_html("gap", report, locale="en")
    area = next(a for a in report.areas if a.id == last.id)
    assert area.score is None
    radar = str(report.radar)
    # The current line is broken where the area has no score: polylines, not a closed shape
    # through the centre, and a hollow marker on the unscored axis.
    assert "polyline" in radar
    assert 'fill="#ffffff" stroke="#555e68"' in radar
    assert f"{len(catalogue.areas)} {last.title.get()}: no score" in radar
    summary = html[html.index('id="summary"') : html.index('id="overview"')]
    assert "No score yet" in summary and "it is not counted as 0" in summary


def test_change_is_measured_against_the_validated_cycle_not_the_draft(honest, renderer):
    response = honest.world.get("coordinator", f"{honest.base}/reports/gap.pdf")
    _, pages = read_pdf(response.content)
    text = squash(" ".join(pages))
    validated, draft, _ = honest.cycles
    assert f"Change since cycle {validated}" in text
    assert f"Compared with cycle {validated} (Validated)." in text
    passed_over = (
        f"Cycle {draft} is left out of the comparison: it was never submitted, so it is no "
        "baseline."
    )
    assert passed_over in text
    # Named there only: no figure of the draft appears as "before".
    assert draft not in text.replace(passed_over, "")


def test_every_figure_of_the_gap_report_and_action_plan_has_alternate_text(honest, renderer):
    for kind in ("gap", "action-plan"):
        response = honest.world.get("coordinator", f"{honest.base}/reports/{kind}.pdf")
        assert response.status_code == 200, response.text
        reader, _ = read_pdf(response.content)
        alts = figure_alts(reader)
        assert alts, kind
        assert all(alt and alt.strip() for alt in alts), (kind, alts)
    gap, _ = read_pdf(honest.world.get("coordinator", f"{honest.base}/reports/gap.pdf").content)
    alts = figure_alts(gap)
    # Every area's score bar twice (summary and area page), the radar and the heat table.
    assert sum(alt.startswith("Score of ") for alt in alts) == 14
    assert any(alt.startswith("Area scores from 0 to 100.") for alt in alts)
    assert any(alt.startswith("Capability heat table: 26 capabilities") for alt in alts)


def test_strengths_are_the_capabilities_above_the_typical_level(worked, renderer, app_client):
    with app_client.app.state.sessionmaker() as session:
        user = accounts.get_user(session, worked.world.ids["coordinator"])
        assessment = assessment_service.get_assessment(
            session, user=user, assessment_id=worked.assessment_id
        )
        figures = context.position_figures(session, assessment, k=5)
        report = context.build_gap_report(
            session, user=user, assessment=assessment, locale="en", figures=figures
        )
    levels = sorted(c.level for a in report.areas for c in a.capabilities if c.level is not None)
    typical = report.strengths_typical
    assert typical is not None and levels[0] <= typical <= levels[-1]
    named = [c.id for c in report.strengths]
    standing_out = [
        c for a in report.areas for c in a.capabilities if c.level is not None and c.level > typical
    ]
    above = [c.id for c in standing_out if c.level >= report.strength_level.level]
    if not above and standing_out:  # none reached the floor: the most advanced are named
        best = max(c.level for c in standing_out)
        above = [c.id for c in standing_out if c.level == best]
    assert bool(above) and report.strengths_reached == any(
        c.level >= report.strength_level.level for c in standing_out
    )
    assert sorted(named) == sorted(above)
    response = worked.world.get("coordinator", f"{worked.base}/reports/gap.pdf")
    _, pages = read_pdf(response.content)
    start = page_with(pages, "What the country can build on", 2)
    section = squash(" ".join(pages[start - 1 : start + 1]))
    joined = " is " if report.strengths_reached else ", "
    assert f"the typical level{joined}{report.strengths_typical_text}" in section
    for capability in report.strengths:
        assert capability.title in section or capability.title[:20] in section


def test_the_api_score_counts_the_same_unconfirmed_answers_as_the_report(honest):
    body = honest.world.get("coordinator", f"{honest.base}/score").json()
    done = body["score"]["completeness"]
    assert done["unconfirmed"] == honest.unconfirmed
    assert done["total"] - done["answered"] == honest.unanswered
    assert body["score"]["provisional"] is True
    first = body["score"]["areas"][0]
    # The first area was confirmed in full: nothing in it is provisional any more.
    assert first["completeness"]["unconfirmed"] == 0 and not first["completeness"]["total"] - (
        first["completeness"]["with_level"]
        + first["completeness"]["unknown"]
        + first["completeness"]["not_applicable"]
    )
