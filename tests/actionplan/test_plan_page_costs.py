"""The plan page: drafted titles and descriptions edited, costs typed as officials write
them, a stale edit refused without losing anything, horizons checked against due dates."""

from __future__ import annotations

from sqlalchemy import select

from app.assessments.models import ActionItem
from tests.web.test_web_plan_workbook import (  # noqa: F401 (fixtures)
    draft,
    main_text,
    planned,
    web,
)


def full_form(token: str, item: ActionItem, **fields) -> dict:
    data = {
        "csrf_token": token,
        "version": str(item.version),
        "title": item.title,
        "detail": item.detail,
        "owner_agency": item.owner_agency,
        "due_date": "",
        "horizon": item.horizon,
        "status": item.status,
        "cost_amount": "",
        "cost_currency": "",
        "funding_source": "",
        "notes": item.notes,
    }
    data.update(fields)
    return data


def item_row(web, item_id: int) -> ActionItem:  # noqa: F811
    with web.state.sessionmaker() as session:
        item = session.get(ActionItem, item_id)
        session.expunge(item)
        return item


def first_item(web, assessment_id: int) -> ActionItem:  # noqa: F811
    with web.state.sessionmaker() as session:
        item = session.scalars(
            select(ActionItem)
            .where(ActionItem.assessment_id == assessment_id)
            .order_by(ActionItem.position)
        ).first()
        session.expunge(item)
        return item


def test_a_drafted_action_is_reworded_and_costed_on_the_page(web, planned):  # noqa: F811
    client, url = planned["client"], f"/assessments/{planned['id']}/action-plan"
    draft(planned)
    item = first_item(web, planned["id"])
    page = client.get(url)
    assert "Edit this action" in page.text
    assert f'name="title" type="text" maxlength="300" required value="{item.title}"' in page.text
    assert 'list="currency-codes"' in page.text and '<option value="KES">' in page.text

    saved = client.post(
        f"{url}/items/{item.id}",
        data=full_form(
            planned["token"],
            item,
            title="Agree the national strategy in cabinet",
            detail="- draft\n- consult\n- adopt",
            cost_amount="1 200 000",
            cost_currency="kes",
            funding_source="Treasury, 2027 vote",
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    after = item_row(web, item.id)
    assert after.title == "Agree the national strategy in cabinet"
    assert after.detail == "- draft\n- consult\n- adopt"
    assert (after.cost_amount, after.cost_currency) == (1_200_000, "KES")
    assert after.funding_source == "Treasury, 2027 vote"
    assert after.edited_by_user and after.version == item.version + 1

    text = main_text(client.get(url).text)
    assert "Agree the national strategy in cabinet" in text
    assert "1,200,000 KES" in text.replace("\u00a0", " ")
    assert "Treasury, 2027 vote" in text

    # The redraft keeps the new wording.
    draft(planned)
    assert item_row(web, item.id).title == "Agree the national strategy in cabinet"


def test_a_mistyped_cost_is_refused_and_nothing_changes(web, planned):  # noqa: F811
    client, url = planned["client"], f"/assessments/{planned['id']}/action-plan"
    draft(planned)
    item = first_item(web, planned["id"])
    for fields, message in (
        ({"cost_amount": "1200.50", "cost_currency": "USD"}, "whole units"),
        ({"cost_amount": "12,00", "cost_currency": "USD"}, "whole units"),
        ({"cost_amount": "-40", "cost_currency": "USD"}, "whole units"),
        ({"cost_amount": "5000"}, "three-letter ISO 4217 code"),
        ({"cost_currency": "USD"}, "whole units"),
        ({"cost_amount": "5000", "cost_currency": "DOLLARS"}, "three-letter ISO 4217 code"),
        ({"cost_amount": "5000", "cost_currency": "ABC"}, "three-letter ISO 4217 code"),
        ({"title": ""}, "Enter a title"),
    ):
        typed = {"notes": "kept as typed", **fields}
        refused = client.post(
            f"{url}/items/{item.id}", data=full_form(planned["token"], item, **typed)
        )
        assert refused.status_code == 422, fields
        assert message in main_text(refused.text), fields
        assert "kept as typed" in refused.text  # what was typed is shown again
        assert 'aria-invalid="true"' in refused.text
        unchanged = item_row(web, item.id)
        assert (unchanged.version, unchanged.cost_amount, unchanged.notes) == (
            item.version,
            None,
            item.notes,
        )


def test_a_stale_edit_shows_both_versions_and_saves_nothing(web, planned):  # noqa: F811
    client, url = planned["client"], f"/assessments/{planned['id']}/action-plan"
    draft(planned)
    item = first_item(web, planned["id"])
    first = client.post(
        f"{url}/items/{item.id}",
        data=full_form(planned["token"], item, title="Saved by a colleague"),
        follow_redirects=False,
    )
    assert first.status_code == 303
    stale = client.post(
        f"{url}/items/{item.id}",
        data=full_form(planned["token"], item, title="Mine", cost_amount="10", cost_currency="EUR"),
    )
    assert stale.status_code == 409
    text = main_text(stale.text)
    assert "Saved by a colleague" in text and "Mine" in text
    assert "Indicative cost (different)" in text
    saved = item_row(web, item.id)
    assert (saved.title, saved.cost_amount) == ("Saved by a colleague", None)


def test_a_due_date_outside_its_horizon_is_flagged_on_the_page(web, planned):  # noqa: F811
    client, url = planned["client"], f"/assessments/{planned['id']}/action-plan"
    draft(planned)
    item = first_item(web, planned["id"])
    later = f"{item.created_at.year + 5}-01-01"
    saved = client.post(
        f"{url}/items/{item.id}",
        data=full_form(planned["token"], item, horizon="short", due_date=later),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    text = main_text(client.get(url).text)
    assert "The due date is later than its time horizon allows" in text
    assert "1 action has a due date that contradicts its time horizon" in text
