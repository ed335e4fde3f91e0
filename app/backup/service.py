"""Online backup of the SQLite database, checked copies, and restore with a safety copy.

SQLite's backup API copies the live database page by page inside one read snapshot, so the
copy is consistent while the application keeps writing (in WAL mode readers never block
writers). The same API writes a restore into the live database inside one write
transaction, so other connections see the old content or the new, never a mixture, and a
failure leaves the old content in place. PostgreSQL has its own tools for this (pg_dump and
pg_restore); for a PostgreSQL URL this module says how to use them and runs nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

import app
from app.core import migrate

log = logging.getLogger(__name__)

SIDECAR_FORMAT = "gsr-assess-backup"
SIDECAR_FORMAT_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
SQLITE_HEADER_SIZE = 100
# How long to wait for another connection's lock before giving up on one attempt.
BUSY_TIMEOUT_SECONDS = 30.0
DOCS = "docs/backup.md"


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why and what to do."""


class BackupExistsError(BackupError):
    """The backup's file is already there and overwriting was not asked for."""


@dataclass(frozen=True)
class BackupInfo:
    """What `backup` wrote: the checked copy, its sidecar, and what the copy holds."""

    path: Path
    sidecar: Path
    database: Path
    app_version: str
    revision: str
    created_at: datetime
    row_counts: dict[str, int]
    sha256: str
    size_bytes: int

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())


@dataclass(frozen=True)
class BackupFile:
    """A backup that passed every check and can be restored into `database`."""

    path: Path
    database: Path
    revision: str
    needs_upgrade: bool
    row_counts: dict[str, int]
    sha256: str
    sidecar: dict[str, Any] | None

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())


@dataclass(frozen=True)
class RestoreInfo:
    """What `restore` did: where the data went, the safety copy, the schema revisions."""

    database: Path
    source: Path
    safety_copy: Path | None
    restored_revision: str
    revision: str
    row_counts: dict[str, int]

    @property
    def upgraded(self) -> bool:
        return self.revision != self.restored_revision

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())


def backup(database_url: str, target: Path, *, overwrite: bool = False) -> BackupInfo:
    """Copy the live SQLite database to target, check the copy and write its JSON sidecar.

    target may be an existing folder: the copy is then named gsr-<UTC time>.db inside it.
    """
    created_at = datetime.now(UTC)
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        raise BackupError(_pg_dump_advice(url, _target_file(target, created_at, ".dump")))
    database = _sqlite_path(url)
    target = _target_file(target, created_at, ".db")
    sidecar = sidecar_path(target)
    if not database.is_file():
        raise BackupError(f"there is no database at {database}; nothing to back up")
    if target.resolve() == database.resolve():
        raise BackupError(f"{target} is the database itself; choose another path for the backup")
    if not overwrite:
        for existing in (target, sidecar):
            if existing.exists():
                raise BackupExistsError(f"{existing} already exists; refusing to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)

    with _partial_file(target) as partial:
        try:
            _online_copy(database, partial)
            with closing(_open_read_only(partial)) as copy:
                _check_integrity(copy, database)
                revisions = _revisions(copy, database)
                row_counts = _row_counts(copy)
        except sqlite3.Error as exc:
            raise BackupError(f"could not back up {database}: {exc}") from exc
        digest = _sha256(partial)
        size = partial.stat().st_size
        _fsync(partial)
        os.replace(partial, target)

    info = BackupInfo(
        path=target,
        sidecar=sidecar,
        database=database,
        app_version=app.__version__,
        revision=",".join(revisions),
        created_at=created_at,
        row_counts=row_counts,
        sha256=digest,
        size_bytes=size,
    )
    _write_sidecar(info)
    _fsync_directory(target.parent)
    log.info("backed up %s to %s (%d rows)", database, target, info.total_rows)
    return info


def check_backup(database_url: str, source: Path) -> BackupFile:
    """Check that source is an intact gsr-assess backup this version can restore; change nothing."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        raise BackupError(_pg_restore_advice(url, source))
    database = _sqlite_path(url)
    _check_header(source)
    if source.resolve() == database.resolve():
        raise BackupError(f"{source} is the database itself; restore from a backup file instead")

    digest = _sha256(source)
    sidecar = _read_sidecar(source)
    if sidecar is not None and sidecar.get("sha256") != digest:
        raise BackupError(
            f"{source} does not match the sha256 recorded in {sidecar_path(source)}: the file "
            "was changed or damaged after the backup was made"
        )
    try:
        with closing(_open_read_only(source)) as connection:
            _check_integrity(connection, source)
            revisions = _revisions(connection, source)
            row_counts = _row_counts(connection)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a readable SQLite database ({exc})") from None

    scripts = ScriptDirectory.from_config(migrate.alembic_config(database_url))
    known = {script.revision for script in scripts.walk_revisions()}
    unknown = [revision for revision in revisions if revision not in known]
    if unknown:
        made_by = ""
        if sidecar and sidecar.get("app_version"):
            made_by = f" (it was made by gsr-assess {sidecar['app_version']})"
        raise BackupError(
            f"{source} is at schema revision {', '.join(unknown)}, which this version of "
            f"gsr-assess ({app.__version__}) does not know{made_by}; restore it with the version "
            "that made it, or a newer one"
        )
    return BackupFile(
        path=source,
        database=database,
        revision=",".join(revisions),
        needs_upgrade=set(revisions) != set(scripts.get_heads()),
        row_counts=row_counts,
        sha256=digest,
        sidecar=sidecar,
    )


def restore(database_url: str, source: Path) -> RestoreInfo:
    """Replace the SQLite database's content with the backup at source.

    The backup is checked first and refused, changing nothing, if it is not an intact
    gsr-assess database. The current database is copied to <db>.before-restore-<UTC time>
    before it is overwritten, and a backup of an older schema is upgraded to head.
    """
    checked = check_backup(database_url, source)
    database = checked.database
    existed = database.exists()
    safety_copy = _safety_copy(database) if existed else None
    if not existed:
        database.parent.mkdir(parents=True, exist_ok=True)

    try:
        with (
            closing(_open_read_only(source)) as backup_connection,
            closing(sqlite3.connect(database, timeout=BUSY_TIMEOUT_SECONDS)) as live,
        ):
            backup_connection.backup(live)
    except sqlite3.Error as exc:
        # The copy runs in one write transaction on the live database: on failure it is
        # rolled back, so the safety copy is not needed.
        if safety_copy is not None:
            safety_copy.unlink(missing_ok=True)
            outcome = "it is unchanged"
        else:
            _remove_database_files(database)
            outcome = "nothing was written"
        raise BackupError(f"could not restore into {database}: {exc}; {outcome}") from exc

    if checked.needs_upgrade:
        try:
            migrate.upgrade(database_url)
        except Exception as exc:
            kept = f"; the previous database is at {safety_copy}" if safety_copy else ""
            raise BackupError(
                f"restored {source} into {database} at schema revision {checked.revision}, "
                f"but upgrading it failed ({exc}); fix the cause and run `gsr db upgrade`{kept}"
            ) from exc

    with closing(_open_existing(database)) as connection:
        revisions = _revisions(connection, database)
        row_counts = _row_counts(connection)
    log.info("restored %s into %s (%d rows)", source, database, sum(row_counts.values()))
    return RestoreInfo(
        database=database,
        source=source,
        safety_copy=safety_copy,
        restored_revision=checked.revision,
        revision=",".join(revisions),
        row_counts=row_counts,
    )


def sidecar_path(backup_file: Path) -> Path:
    """The JSON file that describes a backup: its name with .json added."""
    return backup_file.with_name(backup_file.name + ".json")


# --- the database URL ---------------------------------------------------------------------


def _sqlite_path(url: URL) -> Path:
    backend = url.get_backend_name()
    if backend != "sqlite":
        raise BackupError(
            f"backup and restore work on SQLite databases; this one is {backend} (see {DOCS})"
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has no file to back up or restore")
    return Path(url.database).absolute()


def _pg_connection_options(url: URL) -> list[str]:
    # The password is never repeated: pg_dump asks for it, or reads PGPASSWORD / ~/.pgpass.
    options = []
    if url.host:
        options.append(f"--host={url.host}")
    if url.port:
        options.append(f"--port={url.port}")
    if url.username:
        options.append(f"--username={url.username}")
    return options


def _pg_dump_advice(url: URL, target: Path) -> str:
    command = shlex.join(
        [
            "pg_dump",
            "--format=custom",
            f"--file={target}",
            *_pg_connection_options(url),
            url.database or "DBNAME",
        ]
    )
    return (
        "this database is PostgreSQL: back it up with PostgreSQL's own tool, which makes a "
        f"consistent copy while the service runs:\n  {command}\n"
        f"and restore it with pg_restore (see {DOCS})"
    )


def _pg_restore_advice(url: URL, source: Path) -> str:
    command = shlex.join(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--single-transaction",
            *_pg_connection_options(url),
            f"--dbname={url.database or 'DBNAME'}",
            str(source),
        ]
    )
    return (
        "this database is PostgreSQL: restore a pg_dump backup with PostgreSQL's own tool, "
        f"with the service stopped:\n  {command}\nthen run `gsr db upgrade` (see {DOCS})"
    )


# --- files --------------------------------------------------------------------------------


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def _target_file(target: Path, created_at: datetime, suffix: str) -> Path:
    if target.is_dir():
        return target / f"gsr-{_timestamp(created_at)}{suffix}"
    return target


@contextmanager
def _partial_file(final: Path) -> Iterator[Path]:
    """A fresh private file next to final, removed on the way out unless moved into place."""
    partial = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.partial")
    # Created here so that it is private from the start: backups hold password hashes and
    # confidential assessment data.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        yield partial
    finally:
        _remove_database_files(partial)


def _remove_database_files(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with path.open("rb") as file:
        os.fsync(file.fileno())


def _fsync_directory(directory: Path) -> None:
    """Make the renames in directory durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_sidecar(info: BackupInfo) -> None:
    content = {
        "format": SIDECAR_FORMAT,
        "format_version": SIDECAR_FORMAT_VERSION,
        "file": info.path.name,
        "sha256": info.sha256,
        "size_bytes": info.size_bytes,
        "created_at": info.created_at.isoformat(timespec="seconds"),
        "app_version": info.app_version,
        "schema_revision": info.revision,
        "database": str(info.database.resolve()),
        "sqlite_version": sqlite3.sqlite_version,
        "row_counts": info.row_counts,
    }
    with _partial_file(info.sidecar) as partial:
        partial.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, info.sidecar)


def _read_sidecar(source: Path) -> dict[str, Any] | None:
    path = sidecar_path(source)
    if not path.exists():
        return None
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(
            f"{path} is not a readable backup description ({exc}); "
            "move it away to restore without checking the file against it"
        ) from None
    if not isinstance(content, dict) or content.get("format") != SIDECAR_FORMAT:
        raise BackupError(
            f"{path} does not describe a gsr-assess backup; "
            "move it away to restore without checking the file against it"
        )
    return content


def _check_header(path: Path) -> None:
    """Refuse files that are missing, not SQLite, or shorter than their header says."""
    if not path.exists():
        raise BackupError(f"there is no file at {path}")
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    with path.open("rb") as file:
        header = file.read(SQLITE_HEADER_SIZE)
    if not header.startswith(SQLITE_MAGIC):
        raise BackupError(f"{path} is not an SQLite database file")
    size = path.stat().st_size
    if len(header) < SQLITE_HEADER_SIZE:
        raise BackupError(f"{path} is truncated: it is {size} bytes, shorter than its header")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count in the header is trustworthy when its "valid for" counter matches the
    # change counter (SQLite file format, offsets 24 and 92).
    if pages and header[24:28] == header[92:96] and size < pages * page_size:
        raise BackupError(
            f"{path} is truncated: its header describes {pages * page_size} bytes, "
            f"the file has {size}"
        )


def _safety_copy(database: Path) -> Path:
    """Copy the current database next to itself before a restore overwrites it."""
    stem = f"{database.name}.before-restore-{_timestamp(datetime.now(UTC))}"
    copy = database.with_name(stem)
    number = 1
    while copy.exists():
        copy = database.with_name(f"{stem}-{number}")
        number += 1
    with _partial_file(copy) as partial:
        try:
            _online_copy(database, partial)
        except sqlite3.Error as exc:
            raise BackupError(
                f"could not make a safety copy of {database} ({exc}); nothing was changed. If "
                f"that database is damaged, stop the service, move {database} and any -wal "
                "and -shm files next to it out of the way, and restore again"
            ) from exc
        _fsync(partial)
        os.replace(partial, copy)
    _fsync_directory(copy.parent)
    return copy


# --- SQLite -------------------------------------------------------------------------------


def _uri(path: Path, mode: str) -> str:
    return f"file:{quote(str(path.resolve()))}?mode={mode}"


def _open_existing(path: Path) -> sqlite3.Connection:
    """A connection to an existing database (never creates one)."""
    return sqlite3.connect(_uri(path, "rw"), uri=True, timeout=BUSY_TIMEOUT_SECONDS)


def _open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(_uri(path, "ro"), uri=True, timeout=BUSY_TIMEOUT_SECONDS)


def _online_copy(source: Path, destination: Path) -> None:
    """Copy a live database into destination as one consistent snapshot.

    All pages are copied in a single step, so the read snapshot is held from start to end
    and writers carry on in the WAL meanwhile. The copy is switched to rollback-journal mode
    so that it is one self-contained file.
    """
    with (
        closing(_open_existing(source)) as live,
        closing(sqlite3.connect(destination, timeout=BUSY_TIMEOUT_SECONDS)) as copy,
    ):
        live.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")


def _check_integrity(connection: sqlite3.Connection, label: Path) -> None:
    problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        shown = "; ".join(str(problem) for problem in problems[:5])
        raise BackupError(f"{label} failed SQLite's integrity check: {shown}")


def _revisions(connection: sqlite3.Connection, label: Path) -> tuple[str, ...]:
    """The Alembic revision(s) the database is at; an error if it is not a gsr database."""
    has_table = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if not has_table:
        raise BackupError(f"{label} is not a gsr-assess database: it has no alembic_version table")
    rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    if not rows:
        raise BackupError(f"{label} is not a gsr-assess database: it records no schema revision")
    return tuple(sorted(str(row[0]) for row in rows))


def _row_counts(connection: sqlite3.Connection) -> dict[str, int]:
    """Rows per table, every table but SQLite's own and Alembic's."""
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'alembic_version' "
            "ORDER BY name"
        )
    ]
    return {
        name: connection.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]
        for name in names
    }


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
