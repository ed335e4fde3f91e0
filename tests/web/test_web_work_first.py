"""A contributor's own work first, filters, review marks and bulk confirmation, through the
pages as a browser without JavaScript sees them."""

from __future__ import annotations

import gzip
import html
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from app.accounts import service as accounts
from app.assessments import service as assessments
from app.assessments.models import Answer, Assessment, ReviewFlag
from app.assessments.schemas import AnswerInput, AssessmentCreate, SignOff
from app.core.config import Settings
from app.main import create_app
from app.web.pages.common import STATIC_DIR

PASSWORD = "a long enough password"
CAPABILITY = "/areas/policy/capabilities/leadership"


@pytest.fixture(scope="module")
def web(database):
    application = create_app(Settings(database_url=database.url, demo_mode=False))
    with TestClient(application):
        yield application


def make_user(web, role: str, country: str = "XAA", name: str | None = None) -> str:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    with web.state.sessionmaker.begin() as session:
        accounts.create_user(
            session,
            email=email,
            full_name=name or f"{role.title()} {uuid.uuid4().hex[:4]}",
            role=role,
            country_code=country,
            password=PASSWORD,
        )
    return email


def login(web, email: str) -> TestClient:
    client = TestClient(web)
    form = client.get("/login").text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    answer = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "login_csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf(client: TestClient) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


def text_of(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def team(web):
    """XAB's coordinator and a contributor assigned the policy area of a second cycle
    started from a first in which leadership was answered: its answers wait for
    confirmation. XAB, so that no other module's carried-over cycles get in the way."""
    coordinator = make_user(web, "coordinator", country="XAB")
    contributor = make_user(web, "contributor", country="XAB", name="Rui Costa")
    outsider = make_user(web, "contributor", country="XAB")
    catalogue = web.state.catalogue.catalogue
    indicators = [i.id for i in catalogue.capability("leadership").indicators]
    with web.state.sessionmaker.begin() as session:
        user = accounts.find_user(session, coordinator)

        def start(cycle: str, carry: bool) -> int:
            return assessments.create_assessment(
                session,
                user=user,
                data=AssessmentCreate(country_code="XAB", cycle=cycle, start_from_previous=carry),
                catalogue_version_id=web.state.catalogue_version_id,
            ).id

        first = start(f"P{uuid.uuid4().hex[:6]}", False)
        for number, indicator_id in enumerate(indicators):
            assessments.save_answer(
                session,
                user=user,
                assessment_id=first,
                capability_id="leadership",
                indicator_id=indicator_id,
                data=AnswerInput(
                    version=0,
                    response="level",
                    level=number % 4,
                    justification=f"Reason {number}",
                    confidence="verified" if number else "self_reported",
                ),
            )
        second = start(f"N{uuid.uuid4().hex[:6]}", True)
        assessments.assign_area(
            session,
            user=user,
            assessment_id=second,
            area_id="policy",
            contributor_id=accounts.find_user(session, contributor).id,
        )
    return {
        "coordinator": coordinator,
        "contributor": contributor,
        "outsider": outsider,
        "id": second,
        "indicators": indicators,
        "catalogue": catalogue,
    }


def carried_rows(web, assessment_id: int) -> dict[str, tuple[bool, int]]:
    with web.state.sessionmaker() as session:
        rows = session.query(Answer).filter_by(assessment_id=assessment_id).all()
        return {row.indicator_id: (row.carried_over, row.version) for row in rows}


def revision(web, assessment_id: int) -> int:
    with web.state.sessionmaker() as session:
        return session.get(Assessment, assessment_id).revision


# ---------------------------------------------------------------- my areas


def test_a_contributor_sees_their_areas_and_what_is_left_first(web, team):
    client = login(web, team["contributor"])
    dashboard = client.get("/").text
    block = re.search(r'<section class="panel my-areas".*?</section>', dashboard, re.S).group(0)
    text = text_of(block)
    count = len(team["indicators"])
    policy = team["catalogue"].area("policy")
    total = sum(len(c.indicators) for c in policy.capabilities)
    assert "Policy and legislation" in text
    assert f"0 of {total} answered" in text
    assert f"{total - count} to answer" in text and f"{count} to confirm" in text
    assert f"/assessments/{team['id']}/confirm?area=policy" in block
    # It comes first: before the list of assessments.
    assert dashboard.index("my-areas-heading") < dashboard.index('class="cards"')

    overview = client.get(f"/assessments/{team['id']}").text
    assert overview.index("my-areas-heading") < overview.index('class="panel"')
    assert f"{count} to confirm" in text_of(overview)

    # Someone without assignments is told how they get some; coordinators get no block.
    assert "No area of an open assessment is assigned to you yet" in text_of(
        login(web, team["outsider"]).get("/").text
    )
    assert "my-areas-heading" not in login(web, team["coordinator"]).get("/").text


# ---------------------------------------------------------------- filters


def test_the_questionnaire_filters_indicators_and_keeps_the_filter_while_moving(web, team):
    client = login(web, team["contributor"])
    base = f"/assessments/{team['id']}{CAPABILITY}"
    everything = client.get(base).text
    assert everything.count('class="indicator"') == len(team["indicators"])
    counts = dict(
        re.findall(
            r'data-filter="(\w+)"[^>]*>[^<]*<span class="status-counts__n">(\d+)', everything
        )
    )
    assert counts == {
        "unanswered": "0",
        "to_confirm": str(len(team["indicators"])),
        "low_confidence": "1",
        "flagged": "0",
    }

    low = client.get(f"{base}?show=low_confidence").text
    assert re.findall(r'<article class="indicator" id="ind-([^"]+)"', low) == [
        team["indicators"][0]
    ]
    assert f"Indicator 1 of {len(team['indicators'])}" in text_of(low)

    # Nothing unanswered here: the page says so and points to the next capability with some,
    # and every link keeps the filter.
    empty = client.get(f"{base}?show=unanswered").text
    assert 'id="filter-empty"' in empty and 'class="indicator"' not in empty
    following = team["catalogue"].capabilities()[1].id
    assert f'/capabilities/{following}?show=unanswered" rel="next"' in empty
    assert client.get(f"{base}?show=nonsense").text.count('class="indicator"') == len(
        team["indicators"]
    )


# ---------------------------------------------------------------- review marks


def test_marking_for_review_without_javascript_is_seen_by_the_team_and_cleared(web, team):
    client = login(web, team["contributor"])
    token = csrf(client)
    indicator = team["indicators"][1]
    before = revision(web, team["id"])
    marked = client.post(
        f"/assessments/{team['id']}{CAPABILITY}/indicators/{indicator}/review-flag?show=flagged",
        data={"csrf_token": token, "action": "set", "note": "Budget figure to check"},
        follow_redirects=False,
    )
    assert marked.status_code == 303
    assert marked.headers["location"].endswith(f"{CAPABILITY}?show=flagged#ind-{indicator}")

    seen = login(web, team["coordinator"]).get(
        f"/assessments/{team['id']}{CAPABILITY}?show=flagged"
    )
    assert re.findall(r'<article class="indicator" id="ind-([^"]+)"', seen.text) == [indicator]
    assert "Marked for review by Rui Costa" in text_of(seen.text)
    assert "Budget figure to check" in text_of(seen.text)
    viewer = login(web, make_user(web, "viewer", country="XAB"))
    as_viewer = viewer.get(f"/assessments/{team['id']}{CAPABILITY}").text
    assert "Marked for review by Rui Costa" in text_of(as_viewer)
    assert "review-flag__form" not in as_viewer  # viewers see the mark, cannot change it
    assert revision(web, team["id"]) == before
    assert all(carried for carried, _ in carried_rows(web, team["id"]).values())

    coordinator = login(web, team["coordinator"])
    cleared = coordinator.post(
        f"/assessments/{team['id']}{CAPABILITY}/indicators/{indicator}/review-flag",
        data={"csrf_token": csrf(coordinator), "action": "clear"},
        follow_redirects=False,
    )
    assert cleared.status_code == 303
    with web.state.sessionmaker() as session:
        assert session.query(ReviewFlag).filter_by(assessment_id=team["id"]).count() == 0
    assert revision(web, team["id"]) == before


# ---------------------------------------------------------------- bulk confirmation


def confirm_form(page: str) -> dict[str, list[str]]:
    """The hidden fields of the confirmation form, as it would post them."""
    form = re.search(r'<form method="post" action="[^"]*/confirm".*?</form>', page, re.S).group(0)
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form):
        fields.setdefault(name, []).append(html.unescape(value))
    return fields


def test_confirming_a_capability_shows_what_is_confirmed_then_confirms_it(web, team):
    client = login(web, team["contributor"])
    preview = client.get(f"/assessments/{team['id']}/confirm?capability=leadership")
    assert preview.status_code == 200
    text = text_of(preview.text)
    assert f"These {len(team['indicators'])} answers were carried over" in text
    assert "Level 1 · " in text and "Reason 1" in text
    fields = confirm_form(preview.text)
    answers = fields["answer"]
    assert answers == [f"leadership|{i}|1" for i in team["indicators"]]
    before = revision(web, team["id"])

    done = client.post(f"/assessments/{team['id']}/confirm", data=fields, follow_redirects=False)
    assert done.status_code == 303
    location = done.headers["location"]
    assert location == (
        f"/assessments/{team['id']}{CAPABILITY}?confirmed={len(answers)}#bulk-confirm"
    )
    page = client.get(location).text
    assert f"{len(answers)} carried-over answers confirmed." in text_of(page)
    assert "Carried over from the previous cycle" not in text_of(page)
    assert carried_rows(web, team["id"]) == {i: (False, 2) for i in team["indicators"]}
    assert revision(web, team["id"]) == before + 1
    history = login(web, team["coordinator"]).get(f"/assessments/{team['id']}{CAPABILITY}").text
    assert "Confirmed without changes" in text_of(history)

    nothing = client.get(f"/assessments/{team['id']}/confirm?capability=leadership").text
    assert 'id="nothing-to-confirm"' in nothing


def test_an_answer_changed_after_the_preview_confirms_nothing(web, team):
    client = login(web, team["contributor"])
    preview = client.get(f"/assessments/{team['id']}/confirm?area=policy").text
    fields = confirm_form(preview)
    changed = team["indicators"][2]
    with web.state.sessionmaker.begin() as session:
        assessments.save_answer(
            session,
            user=accounts.find_user(session, team["coordinator"]),
            assessment_id=team["id"],
            capability_id="leadership",
            indicator_id=changed,
            data=AnswerInput(version=1, response="level", level=4),
        )
    before = revision(web, team["id"])
    refused = client.post(f"/assessments/{team['id']}/confirm", data=fields)
    assert refused.status_code == 409
    assert "Nothing was confirmed" in text_of(refused.text)
    assert "1 answer was changed or confirmed by someone else meanwhile" in text_of(refused.text)
    rows = carried_rows(web, team["id"])
    assert rows[changed] == (False, 2)
    assert all(rows[i] == (True, 1) for i in team["indicators"] if i != changed)
    assert revision(web, team["id"]) == before
    # The list shown again is today's: without the answer changed meanwhile.
    again = confirm_form(refused.text)["answer"]
    assert again == [f"leadership|{i}|1" for i in team["indicators"] if i != changed]


def test_bulk_confirmation_is_refused_outside_ones_areas_and_once_submitted(web, team):
    outsider = login(web, team["outsider"])
    assert outsider.get(f"/assessments/{team['id']}/confirm?area=policy").status_code == 403
    fields = {
        "csrf_token": csrf(outsider),
        "area": "policy",
        "answer": [f"leadership|{team['indicators'][0]}|1"],
    }
    assert outsider.post(f"/assessments/{team['id']}/confirm", data=fields).status_code == 403
    other_country = login(web, make_user(web, "coordinator", country="XAC"))
    assert other_country.get(f"/assessments/{team['id']}/confirm").status_code == 404

    coordinator = login(web, team["coordinator"])
    fields = confirm_form(coordinator.get(f"/assessments/{team['id']}/confirm").text)
    with web.state.sessionmaker.begin() as session:
        user = accounts.find_user(session, team["coordinator"])
        # Everything answered, then submitted: nothing may be confirmed any more.
        for capability_id, indicator_id in team["catalogue"].indicator_keys():
            if capability_id != "leadership":
                assessments.save_answer(
                    session,
                    user=user,
                    assessment_id=team["id"],
                    capability_id=capability_id,
                    indicator_id=indicator_id,
                    data=AnswerInput(version=0, response="unknown"),
                )
        assessments.confirm_carried_over(
            session,
            user=user,
            assessment_id=team["id"],
            expected=[("leadership", i, 1) for i in team["indicators"]],
        )
        assessments.submit(
            session,
            user=user,
            assessment_id=team["id"],
            signoff=SignOff(name="Ana Lima", position="Director", date="2026-01-01"),
        )
    refused = coordinator.post(f"/assessments/{team['id']}/confirm", data=fields)
    assert refused.status_code == 403
    assert coordinator.get(f"/assessments/{team['id']}/confirm").status_code == 403


def test_the_sign_off_page_calls_carried_over_answers_to_confirm(web, team):
    client = login(web, team["coordinator"])
    page = client.get(f"/assessments/{team['id']}/submit").text
    count = len(team["indicators"])
    text = text_of(page)
    assert f"{count} carried-over answers to confirm" in text
    listed = re.search(r'<ul id="to-confirm-list">(.*?)</ul>', page, re.S).group(1)
    assert listed.count("<li>") == count
    unanswered = re.search(r'<ul id="missing">(.*?)</ul>', page, re.S).group(1)
    assert "to confirm" not in text_of(unanswered)
    total = len(team["catalogue"].indicator_keys())
    assert f"{total - count} indicators still need an answer" in text
    assert f"/assessments/{team['id']}/confirm?back=" in page


def test_the_questionnaire_stays_light(web, team):
    client = login(web, team["contributor"])
    page = client.get(f"/assessments/{team['id']}{CAPABILITY}").content
    assets = sum(
        len(gzip.compress((STATIC_DIR / name).read_bytes())) for name in ("app.css", "app.js")
    )
    assert len(gzip.compress(page)) + assets < 100_000
