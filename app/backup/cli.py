"""`gsr backup PATH` and `gsr restore PATH`: back up and restore the configured database.

The two commands are plain functions so that the main `gsr` command can register them
(`cli.command("backup")(backup)`); `backup_cli` holds them for use on their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer

from app.backup import service
from app.core.config import get_settings

backup_cli = typer.Typer(help="Back up and restore the gsr-assess database.", no_args_is_help=True)


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(1)


def _confirm(question: str) -> bool:
    try:
        return typer.confirm(question, default=False)
    except typer.Abort:  # end of input or Ctrl-C: the answer is no
        typer.echo("")
        return False


def _echo_rows(row_counts: dict[str, int]) -> None:
    typer.echo(f"  rows: {sum(row_counts.values())} in {len(row_counts)} tables")
    width = max((len(name) for name in row_counts), default=0)
    for name, count in row_counts.items():
        typer.echo(f"    {name:<{width}}  {count:>8}")


@backup_cli.command("backup")
def backup(
    path: Annotated[
        Path,
        typer.Argument(help="File to write, or an existing folder to write gsr-<UTC time>.db in"),
    ],
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace PATH if it already exists")
    ] = False,
) -> None:
    """Copy the database to PATH while the service runs, check the copy, describe it in JSON."""
    try:
        info = service.backup(get_settings().database_url, path, overwrite=overwrite)
    except service.BackupExistsError as exc:
        _fail(f"{exc}; pass --overwrite to replace it")
    except service.BackupError as exc:
        _fail(str(exc))
    typer.echo(f"Backed up {info.database} to {info.path}")
    typer.echo(
        f"  schema revision {info.revision}, gsr-assess {info.app_version}, "
        f"{info.size_bytes} bytes, integrity ok"
    )
    typer.echo(f"  sha256 {info.sha256}")
    typer.echo(f"  description {info.sidecar}")
    _echo_rows(info.row_counts)


@backup_cli.command("restore")
def restore(
    path: Annotated[Path, typer.Argument(help="Backup file made by `gsr backup`")],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Restore without asking for confirmation")
    ] = False,
) -> None:
    """Replace the database's content with the backup at PATH, keeping a copy of the old one."""
    database_url = get_settings().database_url
    try:
        checked = service.check_backup(database_url, path)
    except service.BackupError as exc:
        _fail(str(exc))
    made = ""
    if checked.sidecar is not None:
        made = (
            f", made {checked.sidecar.get('created_at')} "
            f"by gsr-assess {checked.sidecar.get('app_version')}"
        )
    typer.echo(f"Backup {path}: schema revision {checked.revision}{made}")
    _echo_rows(checked.row_counts)
    if not yes and not _confirm(
        f"Replace the content of {checked.database} with this backup? Stop the service first; "
        "the current database is kept as a safety copy next to it."
    ):
        typer.echo("Restore cancelled; nothing was changed.", err=True)
        raise typer.Exit(1)

    try:
        info = service.restore(database_url, path)
    except service.BackupError as exc:
        _fail(str(exc))
    typer.echo(f"Restored {info.source} into {info.database}")
    if info.safety_copy is not None:
        typer.echo(f"  previous database kept at {info.safety_copy}")
    else:
        typer.echo("  there was no previous database")
    if info.upgraded:
        typer.echo(f"  schema upgraded from revision {info.restored_revision} to {info.revision}")
    else:
        typer.echo(f"  schema revision {info.revision}")
    _echo_rows(info.row_counts)
