"""Demo data: fictional countries on private-use codes, one user per role, and assessments
in every state across two cycles, so a new user sees a living system at first start."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import service as accounts
from app.accounts.models import User
from app.assessments import service as assessments
from app.assessments.models import Assessment
from app.assessments.schemas import AnswerInput, AssessmentCreate, SignOff
from app.catalogue import service as catalogue_service
from app.catalogue.loader import load_catalogue
from app.catalogue.schema import Catalogue
from app.core.clock import utc_today
from app.core.config import get_settings
from app.core.db import make_engine, session_factory
from app.countries import service as country_service

DEMO_PASSWORD = "walnut-harbour-2026"
DOMAIN = "gsr-demo.example"

# (e-mail local part, name, role, country code)
DEMO_USERS = [
    ("admin", "Ada Admin", "admin", None),
    ("secretariat", "Sami Secretariat", "secretariat", None),
    ("coordinator.xaa", "Lena Markovic", "coordinator", "XAA"),
    ("contributor.xaa", "Tomas Reyes", "contributor", "XAA"),
    ("viewer.xaa", "Ines Okafor", "viewer", "XAA"),
    ("coordinator.xab", "Kwame Mensah", "coordinator", "XAB"),
    ("contributor.xab", "Fatou Ndiaye", "contributor", "XAB"),
    ("coordinator.xac", "Mei Lin", "coordinator", "XAC"),
]

# country -> (typical level last cycle, state of each cycle)
DEMO_ASSESSMENTS = {
    "XAA": (3, {"2025": "validated", "2026": "draft"}),
    "XAB": (1, {"2025": "validated", "2026": "submitted"}),
    "XAC": (2, {"2025": "validated", "2026": "returned"}),
}


def load_demo() -> Iterator[str]:
    """Seed the demo data into the configured database; safe to run again."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with session_factory(engine).begin() as session:
            loaded = load_catalogue(settings.catalogue_path)
            version = catalogue_service.register_version(session, loaded)
            country_service.sync_countries(session)
            for record in country_service.DEMO_COUNTRIES:
                country_service.get_by_code(session, record.code).is_member = True
            users = _users(session)
            made = _assessments(session, users, loaded.catalogue, version.id)
        yield f"demo countries: {', '.join(r.name for r in country_service.DEMO_COUNTRIES)}"
        yield f"demo assessments created: {made}"
        if settings.demo_mode:
            yield f"demo users (password '{DEMO_PASSWORD}'):"
            for local, _name, role, country in DEMO_USERS:
                where = f" of {country}" if country else ""
                yield f"  {local}@{DOMAIN:<22} {role}{where}"
    finally:
        engine.dispose()


def _users(session: Session) -> dict[str, User]:
    users = {}
    for local, name, role, country in DEMO_USERS:
        email = f"{local}@{DOMAIN}"
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = accounts.create_user(
                session,
                email=email,
                full_name=name,
                role=role,
                country_code=country,
                password=DEMO_PASSWORD,
            )
        users[local] = user
    return users


def _assessments(
    session: Session, users: dict[str, User], catalogue: Catalogue, version_id: int
) -> int:
    made = 0
    secretariat = users["secretariat"]
    for code, (typical, cycles) in DEMO_ASSESSMENTS.items():
        coordinator = users[f"coordinator.{code.lower()}"]
        country = country_service.get_by_code(session, code)
        rng = random.Random(code)
        for cycle, state in cycles.items():
            exists = session.scalar(
                select(Assessment.id).where(
                    Assessment.country_id == country.id, Assessment.cycle == cycle
                )
            )
            if exists:
                continue
            made += 1
            carry = cycle == "2026"
            assessment = assessments.create_assessment(
                session,
                user=coordinator,
                catalogue_version_id=version_id,
                data=AssessmentCreate(
                    country_code=code,
                    cycle=cycle,
                    start_from_previous=carry,
                    deadline=date(int(cycle), 12, 15),
                ),
            )
            _answer(session, coordinator, assessment, catalogue, rng, typical, carry, state)
            for capability in catalogue.capabilities()[::3]:
                assessments.set_target(
                    session,
                    user=coordinator,
                    assessment_id=assessment.id,
                    capability_id=capability.id,
                    level=min(catalogue.max_level, typical + 1),
                )
            if state == "draft":
                contributor = users.get(f"contributor.{code.lower()}")
                if contributor:
                    assessments.assign_area(
                        session,
                        user=coordinator,
                        assessment_id=assessment.id,
                        area_id="criminal-justice",
                        contributor_id=contributor.id,
                    )
                continue
            signoff = SignOff(
                name=coordinator.full_name,
                position="National coordinator",
                date=utc_today() - timedelta(days=3),
            )
            assessments.submit(
                session, user=coordinator, assessment_id=assessment.id, signoff=signoff
            )
            if state == "validated":
                assessments.validate(session, user=secretariat, assessment_id=assessment.id)
            elif state == "returned":
                assessments.return_for_changes(
                    session,
                    user=secretariat,
                    assessment_id=assessment.id,
                    comments={
                        "legislation": "Please add the reference of the amended penal "
                        "code to the evidence for each indicator."
                    },
                )
    return made


def _answer(
    session: Session,
    user: User,
    assessment: Assessment,
    catalogue: Catalogue,
    rng: random.Random,
    typical: int,
    carried: bool,
    state: str,
) -> None:
    """Answer every indicator (a draft: about two thirds), around the country's typical level."""
    keys = catalogue.indicator_keys()
    existing = assessments.answers_of(session, assessment)
    for position, (capability_id, indicator_id) in enumerate(keys):
        if state == "draft" and position > len(keys) * 2 // 3:
            break
        roll = rng.random()
        if roll < 0.04:
            data = {
                "response": "not_applicable",
                "justification": "No service of this kind operates in the country.",
            }
        elif roll < 0.09:
            data = {"response": "unknown"}
        else:
            level = max(0, min(catalogue.max_level, typical + rng.choice([-1, 0, 0, 1])))
            if carried:
                level = min(catalogue.max_level, level + (rng.random() < 0.3))
            data = {
                "response": "level",
                "level": level,
                "evidence_notes": f"Reviewed by the {capability_id.replace('-', ' ')} "
                "working group; see the national action plan annex.",
                "confidence": rng.choice(["self_reported", "documented", "verified"]),
            }
        current = existing.get((capability_id, indicator_id))
        assessments.save_answer(
            session,
            user=user,
            assessment_id=assessment.id,
            capability_id=capability_id,
            indicator_id=indicator_id,
            source="demo",
            data=AnswerInput(version=current.version if current else 0, **data),
        )
