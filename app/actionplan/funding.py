"""Indicative costs of actions and what their horizons promise: pure rules, no database.

A cost is an amount in whole units of an ISO 4217 currency (1 200 000 USD, 3 500 000 000
IDR), never minor units: the figures are estimates for a budget discussion, and currencies
differ in their minor units (none for JPY, three for KWD). Amounts in different currencies
are never added together: totals are given per currency.

A time horizon promises when an action is done, counted from when it was put in the plan:
short term within a year, medium term in one to three years, long term after three. A due
date outside that span contradicts the horizon, and the plan says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

import pycountry
from babel.numbers import format_decimal

# Large enough for any national budget line in any currency (10^15 rupiah is about
# 60 billion dollars), small enough for every backend's 64-bit integer.
MAX_COST = 10**15

HORIZON_YEARS: dict[str, tuple[int, int | None]] = {
    "short": (0, 1),
    "medium": (1, 3),
    "long": (3, None),
}

Mismatch = Literal["later", "sooner"]


# ISO 4217 also codes precious metals, bond-market units and test and "no currency"
# codes: none of them is money a budget is drawn up in.
NOT_MONEY = frozenset({"XAG", "XAU", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XTS", "XXX"})


@cache
def currency_codes() -> frozenset[str]:
    """The ISO 4217 codes of currencies (pycountry's list, without metals and test codes)."""
    return frozenset(c.alpha_3 for c in pycountry.currencies) - NOT_MONEY


def currency_code(value: str) -> str:
    """value as an ISO 4217 code (upper case); ValueError if it is none."""
    code = value.strip().upper()
    if code not in currency_codes():
        raise ValueError("not an ISO 4217 currency code (such as USD, EUR, KES)")
    return code


def currency_name(code: str) -> str:
    """The currency's English name from ISO 4217, for choosers; the code if unknown."""
    currency = pycountry.currencies.get(alpha_3=code)
    return currency.name if currency is not None else code


def _years_after(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February in a year that has none
        return start.replace(year=start.year + years, day=28)


def horizon_mismatch(horizon: str, due: date | None, since: date) -> Mismatch | None:
    """Whether a due date falls after ("later") or before ("sooner") the span its horizon
    promises, counted from since (the day the action entered the plan); None if it fits."""
    if due is None or horizon not in HORIZON_YEARS:
        return None
    start, end = HORIZON_YEARS[horizon]
    if end is not None and due > _years_after(since, end):
        return "later"
    if start and due <= _years_after(since, start):
        return "sooner"
    return None


@dataclass(frozen=True, slots=True)
class Total:
    currency: str
    amount: int
    count: int  # how many actions the amount adds up


def totals_by_currency(costs: Iterable[tuple[int | None, str | None]]) -> tuple[Total, ...]:
    """(amount, currency) pairs summed per currency, in currency-code order; pairs without
    an amount are left out (count them separately as actions without an estimate)."""
    sums: dict[str, list[int]] = {}
    for amount, currency in costs:
        if amount is None or currency is None:
            continue
        entry = sums.setdefault(currency, [0, 0])
        entry[0] += amount
        entry[1] += 1
    return tuple(Total(code, amount, count) for code, (amount, count) in sorted(sums.items()))


def format_cost(amount: int, currency: str, locale: str = "en") -> str:
    """An amount as the report's language writes numbers, followed by its currency code:
    "1,200,000 USD". The code, not a symbol, so that no two currencies look alike."""
    formatting = "en_GB" if locale == "en" else locale
    return f"{format_decimal(amount, locale=formatting)}\u00a0{currency}"
