"""WeasyPrint renders in long-lived worker processes, each render under a time limit.

A process, unlike a thread, can be stopped: a render that runs past its limit has its worker
killed and replaced, and the caller gets `RenderTimeout` instead of a hung request. Workers
are started on first use and recycled after a number of renders to bound their memory.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

logger = logging.getLogger("gsr.reports")

# Tagged PDF/UA-1: structure tags for screen readers, document title shown, PDF 1.7.
PDF_OPTIONS: dict[str, Any] = {"pdf_variant": "pdf/ua-1", "pdf_tags": True}


class RenderError(RuntimeError):
    """A report could not be rendered."""


class RenderTimeout(RenderError):
    """A render did not finish within the time limit."""


@dataclass(frozen=True, slots=True)
class RenderOutput:
    """A rendered PDF with the requests its fetcher served and refused."""

    pdf: bytes
    served: tuple[str, ...]
    refused: tuple[str, ...]
    seconds: float


def render_pdf(html: str, *, assets_root: Path, font_config: Any = None) -> RenderOutput:
    """Render html to PDF in this process, loading nothing but assets under assets_root."""
    from weasyprint import HTML

    from app.reporting.fetcher import ReportAssetFetcher

    fetcher = ReportAssetFetcher(assets_root)
    started = time.perf_counter()
    document = HTML(string=html, base_url=assets_root.resolve().as_uri() + "/", url_fetcher=fetcher)
    pdf = document.write_pdf(font_config=font_config, **PDF_OPTIONS)
    return RenderOutput(
        pdf=pdf,
        served=tuple(fetcher.served),
        refused=tuple(fetcher.refused),
        seconds=time.perf_counter() - started,
    )


def _serve(connection: Connection, assets_root: str) -> None:
    """A worker's life: take HTML, send back a RenderOutput or an error, until closed."""
    from weasyprint.text.fonts import FontConfiguration

    # The reports declare no @font-face, so one font configuration serves every render.
    font_config = FontConfiguration()
    root = Path(assets_root)
    while True:
        try:
            html = connection.recv()
        except (EOFError, OSError):
            return
        try:
            result: tuple[str, Any] = (
                "ok",
                render_pdf(html, assets_root=root, font_config=font_config),
            )
        except Exception as exc:  # reported to the caller, who raises it as RenderError
            result = ("error", type(exc).__name__)
        try:
            connection.send(result)
        except (BrokenPipeError, OSError):
            return


class _Worker:
    def __init__(self, context: Any, assets_root: Path):
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, str(assets_root)), daemon=True, name="gsr-report-render"
        )
        self.process.start()
        child.close()
        self.renders = 0

    def stop(self) -> None:
        self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)


class RenderPool:
    """A few render worker processes shared by every request of this process."""

    def __init__(
        self, *, assets_root: Path, size: int = 2, timeout: float = 60.0, recycle_after: int = 50
    ):
        if size < 1:
            raise ValueError("a render pool needs at least one worker")
        self.assets_root = assets_root
        self.size = size
        self.timeout = timeout
        self.recycle_after = recycle_after
        # Spawned, not forked: the server process runs threads, which fork does not copy safely.
        self._context = multiprocessing.get_context("spawn")
        self._idle: list[_Worker] = []
        self._alive = 0
        self._condition = threading.Condition()

    def render(self, html: str) -> RenderOutput:
        """Render html to PDF in a worker; RenderTimeout past the limit, RenderError on failure."""
        # The time limit counts the render only: waiting for a free worker is not rendering
        # (jobs queue for workers; the wait is bounded only to never hang for good).
        worker = self._acquire(time.monotonic() + max(600.0, 10 * self.timeout))
        healthy = False
        try:
            deadline = time.monotonic() + self.timeout
            worker.connection.send(html)
            worker.renders += 1
            if not worker.connection.poll(max(0.0, deadline - time.monotonic())):
                logger.warning("report render stopped after %.0f s", self.timeout)
                raise RenderTimeout(f"the report took longer than {self.timeout:g} s to render")
            status, payload = worker.connection.recv()
            healthy = True
        except (EOFError, OSError) as exc:
            raise RenderError("the report renderer stopped unexpectedly") from exc
        finally:
            self._release(worker, healthy=healthy)
        if status != "ok":
            logger.error("report render failed: %s", payload)
            raise RenderError("the report could not be rendered")
        return payload

    def close(self) -> None:
        """Stop the idle workers (busy ones stop when their render returns)."""
        with self._condition:
            idle, self._idle = self._idle, []
            self._alive -= len(idle)
            self.recycle_after = 0  # workers still busy are stopped on release
        for worker in idle:
            worker.stop()

    def _acquire(self, deadline: float) -> _Worker:
        with self._condition:
            while not self._idle and self._alive >= self.size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RenderTimeout("every report renderer stayed busy past the time limit")
                self._condition.wait(remaining)
            if self._idle:
                return self._idle.pop()
            self._alive += 1
        try:
            return _Worker(self._context, self.assets_root)
        except BaseException:
            with self._condition:
                self._alive -= 1
                self._condition.notify()
            raise

    def _release(self, worker: _Worker, *, healthy: bool) -> None:
        keep = healthy and worker.renders < self.recycle_after and worker.process.is_alive()
        if not keep:
            worker.stop()
        with self._condition:
            if keep:
                self._idle.append(worker)
            else:
                self._alive -= 1
            self._condition.notify()
