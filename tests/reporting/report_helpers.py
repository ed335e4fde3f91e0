"""Helpers for the report tests: a worked assessment, and PDFs read back as text."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date

from pypdf import PdfReader
from sqlalchemy import delete, select

from app.accounts import service as accounts
from app.assessments import service as assessment_service
from app.assessments.schemas import SignOff
from app.reporting import sample
from app.reporting.models import ReportFile, ReportRender
from tests.api_world import People, World, make_world


@dataclass
class Worked:
    world: World
    previous_id: int
    assessment_id: int
    cycle: str
    previous_cycle: str

    @property
    def base(self) -> str:
        return f"/api/v1/assessments/{self.assessment_id}"


def make_worked(app_client, *, plan: bool = True, people: People | None = None) -> Worked:
    """Two cycles of XAA: the first validated, the second fully answered with targets."""
    world = make_world(app_client, people)
    catalogue = app_client.app.state.catalogue.catalogue
    cycles = (f"A{world.tag}", f"B{world.tag}")
    ids = []
    for cycle in cycles:
        created = world.post(
            "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": cycle}
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    with app_client.app.state.sessionmaker.begin() as session:
        coordinator = accounts.get_user(session, world.ids["coordinator"])
        secretariat = accounts.get_user(session, world.ids["secretariat"])
        for assessment_id, shift in ((ids[0], -1), (ids[1], 0)):
            sample.answer_all(
                session,
                user=coordinator,
                assessment_id=assessment_id,
                catalogue=catalogue,
                how=sample.SampleAnswers(seed=assessment_id, shift=shift),
            )
            sample.set_targets(
                session,
                user=coordinator,
                assessment_id=assessment_id,
                catalogue=catalogue,
                step=2,
            )
        signoff = SignOff(name="Amina Diallo", position="Coordinator", date=date.today())
        assessment_service.submit(session, user=coordinator, assessment_id=ids[0], signoff=signoff)
        assessment_service.validate(session, user=secretariat, assessment_id=ids[0])
        if plan:
            sample.draw_up_plan(session, user=coordinator, assessment_id=ids[1], today=date.today())
    return Worked(world, ids[0], ids[1], cycles[1], cycles[0])


def read_pdf(content: bytes) -> tuple[PdfReader, list[str]]:
    """The PDF and the text of each of its pages."""
    reader = PdfReader(io.BytesIO(content))
    return reader, [page.extract_text() for page in reader.pages]


def outline_titles(reader: PdfReader) -> list[str]:
    """Every bookmark title, depth first."""
    titles: list[str] = []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(item.title)

    walk(reader.outline)
    return titles


def squash(text: str) -> str:
    """Text as one line, hyphenation undone, for phrases a layout may wrap."""
    text = text.replace("\u2010\n", "").replace("\u2010", "").replace("-\n", "-")
    return re.sub(r"\s+", " ", text).strip()


def page_with(pages: list[str], phrase: str, start: int = 0) -> int:
    """The number (from 1) of the first page from start whose text holds phrase."""
    for index, text in enumerate(pages[start:], start=start):
        if phrase in squash(text):
            return index + 1
    raise AssertionError(f"{phrase!r} is on no page")


def figure_alts(reader: PdfReader) -> list[str | None]:
    """The alternate text of every /Figure element in the structure tree, in tree order."""
    found: list[str | None] = []
    seen: set[int] = set()

    def walk(node) -> None:
        node = node.get_object()
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not hasattr(node, "keys") or id(node) in seen:
            return
        seen.add(id(node))
        if node.get("/S") == "/Figure":
            alt = node.get("/Alt")
            found.append(str(alt) if alt is not None else None)
        kids = node.get("/K")
        if kids is not None:
            walk(kids)

    walk(reader.trailer["/Root"]["/StructTreeRoot"])
    return found


def quiet_jobs(app, timeout: float = 600) -> None:
    """No background job waiting or running: waiting ones are dropped (e.g. the debounced
    preparation after the fixtures' saves), running ones finish; a job that a running one
    defers is dropped in turn."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        app.state.jobs.discard_waiting()
        if app.state.jobs.wait_idle(timeout=1):
            return
        assert time.monotonic() < deadline, "background jobs never settled"


def empty_store(app) -> None:
    """No stored PDF and no render asked for: every report renders anew."""
    quiet_jobs(app)
    with app.state.sessionmaker.begin() as session:
        session.execute(delete(ReportRender))
        session.execute(delete(ReportFile))


def stored_reports(app) -> list[ReportFile]:
    """Every PDF in the report store."""
    with app.state.sessionmaker() as session:
        return list(session.scalars(select(ReportFile)))


def pending_renders(app) -> list[ReportRender]:
    """Every render asked for or under way."""
    with app.state.sessionmaker() as session:
        return list(session.scalars(select(ReportRender)))


def download_report(client, url: str, *, headers: dict | None = None, timeout: float = 600):
    """A report download as a client does it: while the answer is 202 (API: JSON with the
    status URL; pages: the "being prepared" page), poll the status URL, then ask again."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(url, headers=headers)
        if answer.status_code != 202:
            return answer
        if answer.headers["content-type"].startswith("application/json"):
            status_url, url = answer.json()["status_url"], answer.json()["download_url"]
        else:
            status_url = re.search(r'data-status-url="([^"]+)"', answer.text).group(1)
            found = re.search(r'data-download-url="([^"]+)"', answer.text).group(1)
            url = found.replace("&amp;", "&")
        while time.monotonic() < deadline:
            time.sleep(0.2)
            if client.get(status_url, headers=headers).json()["state"] != "preparing":
                break
        assert time.monotonic() < deadline, f"{url} was never prepared"
