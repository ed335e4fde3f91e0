"""Accounts API: who am I, personal API tokens, and user management for administrators."""

from fastapi import APIRouter, status
from sqlalchemy import select

from app.accounts import service
from app.accounts.dependencies import AdminUser, CurrentUser
from app.accounts.models import User
from app.accounts.schemas import (
    TokenCreate,
    TokenIssued,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from app.core.db import SessionDep
from app.core.inputs import Id
from app.countries.models import Country

router = APIRouter(tags=["accounts"])


def _user_out(session, user: User) -> UserOut:
    code = session.scalar(select(Country.code).where(Country.id == user.country_id))
    return UserOut.model_validate(user).model_copy(update={"country_code": code})


@router.get("/me")
def me(user: CurrentUser, session: SessionDep) -> UserOut:
    """The calling user."""
    return _user_out(session, user)


@router.get("/tokens")
def list_tokens(user: CurrentUser, session: SessionDep) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in service.list_api_tokens(session, user=user)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(data: TokenCreate, user: CurrentUser, session: SessionDep) -> TokenIssued:
    """Issue a personal API token; the secret is in this answer only."""
    secret, row = service.issue_api_token(session, user=user, name=data.name)
    return TokenIssued(**TokenOut.model_validate(row).model_dump(), token=secret)


@router.delete("/tokens/{token_id}")
def revoke_token(token_id: Id, user: CurrentUser, session: SessionDep) -> TokenOut:
    return TokenOut.model_validate(service.revoke_api_token(session, user=user, token_id=token_id))


@router.get("/users")
def list_users(admin: AdminUser, session: SessionDep) -> list[UserOut]:
    return [_user_out(session, u) for u in service.list_users(session, actor=admin)]


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(data: UserCreate, admin: AdminUser, session: SessionDep) -> UserOut:
    user = service.create_user(session, actor=admin, **data.model_dump())
    return _user_out(session, user)


@router.patch("/users/{user_id}")
def update_user(user_id: Id, data: UserUpdate, admin: AdminUser, session: SessionDep) -> UserOut:
    user = service.get_user(session, user_id, actor=admin)
    if data.role is not None:
        service.set_role(
            session, user=user, role=data.role, country_code=data.country_code, actor=admin
        )
    if data.is_active is not None:
        service.set_active(session, user=user, active=data.is_active, actor=admin)
    return _user_out(session, user)
