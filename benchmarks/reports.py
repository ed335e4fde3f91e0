"""How long the reports take: the gap report and the action plan on the full catalogue.

Builds a fresh SQLite database with a fully answered assessment (with a previous cycle,
targets and a worked action plan), then measures, for each report:

- download, first time: the whole API request with an empty report store (access check,
  report data, digest, a render job and the wait for it, store write, audit record);
- download, cached: the same request again, answered from the store;
- the parts: gathering the report data, Jinja2 HTML, and the PDF in a worker;
- the floor: WeasyPrint rendering the very same HTML in this process, with the same options.

Results are ratios within one run (our time / WeasyPrint's floor), so they compare across
machines. Run from the project root:

    .venv/bin/python benchmarks/reports.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import delete

from app.accounts import service as accounts
from app.assessments import service as assessment_service
from app.assessments.schemas import AssessmentCreate, SignOff
from app.core import migrate
from app.core.config import ReportSettings, Settings
from app.main import create_app
from app.reporting import context, pool, render, sample
from app.reporting.models import ReportFile

PASSWORD = "benchmark password 1"


@dataclass
class Sample:
    client: TestClient
    token: str
    assessment_id: int
    coordinator_id: int


def prepare(directory: Path, reports: ReportSettings | None = None) -> Sample:
    """A database with two cycles of a fully worked assessment, and an app serving it.

    By default downloads wait for their render and nothing renders unasked, so a download
    measures the whole render."""
    url = f"sqlite:///{directory / 'bench.db'}"
    migrate.upgrade(url)
    reports = reports or ReportSettings(download_wait=600, prepare_delay=3600)
    # The fictional demo countries (XAA) are stored only in demo mode.
    settings = Settings(database_url=url, reports=reports, demo_mode=True)
    client = TestClient(create_app(settings))
    client.__enter__()
    catalogue = client.app.state.catalogue.catalogue
    with client.app.state.sessionmaker.begin() as session:
        coordinator = accounts.create_user(
            session,
            email="coordinator@bench.example",
            full_name="Bench Coordinator",
            role="coordinator",
            country_code="XAA",
            password=PASSWORD,
        )
        secretariat = accounts.create_user(
            session,
            email="secretariat@bench.example",
            full_name="Bench Secretariat",
            role="secretariat",
            country_code=None,
            password=PASSWORD,
        )
        token, _ = accounts.issue_api_token(session, user=coordinator, name="bench")
        version_id = client.app.state.catalogue_version_id
        ids = []
        for cycle, shift in (("2025", -1), ("2026", 0)):
            created = assessment_service.create_assessment(
                session,
                user=coordinator,
                data=AssessmentCreate(country_code="XAA", cycle=cycle),
                catalogue_version_id=version_id,
            )
            sample.answer_all(
                session,
                user=coordinator,
                assessment_id=created.id,
                catalogue=catalogue,
                how=sample.SampleAnswers(seed=int(cycle), shift=shift),
            )
            sample.set_targets(
                session, user=coordinator, assessment_id=created.id, catalogue=catalogue, step=2
            )
            ids.append(created.id)
        signoff = SignOff(name="Bench Coordinator", position="Coordinator", date=date.today())
        assessment_service.submit(session, user=coordinator, assessment_id=ids[0], signoff=signoff)
        assessment_service.validate(session, user=secretariat, assessment_id=ids[0])
        sample.draw_up_plan(session, user=coordinator, assessment_id=ids[1], today=date.today())
        coordinator_id = coordinator.id
    return Sample(client, token, ids[1], coordinator_id)


def seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def rounds(actions: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Each action timed repeat times, the actions interleaved in every round.

    Interleaving means a busy moment on the machine slows every measure of that round alike,
    so the ratios between them hold even when the absolute times wander.
    """
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeat):
        for name, action in actions.items():
            times[name].append(seconds(action))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        bench = prepare(directory)
        renderer = render.ReportRenderer(workers=1)
        bench.client.app.state.report_renderer = renderer
        headers = {"Authorization": f"Bearer {bench.token}"}
        base = f"/api/v1/assessments/{bench.assessment_id}/reports"

        def download(name: str) -> bytes:
            response = bench.client.get(f"{base}/{name}", headers=headers)
            response.raise_for_status()
            return response.content

        def uncached(name: str) -> bytes:
            with bench.client.app.state.sessionmaker.begin() as session:
                session.execute(delete(ReportFile))
            return download(name)

        cold = seconds(lambda: uncached("gap.pdf"))
        rows: list[tuple[str, float, float | None]] = [
            ("gap: first download after start (starts a worker)", cold, None)
        ]
        session_factory = bench.client.app.state.sessionmaker
        for name, kind in (("gap.pdf", "gap"), ("action-plan.pdf", "action-plan")):
            pdf = uncached(name)
            with session_factory() as session:
                user = accounts.get_user(session, bench.coordinator_id)
                assessment = assessment_service.get_assessment(
                    session, user=user, assessment_id=bench.assessment_id
                )

                def build(session=session, user=user, assessment=assessment, kind=kind):
                    if kind == "gap":
                        return context.build_gap_report(
                            session,
                            user=user,
                            assessment=assessment,
                            locale="en",
                            figures=context.position_figures(session, assessment, k=5),
                        )
                    return context.build_action_plan(
                        session, user=user, assessment=assessment, locale="en", today=date.today()
                    )

                report = build()
                html = render.report_html(kind, report, locale="en")
                times = rounds(
                    {
                        "floor": lambda html=html: pool.render_pdf(
                            html, assets_root=render.REPORTS_DIR
                        ),
                        "data": build,
                        "html": lambda report=report, kind=kind: render.report_html(
                            kind, report, locale="en"
                        ),
                        "worker": lambda html=html: renderer.pool.render(html),
                        "download": lambda name=name: uncached(name),
                        "cached": lambda name=name: download(name),
                    },
                    args.repeat,
                )
            labels = {
                "data": "report data (queries, scoring, charts)",
                "html": "HTML (Jinja2)",
                "worker": "PDF in a render worker",
                "floor": "WeasyPrint floor: same HTML, in-process",
                "download": "download, not cached",
                "cached": "download, cached",
            }
            for key, label in labels.items():
                # The ratio is taken round by round, then its median, for the reason above.
                ratio = statistics.median(
                    mine / own for mine, own in zip(times[key], times["floor"], strict=True)
                )
                rows.append((f"{kind}: {label}", statistics.median(times[key]), ratio))
            pages = len(PdfReader(io.BytesIO(pdf)).pages)
            print(f"{kind}: {len(pdf):,} bytes, {pages} pages", file=sys.stderr)
        renderer.close()
        bench.client.__exit__(None, None, None)

    width = max(len(name) for name, _, _ in rows)
    print(f"{'measure':<{width}}  {'median':>9}  {'÷ floor':>8}")
    for name, median, ratio in rows:
        shown = f"{ratio:8.3f}" if ratio is not None else " " * 8
        print(f"{name:<{width}}  {median * 1000:7.0f}ms  {shown}")


if __name__ == "__main__":
    main()
