"""Reports ready before they are asked for: the download after an edit, then a pause.

Builds the same worked assessment as benchmarks/reports.py on a fresh SQLite database (its
jobs run in the web process), then, for each round:

- saves an answer through the API, waits for the background preparation (the prepare delay,
  then the renders), and downloads the gap report and the action plan: each should be a
  hit in the report store, costing the gathering of its data but no render;
- downloads again right after another save, without waiting: the answer is 202 (being
  prepared) or the PDF, but never a request held for a whole render.

It also times answer saves with the background hook in place and without it (the job queue
detached), to show what "one debounced deferral per save" costs on the save path.

    .venv/bin/python benchmarks/edit_then_wait.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import jobs
from app.core.config import ReportSettings
from app.reporting import render
from benchmarks.reports import prepare, seconds

PREPARE_DELAY = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--saves", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        bench = prepare(Path(folder), ReportSettings(download_wait=0, prepare_delay=PREPARE_DELAY))
        app = bench.client.app
        renderer = render.ReportRenderer(workers=1)
        app.state.report_renderer = renderer
        headers = {"Authorization": f"Bearer {bench.token}"}
        base = f"/api/v1/assessments/{bench.assessment_id}"
        answers = bench.client.get(f"{base}/answers", headers=headers).json()
        # The open (second-cycle) assessment's answers, one to change per round.
        keys = [(a["capability_id"], a["indicator_id"]) for a in answers]

        def save(index: int) -> None:
            capability_id, indicator_id = keys[index % len(keys)]
            path = f"{base}/answers/{capability_id}/{indicator_id}"
            current = bench.client.get(path + "/history", headers=headers).json()
            version = current[0]["version"] if current else 0
            response = bench.client.put(
                path,
                json={"version": version, "response": "level", "level": index % 5},
                headers=headers,
            )
            response.raise_for_status()

        def settle() -> None:
            time.sleep(PREPARE_DELAY)
            app.state.jobs.wait_idle(timeout=900)

        # Warm up: one full preparation starts the render worker.
        save(0)
        settle()

        rows: list[tuple[str, list[float]]] = []
        hits: list[bool] = []
        waited = {"gap.pdf": [], "action-plan.pdf": []}
        at_once: list[float] = []
        statuses: list[int] = []
        for round_ in range(1, args.repeat + 1):
            save(round_)
            settle()
            for name in waited:
                before = renderer.stats.renders
                taken = seconds(
                    lambda name=name: bench.client.get(
                        f"{base}/reports/{name}", headers=headers
                    ).raise_for_status()
                )
                waited[name].append(taken)
                hits.append(renderer.stats.renders == before)
            save(round_ + 1000)
            started = time.perf_counter()
            answer = bench.client.get(f"{base}/reports/gap.pdf", headers=headers)
            at_once.append(time.perf_counter() - started)
            statuses.append(answer.status_code)
            settle()
        rows += [(f"{name}: download after edit-then-wait", t) for name, t in waited.items()]
        rows.append(("gap.pdf: download right after an edit", at_once))

        # The save path, with and without the background hook, interleaved save by save so
        # that a busy moment of the machine weighs on both alike.
        with_hook: list[float] = []
        without: list[float] = []
        for i in range(args.saves):
            jobs.attach(app.state.engine, app.state.jobs)
            with_hook.append(seconds(lambda i=i: save(2 * i)))
            jobs.detach(app.state.engine)
            without.append(seconds(lambda i=i: save(2 * i + 1)))
        app.state.jobs.discard_waiting()
        rows.append(("answer save, with the background hook", with_hook))
        rows.append(("answer save, queue detached", without))
        renderer.close()
        bench.client.__exit__(None, None, None)

    width = max(len(name) for name, _ in rows)
    print(f"{'measure':<{width}}  {'median':>9}  {'max':>9}")
    for name, times in rows:
        print(f"{name:<{width}}  {statistics.median(times):8.3f}s  {max(times):8.3f}s")
    print(f"store hits after edit-then-wait: {sum(hits)} of {len(hits)}")
    print(f"right after an edit: {dict(Counter(statuses))}")
    ratio = statistics.median(with_hook) / statistics.median(without)
    print(f"save with hook / without: {ratio:.3f}")


if __name__ == "__main__":
    main()
