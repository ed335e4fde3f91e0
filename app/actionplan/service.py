"""The action plan: drafted from the catalogue's step actions, then owned by the country.

Drafting turns each ranked gap into the catalogue's actions for every step between the
current level and the target. Redrafting after answers or targets change keeps whatever
the coordinator has edited: edited items and items already under way are never touched,
only untouched drafts are refreshed, added or removed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.actionplan import permissions
from app.actionplan.schemas import ActionItemCreate, ActionItemUpdate, PlanProgress, cost_problem
from app.assessments import service as assessment_service
from app.assessments.models import ActionItem, ActionStatus, Assessment
from app.audit import service as audit
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, Invalid, NotFound
from app.scoring import draft_actions

DraftKey = tuple[str, int, int]  # capability, step level, action index


def _require_planner(user: User, assessment: Assessment) -> None:
    if not permissions.can_change_plan(user, assessment):
        raise Forbidden("only the country's coordinator can change the action plan")


def plan_to_change(session: Session, *, user: User, assessment_id: int) -> Assessment:
    """The assessment, if user may change its plan; Forbidden for others who may see it.

    Pages call it before reading a form, so that others are told they may not, rather
    than what is wrong with what they typed.
    """
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    _require_planner(user, assessment)
    return assessment


def plan_items(session: Session, *, user: User, assessment_id: int) -> list[ActionItem]:
    """The plan's items in plan order (the assessment must be visible to user)."""
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    return _items(session, assessment.id)


def items_of(session: Session, assessment: Assessment) -> list[ActionItem]:
    """The plan's items in plan order, for an assessment the caller has already loaded
    through the access checks (reports, which also key their cache by them)."""
    return _items(session, assessment.id)


def _items(session: Session, assessment_id: int) -> list[ActionItem]:
    return list(
        session.scalars(
            select(ActionItem)
            .where(ActionItem.assessment_id == assessment_id)
            .order_by(ActionItem.position, ActionItem.id)
        )
    )


def _untouched(item: ActionItem) -> bool:
    return (
        item.origin == "catalogue"
        and not item.edited_by_user
        and item.status == ActionStatus.PLANNED
    )


def draft_plan(
    session: Session, *, user: User, assessment_id: int, locale: str = "en"
) -> list[ActionItem]:
    """Draft (or redraft) the plan from the ranked gaps, keeping the coordinator's edits."""
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    _require_planner(user, assessment)
    catalogue = assessment_service.catalogue_of(session, assessment)
    _, gaps = assessment_service.score_and_gaps(session, user=user, assessment_id=assessment_id)
    drafted = draft_actions(catalogue, gaps.gaps, locale=locale)

    existing = _items(session, assessment.id)
    by_key: dict[DraftKey, ActionItem] = {
        (i.capability_id, i.step_level, i.action_index): i
        for i in existing
        if i.origin == "catalogue"
    }
    wanted: set[DraftKey] = set()
    position = 0
    added = refreshed = 0
    for action in drafted:
        key = (action.capability_id, action.step_level, action.action_index)
        wanted.add(key)
        position += 1
        item = by_key.get(key)
        if item is None:
            session.add(
                ActionItem(
                    assessment_id=assessment.id,
                    origin="catalogue",
                    capability_id=action.capability_id,
                    step_level=action.step_level,
                    action_index=action.action_index,
                    title=action.title,
                    detail=action.detail,
                    lead_sector=action.lead_sector,
                    horizon=action.horizon,
                    position=position,
                )
            )
            added += 1
            continue
        item.position = position
        if _untouched(item) and (item.title, item.detail, item.lead_sector, item.horizon) != (
            action.title,
            action.detail,
            action.lead_sector,
            action.horizon,
        ):
            item.title, item.detail = action.title, action.detail
            item.lead_sector, item.horizon = action.lead_sector, action.horizon
            refreshed += 1

    removed = 0
    for key, item in by_key.items():
        if key in wanted:
            continue
        if _untouched(item):  # the gap closed and nobody worked on it: drop the draft
            session.delete(item)
            removed += 1
        else:
            position += 1
            item.position = position
    for item in existing:
        if item.origin == "manual":
            position += 1
            item.position = position
    session.flush()
    audit.record(
        session,
        actor=user,
        action="action_plan.drafted",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        details={"added": added, "refreshed": refreshed, "removed": removed},
    )
    return _items(session, assessment.id)


def _item(session: Session, assessment: Assessment, item_id: int) -> ActionItem:
    item = session.get(ActionItem, item_id)
    if item is None or item.assessment_id != assessment.id:
        raise NotFound("action not found")
    return item


def update_item(
    session: Session, *, user: User, assessment_id: int, item_id: int, data: ActionItemUpdate
) -> ActionItem:
    """Edit an item (drafted ones too: a title or description edited is kept by redrafts);
    refused with 409 if it changed since the editor's version, and with 422 when a cost
    would be left without its currency or a currency without an amount.

    Fields sent with the value they already have change nothing, so saving an unchanged
    form neither marks the item as edited nor makes a new version.
    """
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    item = _item(session, assessment, item_id)
    _require_planner(user, assessment)
    if item.version != data.version:
        raise Conflict(
            "this action was changed by someone else since you opened it; reload it first",
            current_version=item.version,
        )
    changes = {
        field: value
        for field, value in data.model_dump(exclude={"version"}, exclude_unset=True).items()
        if getattr(item, field) != value
    }
    if not changes:
        return item
    problem = cost_problem(
        changes.get("cost_amount", item.cost_amount),
        changes.get("cost_currency", item.cost_currency),
    )
    if problem is not None:
        raise Invalid(problem[1], field=problem[0])
    for field, value in changes.items():
        setattr(item, field, value)
    item.edited_by_user = True
    item.version += 1  # the UPDATE still requires the version read above
    item.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=user,
        action="action_plan.item_updated",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        target=("action_item", item.id),
        details={"fields": sorted(changes)},
    )
    return item


def add_item(
    session: Session, *, user: User, assessment_id: int, data: ActionItemCreate
) -> ActionItem:
    """Add an action by hand, at the end of the plan."""
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    _require_planner(user, assessment)
    catalogue = assessment_service.catalogue_of(session, assessment)
    if data.capability_id is not None:
        try:
            catalogue.capability(data.capability_id)
        except KeyError:
            raise Invalid("unknown capability", field="capability_id") from None
    if data.lead_sector is not None and data.lead_sector not in {s.id for s in catalogue.sectors}:
        raise Invalid("unknown lead sector", field="lead_sector")
    last = max((i.position for i in _items(session, assessment.id)), default=0)
    item = ActionItem(
        assessment_id=assessment.id,
        origin="manual",
        edited_by_user=True,
        position=last + 1,
        **data.model_dump(),
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=user,
        action="action_plan.item_added",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        target=("action_item", item.id),
    )
    return item


def delete_item(session: Session, *, user: User, assessment_id: int, item_id: int) -> None:
    """Remove an action added by hand (drafted actions are dropped, not deleted)."""
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    item = _item(session, assessment, item_id)
    if not permissions.can_delete_item(user, assessment, item):
        _require_planner(user, assessment)
        raise Forbidden("drafted actions cannot be deleted; set their status to dropped")
    session.delete(item)
    audit.record(
        session,
        actor=user,
        action="action_plan.item_deleted",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        target=("action_item", item_id),
    )


def plan_progress(items: list[ActionItem]) -> PlanProgress:
    """How far the plan has come, counted by status."""
    counts = {status.value: 0 for status in ActionStatus}
    for item in items:
        counts[item.status] += 1
    return PlanProgress(total=len(items), **counts)


def plans_progress(session: Session, assessment_ids: list[int]) -> dict[int, PlanProgress]:
    """The plan progress of many assessments in one grouped count (for lists of them)."""
    counts: dict[int, dict[str, int]] = {
        assessment_id: {status.value: 0 for status in ActionStatus}
        for assessment_id in assessment_ids
    }
    if not counts:
        return {}
    rows = session.execute(
        select(ActionItem.assessment_id, ActionItem.status, func.count())
        .where(ActionItem.assessment_id.in_(list(counts)))
        .group_by(ActionItem.assessment_id, ActionItem.status)
    )
    for assessment_id, status, number in rows:
        counts[assessment_id][status] = counts[assessment_id].get(status, 0) + number
    return {
        assessment_id: PlanProgress(total=sum(by_status.values()), **by_status)
        for assessment_id, by_status in counts.items()
    }
