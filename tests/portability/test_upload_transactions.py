"""An upload is parsed with no transaction open; its writes follow in one short transaction."""

from __future__ import annotations

import json
import sqlite3
from io import BytesIO

import pytest
from openpyxl import load_workbook

from app.accounts.models import User
from app.assessments import service as assessments
from app.assessments.schemas import AnswerInput
from app.portability import exchange
from app.portability import workbook as wb
from tests.portability.conftest import (
    download_bytes,
    put_answer,
    row_of,
    snapshot,
    to_bytes,
    upload,
)

KEY = "leadership.national-strategy"
POLICY = "Policy and legislation"


def database_is_free(client) -> bool:
    """No connection of the application is in use, and another writer could write now."""
    engine = client.app.state.engine
    if engine.pool.checkedout() != 0:
        return False
    if engine.dialect.name != "sqlite":
        return True  # no connection checked out means no transaction open
    probe = sqlite3.connect(engine.url.database, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")  # takes the write lock, or fails at once
        probe.rollback()
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


@pytest.fixture
def probed(monkeypatch, client):
    """Wraps a parser so each call first records whether the database is free."""
    seen: list[bool] = []

    def wrap(owner, name: str) -> None:
        parse = getattr(owner, name)

        def probing(*args, **kwargs):
            seen.append(database_is_free(client))
            return parse(*args, **kwargs)

        monkeypatch.setattr(owner, name, probing)

    wrap.seen = seen
    wrap.undo = monkeypatch.undo
    return wrap


def test_a_workbook_is_parsed_with_no_transaction_open(world, client, new_assessment, probed):
    assessment_id = new_assessment("T")
    put_answer(world, "coordinator", assessment_id, KEY, level=1)
    book = load_workbook(BytesIO(download_bytes(world, "coordinator", assessment_id)))
    ws = book[POLICY]
    ws[f"D{row_of(ws, KEY)}"] = "3 - Established"
    data = to_bytes(book)

    probed(wb, "load_workbook")  # openpyxl's loader, as the upload reader calls it
    response = upload(world, "coordinator", assessment_id, data)
    probed.undo()

    assert response.status_code == 201, response.text
    assert probed.seen == [True]
    preview = response.json()
    assert [(c["key"], c["new"]["level"]) for c in preview["changes"]] == [(KEY, 3)]
    # The preview was stored by the transaction after the parse.
    assert snapshot(client, assessment_id)["imports"] == 1


def test_a_refused_workbook_is_refused_unlocked_and_stores_nothing(
    world, client, new_assessment, probed
):
    assessment_id = new_assessment("U")
    other = new_assessment("V")
    before = snapshot(client, assessment_id)
    probed(wb, "load_workbook")
    response = upload(
        world, "coordinator", assessment_id, download_bytes(world, "coordinator", other)
    )
    probed.undo()
    assert response.status_code == 422
    assert "belongs to another assessment" in response.json()["error"]["message"]
    assert probed.seen == [True]
    assert snapshot(client, assessment_id) == before


def test_an_exchange_file_is_parsed_with_no_transaction_open(world, client, new_assessment, probed):
    source = new_assessment("W")
    put_answer(world, "coordinator", source, KEY, level=2)
    document = world.get("coordinator", f"/api/v1/assessments/{source}/export.json").json()
    document["assessment"]["cycle"] = f"M{world.tag}"
    text = json.dumps(document).encode()

    probed(exchange.json, "loads")
    response = world.client.post(
        "/api/v1/assessments/import",
        content=text,
        headers=world.headers("secretariat") | {"content-type": "application/json"},
    )
    probed.undo()

    assert response.status_code == 201, response.text
    assert probed.seen and all(probed.seen)
    imported = response.json()
    assert imported["cycle"] == f"M{world.tag}"
    version, content, _ = snapshot(client, imported["id"])["answers"][KEY]
    assert (version, content["level"]) == (1, 2)


def test_an_answer_saved_while_the_workbook_is_parsed_is_compared_as_it_is_then(
    world, client, new_assessment, monkeypatch
):
    assessment_id = new_assessment("P")
    put_answer(world, "coordinator", assessment_id, KEY, level=1)
    book = load_workbook(BytesIO(download_bytes(world, "coordinator", assessment_id)))
    ws = book[POLICY]
    ws[f"D{row_of(ws, KEY)}"] = "3 - Established"
    data = to_bytes(book)
    real_load = wb.load_workbook

    def load_while_the_form_saves(*args, **kwargs):
        # The web form saves while the upload is parsed: it must not wait for a lock.
        with client.app.state.sessionmaker.begin() as session:
            capability_id, indicator_id = KEY.split(".")
            assessments.save_answer(
                session,
                user=session.get(User, world.ids["coordinator"]),
                assessment_id=assessment_id,
                capability_id=capability_id,
                indicator_id=indicator_id,
                data=AnswerInput(version=1, response="level", level=2),
                source="web",
            )
        return real_load(*args, **kwargs)

    monkeypatch.setattr(wb, "load_workbook", load_while_the_form_saves)
    response = upload(world, "coordinator", assessment_id, data)
    monkeypatch.undo()

    assert response.status_code == 201, response.text
    preview = response.json()
    # Compared with the answer as it was after the parse: the form's level 2 stands
    # against the workbook's 3, as a conflict, not as a change over level 1.
    assert preview["changes"] == []
    (conflict,) = preview["conflicts"]
    assert (conflict["key"], conflict["exported_version"], conflict["current_version"]) == (
        KEY,
        1,
        2,
    )
    assert (conflict["current"]["level"], conflict["workbook"]["level"]) == (2, 3)
