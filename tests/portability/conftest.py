"""Fixtures for workbook and exchange tests: the routes, assessments, snapshots, files."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.assessments.models import Answer, AnswerChange, Target
from app.assessments.service import answer_content
from app.portability.models import PendingImport

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def client(app_client):
    return app_client


@pytest.fixture
def new_assessment(world, client):
    """Create an XAA assessment (as its coordinator) with a cycle unique to the test."""

    def create(prefix: str = "X") -> int:
        response = world.post(
            "coordinator",
            "/api/v1/assessments",
            {"country_code": "XAA", "cycle": f"{prefix}{world.tag}"},
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return create


def answer_url(assessment_id: int, key: str) -> str:
    capability_id, indicator_id = key.split(".")
    return f"/api/v1/assessments/{assessment_id}/answers/{capability_id}/{indicator_id}"


def put_answer(world, who: str, assessment_id: int, key: str, version: int = 0, **fields):
    body = {"version": version, "response": "level", "level": 1, **fields}
    response = world.put(who, answer_url(assessment_id, key), body)
    assert response.status_code == 200, response.text
    return response.json()


def snapshot(client, assessment_id: int) -> dict[str, Any]:
    """Everything an upload could change: answers, history size, targets, pending imports."""
    with client.app.state.sessionmaker() as session:
        answers = {
            f"{a.capability_id}.{a.indicator_id}": (a.version, answer_content(a), a.carried_over)
            for a in session.scalars(select(Answer).where(Answer.assessment_id == assessment_id))
        }
        history = session.scalar(
            select(func.count())
            .select_from(AnswerChange)
            .join(Answer, Answer.id == AnswerChange.answer_id)
            .where(Answer.assessment_id == assessment_id)
        )
        targets = {
            t.capability_id: (t.level, t.version)
            for t in session.scalars(select(Target).where(Target.assessment_id == assessment_id))
        }
        imports = session.scalar(
            select(func.count())
            .select_from(PendingImport)
            .where(PendingImport.assessment_id == assessment_id)
        )
    return {"answers": answers, "history": history, "targets": targets, "imports": imports}


def history_of(client, assessment_id: int, key: str) -> list[AnswerChange]:
    capability_id, indicator_id = key.split(".")
    with client.app.state.sessionmaker() as session:
        return list(
            session.scalars(
                select(AnswerChange)
                .join(Answer, Answer.id == AnswerChange.answer_id)
                .where(
                    Answer.assessment_id == assessment_id,
                    Answer.capability_id == capability_id,
                    Answer.indicator_id == indicator_id,
                )
                .order_by(AnswerChange.version)
            )
        )


def download(world, who: str, assessment_id: int) -> Workbook:
    response = world.get(who, f"/api/v1/assessments/{assessment_id}/workbook.xlsx")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    return load_workbook(BytesIO(response.content))


def download_bytes(world, who: str, assessment_id: int) -> bytes:
    response = world.get(who, f"/api/v1/assessments/{assessment_id}/workbook.xlsx")
    assert response.status_code == 200, response.text
    return response.content


def to_bytes(book: Workbook) -> bytes:
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(world, who: str, assessment_id: int, data: bytes, name: str = "filled.xlsx"):
    return world.client.post(
        f"/api/v1/assessments/{assessment_id}/workbook",
        files={"file": (name, data, XLSX)},
        headers=world.headers(who),
    )


def row_of(ws, key: str) -> int:
    """The row whose reference cell (column A) holds key."""
    for (cell,) in ws.iter_rows(min_col=1, max_col=1):
        if cell.value == key:
            return cell.row
    raise KeyError(key)
