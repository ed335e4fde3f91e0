"""Hostile values in every JSON body field and every page form field: never a server error,
and a refusal that names the field it is about."""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from pydantic import Field, ValidationError

from app.accounts import service as accounts
from app.assessments import service as assessment_service
from app.assessments.schemas import SignOff
from app.core.errors import Invalid
from app.core.inputs import MAX_DB_INT, InputModel, Text, form_int, unstorable_reason
from app.web.pages.common import FIELD_LABELS
from tests.api_world import PASSWORD
from tests.reporting.report_helpers import make_worked

UNSTORABLE = ["\x00", "nul \x00 inside", "\x1b[31m", "\ufffe", "\uffff", "\ud800", "a\udfffb"]
TOO_BIG = [2**31, 2**63, 10**30, -(2**63) - 1]
ODD = ["²", "٣", "2" * 40, str(2**63), "x" * 120_000]
HOSTILE = [*UNSTORABLE, *TOO_BIG, *ODD]
# What a form can carry (UTF-8 has no lone surrogates), numbers as the text they arrive as.
FORM_UNSTORABLE = ["\x00", "\uffff"]
FORM_HOSTILE = [*FORM_UNSTORABLE, str(2**31), str(2**63), "²", "x" * 120_000]


def names_field(body: dict, field: str) -> bool:
    """Whether an error body names field, a part inside it (`comments.X`), or the list it
    is an item of (`evidence_links` for `evidence_links.0`)."""
    error = body["error"]
    named = [error.get("field") or ""] + [f["field"] for f in error["fields"]]
    return any(
        name == field
        or name.startswith(f"{field}.")
        or (field.startswith(f"{name}.") and field[len(name) + 1 :].isdigit())
        for name in named
        if name
    )


# ---------------------------------------------------------------- the shared rules


@pytest.mark.parametrize("text", ["0", "7", "  12 ", str(MAX_DB_INT)])
def test_form_integers_are_ascii_digits(text):
    assert form_int(text, field="version") == int(text)


@pytest.mark.parametrize("text", ["²", "٣", "1²", "-1", "1e3", "0x10", "", str(MAX_DB_INT + 1)])
def test_other_digits_and_out_of_range_numbers_are_refused_naming_the_field(text):
    with pytest.raises(Invalid) as refused:
        form_int(text, field="version")
    assert refused.value.field == "version"
    assert "whole number" in refused.value.message


def test_a_form_integer_above_its_maximum_is_refused_and_an_empty_one_takes_its_default():
    with pytest.raises(Invalid):
        form_int("10", field="level", maximum=9)
    assert form_int("", field="version", default=0) == 0


@pytest.mark.parametrize("text", UNSTORABLE)
def test_unstorable_characters_are_named_by_code_point(text):
    reason = unstorable_reason(text)
    assert reason is not None and "U+" in reason


@pytest.mark.parametrize("text", ["", "tab\there", "line\nbreak\r\n", "é ü ß 中文 🙂", "\u200b"])
def test_ordinary_text_is_storable(text):
    assert unstorable_reason(text) is None


class _Sample(InputModel):
    title: str
    tags: list[str] = Field(default_factory=list)
    notes: dict[str, str] = Field(default_factory=dict)
    plain: Text = ""


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": "a\x00"}, "title"),
        ({"title": "ok", "tags": ["fine", "\uffff"]}, "tags"),
        ({"title": "ok", "notes": {"\x01": "key"}}, "notes"),
        ({"title": "ok", "notes": {"k": "\ud800"}}, "notes"),
    ],
)
def test_input_models_refuse_unstorable_text_anywhere_in_a_field(data, field):
    with pytest.raises(ValidationError) as refused:
        _Sample.model_validate(data)
    assert refused.value.errors()[0]["loc"][0] == field


# ---------------------------------------------------------------- JSON bodies


@pytest.fixture(scope="module")
def worked(app_client):
    """A fully answered assessment with targets and one action, for every test here."""
    worked = make_worked(app_client, plan=False)
    added = worked.world.post(
        "coordinator",
        f"{worked.base}/action-plan/items",
        {"title": "Train prosecutors", "horizon": "short"},
    )
    assert added.status_code == 201, added.text
    return worked


def json_bodies(worked) -> list[tuple[str, str, str, dict]]:
    """Every JSON body the API reads, each with a valid example: (who, method, url, body)."""
    base = worked.base
    ids = worked.world.ids
    capability, indicator = "leadership", "national-strategy"
    return [
        ("coordinator", "POST", "/api/v1/assessments", {"country_code": "XAA", "cycle": "Z1"}),
        (
            "coordinator",
            "PUT",
            f"{base}/answers/{capability}/{indicator}",
            {
                "version": 1,
                "response": "level",
                "level": 1,
                "justification": "why",
                "evidence_notes": "notes",
                "evidence_links": ["https://example.org/a"],
                "confidence": "documented",
            },
        ),
        ("coordinator", "PUT", f"{base}/targets/{capability}", {"level": 2}),
        ("coordinator", "POST", f"{base}/assignments", {"area_id": "policy", "user_id": 1}),
        (
            "coordinator",
            "POST",
            f"{base}/comments",
            {"capability_id": capability, "indicator_id": indicator, "body": "a comment"},
        ),
        ("secretariat", "POST", f"{base}/return", {"comments": {capability: "redo"}}),
        (
            "coordinator",
            "POST",
            f"{base}/action-plan/items",
            {
                "title": "A title",
                "detail": "",
                "capability_id": capability,
                "lead_sector": None,
                "owner_agency": "Agency",
                "horizon": "short",
                "due_date": None,
                "notes": "",
            },
        ),
        (
            "coordinator",
            "PATCH",
            f"{base}/action-plan/items/1",
            {"version": 1, "owner_agency": "A", "notes": "n", "title": "T", "horizon": "long"},
        ),
        ("coordinator", "POST", f"{base}/imports/1/apply", {"take_workbook_for": ["x"]}),
        ("coordinator", "POST", "/api/v1/tokens", {"name": "laptop"}),
        (
            "admin",
            "POST",
            "/api/v1/users",
            {
                "email": "someone@example.org",
                "full_name": "Some One",
                "role": "viewer",
                "country_code": "XAA",
                "password": "long enough password",
            },
        ),
        ("admin", "PATCH", f"/api/v1/users/{ids['viewer']}", {"role": "viewer"}),
        ("coordinator", "PUT", "/api/v1/sharing", {"include_in_aggregates": True}),
        # Last: a sign-off it accepts makes the assessment read-only.
        (
            "coordinator",
            "POST",
            f"{base}/submit",
            {"name": "Amina Diallo", "position": "Coordinator", "date": "2020-01-01"},
        ),
    ]


def send_json(world, who: str, method: str, url: str, body):
    """Send body as JSON text: escaped, so that even a lone surrogate reaches the server."""
    headers = {**world.headers(who), "Content-Type": "application/json"}
    return world.client.request(method, url, content=json.dumps(body), headers=headers)


def test_hostile_values_in_every_json_body_field(worked):
    world = worked.world
    failures = []
    for who, method, url, example in json_bodies(worked):
        for field in example:
            for value in HOSTILE:
                answer = send_json(world, who, method, url, {**example, field: value})
                where = f"{method} {url} {field}={value!r:.30}"
                if answer.status_code >= 500:
                    failures.append(f"{where}: {answer.status_code}")
                    continue
                if answer.status_code < 400:
                    continue
                error = answer.json()
                refused_for_value = value in UNSTORABLE or value in TOO_BIG
                if refused_for_value and not (
                    answer.status_code == 422 and names_field(error, field)
                ):
                    failures.append(f"{where}: {answer.status_code} {error}")
    assert not failures, "\n".join(failures[:30])


def test_malformed_json_is_refused_naming_the_body(worked):
    world = worked.world
    for raw in ['{"level": ', "[1, 2", "\x00", '{"level": 2}}', "nan"]:
        answer = world.client.put(
            f"{worked.base}/targets/leadership",
            content=raw,
            headers={**world.headers("coordinator"), "Content-Type": "application/json"},
        )
        assert answer.status_code == 422, raw
        error = answer.json()["error"]
        assert error["code"] == "invalid"
        assert error["fields"] == [{"field": "body", "reason": "the body is not valid JSON"}]


def test_a_body_of_the_wrong_type_is_refused_naming_the_body(worked):
    world = worked.world
    url = f"{worked.base}/targets/leadership"
    as_text = world.client.put(
        url,
        content="level=2",
        headers={**world.headers("coordinator"), "Content-Type": "text/plain"},
    )
    assert as_text.status_code == 422
    assert as_text.json()["error"]["fields"] == [
        {"field": "body", "reason": "send a JSON object with Content-Type: application/json"}
    ]
    a_list = world.put("coordinator", url, json=[2])
    assert a_list.status_code == 422
    assert a_list.json()["error"]["fields"][0]["field"] == "body"
    missing = world.put("coordinator", url)
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"] == [
        {"field": "body", "reason": "a JSON body is required"}
    ]


def _leaves(document, path=()):
    """Every text and number inside a JSON document, with its path."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _leaves(value, (*path, index))
    elif isinstance(document, str | int) and not isinstance(document, bool):
        yield path, document


def _replaced(document, path, value):
    changed = copy.deepcopy(document)
    target = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return changed


def test_hostile_values_anywhere_in_an_imported_exchange_file(worked):
    world = worked.world
    exported = world.get("coordinator", f"{worked.base}/export.json").json()
    # One of each kind of record is enough: they all go through the same models.
    for part in ("answers", "targets", "action_items", "comments"):
        exported[part] = exported[part][:1]
    for answer in exported["answers"]:
        answer["history"] = answer["history"][:1]
    leaves = [path for path, _ in _leaves(exported) if path[0] not in ("format", "format_version")]
    assert len(leaves) > 30
    failures = []
    for path in leaves:
        for value in ["\x00", "\uffff", 2**63, 10**30]:
            changed = _replaced(exported, path, value)
            answer = send_json(world, "secretariat", "POST", "/api/v1/assessments/import", changed)
            where = ".".join(str(part) for part in path)
            if answer.status_code >= 500:
                failures.append(f"{where}={value!r}: {answer.status_code}")
            elif answer.status_code == 201:
                failures.append(f"{where}={value!r}: accepted")
            elif isinstance(value, str) and not names_field(answer.json(), where):
                failures.append(f"{where}={value!r}: {answer.json()['error']}")
    assert not failures, "\n".join(failures[:30])


# ---------------------------------------------------------------- page forms


class _Forms(HTMLParser):
    """The forms of a page: action, method and every named field with its shown value."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self._form = {
                "action": attributes.get("action", ""),
                "method": (attributes.get("method") or "get").lower(),
                "fields": {},
            }
            self.forms.append(self._form)
            return
        if self._form is None or not attributes.get("name"):
            return
        name = attributes["name"]
        fields = self._form["fields"]
        if tag == "input" and attributes.get("type") not in ("file",):
            if attributes.get("type") in ("radio", "checkbox") and name in fields:
                return
            fields[name] = attributes.get("value") or ""
        elif tag == "button":
            fields.setdefault(name, attributes.get("value") or "")
        elif tag == "select":
            self._select = name
            fields[name] = ""
        elif tag == "textarea":
            self._textarea = name
            fields[name] = ""
        if tag == "option" and self._select:
            pass

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data


def forms_of(page_html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(page_html)
    return [form for form in parser.forms if form["action"].startswith("/")]


def log_in(app, email: str) -> TestClient:
    client = TestClient(app)
    page = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "login_csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def _label(field: str) -> str:
    return str(FIELD_LABELS.get(field, field))


def sample_fields(fields: dict[str, str]) -> list[str]:
    """The form's fields, two of each family ('target-X', 'review-X') in forms with many."""
    kept: dict[str, list[str]] = {}
    for name in fields:
        family = kept.setdefault(name.split("-")[0], [])
        if len(family) < 2:
            family.append(name)
    return [name for family in kept.values() for name in family]


def try_forms(client, pages: list[str], skip=lambda form: False) -> tuple[int, list[str]]:
    """Post (or get) every form of pages with each field in turn set to each hostile value."""
    forms = {}
    for url in pages:
        shown = client.get(url)
        assert shown.status_code == 200, (url, shown.status_code)
        for form in forms_of(shown.text):
            if not skip(form):
                # One form of each kind: every action item's edit form reads the same fields.
                action = re.sub(r"\d+", "N", form["action"])
                forms.setdefault((action, form["method"], tuple(sorted(form["fields"]))), form)
    failures, tried = [], 0
    for form in forms.values():
        for field in sample_fields(form["fields"]):
            for value in FORM_HOSTILE:
                data = {**form["fields"], field: value}
                if form["method"] == "post":
                    answer = client.post(form["action"], data=data, follow_redirects=False)
                else:  # an address has room for a few thousand characters, not more
                    data[field] = value[:4000]
                    answer = client.get(form["action"], params=data, follow_redirects=False)
                tried += 1
                where = f"{form['method']} {form['action']} {field}={value!r:.30}"
                if answer.status_code >= 500:
                    failures.append(f"{where}: {answer.status_code}")
                elif value in FORM_UNSTORABLE and field not in ("csrf_token", "login_csrf"):
                    if answer.status_code != 422:
                        failures.append(f"{where}: {answer.status_code}, not refused")
                    elif f"<strong>{_label(field)}</strong>" not in answer.text:
                        failures.append(f"{where}: the refusal does not name the field")
                elif answer.headers.get("content-type", "").startswith("application/json"):
                    failures.append(f"{where}: a page answered with JSON")
    return tried, failures


def test_hostile_values_in_every_field_of_every_page_form(app_client):
    worked = make_worked(app_client, plan=True)  # its own: the forms change what they show
    app = app_client.app
    world = worked.world
    emails = {who: f"{who}-{world.tag}@example.org" for who in world.ids}
    base = f"/assessments/{worked.assessment_id}"
    victim = world.ids["contributor2"]

    def only_the_victim(form):
        # Administrators' row forms exist for every user; the one of a spare user will do.
        found = re.match(r"/admin/users/(\d+)/", form["action"])
        return bool(found) and int(found.group(1)) != victim

    total, failures = 0, []
    tried, found = try_forms(TestClient(app), ["/login"])
    total, failures = total + tried, failures + found

    coordinator = log_in(app, emails["coordinator"])
    coordinator_pages = [
        "/",
        base,
        f"{base}/areas/policy/capabilities/leadership",
        f"{base}/action-plan",
        "/sharing",
        "/account",
        f"{base}/submit",  # last: a sign-off it accepts makes the assessment read-only
    ]
    tried, found = try_forms(
        coordinator, coordinator_pages, skip=lambda form: form["action"] == "/logout"
    )
    total, failures = total + tried, failures + found

    admin = log_in(app, emails["admin"])
    tried, found = try_forms(admin, ["/admin/users"], skip=only_the_victim)
    total, failures = total + tried, failures + found

    # The review forms appear once the assessment is submitted (a form above may have).
    with app.state.sessionmaker.begin() as session:
        assessment = assessment_service.get_assessment(
            session,
            user=accounts.get_user(session, world.ids["coordinator"]),
            assessment_id=worked.assessment_id,
        )
        if assessment.status == "draft":
            assessment_service.submit(
                session,
                user=accounts.get_user(session, world.ids["coordinator"]),
                assessment_id=worked.assessment_id,
                signoff=SignOff(name="Amina Diallo", position="Coordinator", date=date.today()),
            )
    secretariat = log_in(app, emails["secretariat"])
    alliance_pages = [
        base,
        "/alliance",
        "/alliance/heatmap",
        "/alliance/distributions",
        "/alliance/trends",
        "/alliance/aggregates",
    ]
    tried, found = try_forms(
        secretariat, alliance_pages, skip=lambda form: form["action"] == "/logout"
    )
    total, failures = total + tried, failures + found

    assert total > 400  # every form of those pages, not a handful
    assert not failures, "\n".join(failures[:40])
