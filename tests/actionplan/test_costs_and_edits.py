"""Drafted actions edited, indicative costs in a currency, and horizons checked against dates."""

from datetime import date

import pytest

from app.actionplan import funding
from tests.actionplan.test_action_plan import planned  # noqa: F401 (fixture)


def patch(world, who, url, body):
    return world.client.patch(url, json=body, headers=world.headers(who))


def test_a_drafted_title_and_description_are_edited_and_kept_by_a_redraft(world, planned):  # noqa: F811
    base, _ = planned
    item = world.post("coordinator", f"{base}/action-plan/draft").json()["items"][0]
    url = f"{base}/action-plan/items/{item['id']}"
    edited = patch(
        world,
        "coordinator",
        url,
        {"version": 1, "title": "Our wording", "detail": "Line one\nLine two"},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["title"], edited.json()["detail"]) == (
        "Our wording",
        "Line one\nLine two",
    )
    assert edited.json()["version"] == 2

    # A stale edit changes nothing: 409 with the current version.
    stale = patch(world, "coordinator", url, {"version": 1, "title": "Someone else's"})
    assert stale.status_code == 409
    assert stale.json()["error"]["current_version"] == 2

    redrafted = world.post("coordinator", f"{base}/action-plan/draft").json()["items"]
    kept = next(i for i in redrafted if i["id"] == item["id"])
    assert (kept["title"], kept["detail"]) == ("Our wording", "Line one\nLine two")

    # Only the coordinator edits.
    assert patch(world, "contributor", url, {"version": 2, "title": "x"}).status_code == 403


def test_a_cost_needs_its_currency_and_totals_never_mix_currencies(world, planned):  # noqa: F811
    base, _ = planned
    items = world.post("coordinator", f"{base}/action-plan/draft").json()["items"]
    first, second, third = (f"{base}/action-plan/items/{i['id']}" for i in items[:3])

    costed = patch(
        world,
        "coordinator",
        first,
        {
            "version": 1,
            "cost_amount": 1_200_000,
            "cost_currency": "usd",
            "funding_source": "World Bank",
        },
    )
    assert costed.status_code == 200, costed.text
    assert (costed.json()["cost_amount"], costed.json()["cost_currency"]) == (1_200_000, "USD")
    assert costed.json()["funding_source"] == "World Bank"

    for body, field in (
        ({"version": 1, "cost_amount": 5}, "cost_currency"),
        ({"version": 1, "cost_currency": "EUR"}, "cost_amount"),
        ({"version": 1, "cost_amount": 5, "cost_currency": "ZZZ"}, "cost_currency"),
        ({"version": 1, "cost_amount": -1, "cost_currency": "EUR"}, "cost_amount"),
        ({"version": 1, "cost_amount": 10**16, "cost_currency": "EUR"}, "cost_amount"),
        ({"version": 1, "cost_amount": 5, "cost_currency": "XAU"}, "cost_currency"),
    ):
        refused = patch(world, "coordinator", second, body)
        assert refused.status_code == 422, (body, refused.text)
        assert field in refused.text
    unchanged = world.get("coordinator", f"{base}/action-plan").json()["items"][1]
    assert (unchanged["cost_amount"], unchanged["cost_currency"], unchanged["version"]) == (
        None,
        None,
        1,
    )

    # Clearing the amount alone would leave a currency without an amount: refused; both go.
    assert (
        patch(world, "coordinator", first, {"version": 2, "cost_amount": None}).status_code == 422
    )
    cleared = patch(
        world, "coordinator", first, {"version": 2, "cost_amount": None, "cost_currency": None}
    )
    assert cleared.status_code == 200
    assert (cleared.json()["cost_amount"], cleared.json()["cost_currency"]) == (None, None)

    added = world.post(
        "coordinator",
        f"{base}/action-plan/items",
        {"title": "Train prosecutors", "cost_amount": 40_000, "cost_currency": "EUR"},
    )
    assert added.status_code == 201, added.text
    assert (
        world.post(
            "coordinator", f"{base}/action-plan/items", {"title": "x", "cost_amount": 3}
        ).status_code
        == 422
    )
    assert (
        patch(
            world,
            "coordinator",
            third,
            {"version": 1, "cost_amount": 60_000, "cost_currency": "EUR"},
        ).status_code
        == 200
    )
    totals = funding.totals_by_currency(
        (i["cost_amount"], i["cost_currency"])
        for i in world.get("coordinator", f"{base}/action-plan").json()["items"]
    )
    assert [(t.currency, t.amount, t.count) for t in totals] == [("EUR", 100_000, 2)]


def test_a_due_date_beyond_its_horizon_is_flagged_over_the_api(world, planned):  # noqa: F811
    base, _ = planned
    item = world.post("coordinator", f"{base}/action-plan/draft").json()["items"][0]
    url = f"{base}/action-plan/items/{item['id']}"
    added = date.fromisoformat(item["created_at"][:10])
    late = patch(
        world,
        "coordinator",
        url,
        {"version": 1, "horizon": "short", "due_date": f"{added.year + 2}-01-15"},
    )
    assert late.json()["horizon_mismatch"] == "later"
    fits = patch(world, "coordinator", url, {"version": 2, "horizon": "medium"})
    assert fits.json()["horizon_mismatch"] is None
    soon = patch(world, "coordinator", url, {"version": 3, "horizon": "long"})
    assert soon.json()["horizon_mismatch"] == "sooner"


@pytest.mark.parametrize(
    ("horizon", "due", "expected"),
    [
        ("short", date(2027, 3, 1), None),
        ("short", date(2027, 3, 2), "later"),
        ("medium", date(2027, 3, 1), "sooner"),
        ("medium", date(2027, 3, 2), None),
        ("medium", date(2029, 3, 1), None),
        ("medium", date(2029, 3, 2), "later"),
        ("long", date(2029, 3, 1), "sooner"),
        ("long", date(2040, 1, 1), None),
        ("short", date(2020, 1, 1), None),
        ("short", None, None),
    ],
)
def test_horizon_spans(horizon, due, expected):
    assert funding.horizon_mismatch(horizon, due, date(2026, 3, 1)) == expected


def test_horizon_from_29_february():
    assert funding.horizon_mismatch("short", date(2025, 2, 28), date(2024, 2, 29)) is None
    assert funding.horizon_mismatch("short", date(2025, 3, 1), date(2024, 2, 29)) == "later"


def test_totals_are_per_currency_and_formatted_with_their_code():
    totals = funding.totals_by_currency(
        [(100, "USD"), (None, None), (250, "EUR"), (900, "USD"), (0, "KES")]
    )
    assert [(t.currency, t.amount, t.count) for t in totals] == [
        ("EUR", 250, 1),
        ("KES", 0, 1),
        ("USD", 1000, 2),
    ]
    assert funding.format_cost(1_200_000, "USD") == "1,200,000\u00a0USD"
    assert funding.format_cost(1_200_000, "EUR", "fr") == "1\u202f200\u202f000\u00a0EUR"
