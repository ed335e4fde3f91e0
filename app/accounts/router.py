"""Accounts API: who am I, personal API tokens, and user management for administrators."""

from fastapi import APIRouter, BackgroundTasks, Request, status
from sqlalchemy import select

from app.accounts import credentials, service
from app.accounts.dependencies import (
    SESSION_COOKIE,
    AdminUser,
    CurrentUser,
    deliver_mail_after_response,
)
from app.accounts.models import User
from app.accounts.schemas import (
    PasswordChange,
    PasswordChanged,
    PasswordLink,
    ResetRequest,
    ResetRequested,
    TokenCreate,
    TokenIssued,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from app.core.db import SessionDep, utcnow
from app.core.errors import Invalid
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
def create_user(
    data: UserCreate,
    admin: AdminUser,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> UserOut:
    """Create a user; with `invite`, they are e-mailed a link to choose their password."""
    if data.invite and data.password:
        raise Invalid("give a password or send an invitation, not both", field="invite")
    user = service.create_user(session, actor=admin, **data.model_dump(exclude={"invite"}))
    if data.invite:
        credentials.invite(session, user=user, settings=request.app.state.settings, actor=admin)
        deliver_mail_after_response(request, background)
    return _user_out(session, user)


@router.post("/users/{user_id}/password-link", status_code=status.HTTP_201_CREATED)
def password_link(
    user_id: Id,
    admin: AdminUser,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> PasswordLink:
    """E-mail a user a single-use link to choose a password (a reset, or the invitation
    again if they never chose one); the link is in this answer too."""
    user = service.get_user(session, user_id, actor=admin)
    settings = request.app.state.settings
    send = credentials.send_reset if user.password_hash else credentials.invite
    link = send(session, user=user, settings=settings, actor=admin)
    deliver_mail_after_response(request, background)
    return PasswordLink(
        purpose="reset" if user.password_hash else "invitation",
        url=link.url,
        expires_at=utcnow() + link.expires_in,
    )


@router.post("/me/password")
def change_password(
    data: PasswordChange,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> PasswordChanged:
    """Change the caller's password. The current one is required; every web session ends
    but the caller's own; API tokens keep working."""
    own = None
    if getattr(request.state, "auth", None) == "session":
        found = service.session_user(session, request.cookies.get(SESSION_COOKIE, ""))
        own = found[1].id if found else None
    service.change_password(
        session,
        user=user,
        current=data.current_password,
        new=data.new_password,
        settings=request.app.state.settings,
        keep_session_id=own,
        client=request.client.host if request.client else "",
    )
    deliver_mail_after_response(request, background)
    return PasswordChanged()


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
def request_password_reset(
    data: ResetRequest, session: SessionDep, request: Request, background: BackgroundTasks
) -> ResetRequested:
    """'Forgot password': e-mail a reset link. The answer is the same whether or not the
    address has an account."""
    credentials.request_reset(session, email=data.email, settings=request.app.state.settings)
    deliver_mail_after_response(request, background)
    return ResetRequested()


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
