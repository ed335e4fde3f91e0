"""Reports to HTML (Jinja2, autoescaped, translated) and to PDF (WeasyPrint in worker
processes under a time limit). The PDFs are kept in the shared store (store.py)."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
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


# ---------------------------------------------------------------- renderer


@dataclass
class RenderStats:
    """Counts since start: renders done, downloads served from the store, refused assets."""

    renders: int = 0
    cache_hits: int = 0
    refused_requests: int = 0
    last: RenderOutput | None = field(default=None, repr=False)


class ReportRenderer:
    """Time-limited PDF rendering in worker processes, for one server or job process.

    Rendered PDFs are kept in the shared store (app/reporting/store.py), not here.
    """

    def __init__(self, *, timeout: float = 60.0, workers: int = 2):
        self.pool = RenderPool(assets_root=REPORTS_DIR, size=workers, timeout=timeout)
        self.stats = RenderStats()
        self._guard = threading.Lock()

    @classmethod
    def from_settings(cls, settings: ReportSettings) -> ReportRenderer:
        return cls(timeout=settings.render_timeout, workers=settings.workers)

    def render(self, html: str, *, label: str = "report") -> RenderOutput:
        """Render html to PDF under the time limit; RenderError if it fails."""
        output = self.pool.render(html)
        with self._guard:
            self.stats.renders += 1
            self.stats.refused_requests += len(output.refused)
            self.stats.last = output
        if output.refused:
            logger.warning("%s: %d asset request(s) refused", label, len(output.refused))
        return output

    def count_hit(self) -> None:
        with self._guard:
            self.stats.cache_hits += 1

    def close(self) -> None:
        self.pool.close()


def fingerprint(rows: list[Mapping[str, Any]]) -> str:
    """A digest of some rows' content, for cache keys of data without a revision number."""
    encoded = json.dumps(rows, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:32]
