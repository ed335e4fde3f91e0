"""The `gsr` command for operators: serve, migrate, validate and inspect the catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

import app.models  # noqa: F401  every table known before a command's first query
from app.accounts.cli import users_cli
from app.backup import cli as backup_commands
from app.core.config import get_settings

cli = typer.Typer(
    help="gsr-assess: national self-assessment against the GSR.", no_args_is_help=True
)
catalogue_cli = typer.Typer(
    help="Validate and inspect the capability catalogue.", no_args_is_help=True
)
db_cli = typer.Typer(help="Database migrations.", no_args_is_help=True)
demo_cli = typer.Typer(help="Demonstration data.", no_args_is_help=True)
cli.add_typer(catalogue_cli, name="catalogue")
cli.add_typer(db_cli, name="db")
cli.add_typer(demo_cli, name="demo")
cli.add_typer(users_cli, name="users")
cli.command("backup")(backup_commands.backup)
cli.command("restore")(backup_commands.restore)


@catalogue_cli.command("validate")
def catalogue_validate(
    path: Annotated[
        Path | None, typer.Argument(help="Catalogue folder (default: configured)")
    ] = None,
) -> None:
    """Check every rule of the catalogue format; list every problem with file and line."""
    from app.catalogue.loader import CatalogueError, load_catalogue

    folder = path or get_settings().catalogue_path
    try:
        loaded = load_catalogue(folder)
    except CatalogueError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} problem(s) in {folder}", err=True)
        raise typer.Exit(1) from None
    catalogue = loaded.catalogue
    typer.echo(
        f"OK: catalogue {catalogue.id} {catalogue.version}: {len(catalogue.areas)} areas, "
        f"{len(catalogue.capabilities())} capabilities, "
        f"{len(catalogue.indicator_keys())} indicators; {loaded.content_hash}"
    )


@catalogue_cli.command("show")
def catalogue_show(
    path: Annotated[
        Path | None, typer.Argument(help="Catalogue folder (default: configured)")
    ] = None,
    locale: Annotated[str, typer.Option(help="Language of the titles")] = "en",
) -> None:
    """List areas and capabilities with their indicator counts."""
    from app.catalogue.loader import CatalogueError, load_catalogue

    try:
        loaded = load_catalogue(path or get_settings().catalogue_path)
    except CatalogueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    catalogue = loaded.catalogue
    typer.echo(f"{catalogue.title.get(locale)} (version {catalogue.version})")
    typer.echo(f"hash {loaded.content_hash}")
    for area in catalogue.areas:
        count = sum(len(c.indicators) for c in area.capabilities)
        typer.echo(
            f"\n{area.title.get(locale)} [{area.id}]: "
            f"{len(area.capabilities)} capabilities, {count} indicators"
        )
        for capability in area.capabilities:
            mnr = ", ".join(str(n) for n in capability.mnr)
            typer.echo(
                f"  {capability.id:<28} {len(capability.indicators)} indicators  "
                f"MNR {mnr:<8} {capability.title.get(locale)}"
            )


@catalogue_cli.command("schema")
def catalogue_schema(
    output: Annotated[
        Path | None, typer.Option(help="File to write (default: capabilities/schema.json)")
    ] = None,
) -> None:
    """Write the JSON Schema of the catalogue files, generated from the models."""
    from app.catalogue.schema import json_schema

    target = output or get_settings().catalogue_path / "schema.json"
    target.write_text(
        json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    typer.echo(f"wrote {target}")


@db_cli.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations to the configured database, then refresh its reference data."""
    from app.core.db import make_engine, session_factory
    from app.core.migrate import upgrade
    from app.countries import service as country_service

    settings = get_settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")
    if revision == "head":
        # The ISO countries, so that country users can be created before the first start.
        engine = make_engine(settings.database_url, database=settings.database)
        with session_factory(engine).begin() as session:
            changed = country_service.sync_countries(session, include_demo=settings.demo_mode)
        engine.dispose()
        typer.echo(f"countries up to date ({changed} changed)")


@demo_cli.command("load")
def demo_load() -> None:
    """Seed demo countries, users and assessments (idempotent)."""
    from app.demo import load_demo

    for line in load_demo():
        typer.echo(line)


@cli.command("serve")
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    reload: bool = False,
    worker_timeout: Annotated[
        float,
        typer.Option(
            help="Seconds a worker may take to start or to answer the supervisor's health "
            "check before it is replaced (generous: a busy machine is not a hung worker)"
        ),
    ] = 60.0,
) -> None:
    """Serve the web application and API."""
    import uvicorn

    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_level=get_settings().log_level,
        timeout_worker_healthcheck=worker_timeout,
    )


@cli.command("worker")
def worker(
    concurrency: Annotated[
        int | None, typer.Option(help="Jobs run at once (default: GSR_REPORTS_WORKERS)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Name in the queue (default: host:pid)")] = None,
) -> None:
    """Run background jobs (report renders, ...) from the PostgreSQL queue, until stopped.

    Start as many as the load needs, on any machine that reaches the database; the embedded
    SQLite installation needs none (its jobs run inside `gsr serve`).
    """
    import logging
    from types import SimpleNamespace

    from app.core.db import make_engine, make_sessions
    from app.jobs.queue import ProcrastinateQueue, process_name

    settings = get_settings()
    if not settings.database_url.startswith("postgresql"):
        typer.echo(
            "gsr worker needs PostgreSQL (GSR_DATABASE_URL=postgresql+psycopg://...); with "
            "SQLite, `gsr serve` runs the background jobs itself.",
            err=True,
        )
        raise typer.Exit(2)
    if settings.jobs.runner != "auto":
        typer.echo("GSR_JOBS_RUNNER=threads: `gsr serve` runs the jobs itself.", err=True)
        raise typer.Exit(2)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s %(message)s"
    )
    concurrency = concurrency or settings.reports.workers
    engine = make_engine(settings.database_url, database=settings.database)
    queue = ProcrastinateQueue(settings.database_url, max_connections=concurrency + 2)
    state = SimpleNamespace()
    typer.echo(f"worker {name or process_name()}: {concurrency} job(s) at once")
    try:
        queue.run_worker(
            sessions=make_sessions(engine),
            settings=settings,
            state=state,
            concurrency=concurrency,
            name=name or process_name(),
            heartbeat=settings.jobs.heartbeat,
            stalled_after=settings.jobs.stalled_after,
        )
    finally:
        renderer = getattr(state, "report_renderer", None)
        if renderer is not None:
            renderer.close()
        engine.dispose()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
