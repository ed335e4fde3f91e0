"""What to fund first: the first gaps in the order of work, with the actions that start
them, who leads them, when, what they cost and who pays. One page a ministry can take into
a budget discussion, shared by the gap report and the action plan.

Built from plain data (the catalogue, the ranked gaps, the plan's items), with no query of
its own, so both reports show the same figures as the plan page: costs are summed per
currency, never across currencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.actionplan import funding
from app.assessments.models import ActionItem, ActionStatus
from app.catalogue.schema import Catalogue
from app.scoring import Gap, draft_actions

FUND_FIRST = 5  # priorities on the page: what fits on one A4 page with their actions
ACTIONS_SHOWN = 2  # actions per priority; the rest are counted
OPEN = (ActionStatus.PLANNED.value, ActionStatus.IN_PROGRESS.value)


@dataclass(frozen=True, slots=True)
class CostTotal:
    text: str  # "1,200,000 USD", in the report's language
    currency: str
    amount: int
    count: int  # actions it adds up


@dataclass(frozen=True, slots=True)
class FundAction:
    title: str
    agency: str  # the owner agency, else the lead sector's name, else empty
    horizon: str
    due_date: date | None
    status: str  # an ActionStatus value, or "proposed" before a plan is drawn up
    step_level: int | None
    cost: str | None  # formatted amount with its currency code
    funding_source: str
    mismatch: funding.Mismatch | None  # the due date contradicts the horizon


@dataclass(frozen=True, slots=True)
class FundPriority:
    rank: int
    capability_number: str
    capability_title: str
    level: int
    level_name: str
    target: int
    target_name: str
    gap: int
    # Why it comes first: the capabilities with gaps that wait for it, else "raised"
    # (placed earlier for work that waits) or its own size and weight.
    dependants: tuple[str, ...]
    raised: bool
    provisional: bool
    actions: tuple[FundAction, ...]
    more: int  # further open actions of this capability not listed
    totals: tuple[CostTotal, ...]  # of the listed actions
    uncosted: int  # listed actions without an estimate


@dataclass(frozen=True, slots=True)
class FundFirst:
    drafted: bool  # no plan yet: the catalogue's proposals, without costs
    priorities: tuple[FundPriority, ...]
    more_gaps: int  # gaps after the ones listed
    totals: tuple[CostTotal, ...]  # of every listed action
    uncosted: int
    listed: int
    plan_totals: tuple[CostTotal, ...]  # of every open action in the plan
    plan_open: int
    plan_uncosted: int
    mismatches: int  # open actions in the whole plan whose due date contradicts the horizon


def _totals(costs: Sequence[tuple[int | None, str | None]], locale: str) -> tuple[CostTotal, ...]:
    return tuple(
        CostTotal(funding.format_cost(t.amount, t.currency, locale), t.currency, t.amount, t.count)
        for t in funding.totals_by_currency(costs)
    )


def mismatch_of(item: ActionItem) -> funding.Mismatch | None:
    """Whether the item's due date contradicts its horizon, counted from when it was added."""
    return funding.horizon_mismatch(item.horizon, item.due_date, item.created_at.date())


def _first_step(items: Sequence[ActionItem]) -> list[ActionItem]:
    """The open items of one capability that start its work: those of its lowest open
    step (items added by hand without a step come with them), in plan order."""
    steps = [item.step_level for item in items if item.step_level is not None]
    first = min(steps) if steps else None
    return [item for item in items if item.step_level in (first, None)]


def fund_first(
    catalogue: Catalogue,
    gaps: Sequence[Gap],
    items: Sequence[ActionItem],
    *,
    locale: str,
) -> FundFirst:
    """The first FUND_FIRST gaps with the actions that start them, their costs and totals."""
    titles = {c.id: c.title.get(locale) for c in catalogue.capabilities()}
    numbers = {
        capability.id: f"{a}.{c}"
        for a, area in enumerate(catalogue.areas, start=1)
        for c, capability in enumerate(area.capabilities, start=1)
    }
    open_items = [item for item in items if item.status in OPEN]
    drafted = not items
    by_capability: dict[str, list[ActionItem]] = {}
    for item in open_items:
        if item.capability_id:
            by_capability.setdefault(item.capability_id, []).append(item)
    proposals: dict[str, list[FundAction]] = {}
    if drafted:
        for action in draft_actions(catalogue, gaps[:FUND_FIRST], locale=locale):
            proposals.setdefault(action.capability_id, []).append(
                FundAction(
                    title=action.title,
                    agency=catalogue.sector_name(action.lead_sector, locale),
                    horizon=action.horizon,
                    due_date=None,
                    status="proposed",
                    step_level=action.step_level,
                    cost=None,
                    funding_source="",
                    mismatch=None,
                )
            )

    priorities: list[FundPriority] = []
    listed_costs: list[tuple[int | None, str | None]] = []
    for gap in gaps[:FUND_FIRST]:
        if drafted:
            first_step = (gap.current_level or 0) + 1
            candidates = [
                a for a in proposals.get(gap.capability_id, []) if a.step_level == first_step
            ]
            shown, costs = candidates[:ACTIONS_SHOWN], []
            more = len(candidates) - len(shown)
        else:
            rows = _first_step(by_capability.get(gap.capability_id, []))
            chosen = rows[:ACTIONS_SHOWN]
            more = len(by_capability.get(gap.capability_id, [])) - len(chosen)
            costs = [(row.cost_amount, row.cost_currency) for row in chosen]
            shown = [_action(row, catalogue, locale) for row in chosen]
        listed_costs += costs
        priorities.append(
            FundPriority(
                rank=gap.rank,
                capability_number=numbers[gap.capability_id],
                capability_title=titles[gap.capability_id],
                level=gap.current_level or 0,
                level_name=catalogue.level_name(gap.current_level or 0, locale),
                target=gap.target_level,
                target_name=catalogue.level_name(gap.target_level, locale),
                gap=gap.gap,
                dependants=tuple(titles[c] for c in gap.dependants if c in titles),
                raised=gap.effective_priority > gap.priority,
                provisional=gap.provisional,
                actions=tuple(shown),
                more=more,
                totals=_totals(costs, locale),
                uncosted=len(shown) - sum(1 for amount, _ in costs if amount is not None),
            )
        )
    listed = sum(len(p.actions) for p in priorities)
    return FundFirst(
        drafted=drafted,
        priorities=tuple(priorities),
        more_gaps=max(0, len(gaps) - FUND_FIRST),
        totals=_totals(listed_costs, locale),
        uncosted=sum(p.uncosted for p in priorities),
        listed=listed,
        plan_totals=_totals([(i.cost_amount, i.cost_currency) for i in open_items], locale),
        plan_open=len(open_items),
        plan_uncosted=sum(1 for item in open_items if item.cost_amount is None),
        mismatches=sum(1 for item in open_items if mismatch_of(item)),
    )


def cost_text(item: ActionItem, locale: str) -> str | None:
    """The item's indicative cost with its currency code, or None without an estimate."""
    if item.cost_amount is None or not item.cost_currency:
        return None
    return funding.format_cost(item.cost_amount, item.cost_currency, locale)


def _action(item: ActionItem, catalogue: Catalogue, locale: str) -> FundAction:
    sector = catalogue.sector_name(item.lead_sector, locale) if item.lead_sector else ""
    return FundAction(
        title=item.title,
        agency=(item.owner_agency or "").strip() or sector,
        horizon=item.horizon,
        due_date=item.due_date,
        status=item.status,
        step_level=item.step_level,
        cost=cost_text(item, locale),
        funding_source=item.funding_source or "",
        mismatch=mismatch_of(item),
    )
