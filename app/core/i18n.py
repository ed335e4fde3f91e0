"""Translations of the web pages: babel catalogues, the locale of a request, Jinja2 set-up.

English is the source language. A language is added by dropping its catalogue at
`translations/<locale>/LC_MESSAGES/messages.po` (made with `pybabel init`) and compiling it
(`pybabel compile -d app/translations`); an uncompiled `.po` is read as well, so a
translator can check their work without the compile step.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from fastapi import Request

TRANSLATIONS_DIR = Path(__file__).resolve().parents[1] / "translations"
DOMAIN = "messages"
SOURCE_LOCALE = "en"
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})

_current: ContextVar[NullTranslations | None] = ContextVar("gsr_translations", default=None)


@cache
def available_locales() -> tuple[str, ...]:
    """The source language, then every language with a catalogue, in alphabetical order."""
    found = {
        path.parent.parent.name
        for path in TRANSLATIONS_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.[pm]o")
        if _valid_locale(path.parent.parent.name)
    }
    return (SOURCE_LOCALE, *sorted(found - {SOURCE_LOCALE}))


def _valid_locale(name: str) -> bool:
    try:
        Locale.parse(name)
    except (ValueError, UnknownLocaleError):
        return False
    return True


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of locale (its .mo, else its .po), or the source text."""
    folder = TRANSLATIONS_DIR / locale / "LC_MESSAGES"
    compiled = folder / f"{DOMAIN}.mo"
    if compiled.exists():
        with compiled.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    source = folder / f"{DOMAIN}.po"
    if source.exists():
        import io

        with source.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain=DOMAIN)
    return NullTranslations()


def negotiate(request: Request, preferred: str | None = None) -> str:
    """The user's language if we have it, else the browser's best match, else English."""
    locales = available_locales()
    if preferred:
        match = _match(preferred, locales)
        if match:
            return match
    header = request.headers.get("accept-language", "")
    weighted = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*":
            weighted.append((quality, tag))
    for _quality, tag in sorted(weighted, key=lambda item: -item[0]):
        match = _match(tag, locales)
        if match:
            return match
    return SOURCE_LOCALE


def _match(tag: str, locales: tuple[str, ...]) -> str | None:
    tag = tag.replace("-", "_")
    if tag in locales:
        return tag
    base = tag.split("_")[0].lower()
    return base if base in locales else None


def direction(locale: str) -> str:
    return "rtl" if locale.split("_")[0] in RTL_LANGUAGES else "ltr"


def activate(locale: str):
    """Make locale the language of this thread's rendering; returns a token for `reset`."""
    return _current.set(translations(locale))


def reset(token) -> None:
    _current.reset(token)


def _active() -> NullTranslations:
    return _current.get() or translations(SOURCE_LOCALE)


def gettext(message: str, **variables: object) -> str:
    """Translate message in the active language, then fill in %(name)s variables."""
    text = _active().gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = _active().ngettext(singular, plural, n)
    return text % {"num": n, **variables}


class LazyText:
    """Text marked for translation in code, translated when a page shows it.

    Page code runs before the page's language is active, so it keeps messages as these
    and the template turns them into text in the reader's language.
    """

    __slots__ = ("message", "variables")

    def __init__(self, message: str, **variables: object):
        self.message = message
        self.variables = variables

    def __str__(self) -> str:
        return gettext(self.message, **self.variables)

    def __repr__(self) -> str:
        return f"LazyText({self.message!r})"


def lazy_gettext(message: str, **variables: object) -> LazyText:
    return LazyText(message, **variables)


def _plain_gettext(message: str) -> str:
    return _active().gettext(message)


def _plain_ngettext(singular: str, plural: str, n: int) -> str:
    return _active().ngettext(singular, plural, n)


def install(environment) -> None:
    """Give a Jinja2 environment the i18n extension, translating in the active language."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(_plain_gettext, _plain_ngettext, newstyle=True)
