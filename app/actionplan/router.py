"""Action plan API."""

from typing import Any

from fastapi import APIRouter, status

from app.accounts.dependencies import CurrentUser
from app.actionplan import service
from app.actionplan.schemas import ActionItemCreate, ActionItemOut, ActionItemUpdate
from app.core.db import SessionDep
from app.core.inputs import Id

router = APIRouter(prefix="/assessments/{assessment_id}/action-plan", tags=["action plan"])


def _plan(items) -> dict[str, Any]:
    return {
        "items": [ActionItemOut.model_validate(item) for item in items],
        "progress": service.plan_progress(items),
    }


@router.get("")
def get_plan(assessment_id: Id, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """The plan's items in order, with progress by status."""
    return _plan(service.plan_items(session, user=user, assessment_id=assessment_id))


@router.post("/draft")
def draft(assessment_id: Id, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Draft or redraft from the ranked gaps; the coordinator's edits are kept."""
    return _plan(service.draft_plan(session, user=user, assessment_id=assessment_id))


@router.post("/items", status_code=status.HTTP_201_CREATED)
def add_item(
    assessment_id: Id, data: ActionItemCreate, user: CurrentUser, session: SessionDep
) -> ActionItemOut:
    item = service.add_item(session, user=user, assessment_id=assessment_id, data=data)
    return ActionItemOut.model_validate(item)


@router.patch("/items/{item_id}")
def update_item(
    assessment_id: Id, item_id: Id, data: ActionItemUpdate, user: CurrentUser, session: SessionDep
) -> ActionItemOut:
    item = service.update_item(
        session, user=user, assessment_id=assessment_id, item_id=item_id, data=data
    )
    return ActionItemOut.model_validate(item)


@router.delete("/items/{item_id}", status_code=204)
def delete_item(assessment_id: Id, item_id: Id, user: CurrentUser, session: SessionDep) -> None:
    service.delete_item(session, user=user, assessment_id=assessment_id, item_id=item_id)
