"""The two engines that run registered tasks: threads in the web process (SQLite) and
procrastinate's queue in PostgreSQL (`gsr worker`)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import make_url

from app.jobs import TASKS, JobContext, load_tasks
from app.jobs.schema import SCHEMA

logger = logging.getLogger("gsr.jobs")


def process_name() -> str:
    """This process, as claims and logs name it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


# ---------------------------------------------------------------- in-process (SQLite)


@dataclass(order=True)
class _Job:
    run_at: float
    serial: int
    task_name: str = field(compare=False)
    key: str | None = field(compare=False)
    kwargs: dict[str, Any] = field(compare=False)
    attempt: int = field(default=0, compare=False)
    cancelled: bool = field(default=False, compare=False)


class ThreadQueue:
    """Jobs run by a few threads of this process, in the order they fall due.

    A job deferred again under the same key while it waits is pushed back to the later
    time (the debounce of "some seconds after the last change"), so it runs once.
    """

    def __init__(self, *, sessions: Any, settings: Any, state: Any, threads: int = 1):
        self.sessions, self.settings, self.state = sessions, settings, state
        self._heap: list[_Job] = []
        self._waiting: dict[str, _Job] = {}
        self._serial = itertools.count(1)
        self._condition = threading.Condition()
        self._running = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"gsr-jobs-{n}", daemon=True)
            for n in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def defer(
        self, task_name: str, *, delay: float, key: str | None, kwargs: dict[str, Any]
    ) -> bool:
        run_at = time.monotonic() + max(0.0, delay)
        with self._condition:
            if self._closed:
                return False
            waiting = self._waiting.get(key) if key else None
            if waiting is not None:
                waiting.cancelled = True  # superseded: a fresh entry takes its place
                run_at = max(run_at, waiting.run_at)
            job = _Job(run_at, next(self._serial), task_name, key, dict(kwargs))
            if key:
                self._waiting[key] = job
            heapq.heappush(self._heap, job)
            self._condition.notify()
            return waiting is None

    def pending(self) -> int:
        """Jobs waiting or running (tests wait for zero)."""
        with self._condition:
            return sum(not job.cancelled for job in self._heap) + self._running

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no job waits (due or not) or runs; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def discard_waiting(self) -> int:
        """Drop the jobs not yet started (tests); how many."""
        with self._condition:
            dropped = sum(not job.cancelled for job in self._heap)
            self._heap.clear()
            self._waiting.clear()
            return dropped

    def run_due_now(self) -> None:
        """Make every waiting job due at once (tests, shutdown drains)."""
        with self._condition:
            for job in self._heap:
                job.run_at = 0.0
            heapq.heapify(self._heap)
            self._condition.notify_all()

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    def _next(self) -> _Job | None:
        with self._condition:
            while not self._closed:
                while self._heap and self._heap[0].cancelled:
                    heapq.heappop(self._heap)
                if self._heap and self._heap[0].run_at <= time.monotonic():
                    job = heapq.heappop(self._heap)
                    if job.key and self._waiting.get(job.key) is job:
                        del self._waiting[job.key]
                    self._running += 1
                    return job
                timeout = self._heap[0].run_at - time.monotonic() if self._heap else None
                self._condition.wait(timeout)
            return None

    def _work(self) -> None:
        while (job := self._next()) is not None:
            try:
                self._run(job)
            finally:
                with self._condition:
                    self._running -= 1

    def _run(self, job: _Job) -> None:
        task = TASKS.get(job.task_name)
        if task is None:
            logger.error("no task is called %s", job.task_name)
            return
        context = JobContext(
            sessions=self.sessions,
            settings=self.settings,
            state=self.state,
            queue=self,
            job_id=f"{process_name()}:{job.serial}",
            attempt=job.attempt,
        )
        try:
            task.function(context, **job.kwargs)
        except Exception:
            logger.exception("job %s failed (attempt %d)", job.task_name, job.attempt + 1)
            if job.attempt < task.retries:
                with self._condition:
                    job.attempt += 1
                    job.run_at = time.monotonic() + 2**job.attempt
                    heapq.heappush(self._heap, job)
                    self._condition.notify()


# ---------------------------------------------------------------- procrastinate (PostgreSQL)


def libpq_url(database_url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(False)


def procrastinate_app(database_url: str, *, max_connections: int = 4) -> Any:
    """A procrastinate App on the database, its schema first on every connection's path."""
    import procrastinate

    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url),
        kwargs={"options": f"-c search_path={SCHEMA}"},
        min_size=1,
        max_size=max_connections,
    )
    return procrastinate.App(connector=connector)


class ProcrastinateQueue:
    """Defers jobs into procrastinate's queue; `run_worker` runs them (gsr worker)."""

    def __init__(self, database_url: str, *, max_connections: int = 4):
        self.app = procrastinate_app(database_url, max_connections=max_connections)
        self._opened = False
        self._lock = threading.Lock()

    def _open(self) -> None:
        with self._lock:
            if not self._opened:
                self.app.open()
                self._opened = True

    def defer(
        self, task_name: str, *, delay: float, key: str | None, kwargs: dict[str, Any]
    ) -> bool:
        from procrastinate.exceptions import AlreadyEnqueued

        self._open()
        options: dict[str, Any] = {}
        if key:
            # One job waiting per key, and never two of them running at once.
            options.update(queueing_lock=key, lock=key)
        if delay > 0:
            options["schedule_in"] = {"seconds": delay}
        try:
            self.app.configure_task(task_name, **options).defer(**kwargs)
        except AlreadyEnqueued:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            if self._opened:
                self.app.close()
                self._opened = False

    def run_worker(
        self,
        *,
        sessions: Any,
        settings: Any,
        state: Any,
        concurrency: int,
        name: str,
        heartbeat: float,
        stalled_after: float,
    ) -> None:
        """Run the registered tasks until stopped (SIGINT/SIGTERM); retry stalled jobs."""
        for registered in load_tasks().values():
            self._register(registered, sessions=sessions, settings=settings, state=state)
        asyncio.run(self._serve(concurrency, name, heartbeat, stalled_after))

    def _register(self, registered: Any, **context: Any) -> None:
        function = registered.function

        def run(job_context: Any, **kwargs: Any) -> None:
            job = job_context.job
            function(
                JobContext(
                    queue=self,
                    job_id=f"job-{job.id}",
                    attempt=job.attempts,
                    **context,
                ),
                **kwargs,
            )

        run.__name__ = registered.name.replace(".", "_")
        self.app.task(name=registered.name, pass_context=True, retry=registered.retries)(run)

    async def _serve(
        self, concurrency: int, name: str, heartbeat: float, stalled_after: float
    ) -> None:
        async with self.app.open_async():
            sweeper = asyncio.create_task(self._retry_stalled(stalled_after))
            try:
                await self.app.run_worker_async(
                    concurrency=concurrency,
                    name=name,
                    update_heartbeat_interval=heartbeat,
                    stalled_worker_timeout=stalled_after,
                    # Done jobs leave the queue; failed ones stay, for the operator to see.
                    delete_jobs="successful",
                )
            finally:
                sweeper.cancel()

    async def _retry_stalled(self, stalled_after: float) -> None:
        """Put back the jobs of workers that stopped sending heartbeats (killed, lost)."""
        manager = self.app.job_manager
        while True:
            await asyncio.sleep(max(1.0, stalled_after / 3))
            try:
                for job in await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
                    logger.warning("job %s of a stopped worker is retried", job.id)
                    await manager.retry_job(job)
            except Exception:
                logger.exception("could not look for stalled jobs")


# ---------------------------------------------------------------- a web process's queue


def start(engine: Any, *, sessions: Any, settings: Any, state: Any) -> Any:
    """The queue a web process defers into: procrastinate's on PostgreSQL (run by
    `gsr worker`), else (or with GSR_JOBS_RUNNER=threads) threads of this process.
    Sessions on engine find it."""
    from app.jobs import attach

    load_tasks()
    if engine.dialect.name == "postgresql" and settings.jobs.runner == "auto":
        queue: Any = ProcrastinateQueue(settings.database_url)
    else:
        queue = ThreadQueue(
            sessions=sessions, settings=settings, state=state, threads=settings.jobs.threads
        )
    attach(engine, queue)
    return queue
