"""Answer saves under load, side by side with a bare FastAPI endpoint doing one INSERT.

Usage (PostgreSQL, as production runs it):

    .venv/bin/python benchmarks/answer_saves.py \\
        --database postgresql+psycopg://root@127.0.0.1:5432/test --seconds 60

Makes a throw-away database, migrates it, creates COUNTRIES assessments with CLIENTS
contributors spread over them (each saving its own indicators, as contributors assigned
to areas do), then, for the same number of seconds and the same client threads, in
alternating slices after a short warm-up of each:

1. a bare FastAPI app (benchmarks/bare_insert.py) whose one endpoint INSERTs a row, served
   by uvicorn with the same number of workers on the same database;
2. `gsr serve` with that number of workers, every client saving answers through the API
   (read the version it holds, change the level, PUT).

It prints requests per second, p50 and p95 latency, the ratios app/bare, and any failure,
then checks that every acknowledged save is in the final answers and in their history.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.accounts import service as accounts  # noqa: E402
from app.assessments import service as assessments  # noqa: E402
from app.assessments.models import Answer, AnswerChange  # noqa: E402
from app.assessments.schemas import AssessmentCreate  # noqa: E402
from app.catalogue import service as catalogue_service  # noqa: E402
from app.catalogue.loader import load_catalogue  # noqa: E402
from app.core.db import make_engine, session_factory  # noqa: E402
from app.countries import service as countries  # noqa: E402

GSR = Path(sys.executable).with_name("gsr")
UVICORN = Path(sys.executable).with_name("uvicorn")
WARM_UP = 3.0  # seconds per side, before the measurement
COUNTRY_CODES = ["FRA", "KEN", "BRA", "IND", "PHL", "GHA", "COL", "JOR", "SEN", "VNM"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Client:
    token: str
    assessment_id: int
    keys: list[tuple[str, str]]
    versions: dict[tuple[str, str], int] = field(default_factory=dict)
    turn: int = 0

    def __post_init__(self) -> None:
        self.versions = dict.fromkeys(self.keys, 0)


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    # (assessment, capability, indicator) -> (version, level) of the last acknowledged save
    acknowledged: dict[tuple[int, str, str], tuple[int, int]] = field(default_factory=dict)
    changes: Counter = field(default_factory=Counter)


def create_database(server_url: str) -> str:
    name = f"gsr_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = make_url(url).database
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed(url: str, clients: int, countries_count: int) -> list[Client]:
    """Assessments and contributors (with tokens); each contributor gets its own indicators."""
    engine = make_engine(url)
    made: list[Client] = []
    with session_factory(engine).begin() as session:
        countries.sync_countries(session, include_demo=False)
        loaded = load_catalogue(ROOT / "capabilities")
        version = catalogue_service.register_version(session, loaded)
        keys = list(loaded.catalogue.indicator_keys())
        per_country = -(-clients // countries_count)  # rounded up
        share = len(keys) // per_country
        for code in COUNTRY_CODES[:countries_count]:
            countries.get_by_code(session, code).is_member = True
            coordinator = accounts.create_user(
                session,
                email=f"coord-{code}@bench.example",
                full_name="Coordinator",
                role="coordinator",
                country_code=code,
            )
            assessment = assessments.create_assessment(
                session,
                user=coordinator,
                data=AssessmentCreate(country_code=code, cycle="2026"),
                catalogue_version_id=version.id,
            )
            for seat in range(min(per_country, clients - len(made))):
                user = coordinator
                if seat:  # the others are contributors with every area assigned
                    user = accounts.create_user(
                        session,
                        email=f"contrib-{code}-{seat}@bench.example",
                        full_name="Contributor",
                        role="contributor",
                        country_code=code,
                    )
                    for area in loaded.catalogue.areas:
                        assessments.assign_area(
                            session,
                            user=coordinator,
                            assessment_id=assessment.id,
                            area_id=area.id,
                            contributor_id=user.id,
                        )
                token, _ = accounts.issue_api_token(session, user=user, name="bench")
                mine = keys[seat * share : (seat + 1) * share][:8]
                made.append(Client(token, assessment.id, mine))
    engine.dispose()
    return made


def serve(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    out = log.open("w")
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while True:
        if process.poll() is not None:
            raise SystemExit(f"server stopped:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"server did not start:\n{log.read_text()}")
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def run_bare(port: int, clients: int, seconds: float, result: Result) -> Result:
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def work(number: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            sent = 0
            while time.monotonic() < end:
                started = time.perf_counter()
                answer = http.post("/insert", json={"client": number, "n": sent})
                took = time.perf_counter() - started
                sent += 1
                with lock:
                    result.latencies.append(took)
                    result.statuses[answer.status_code] += 1

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def run_app(port: int, seats: list[Client], seconds: float, result: Result) -> Result:
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def work(seat: Client) -> None:
        headers = {"Authorization": f"Bearer {seat.token}"}
        versions = seat.versions  # what this contributor last saw, kept across slices
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as http:
            while time.monotonic() < end:
                turn = seat.turn
                capability_id, indicator_id = seat.keys[turn % len(seat.keys)]
                level = turn % 5
                path = (
                    f"/api/v1/assessments/{seat.assessment_id}/answers/"
                    f"{capability_id}/{indicator_id}"
                )
                version = versions[(capability_id, indicator_id)]
                started = time.perf_counter()
                answer = http.put(
                    path, json={"version": version, "response": "level", "level": level}
                )
                took = time.perf_counter() - started
                seat.turn += 1
                with lock:
                    result.latencies.append(took)
                    result.statuses[answer.status_code] += 1
                if answer.status_code == 200:
                    saved = answer.json()
                    key = (seat.assessment_id, capability_id, indicator_id)
                    with lock:
                        if saved["version"] != version:
                            result.changes[key] += 1
                        result.acknowledged[key] = (saved["version"], saved["level"])
                    versions[(capability_id, indicator_id)] = saved["version"]

    threads = [threading.Thread(target=work, args=(seat,)) for seat in seats]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def summary(result: Result, seconds: float) -> dict[str, float]:
    ordered = sorted(result.latencies)
    return {
        "rps": len(ordered) / seconds,
        "p50": statistics.median(ordered) * 1000,
        "p95": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "failed": sum(n for code, n in result.statuses.items() if code >= 500),
    }


def verify(url: str, result: Result) -> list[str]:
    """Every acknowledged save is the final answer, and each change is in the history."""
    problems = []
    engine = make_engine(url)
    with session_factory(engine)() as session:
        for (assessment_id, capability_id, indicator_id), (
            version,
            level,
        ) in result.acknowledged.items():
            answer = session.scalar(
                select(Answer).where(
                    Answer.assessment_id == assessment_id,
                    Answer.capability_id == capability_id,
                    Answer.indicator_id == indicator_id,
                )
            )
            if answer is None or (answer.version, answer.level) != (version, level):
                problems.append(f"{capability_id}.{indicator_id}: acknowledged save missing")
                continue
            history = session.scalar(
                select(func.count()).where(AnswerChange.answer_id == answer.id)
            )
            if history != result.changes[(assessment_id, capability_id, indicator_id)]:
                problems.append(f"{capability_id}.{indicator_id}: history has {history} entries")
    engine.dispose()
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL server URL (a throw-away database is made on it)",
    )
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--countries", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pool-size", type=int, default=4, help="connections kept per worker")
    parser.add_argument(
        "--max-overflow", type=int, default=5, help="extra connections per worker at peaks"
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=6,
        help="alternate the two sides in this many slices of seconds/slices each",
    )
    options = parser.parse_args()

    url = create_database(options.database)
    logs = Path("/tmp")
    try:
        env = {
            **os.environ,
            "GSR_DATABASE_URL": url,
            "GSR_DEMO_MODE": "false",
            "GSR_LOG_LEVEL": "warning",
            # Both servers stay up for the whole run, so both sides' pools must fit in
            # PostgreSQL's max_connections (100 by default) with room for other clients:
            # 2 servers x workers x (pool + overflow). The same for both sides.
            "GSR_DATABASE_POOL_SIZE": str(options.pool_size),
            "GSR_DATABASE_MAX_OVERFLOW": str(options.max_overflow),
        }
        subprocess.run(
            [str(GSR), "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True
        )
        seats = seed(url, options.clients, options.countries)
        print(
            f"{len(seats)} clients on {options.countries} assessments, "
            f"{options.workers} workers, {options.seconds:.0f} s each in {options.slices} "
            f"alternating slices, {url.split('/')[-1]}"
        )

        # Both servers run for the whole measurement, each idle while the other is driven,
        # in alternating slices (bare, app, app, bare, ...): on a machine shared with other
        # work, both sides then see the same load, instead of one minute each of whatever
        # else the machine was doing.
        bare_port, app_port = free_port(), free_port()
        bare = serve(
            [
                str(UVICORN),
                "benchmarks.bare_insert:app",
                "--port",
                str(bare_port),
                "--workers",
                str(options.workers),
                "--log-level",
                "warning",
            ],
            {**env, "BENCH_DATABASE_URL": url},
            bare_port,
            logs / "bench-bare.log",
        )
        try:
            server = serve(
                [str(GSR), "serve", "--port", str(app_port), "--workers", str(options.workers)],
                env,
                app_port,
                logs / "bench-app.log",
            )
            try:
                bare_result, app_result = Result(), Result()
                # Warm-up, not timed: each worker's first requests connect, prepare and
                # (the app) rebuild the catalogue. Its saves count in the final check.
                run_bare(bare_port, len(seats), WARM_UP, Result())
                run_app(app_port, seats, WARM_UP, app_result)
                app_result.latencies.clear()
                app_result.statuses.clear()
                piece = options.seconds / options.slices
                for number in range(options.slices):
                    sides = [
                        lambda: run_bare(bare_port, len(seats), piece, bare_result),
                        lambda: run_app(app_port, seats, piece, app_result),
                    ]
                    for side in sides if number % 2 == 0 else reversed(sides):
                        side()
            finally:
                stop(server)
        finally:
            stop(bare)

        base, ours = summary(bare_result, options.seconds), summary(app_result, options.seconds)
        print(f"{'':18} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'5xx':>6}")
        for name, row in (("bare INSERT", base), ("answer save", ours)):
            print(
                f"{name:18} {row['rps']:8.1f} {row['p50']:8.1f} {row['p95']:8.1f} "
                f"{row['failed']:6.0f}"
            )
        print(f"throughput ratio (save / bare): {ours['rps'] / base['rps']:.2f}")
        print(f"p95 ratio (save / bare): {ours['p95'] / base['p95']:.2f}")
        print(f"answer save statuses: {dict(app_result.statuses)}")
        problems = verify(url, app_result)
        print(
            f"acknowledged saves checked: {len(app_result.acknowledged)} answers, "
            f"{sum(app_result.changes.values())} changes; problems: {len(problems)}"
        )
        for problem in problems[:20]:
            print("  ", problem)
    finally:
        drop_database(options.database, url)


if __name__ == "__main__":
    main()
