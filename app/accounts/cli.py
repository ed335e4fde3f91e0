"""`gsr users ...`: manage accounts from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from app.accounts import credentials, service, two_factor
from app.accounts.models import LinkPurpose
from app.core.config import get_settings
from app.core.db import make_engine, session_factory
from app.core.errors import DomainError
from app.mail.service import deliver_pending

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


def _deliver_mail() -> None:
    """Send what the command put in the outbox (when an SMTP host is set)."""
    settings = get_settings()
    if not settings.mail.host:
        typer.echo("no SMTP host set (GSR_MAIL_HOST): the e-mail waits in the outbox")
        return
    engine = make_engine(settings.database_url)
    try:
        sent = deliver_pending(session_factory(engine), settings)
    finally:
        engine.dispose()
    typer.echo(f"{sent} e-mail(s) sent")


@users_cli.command("create")
def create(
    email: str,
    name: Annotated[str, typer.Option(help="Full name")],
    role: Annotated[str, typer.Option(help="admin, secretariat, coordinator, contributor, viewer")],
    country: Annotated[str | None, typer.Option(help="ISO alpha-3 code, for country roles")] = None,
    invite: Annotated[
        bool,
        typer.Option(
            "--invite", help="e-mail (and print) a link to choose a password, instead of one"
        ),
    ] = False,
    password: Annotated[
        str | None, typer.Option(help="the password (asked for if omitted)")
    ] = None,
) -> None:
    """Create a user, with a password (asked for, or --password) or an --invite link."""
    if invite and password:
        typer.echo("error: give --password or --invite, not both", err=True)
        raise typer.Exit(2)
    if not invite and password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = get_settings()
    with _session() as session:
        user = service.create_user(
            session,
            email=email,
            full_name=name,
            role=role,
            country_code=country,
            password=None if invite else password,
        )
        link = (
            credentials.invite(session, user=user, settings=settings, actor=None)
            if invite
            else None
        )
        typer.echo(
            f"created {user.email} ({user.role}{' of ' + country.upper() if country else ''})"
        )
    if link is not None:
        typer.echo(f"invitation link (works once, for {settings.security.invitation_days} days):")
        typer.echo(link.url)
        _deliver_mail()


@users_cli.command("reset-password")
def reset_password(
    email: str,
    send: Annotated[bool, typer.Option(help="also e-mail the link to the user")] = True,
) -> None:
    """Print a single-use link for the user to choose a new password (and e-mail it)."""
    settings = get_settings()
    with _session() as session:
        user = service.find_user(session, email)
        if send:
            link = credentials.send_reset(session, user=user, settings=settings, actor=None)
        else:
            link = credentials.issue_link(
                session, user=user, purpose=LinkPurpose.RESET, settings=settings
            )
    minutes = settings.security.reset_link_minutes
    typer.echo(f"password reset link for {user.email} (works once, for {minutes} minutes):")
    typer.echo(link.url)
    if send:
        _deliver_mail()


@users_cli.command("two-factor-off")
def two_factor_off(email: str) -> None:
    """Turn a user's two-factor log-in off (they lost their phone and recovery codes)."""
    with _session() as session:
        two_factor.turn_off(session, user=service.find_user(session, email))
    typer.echo(f"two-factor log-in is off for {email}")


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
