"""Background jobs: one registry of task functions, run by one of two engines.

- PostgreSQL: jobs are rows in procrastinate's queue (`app.jobs.queue.ProcrastinateQueue`);
  any number of `gsr serve` processes defer them and any number of `gsr worker` processes,
  on any machine, run them, with only the database between them. A worker that dies
  mid-job leaves a stalled job, which the other workers retry.
- SQLite (the embedded default): the same functions run in a thread of the web process
  (`app.jobs.queue.ThreadQueue`); nothing is kept outside the database, so what a restart
  drops is derived again from the database (a missing report is rendered when asked for).

A part of the product registers its work with `@task("area.name")` in a module listed in
`TASK_MODULES` and defers it with `defer(app_or_session, "area.name", **kwargs)`, or with
`defer_after_commit(session, ...)` from a service, so the job exists only once the change it
follows is committed. Keyword arguments must be JSON values.
"""

from __future__ import annotations

import importlib
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

logger = logging.getLogger("gsr.jobs")

# The modules whose import registers tasks. The e-mail outbox joins with its own module
# (e.g. "app.mail.jobs", whose `@task("mail.deliver")` calls `deliver_pending(...)`).
TASK_MODULES: list[str] = ["app.reporting.jobs"]


@dataclass(frozen=True)
class JobContext:
    """What a running task gets besides its arguments."""

    sessions: Any  # app.core.db.Sessions of the process running the job
    settings: Any  # app.core.config.Settings
    state: Any  # per-process resources (the web app's state, or the worker's)
    queue: Queue
    job_id: str  # stable across retries of the same job
    attempt: int = 0

    def defer(self, task_name: str, *, delay: float = 0.0, key: str | None = None, **kwargs):
        return self.queue.defer(task_name, delay=delay, key=key, kwargs=kwargs)


@dataclass(frozen=True)
class Task:
    name: str
    function: Callable[..., None]
    retries: int = 0


TASKS: dict[str, Task] = {}


def task(name: str, *, retries: int = 0) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register function(context, **kwargs) as the task called name."""

    def register(function: Callable[..., None]) -> Callable[..., None]:
        if name in TASKS and TASKS[name].function is not function:
            raise ValueError(f"two tasks are called {name!r}")
        TASKS[name] = Task(name, function, retries)
        return function

    return register


def load_tasks() -> dict[str, Task]:
    """Import every module that registers tasks; the registry."""
    for module in TASK_MODULES:
        importlib.import_module(module)
    return TASKS


class Queue(Protocol):
    def defer(
        self, task_name: str, *, delay: float, key: str | None, kwargs: dict[str, Any]
    ) -> bool: ...

    def close(self) -> None: ...


# The queue of each database: sessions find theirs through their engine's connection pool,
# which an engine shares with the engines derived from it (read-only, write-lock options).
_QUEUES: weakref.WeakKeyDictionary[Any, Queue] = weakref.WeakKeyDictionary()


def attach(engine: Engine, queue: Queue) -> None:
    """Jobs deferred through sessions of engine go to queue."""
    _QUEUES[engine.pool] = queue


def detach(engine: Engine) -> None:
    _QUEUES.pop(engine.pool, None)


def queue_of(target: Any) -> Queue | None:
    """The queue of an application (its state.jobs), a session or an engine; else None."""
    state = getattr(target, "state", None)
    if state is not None and getattr(state, "jobs", None) is not None:
        return state.jobs
    if isinstance(target, Session):
        bind = target.get_bind()
        target = getattr(bind, "engine", bind)
    pool = getattr(target, "pool", None)
    return _QUEUES.get(pool) if pool is not None else None


def defer(
    target: Any, task_name: str, *, delay: float = 0.0, key: str | None = None, **kwargs: Any
) -> bool:
    """Run task_name(**kwargs) in the background, after delay seconds.

    With a key, at most one such job waits at a time: deferring again while one waits
    pushes it back (in-process) or leaves the waiting one (procrastinate's queueing lock).
    False when nothing was queued (no queue for target, or one already waiting).
    """
    if task_name not in TASKS:
        raise KeyError(f"no task is called {task_name!r}")
    queue = queue_of(target)
    if queue is None:
        return False
    return queue.defer(task_name, delay=delay, key=key, kwargs=kwargs)


_PENDING = "gsr.jobs.pending"


@dataclass
class _Deferral:
    queue: Queue
    task_name: str
    delay: float
    key: str | None
    kwargs: dict[str, Any] = field(default_factory=dict)


def defer_after_commit(
    session: Session, task_name: str, *, delay: float = 0.0, key: str | None = None, **kwargs: Any
) -> None:
    """Defer the job when session commits (never if it rolls back); a dict insert until then.

    The same key deferred twice in one transaction is deferred once.
    """
    queue = queue_of(session)
    if queue is None:
        return
    if not session.in_transaction():
        session.begin()  # the deferral belongs to this transaction, committed or not
    pending: dict[Any, _Deferral] = session.info.setdefault(_PENDING, {})
    pending[key or (task_name, len(pending))] = _Deferral(queue, task_name, delay, key, kwargs)


@event.listens_for(Session, "after_commit")
def _defer_committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    for deferral in (pending or {}).values():
        try:
            deferral.queue.defer(
                deferral.task_name, delay=deferral.delay, key=deferral.key, kwargs=deferral.kwargs
            )
        except Exception:  # the change is committed; what it implies is derived again later
            logger.exception("could not defer %s", deferral.task_name)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: Any) -> None:
    # A savepoint rolled back inside the transaction leaves the transaction's deferrals.
    if not previous_transaction.nested and previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
