"""Concurrency against real servers: `gsr serve` processes on SQLite and PostgreSQL.

A report rendering while other countries save, overlapping saves of one assessment, and
saves racing a sign-off: no request may fail with a 5xx, no acknowledged write may be
lost, and no answer may land in an assessment after it was signed off.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from app.accounts import service as accounts
from app.assessments.models import Answer, AnswerChange, Assessment
from app.core.db import make_engine, session_factory
from app.countries.models import Country

GSR = Path(sys.executable).with_name("gsr")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_EMAIL = "{}@gsr-demo.example"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _gsr(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(GSR), *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


@dataclass
class Installation:
    """A migrated database with the demo data, served by `gsr serve`."""

    url: str
    base: str
    tokens: dict[str, str]
    ids: dict[tuple[str, str], int]
    log: Path
    calls: Counter = field(default_factory=Counter)

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
            timeout=120,
        )

    def revision(self, assessment_id: int) -> int:
        engine = make_engine(self.url)
        with session_factory(engine)() as session:
            found = session.get(Assessment, assessment_id).revision
        engine.dispose()
        return found


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request) -> str:
    if request.param == "postgresql" and not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    return request.param


@pytest.fixture(scope="module", params=[1, 4], ids=["1-worker", "4-workers"])
def installation(backend, request, make_database, tmp_path_factory) -> Iterator[Installation]:
    database = make_database(backend)
    env = {
        **os.environ,
        "GSR_DATABASE_URL": database.url,
        "GSR_DEMO_MODE": "true",
        # What is tested is correctness under overlap, not render speed on a busy machine.
        "GSR_REPORTS_RENDER_TIMEOUT": "900",
        # A download waits for its render (done by the server itself on SQLite, by a
        # `gsr worker` on PostgreSQL) instead of answering 202 while it is prepared.
        "GSR_REPORTS_DOWNLOAD_WAIT": "600",
        "GSR_JOBS_RUNNER": "auto",
    }
    env.pop("GSR_AGGREGATE_MIN_GROUP", None)
    _gsr(env, "db", "upgrade")
    _gsr(env, "demo", "load")
    engine = make_engine(database.url)
    with session_factory(engine).begin() as session:
        tokens = {}
        for who in ("coordinator.xaa", "coordinator.xab", "coordinator.xac", "secretariat"):
            user = accounts.find_user(session, DEMO_EMAIL.format(who))
            tokens[who], _ = accounts.issue_api_token(session, user=user, name="load")
        rows = session.execute(
            select(Country.code, Assessment.cycle, Assessment.id).join(
                Country, Country.id == Assessment.country_id
            )
        )
        ids = {(code, cycle): assessment_id for code, cycle, assessment_id in rows}
    engine.dispose()

    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(GSR), "serve", "--port", str(port), "--workers", str(request.param)],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    worker = None
    if backend == "postgresql":
        with (log.parent / "worker.log").open("w") as out:
            worker = subprocess.Popen(
                [str(GSR), "worker"], env=env, cwd=PROJECT_ROOT, stdout=out, stderr=out
            )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not start:\n" + log.read_text()
            time.sleep(0.2)
        yield Installation(database.url, base, tokens, ids, log)
    finally:
        for process in (server, worker):
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _save_loop(
    inst: Installation, who: str, assessment_id: int, keys: list[tuple[str, str]], stop
) -> Counter:
    """Save answer after answer until told to stop; counts statuses and changed saves.

    A connection dropped by the client's side of a busy machine is counted apart ("lost"):
    its save may or may not have landed, so it bounds the revision check from above.
    """
    seen: Counter = Counter()
    rounds = 0
    while not stop.is_set() and rounds < 200:
        with inst.client(who) as client:
            try:
                for capability_id, indicator_id in keys:
                    path = (
                        f"/api/v1/assessments/{assessment_id}/answers/"
                        f"{capability_id}/{indicator_id}"
                    )
                    current = client.get(path + "/history")
                    version = 0
                    if current.status_code == 200 and current.json():
                        version = current.json()[0]["version"]
                    level = (rounds + version) % 4
                    answer = client.put(
                        path, json={"version": version, "response": "level", "level": level}
                    )
                    seen[answer.status_code] += 1
                    if answer.status_code == 200 and answer.json()["version"] == version + 1:
                        seen["changed"] += 1
            except httpx.TransportError:
                seen["lost"] += 1
        rounds += 1
    return seen


def _editable_keys(inst: Installation, who: str, assessment_id: int) -> list[tuple[str, str]]:
    with inst.client(who) as client:
        answers = client.get(f"/api/v1/assessments/{assessment_id}/answers").json()
    keys = sorted({(a["capability_id"], a["indicator_id"]) for a in answers})
    assert keys, "the demo assessment has answers"
    return keys


def test_a_report_renders_while_other_countries_save(installation: Installation):
    inst = installation
    report_of = inst.ids[("XAA", "2026")]
    savers = {
        "coordinator.xac": inst.ids[("XAC", "2026")],  # returned: open for changes
        "coordinator.xaa": report_of,
    }
    before = {who: inst.revision(aid) for who, aid in savers.items()}
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=6) as pool:
        jobs = {}
        for who, assessment_id in savers.items():
            keys = _editable_keys(inst, who, assessment_id)
            # Two clients on one token, saving different answers of one assessment.
            half = len(keys) // 2
            jobs[(who, 0)] = pool.submit(
                _save_loop, inst, who, assessment_id, keys[:half][:6], stop
            )
            jobs[(who, 1)] = pool.submit(
                _save_loop, inst, who, assessment_id, keys[half:][:6], stop
            )
        # A connection each: on a busy machine a kept-alive one may be closed in between.
        with inst.client("coordinator.xaa") as reader:
            report = reader.get(f"/api/v1/assessments/{report_of}/reports/gap.pdf")
        with inst.client("coordinator.xaa") as reader:
            plan = reader.get(f"/api/v1/assessments/{report_of}/reports/action-plan.pdf")
        stop.set()
        results = {key: job.result() for key, job in jobs.items()}

    assert report.status_code == 200, report.text
    assert report.content.startswith(b"%PDF")
    assert plan.status_code == 200, plan.text
    totals: Counter = sum(results.values(), Counter())
    failures = {code: n for code, n in totals.items() if isinstance(code, int) and code >= 500}
    assert not failures, f"{failures} in {dict(totals)}\n{inst.log.read_text()[-3000:]}"
    assert totals[200] > 0
    # Every acknowledged change counted once: the revision never loses an increment.
    for who, assessment_id in savers.items():
        changed = results[(who, 0)]["changed"] + results[(who, 1)]["changed"]
        lost = results[(who, 0)]["lost"] + results[(who, 1)]["lost"]
        assert changed <= inst.revision(assessment_id) - before[who] <= changed + lost
    assert totals["lost"] <= totals[200] // 10, totals  # drops are rare, not the rule
    assert "database is locked" not in inst.log.read_text()


def test_a_save_racing_a_sign_off_never_lands_after_it(installation: Installation):
    inst = installation
    assessment_id = inst.ids[("XAB", "2026")]  # submitted in the demo data
    signoff = {"name": "Kwame Mensah", "position": "National coordinator", "date": "2026-01-05"}
    with inst.client("secretariat") as secretariat, inst.client("coordinator.xab") as coordinator:
        keys = _editable_keys(inst, "coordinator.xab", assessment_id)
        outcomes: Counter = Counter()
        for round_number in range(8):
            returned = secretariat.post(
                f"/api/v1/assessments/{assessment_id}/return",
                json={"comments": {keys[0][0]: f"Round {round_number}: please check."}},
            )
            assert returned.status_code == 200, returned.text
            capability_id, indicator_id = keys[round_number % len(keys)]
            path = f"/api/v1/assessments/{assessment_id}/answers/{capability_id}/{indicator_id}"
            version = coordinator.get(path + "/history").json()[0]["version"]
            current = coordinator.get(f"/api/v1/assessments/{assessment_id}/answers").json()
            level = next(
                a["level"]
                for a in current
                if (a["capability_id"], a["indicator_id"]) == (capability_id, indicator_id)
            )
            new_level = 0 if level else 1
            barrier = threading.Barrier(2)

            def save(version=version, path=path, new_level=new_level, barrier=barrier):
                barrier.wait()
                return coordinator.put(
                    path, json={"version": version, "response": "level", "level": new_level}
                )

            def submit(barrier=barrier):
                barrier.wait()
                return coordinator.post(f"/api/v1/assessments/{assessment_id}/submit", json=signoff)

            with ThreadPoolExecutor(max_workers=2) as pool:
                saved, submitted = pool.submit(save), pool.submit(submit)
                saved, submitted = saved.result(), submitted.result()
            assert saved.status_code < 500 and submitted.status_code < 500, (
                saved.text,
                submitted.text,
            )
            outcomes[(saved.status_code, submitted.status_code)] += 1
            if submitted.status_code != 200:  # the save won the race: sign off again now
                again = coordinator.post(
                    f"/api/v1/assessments/{assessment_id}/submit", json=signoff
                )
                assert again.status_code == 200, again.text
            engine = make_engine(inst.url)
            with session_factory(engine)() as session:
                assessment = session.get(Assessment, assessment_id)
                assert assessment.status == "submitted"
                answer = session.scalar(
                    select(Answer).where(
                        Answer.assessment_id == assessment_id,
                        Answer.capability_id == capability_id,
                        Answer.indicator_id == indicator_id,
                    )
                )
                # An acknowledged save is kept, and happened before the sign-off.
                if saved.status_code == 200:
                    assert answer.level == new_level
                    assert answer.updated_at <= assessment.submitted_at
                else:
                    assert answer.level == level
                last = session.scalar(
                    select(AnswerChange)
                    .where(AnswerChange.answer_id == answer.id)
                    .order_by(AnswerChange.version.desc())
                    .limit(1)
                )
                assert last.new_value["level"] == answer.level
            engine.dispose()
    assert sum(outcomes.values()) == 8
