"""Reports across processes: `gsr serve` and `gsr worker` as real subprocesses on PostgreSQL
(two web servers, workers that render once and survive a killed colleague), and a SQLite
installation restored from an older backup."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.accounts import service as accounts
from app.assessments.models import Assessment
from app.core.db import make_engine, session_factory
from app.countries.models import Country
from app.reporting.models import ReportFile, ReportRender
from tests.core.test_concurrency import DEMO_EMAIL, GSR, PROJECT_ROOT, _free_port, _gsr
from tests.reporting.report_helpers import read_pdf, squash


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "GSR_DATABASE_URL": url,
        "GSR_DEMO_MODE": "true",
        "GSR_JOBS_RUNNER": "auto",
    }
    env.update(extra)
    env.pop("GSR_AGGREGATE_MIN_GROUP", None)
    return env


def _install(url: str, env: dict[str, str]) -> tuple[str, int]:
    """Migrate, load the demo data; a token of XAA's coordinator and its 2026 assessment."""
    _gsr(env, "db", "upgrade")
    _gsr(env, "demo", "load")
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        user = accounts.find_user(session, DEMO_EMAIL.format("coordinator.xaa"))
        token, _ = accounts.issue_api_token(session, user=user, name="jobs")
        assessment_id = session.scalar(
            select(Assessment.id)
            .join(Country, Country.id == Assessment.country_id)
            .where(Country.code == "XAA", Assessment.cycle == "2026")
        )
    engine.dispose()
    return token, assessment_id


@contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(GSR), *args], env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _serve(env, log: Path):
    port = _free_port()
    return port, _process(["serve", "--port", str(port)], env, log)


def _wait_ready(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _download(base: str, token: str, path: str, timeout: float = 600) -> httpx.Response:
    """Ask for a report as an API client does: on 202, poll the status URL, then again."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        while True:
            answer = client.get(path)
            if answer.status_code != 202:
                return answer
            assert int(answer.headers["Retry-After"]) >= 1
            status_url = answer.headers["Location"]
            assert answer.json()["status_url"] == status_url
            path = answer.json()["download_url"]  # asks again for the report it waited for
            while time.monotonic() < deadline:
                time.sleep(0.5)
                state = client.get(status_url).json()["state"]
                if state != "preparing":
                    break
            assert time.monotonic() < deadline, "the report was never prepared"


def _rows(url: str, model) -> list:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        found = list(session.scalars(select(model)))
    engine.dispose()
    return found


def _rendered_lines(*logs: Path) -> list[str]:
    return [line for log in logs for line in log.read_text().splitlines() if "rendered " in line]


@pytest.fixture
def postgresql_url(make_database) -> str:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    return make_database("postgresql").url


def test_two_servers_two_workers_render_once_and_serve_alike(postgresql_url, tmp_path):
    env = _env(
        postgresql_url,
        GSR_REPORTS_DOWNLOAD_WAIT="0",  # every first download answers 202 at once
        GSR_REPORTS_PREPARE_DELAY="3600",  # only what is asked for is rendered here
        GSR_REPORTS_RENDER_TIMEOUT="900",
    )
    token, assessment_id = _install(postgresql_url, env)
    path = f"/api/v1/assessments/{assessment_id}/reports/gap.pdf"
    logs = [tmp_path / name for name in ("web1", "web2", "worker1", "worker2")]
    port1, web1 = _serve(env, logs[0])
    port2, web2 = _serve(env, logs[1])
    with (
        web1 as server1,
        web2 as server2,
        _process(["worker", "--concurrency", "1"], env, logs[2]),
        _process(["worker", "--concurrency", "1"], env, logs[3]),
    ):
        first, second = f"http://127.0.0.1:{port1}", f"http://127.0.0.1:{port2}"
        _wait_ready(first, server1, logs[0])
        _wait_ready(second, server2, logs[1])
        headers = {"Authorization": f"Bearer {token}"}
        asked = httpx.get(first + path, headers=headers, timeout=120)
        assert asked.status_code == 202, asked.text
        # The other server, asked meanwhile, joins the same render instead of a second one.
        assert httpx.get(second + path, headers=headers, timeout=120).status_code == 202
        pdf = _download(first, token, path)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        again = httpx.get(second + path, headers=headers, timeout=120)
        assert again.status_code == 200 and again.content == pdf.content
        assert "Arvenia" in squash(" ".join(read_pdf(pdf.content)[1]))
    rendered = _rendered_lines(*logs[2:])
    assert len(rendered) == 1, rendered
    assert len(_rows(postgresql_url, ReportFile)) == 1
    assert not _rows(postgresql_url, ReportRender)
    assert not _rendered_lines(*logs[:2])  # web servers never render on PostgreSQL


def test_a_worker_killed_mid_render_loses_nothing(postgresql_url, tmp_path):
    env = _env(
        postgresql_url,
        GSR_REPORTS_DOWNLOAD_WAIT="0",
        GSR_REPORTS_PREPARE_DELAY="3600",
        GSR_REPORTS_RENDER_TIMEOUT="900",
        GSR_JOBS_HEARTBEAT="1",
        GSR_JOBS_STALLED_AFTER="4",
    )
    token, assessment_id = _install(postgresql_url, env)
    path = f"/api/v1/assessments/{assessment_id}/reports/gap.pdf"
    logs = [tmp_path / name for name in ("web", "doomed", "survivor")]
    port, web = _serve(env, logs[0])
    with web as server:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, server, logs[0])
        with _process(["worker", "--concurrency", "1"], env, logs[1]) as doomed:
            headers = {"Authorization": f"Bearer {token}"}
            assert httpx.get(base + path, headers=headers, timeout=120).status_code == 202
            deadline = time.monotonic() + 120
            while not [r for r in _rows(postgresql_url, ReportRender) if r.state == "rendering"]:
                assert doomed.poll() is None, logs[1].read_text()
                assert time.monotonic() < deadline, logs[1].read_text()
                time.sleep(0.1)
            os.kill(doomed.pid, signal.SIGKILL)  # mid-render: no chance to clean up
            doomed.wait(timeout=30)
        assert not _rendered_lines(logs[1])
        with _process(["worker", "--concurrency", "1"], env, logs[2]):
            pdf = _download(base, token, path)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert len(_rendered_lines(logs[2])) == 1
    assert "is retried" in logs[2].read_text()
    assert len(_rows(postgresql_url, ReportFile)) == 1
    assert not _rows(postgresql_url, ReportRender)


def _justify(base: str, token: str, assessment_id: int, text: str) -> None:
    """Change the first answer's justification of the assessment through the API."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        answers = client.get(f"/api/v1/assessments/{assessment_id}/answers").json()
        first = next(a for a in answers if a["response"] == "level")
        path = (
            f"/api/v1/assessments/{assessment_id}/answers/"
            f"{first['capability_id']}/{first['indicator_id']}"
        )
        saved = client.put(
            path,
            json={
                "version": first["version"],
                "response": "level",
                "level": first["level"],
                "justification": text,
            },
        )
        assert saved.status_code == 200, saved.text


def test_after_restoring_an_older_backup_every_pdf_shows_the_restored_data(make_database, tmp_path):
    database = make_database("sqlite")
    env = _env(database.url, GSR_REPORTS_RENDER_TIMEOUT="900", GSR_REPORTS_PREPARE_DELAY="1")
    token, assessment_id = _install(database.url, env)
    paths = [
        f"/api/v1/assessments/{assessment_id}/reports/{name}"
        for name in ("gap.pdf", "action-plan.pdf")
    ]
    backup = tmp_path / "before.db"

    def texts(base: str) -> list[str]:
        found = []
        for path in paths:
            answer = _download(base, token, path)
            assert answer.status_code == 200, answer.text
            found.append(squash(" ".join(read_pdf(answer.content)[1])))
        return found

    port, web = _serve(env, tmp_path / "web1")
    with web as server:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, server, tmp_path / "web1")
        _justify(base, token, assessment_id, "Checked against the statute book in March.")
        assert "Checked against the statute book in March." in texts(base)[0]
        _gsr(env, "backup", str(backup))
        _justify(base, token, assessment_id, "Rewritten after the June inspection.")
        newer = texts(base)
        assert "Rewritten after the June inspection." in newer[0]
        time.sleep(2)  # let the background preparation after the edit finish too
    _gsr(env, "restore", "--yes", str(backup))

    port, web = _serve(env, tmp_path / "web2")
    with web as server:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, server, tmp_path / "web2")
        restored = texts(base)
    assert "Checked against the statute book in March." in restored[0]
    assert "Rewritten after the June inspection." not in restored[0]
    # The action plan prints the data's revision on its cover: the restored one, too.
    assert restored[1] != newer[1]


def test_a_worker_on_sqlite_refuses_and_says_why(tmp_path):
    env = _env(f"sqlite:///{tmp_path / 'gsr.db'}")
    done = subprocess.run(
        [str(GSR), "worker"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "gsr worker needs PostgreSQL" in done.stderr
    assert "`gsr serve` runs the background jobs itself" in done.stderr
