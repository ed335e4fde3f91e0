"""Reports to HTML (Jinja2, autoescaped, translated) and to PDF (WeasyPrint in worker
processes), with a disk cache keyed by what the report shows.

A cached PDF is found again only when the assessment's content revision, the templates and
code that draw the report, and the language are all the same; anything else renders anew.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from app.core import i18n
from app.core.config import PROJECT_ROOT, ReportSettings
from app.reporting.pool import RenderOutput, RenderPool
from app.scoring import display_score

logger = logging.getLogger("gsr.reports")

REPORTS_DIR = PROJECT_ROOT / "reports"
STYLESHEET = "report.css"
TEMPLATES = {
    "gap": "gap.html",
    "action-plan": "action_plan.html",
    "membership-brief": "membership_brief.html",
}


# ---------------------------------------------------------------- HTML


@cache
def template_version() -> str:
    """A digest of everything that decides how a report looks: templates, styles, code."""
    digest = hashlib.sha256()
    sources = sorted(p for p in REPORTS_DIR.rglob("*") if p.is_file())
    sources += sorted(Path(__file__).parent.glob("*.py"))
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@cache
def translation_version(locale: str) -> str:
    """A digest of locale's translation catalogue, so new translations are rendered anew."""
    digest = hashlib.sha256(locale.encode())
    folder = i18n.TRANSLATIONS_DIR / locale / "LC_MESSAGES"
    for path in sorted(folder.glob(f"{i18n.DOMAIN}.[mp]o")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def formatting_locale(locale: str) -> str:
    """English reports use British conventions (1 May 2031); other languages their own."""
    return "en_GB" if locale == "en" else locale


@cache
def environment() -> Environment:
    """The reports' Jinja2 environment: autoescaped, strict, translated like the web pages."""
    env = Environment(
        loader=FileSystemLoader(REPORTS_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    i18n.install(env)
    env.filters["score"] = _score
    env.filters["day"] = _day
    env.filters["number"] = _number
    env.globals["page_counter_content"] = page_counter_content
    return env


def _score(value: float | None, locale: str = "en") -> str:
    return display_score(value, locale)


def _day(value: date | datetime | None, locale: str = "en", style: str = "long") -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, format=style, locale=formatting_locale(locale))


def _number(value: float | int, locale: str = "en") -> str:
    return format_number(value, locale)


def format_number(value: float | int, locale: str = "en") -> str:
    """A number as the report's language writes it: 2.5, 1,234."""
    return format_decimal(value, locale=formatting_locale(locale))


def css_string(text: str) -> Markup:
    """text as a quoted CSS string, safe inside a <style> element."""
    escaped = "".join(f"\\{ord(char):x} " if char in '"\\<>&\n\r' else char for char in str(text))
    return Markup(f'"{escaped}"')


def page_counter_content() -> Markup:
    """The CSS `content` of the page number box, "Page 3 of 12" in the active language."""
    text = i18n.gettext("Page %(page)s of %(pages)s", page="\x00", pages="\x01")
    parts: list[str] = []
    piece = ""
    for char in text:
        if char in "\x00\x01":
            if piece:
                parts.append(css_string(piece))
            parts.append("counter(page)" if char == "\x00" else "counter(pages)")
            piece = ""
        else:
            piece += char
    if piece:
        parts.append(css_string(piece))
    return Markup(" ".join(parts))


@contextlib.contextmanager
def language(locale: str) -> Iterator[None]:
    """Make locale the language of gettext calls in this thread while the block runs."""
    token = i18n.activate(locale)
    try:
        yield
    finally:
        i18n.reset(token)


@cache
def _stylesheet_text() -> str:
    return (REPORTS_DIR / STYLESHEET).read_text(encoding="utf-8")


def stylesheet_digest() -> str:
    """The CSP hash of the stylesheet inlined into HTML previews."""
    digest = hashlib.sha256(_stylesheet_text().encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode()


def report_html(kind: str, report: Any, *, locale: str, preview: bool = False) -> str:
    """The report as an HTML document: linked stylesheet for PDF, inlined for a preview."""
    template = environment().get_template(TEMPLATES[kind])
    with language(locale):
        return template.render(
            report=report,
            locale=locale,
            preview=preview,
            stylesheet=STYLESHEET,
            inline_css=Markup(_stylesheet_text()) if preview else None,
        )


# ---------------------------------------------------------------- cache


@dataclass(frozen=True, slots=True)
class ReportKey:
    """Everything a rendered report depends on; its digest names the cached file."""

    kind: str
    assessment_id: int
    revision: int
    locale: str
    catalogue_hash: str
    extra: tuple[tuple[str, Any], ...] = ()  # e.g. the previous cycle's revision, the plan

    def digest(self) -> str:
        payload = {
            "kind": self.kind,
            "assessment": self.assessment_id,
            "revision": self.revision,
            "locale": self.locale,
            "catalogue": self.catalogue_hash,
            "template": template_version(),
            "translations": translation_version(self.locale),
            "extra": [[name, value] for name, value in self.extra],
        }
        encoded = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(encoded).hexdigest()


class ReportCache:
    """Rendered PDFs as files named by key digest; written atomically, oldest pruned."""

    def __init__(self, directory: Path, *, max_files: int = 500):
        self.directory = directory
        self.max_files = max_files

    def _path(self, digest: str) -> Path:
        return self.directory / f"{digest}.pdf"

    def get(self, digest: str) -> bytes | None:
        try:
            return self._path(digest).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, digest: str, pdf: bytes) -> None:
        # The files hold confidential assessments: readable by the service's user only.
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".render-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(pdf)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self._path(digest))  # readers see the whole file or none
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        self._prune()

    def _prune(self) -> None:
        files = list(self.directory.glob("*.pdf"))
        if len(files) <= self.max_files:
            return
        files.sort(key=lambda path: path.stat().st_mtime)
        for path in files[: len(files) - self.max_files]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


# ---------------------------------------------------------------- renderer


@dataclass
class RenderStats:
    """Counts since start: renders done, cache hits, asset requests refused."""

    renders: int = 0
    cache_hits: int = 0
    refused_requests: int = 0
    last: RenderOutput | None = field(default=None, repr=False)


class ReportRenderer:
    """Cached, time-limited PDF rendering for one server process."""

    def __init__(
        self,
        *,
        cache_dir: Path,
        cache_max_files: int = 500,
        timeout: float = 60.0,
        workers: int = 2,
    ):
        self.cache = ReportCache(cache_dir, max_files=cache_max_files)
        self.pool = RenderPool(assets_root=REPORTS_DIR, size=workers, timeout=timeout)
        self.stats = RenderStats()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @classmethod
    def from_settings(cls, settings: ReportSettings) -> ReportRenderer:
        return cls(
            cache_dir=settings.cache_dir,
            cache_max_files=settings.cache_max_files,
            timeout=settings.render_timeout,
            workers=settings.workers,
        )

    def cached(self, key: ReportKey) -> bytes | None:
        """The cached PDF for key, if there is one."""
        pdf = self.cache.get(key.digest())
        if pdf is not None:
            with self._locks_guard:
                self.stats.cache_hits += 1
        return pdf

    def render(self, key: ReportKey, html: str) -> bytes:
        """Render html to PDF and cache it under key; one render at a time per key."""
        digest = key.digest()
        with self._lock(digest):
            # Someone may have rendered the same report while this request waited.
            pdf = self.cache.get(digest)
            if pdf is not None:
                with self._locks_guard:
                    self.stats.cache_hits += 1
                return pdf
            output = self.pool.render(html)
            with self._locks_guard:
                self.stats.renders += 1
                self.stats.refused_requests += len(output.refused)
                self.stats.last = output
            if output.refused:
                logger.warning(
                    "%s report of assessment %s: %d asset request(s) refused",
                    key.kind,
                    key.assessment_id,
                    len(output.refused),
                )
            self.cache.put(digest, output.pdf)
            return output.pdf

    def close(self) -> None:
        self.pool.close()

    @contextlib.contextmanager
    def _lock(self, digest: str) -> Iterator[None]:
        with self._locks_guard:
            lock = self._locks.setdefault(digest, threading.Lock())
        with lock:
            yield
        with self._locks_guard:
            if not lock.locked():
                self._locks.pop(digest, None)


def key_extra(**values: Any) -> tuple[tuple[str, Any], ...]:
    """Extra key parts in a stable order."""
    return tuple(sorted(values.items()))


def fingerprint(rows: list[Mapping[str, Any]]) -> str:
    """A digest of some rows' content, for cache keys of data without a revision number."""
    encoded = json.dumps(rows, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]
