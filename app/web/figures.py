"""Figures as the pages show them: group names, wording from the catalogue, numbers in
the reader's way, heatmap shades. Shared by the secretariat's pages and a country's own
position page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from babel.numbers import format_decimal
from fastapi import Request

from app.catalogue.schema import Catalogue
from app.comparisons.aggregates import ALL_MEMBERS
from app.core.i18n import lazy_gettext as _
from app.countries.labels import INCOME_LABELS, REGION_LABELS
from app.web.pages.common import locale_of

GROUP_LABELS = {ALL_MEMBERS: _("All contributing members"), **REGION_LABELS, **INCOME_LABELS}
SHADES = 4  # the heatmap's shades, lightest (0) to darkest (4), whatever the scale's top


@dataclass(frozen=True)
class Wording:
    """Capability, area and level names in the reader's language, from the catalogue in use.

    The service names measures in English; a measure the current catalogue no longer has
    keeps that name.
    """

    catalogue: Catalogue
    locale: str

    def capability(self, capability_id: str, fallback: str) -> str:
        try:
            return self.catalogue.capability(capability_id).title.get(self.locale)
        except KeyError:
            return fallback

    def area(self, area_id: str, fallback: str | None = None) -> str:
        try:
            return self.catalogue.area(area_id).title.get(self.locale)
        except KeyError:
            return fallback or area_id

    def measure(self, kind: str, measure_id: str, fallback: str) -> str:
        if kind == "area":
            return self.area(measure_id, fallback)
        return self.capability(measure_id, fallback)

    def level(self, level: int, fallback: Sequence[str] = ()) -> str:
        if 0 <= level <= self.catalogue.max_level:
            return self.catalogue.level_name(level, self.locale)
        return fallback[level] if level < len(fallback) else str(level)


def wording(request: Request) -> Wording:
    return Wording(request.app.state.catalogue.catalogue, locale_of(request))


def number_formatter(request: Request):
    """Figures such as 2.5 or 1.75 written the reader's way (2,5 in French)."""
    locale = locale_of(request)
    babel_locale = "en_GB" if locale == "en" else locale

    def format_number(value: float | int | None) -> str:
        if value is None:
            return ""
        return format_decimal(value, format="#,##0.##", locale=babel_locale)

    return format_number


def shade(level: int | None, max_level: int) -> int | None:
    """The heatmap shade of a level: the scale spread over the shades, darker is higher."""
    if level is None:
        return None
    if max_level <= 0:
        return 0
    return round(level * SHADES / max_level)


def withheld_text(k: int):
    """What a withheld cell says instead of any figure."""
    return _("Suppressed (fewer than %(k)s countries)", k=k)
