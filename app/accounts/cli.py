"""`gsr users ...`: manage accounts from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from app.accounts import service
from app.core.config import get_settings
from app.core.db import make_engine, session_factory
from app.core.errors import DomainError

users_cli = typer.Typer(help="Create users, set roles, disable accounts.", no_args_is_help=True)


@contextmanager
def _session() -> Iterator[Session]:
    engine = make_engine(get_settings().database_url)
    try:
        with session_factory(engine).begin() as session:
            yield session
    except DomainError as exc:
        where = f" ({exc.field})" if exc.field else ""
        typer.echo(f"error{where}: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()


@users_cli.command("create")
def create(
    email: str,
    name: Annotated[str, typer.Option(help="Full name")],
    role: Annotated[str, typer.Option(help="admin, secretariat, coordinator, contributor, viewer")],
    country: Annotated[str | None, typer.Option(help="ISO alpha-3 code, for country roles")] = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create a user who can log in with the given password."""
    with _session() as session:
        user = service.create_user(
            session, email=email, full_name=name, role=role, country_code=country, password=password
        )
        typer.echo(
            f"created {user.email} ({user.role}{' of ' + country.upper() if country else ''})"
        )


@users_cli.command("set-role")
def set_role(
    email: str,
    role: str,
    country: Annotated[str | None, typer.Option(help="ISO alpha-3 code, for country roles")] = None,
) -> None:
    """Change a user's role (and country, for country roles)."""
    with _session() as session:
        user = service.set_role(
            session, user=service.find_user(session, email), role=role, country_code=country
        )
        typer.echo(f"{user.email} is now {user.role}")


@users_cli.command("disable")
def disable(email: str) -> None:
    """Disable a user: ends their sessions and revokes their API tokens."""
    with _session() as session:
        service.set_active(session, user=service.find_user(session, email), active=False)
        typer.echo(f"{email} disabled")


@users_cli.command("enable")
def enable(email: str) -> None:
    with _session() as session:
        service.set_active(session, user=service.find_user(session, email), active=True)
        typer.echo(f"{email} enabled")


@users_cli.command("list")
def list_users() -> None:
    with _session() as session:
        for user in service.list_users(session):
            state = "" if user.is_active else "  (disabled)"
            typer.echo(f"{user.email:<45} {user.role:<12}{state}")
