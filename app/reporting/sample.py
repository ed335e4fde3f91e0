"""A realistic, fully worked assessment for the reports' benchmarks, visual checks and tests.

Everything goes through the services a coordinator would use: every indicator answered (a
few "not applicable" and "unknown"), justifications, evidence and links, targets, and an
action plan drafted and then partly assigned, dated and under way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from app.accounts.models import User
from app.actionplan import service as plan_service
from app.actionplan.schemas import ActionItemUpdate
from app.assessments import service as assessment_service
from app.assessments.schemas import AnswerInput
from app.catalogue.schema import Catalogue

AGENCIES = (
    "National Coordination Office for Child Online Protection",
    "Ministry of Justice, Criminal Law Policy Directorate",
    "National Police, Cybercrime and Child Exploitation Unit",
    "Ministry of Social Affairs",
    "Communications Regulatory Authority",
    "Ministry of Education",
)

# What officials typically write, from nothing in place (0) to mature (4).
JUSTIFICATIONS = (
    "Nothing formal exists yet. Individual officers deal with cases as they arise, without a "
    "written procedure or a budget line.",
    "A draft exists and was discussed at the last coordination meeting; adoption is expected "
    "after the consultation with civil society closes.",
    "Work has started but coverage is partial: two of the five regions apply the procedure "
    "and the budget for the rest depends on a donor project ending next year.",
    "Adopted by cabinet decision and applied nationally; the inter-ministerial committee "
    "reviews it every year and progress reports for the last two years are on file.",
    "Independently evaluated in 2025 and revised on the findings; survivors sat on the review "
    "panel and the approach was presented to two neighbouring countries.",
)


@dataclass(frozen=True, slots=True)
class SampleAnswers:
    """How to answer: a seed for the levels, an offset added to them, how many to skip."""

    seed: int = 7
    shift: int = 0
    unanswered: int = 0


def answer_all(
    session: Session,
    *,
    user: User,
    assessment_id: int,
    catalogue: Catalogue,
    how: SampleAnswers = SampleAnswers(),
) -> None:
    """Answer the indicators in questionnaire order, as set out by how."""
    rng = random.Random(how.seed)
    keys = catalogue.indicator_keys()
    for number, (capability_id, indicator_id) in enumerate(keys[: len(keys) - how.unanswered]):
        if number % 17 == 5:
            data = AnswerInput(version=0, response="not_applicable", justification="Not relevant.")
        elif number % 13 == 7:
            data = AnswerInput(version=0, response="unknown")
        else:
            level = max(
                0, min(catalogue.max_level, rng.choice((0, 1, 1, 2, 2, 2, 3, 3, 4)) + how.shift)
            )
            data = AnswerInput(
                version=0,
                response="level",
                level=level,
                justification=JUSTIFICATIONS[min(level, len(JUSTIFICATIONS) - 1)],
                evidence_notes="Cabinet decision 2024/117; annual progress report 2025, annex B.",
                evidence_links=[
                    "https://justice.example.gov/documents/strategy/national-action-plan-"
                    "on-online-child-sexual-exploitation-2025-2029-final-adopted-version.pdf"
                ]
                if number % 4 == 0
                else [],
                confidence=rng.choice(("self_reported", "documented", "verified")),
            )
        assessment_service.save_answer(
            session,
            user=user,
            assessment_id=assessment_id,
            capability_id=capability_id,
            indicator_id=indicator_id,
            data=data,
        )


def set_targets(
    session: Session, *, user: User, assessment_id: int, catalogue: Catalogue, step: int = 1
) -> None:
    """A target step levels above each capability's current level (at most the top)."""
    score, _ = assessment_service.score_and_gaps(session, user=user, assessment_id=assessment_id)
    for result in score.capabilities:
        if result.not_applicable:
            continue
        target = min(catalogue.max_level, (result.level or 0) + step)
        assessment_service.set_target(
            session,
            user=user,
            assessment_id=assessment_id,
            capability_id=result.capability_id,
            level=target,
        )


def draw_up_plan(session: Session, *, user: User, assessment_id: int, today: date) -> int:
    """Draft the plan, then assign, date and start some of it; returns the number of items."""
    items = plan_service.draft_plan(session, user=user, assessment_id=assessment_id)
    rng = random.Random(assessment_id)
    spans = {"short": (30, 365), "medium": (365, 3 * 365), "long": (3 * 365, 5 * 365)}
    for number, item in enumerate(items):
        if number % 5 == 4:
            continue  # some actions keep no owner or date yet
        low, high = spans[item.horizon]
        due = today + timedelta(days=rng.randint(low, high))
        status = "planned"
        if number % 7 == 0:
            status, due = "in_progress", today + timedelta(days=rng.randint(-60, 200))
        elif number % 11 == 0:
            status, due = "done", today - timedelta(days=rng.randint(10, 200))
        elif number % 23 == 0:
            status = "dropped"
        changes = {
            "owner_agency": AGENCIES[number % len(AGENCIES)],
            "due_date": due,
            "status": status,
        }
        if number % 6 == 1:
            changes["notes"] = "Funding requested in the next budget round."
        plan_service.update_item(
            session,
            user=user,
            assessment_id=assessment_id,
            item_id=item.id,
            data=ActionItemUpdate(version=item.version, **changes),
        )
    return len(items)
