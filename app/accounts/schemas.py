"""Accounts in and out of the API."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.core.inputs import InputModel


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: str
    country_code: str | None = None
    is_active: bool
    last_login_at: datetime | None
    two_factor_enabled: bool = False


class UserCreate(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Annotated[str, Field(max_length=254)]
    full_name: Annotated[str, Field(min_length=1, max_length=200)]
    role: str
    country_code: str | None = None
    password: Annotated[str, Field(max_length=200)] | None = None
    invite: bool = Field(
        default=False, description="e-mail the user a link to choose their password"
    )


class UserUpdate(InputModel):
    role: str | None = None
    country_code: str | None = None
    is_active: bool | None = None


class TokenCreate(InputModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenOut):
    token: str = Field(description="The secret: shown this once, store it safely")


class PasswordChange(InputModel):
    current_password: Annotated[str, Field(max_length=200)]
    new_password: Annotated[str, Field(max_length=200)]


class PasswordChanged(BaseModel):
    changed: bool = True
    sessions_ended: bool = Field(
        True, description="the user's web sessions ended (but the caller's own); tokens stay"
    )


class ResetRequest(InputModel):
    email: Annotated[str, Field(max_length=254)]


class ResetRequested(BaseModel):
    message: str = (
        "if this address belongs to an account, a link to choose a new password is on its way"
    )


class PasswordLink(BaseModel):
    purpose: str
    url: str = Field(description="the single-use link (also e-mailed to the user)")
    expires_at: datetime
