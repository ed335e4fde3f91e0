"""Backup and restore: every row comes back, copies stay consistent while the service writes,
bad backups are refused without changing anything, and the commands say what they did."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from alembic.script import ScriptDirectory
from sqlalchemy import delete, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import app
from app.backup import service
from app.backup.cli import backup, backup_cli, restore
from app.core import migrate
from app.core.config import get_settings
from app.core.db import make_engine
from app.models import (
    AccountLink,
    ActionItem,
    Answer,
    AnswerChange,
    ApiToken,
    AreaAssignment,
    Assessment,
    AuditEvent,
    Base,
    CatalogueVersion,
    Comment,
    Country,
    LoginAttempt,
    LoginChallenge,
    OutboxMessage,
    PeerConsent,
    PendingImport,
    RecoveryCode,
    ReportFile,
    ReportRender,
    ReviewFlag,
    SharingSettings,
    Target,
    User,
    UserSession,
)

HEAD = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
PG_URL = "postgresql+psycopg://gsr_app:s3cret-pw@db.internal:5433/gsr_prod"
ARABIC_JUSTIFICATION = (
    "اعتمدت الحكومة الاستراتيجية الوطنية لحماية الأطفال على الإنترنت في عام ٢٠٢٤، "
    "وتتولى وحدة الجرائم الإلكترونية تنسيق تنفيذها."
)
T0 = datetime(2026, 3, 2, 8, 15, 30, 123456, tzinfo=UTC)

runner = CliRunner()


# --- data --------------------------------------------------------------------------------


def fill_every_table(session: Session) -> None:
    """Realistic rows in every table, through the models."""
    jordan = Country(
        code="JOR",
        alpha2="JO",
        name="Jordan",
        region="Middle East & North Africa",
        income_group="Upper middle income",
        is_member=True,
        created_at=T0,
    )
    kenya = Country(
        code="KEN",
        alpha2="KE",
        name="Kenya",
        region="Sub-Saharan Africa",
        income_group="Lower middle income",
        is_member=True,
        created_at=T0,
    )
    demo = Country(
        code="XFD",
        alpha2="XF",
        name="Freedonia (demo)",
        region="Demo",
        income_group="High income",
        is_demo=True,
        created_at=T0,
    )
    catalogue = CatalogueVersion(
        catalogue_key="gsr",
        version="2025.1",
        content_hash="sha256:" + "3f" * 32,
        content={
            "id": "gsr",
            "version": "2025.1",
            "title": {"en": "Global Strategic Response", "ar": "الاستجابة الاستراتيجية العالمية"},
            "areas": [
                {
                    "id": "policy",
                    "capabilities": [
                        {
                            "id": "national-strategy",
                            "mnr": [2, 3],
                            "indicators": ["strategy-adopted", "strategy-funded"],
                        }
                    ],
                }
            ],
        },
        loaded_at=T0,
    )
    session.add_all([jordan, kenya, demo, catalogue])
    session.flush()

    admin = User(
        email="admin@weprotect.example",
        full_name="Alliance Administrator",
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
        role="admin",
        created_at=T0,
        last_login_at=T0 + timedelta(days=3),
    )
    coordinator = User(
        email="coordinator@moi.gov.jo.example",
        full_name="ليلى الحداد",
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$YW5vdGhlcg$c2Vjb25kaGFzaA",
        role="coordinator",
        country_id=jordan.id,
        locale="ar",
        created_at=T0,
    )
    contributor = User(
        email="w.otieno@ict.go.ke.example",
        full_name="Wanjiru Otieno",
        role="contributor",
        country_id=kenya.id,
        created_at=T0,
    )
    viewer = User(
        email="viewer@moi.gov.jo.example",
        full_name="Omar Khalil",
        role="viewer",
        country_id=jordan.id,
        is_active=False,
        created_at=T0,
    )
    session.add_all([admin, coordinator, contributor, viewer])
    session.flush()

    earlier = Assessment(
        country_id=jordan.id,
        cycle="2024",
        catalogue_version_id=catalogue.id,
        status="validated",
        revision=41,
        created_by_id=coordinator.id,
        created_at=T0,
        updated_at=T0 + timedelta(days=40),
        submitted_at=T0 + timedelta(days=30),
        validated_at=T0 + timedelta(days=40),
        signoff_name="ليلى الحداد",
        signoff_position="مديرة وحدة حماية الطفل",
        signoff_date=date(2024, 11, 20),
    )
    session.add(earlier)
    session.flush()
    current = Assessment(
        country_id=jordan.id,
        cycle="2025",
        catalogue_version_id=catalogue.id,
        status="submitted",
        deadline=date(2026, 6, 30),
        previous_id=earlier.id,
        revision=7,
        created_by_id=coordinator.id,
        created_at=T0 + timedelta(days=365),
        updated_at=T0 + timedelta(days=380),
        submitted_at=T0 + timedelta(days=380),
    )
    draft = Assessment(
        country_id=kenya.id,
        cycle="2025",
        catalogue_version_id=catalogue.id,
        created_by_id=contributor.id,
        created_at=T0,
        updated_at=T0,
    )
    session.add_all([current, draft])
    session.flush()

    level = Answer(
        assessment_id=current.id,
        capability_id="national-strategy",
        indicator_id="strategy-adopted",
        response="level",
        level=3,
        justification=ARABIC_JUSTIFICATION,
        evidence_notes="Cabinet decision 14/2024; مرسوم رقم ١٤",
        evidence_links=[
            "https://moi.gov.jo.example/strategy-2024.pdf",
            "https://example.org/تقرير-التنفيذ",
        ],
        confidence="documented",
        version=2,
        updated_by_id=coordinator.id,
        updated_at=T0 + timedelta(days=370),
    )
    not_applicable = Answer(
        assessment_id=current.id,
        capability_id="national-strategy",
        indicator_id="strategy-funded",
        response="not_applicable",
        justification="Funding sits in the ministry's general budget line.",
        confidence="self_reported",
        updated_by_id=coordinator.id,
        updated_at=T0 + timedelta(days=371),
    )
    unknown = Answer(
        assessment_id=draft.id,
        capability_id="national-strategy",
        indicator_id="strategy-adopted",
        response="unknown",
        carried_over=True,
        updated_at=T0,
    )
    session.add_all([level, not_applicable, unknown])
    session.flush()

    session.add_all(
        [
            AnswerChange(
                answer_id=level.id,
                version=1,
                changed_by_id=coordinator.id,
                changed_at=T0 + timedelta(days=366),
                source="web",
                old_value=None,
                new_value={"response": "level", "level": 2, "evidence_links": []},
            ),
            AnswerChange(
                answer_id=level.id,
                version=2,
                changed_by_id=coordinator.id,
                changed_at=T0 + timedelta(days=370),
                source="api",
                old_value={"response": "level", "level": 2, "evidence_links": []},
                new_value={
                    "response": "level",
                    "level": 3,
                    "justification": ARABIC_JUSTIFICATION,
                },
            ),
            Target(
                assessment_id=current.id,
                capability_id="national-strategy",
                level=4,
                version=3,
                set_by_id=coordinator.id,
                set_at=T0 + timedelta(days=372),
            ),
            AreaAssignment(
                assessment_id=draft.id,
                area_id="policy",
                user_id=contributor.id,
                assigned_at=T0 + timedelta(hours=2),
            ),
            Comment(
                assessment_id=current.id,
                capability_id="national-strategy",
                indicator_id="strategy-adopted",
                author_id=coordinator.id,
                body="يرجى إرفاق نسخة من قرار مجلس الوزراء.",
                created_at=T0 + timedelta(days=368),
            ),
            Comment(
                assessment_id=current.id,
                capability_id="national-strategy",
                indicator_id=None,
                kind="review",
                author_id=admin.id,
                body="Level 3 is well evidenced; level 4 needs a funded delivery plan.",
                created_at=T0 + timedelta(days=381),
            ),
            ActionItem(
                assessment_id=current.id,
                origin="catalogue",
                capability_id="national-strategy",
                step_level=4,
                action_index=0,
                title="Fund the national strategy's delivery plan",
                detail="Secure a ring-fenced budget line for 2026-2028.",
                lead_sector="government",
                owner_agency="Ministry of Planning",
                horizon="medium",
                due_date=date(2027, 3, 31),
                status="in_progress",
                position=1,
                edited_by_user=True,
                version=2,
                created_at=T0 + timedelta(days=382),
                updated_at=T0 + timedelta(days=383),
            ),
            ActionItem(
                assessment_id=current.id,
                origin="manual",
                title="تدريب المدعين العامين على الأدلة الرقمية",
                horizon="short",
                created_at=T0 + timedelta(days=384),
                updated_at=T0 + timedelta(days=384),
            ),
            AuditEvent(
                occurred_at=T0 + timedelta(days=380),
                actor_id=coordinator.id,
                action="assessment.submitted",
                country_id=jordan.id,
                assessment_id=current.id,
                target_type="assessment",
                target_id=str(current.id),
                details={"from": "draft", "to": "submitted", "revision": 7},
            ),
            AuditEvent(
                occurred_at=T0 + timedelta(days=1),
                action="catalogue.loaded",
                details={},
            ),
            UserSession(
                token_hash=hashlib.sha256(b"session-token-1").hexdigest(),
                user_id=coordinator.id,
                csrf_token="f" * 64,
                created_at=T0 + timedelta(days=380),
                expires_at=T0 + timedelta(days=380, hours=12),
                last_seen_at=T0 + timedelta(days=380, minutes=42),
            ),
            SharingSettings(
                country_id=jordan.id,
                include_in_aggregates=True,
                updated_by_id=coordinator.id,
                updated_at=T0 + timedelta(days=2),
            ),
            PeerConsent(
                country_id=jordan.id,
                peer_id=kenya.id,
                given_by_id=coordinator.id,
                given_at=T0 + timedelta(days=3),
            ),
            PendingImport(
                assessment_id=current.id,
                user_id=coordinator.id,
                kind="workbook",
                file_name="jordan-2026.xlsx",
                preview={"changes": [{"cell": "Policy!F7", "old": 1, "new": 2}], "problems": []},
                created_at=T0 + timedelta(days=4),
            ),
            ApiToken(
                user_id=admin.id,
                name="Quarterly export",
                prefix="gsr_4kT9",
                token_hash=hashlib.sha256(b"api-token-1").hexdigest(),
                created_at=T0,
                last_used_at=T0 + timedelta(days=90),
            ),
            ApiToken(
                user_id=coordinator.id,
                name="Old laptop",
                prefix="gsr_x1Qa",
                token_hash=hashlib.sha256(b"api-token-2").hexdigest(),
                created_at=T0,
                revoked_at=T0 + timedelta(days=10),
            ),
            LoginAttempt(
                email="coordinator@moi.gov.jo.example",
                client="198.51.100.23",
                succeeded=False,
                attempted_at=T0 + timedelta(days=379, hours=23),
                failures_before=0,
            ),
            LoginAttempt(
                email="coordinator@moi.gov.jo.example",
                client="198.51.100.23",
                succeeded=True,
                attempted_at=T0 + timedelta(days=380),
                failures_before=1,
            ),
        ]
    )
    # The accounts' links and second steps, the e-mail outbox, review marks, stored reports.
    session.add_all(
        [
            AccountLink(
                user_id=contributor.id,
                purpose="invitation",
                token_hash="b" * 64,
                created_at=T0,
                expires_at=T0 + timedelta(days=7),
            ),
            RecoveryCode(user_id=admin.id, code_hash="c" * 64, created_at=T0),
            LoginChallenge(
                token_hash="d" * 64,
                user_id=admin.id,
                step="code",
                created_at=T0,
                expires_at=T0 + timedelta(minutes=10),
            ),
            OutboxMessage(
                to_address="w.otieno@ict.go.ke.example",
                subject="Your invitation",
                text_body="Set your password: https://gsr.example/invitation",
                created_at=T0,
                next_attempt_at=T0,
                sent_at=T0 + timedelta(seconds=4),
            ),
            ReviewFlag(
                assessment_id=current.id,
                capability_id="national-strategy",
                indicator_id="strategy-funded",
                note="المصدر غير واضح",
                flagged_by_id=coordinator.id,
                flagged_at=T0 + timedelta(days=370),
            ),
            ReportFile(
                digest="e" * 64,
                kind="gap",
                locale="ar",
                assessment_id=current.id,
                content=b"%PDF-1.7 stored report",
                size=22,
                created_at=T0,
                last_used_at=T0,
            ),
            ReportRender(
                digest="f" * 64,
                kind="action-plan",
                locale="en",
                assessment_id=current.id,
                state="failed",
                requested_at=T0,
                expires_at=T0 + timedelta(minutes=3),
            ),
        ]
    )


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table as full tuples ordered by primary key, read through the models."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in Base.metadata.sorted_tables
            }
            rows["alembic_version"] = [
                tuple(row) for row in connection.execute(text("SELECT * FROM alembic_version"))
            ]
    finally:
        engine.dispose()
    return rows


def raw_dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows exactly as SQLite stores them, and the schema itself."""
    with closing(sqlite3.connect(path)) as connection:
        schema = connection.execute(
            "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()
        tables = [name for kind, name, _ in schema if kind == "table"]
        rows = {
            name: connection.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall()
            for name in tables
        }
    return {"sqlite_master": schema, **rows}


def db_path(url: str) -> Path:
    return Path(make_url(url).database)


def wipe_rows(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))
    engine.dispose()


def safety_copies(database: Path) -> list[Path]:
    return sorted(database.parent.glob(f"{database.name}.before-restore-*"))


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def filled_url(make_database) -> str:
    """A migrated SQLite database with rows in every table."""
    url = make_database("sqlite").url
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        fill_every_table(session)
    engine.dispose()
    return url


@pytest.fixture
def good_backup(filled_url: str, tmp_path: Path) -> service.BackupInfo:
    return service.backup(filled_url, tmp_path / "backups" / "good.db")


@pytest.fixture
def use_database(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Point the commands at a database through GSR_DATABASE_URL."""

    def use(url: str) -> None:
        monkeypatch.setenv("GSR_DATABASE_URL", url)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


# --- round trip --------------------------------------------------------------------------


@pytest.mark.parametrize("wipe", ["delete the file", "delete every row"])
def test_restore_brings_back_every_row_of_every_table(
    filled_url: str, tmp_path: Path, wipe: str
) -> None:
    database = db_path(filled_url)
    original = dump(filled_url)
    original_raw = raw_dump(database)
    assert set(original_raw) - {"sqlite_master"} == set(original), "dump misses a table"
    assert all(original.values()), "every table must hold rows for this test to mean anything"

    info = service.backup(filled_url, tmp_path / "backups" / "gsr.db")
    assert info.revision == HEAD
    assert info.row_counts == {
        name: len(rows) for name, rows in original.items() if name != "alembic_version"
    }

    if wipe == "delete the file":
        for leftover in database.parent.glob(database.name + "*"):
            leftover.unlink()
    else:
        wipe_rows(filled_url)
        assert not any(rows for name, rows in dump(filled_url).items() if name != "alembic_version")

    restored = service.restore(filled_url, info.path)

    assert dump(filled_url) == original
    assert raw_dump(database) == original_raw
    assert restored.revision == restored.restored_revision == HEAD
    assert not restored.upgraded
    assert restored.row_counts == info.row_counts
    engine = make_engine(filled_url)
    with Session(engine) as session:
        answer = session.scalars(select(Answer).where(Answer.response == "level")).one()
    engine.dispose()
    assert answer.justification == ARABIC_JUSTIFICATION
    assert answer.evidence_links[1] == "https://example.org/تقرير-التنفيذ"

    if wipe == "delete the file":
        assert restored.safety_copy is None
        assert safety_copies(database) == []
    else:
        assert safety_copies(database) == [restored.safety_copy]
        old = dump(f"sqlite:///{restored.safety_copy}")
        assert old["alembic_version"] == [(HEAD,)]
        assert not any(rows for name, rows in old.items() if name != "alembic_version")


def test_backup_is_a_checked_private_single_file_described_by_its_sidecar(
    filled_url: str, tmp_path: Path
) -> None:
    before = datetime.now(UTC)
    info = service.backup(filled_url, tmp_path / "gsr.db")

    assert info.path == tmp_path / "gsr.db"
    assert info.sidecar == tmp_path / "gsr.db.json"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gsr.db", "gsr.db.json"]
    assert stat.S_IMODE(info.path.stat().st_mode) == 0o600
    sidecar = json.loads(info.sidecar.read_text(encoding="utf-8"))
    assert sidecar["format"] == "gsr-assess-backup"
    assert sidecar["file"] == "gsr.db"
    assert sidecar["app_version"] == app.__version__ == info.app_version
    assert sidecar["schema_revision"] == HEAD
    assert sidecar["sha256"] == hashlib.sha256(info.path.read_bytes()).hexdigest() == info.sha256
    assert sidecar["size_bytes"] == info.path.stat().st_size
    assert sidecar["database"] == str(db_path(filled_url).resolve())
    created_at = datetime.fromisoformat(sidecar["created_at"])
    assert created_at.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= created_at <= datetime.now(UTC)
    assert sidecar["row_counts"] == {
        name: len(rows) for name, rows in dump(filled_url).items() if name != "alembic_version"
    }
    assert sidecar["row_counts"]["answers"] == 3

    with closing(sqlite3.connect(f"file:{info.path}?mode=ro", uri=True)) as copy:
        assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert copy.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_backup_into_a_folder_names_the_file_by_the_time(filled_url: str, tmp_path: Path) -> None:
    info = service.backup(filled_url, tmp_path)

    assert info.path.parent == tmp_path
    assert re.fullmatch(r"gsr-\d{8}T\d{6}Z\.db", info.path.name)
    assert info.path.is_file()
    assert info.sidecar.is_file()


def test_backup_refuses_to_overwrite_unless_asked(filled_url: str, tmp_path: Path) -> None:
    target = tmp_path / "nightly.db"
    first = service.backup(filled_url, target)
    engine = make_engine(filled_url)
    with Session(engine) as session, session.begin():
        session.add(
            Country(code="GHA", alpha2="GH", name="Ghana", region="Africa", income_group="LMI")
        )
    engine.dispose()

    with pytest.raises(service.BackupExistsError, match=r"nightly\.db already exists"):
        service.backup(filled_url, target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == first.sha256

    second = service.backup(filled_url, target, overwrite=True)
    assert second.row_counts["countries"] == first.row_counts["countries"] + 1
    assert hashlib.sha256(target.read_bytes()).hexdigest() == second.sha256 != first.sha256
    assert json.loads(second.sidecar.read_text(encoding="utf-8"))["sha256"] == second.sha256


def test_backup_refuses_a_missing_or_foreign_database_and_writes_nothing(
    make_database, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "gsr.db"
    missing = make_database("sqlite")
    with pytest.raises(service.BackupError, match="there is no database at"):
        service.backup(missing.url, target)

    with closing(sqlite3.connect(db_path(missing.url))) as connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
    with pytest.raises(service.BackupError, match="not a gsr-assess database"):
        service.backup(missing.url, target)
    assert list(target.parent.iterdir()) == []


# --- online backup -----------------------------------------------------------------------


def test_backup_does_not_wait_for_an_open_write_transaction_and_leaves_it_out(
    filled_url: str, tmp_path: Path
) -> None:
    before = dump(filled_url)
    engine = make_engine(filled_url)
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        with Session(engine) as writer:
            writer.add(AuditEvent(action="answer.updated", details={"committed": False}))
            writer.execute(update(Assessment).values(revision=Assessment.revision + 1))
            writer.flush()
            # The writer now holds the database's write lock.
            with (
                closing(sqlite3.connect(db_path(filled_url), timeout=0)) as other,
                pytest.raises(sqlite3.OperationalError, match="locked"),
            ):
                other.execute("BEGIN IMMEDIATE")
            future = pool.submit(service.backup, filled_url, tmp_path / "during.db")
            try:
                info = future.result(timeout=30)
            finally:
                writer.commit()
    finally:
        pool.shutdown()
        engine.dispose()

    assert dump(f"sqlite:///{info.path}") == before
    after = dump(filled_url)
    assert len(after["audit_events"]) == len(before["audit_events"]) + 1


def test_backup_while_another_thread_writes_is_a_consistent_snapshot(
    filled_url: str, tmp_path: Path
) -> None:
    engine = make_engine(filled_url)
    with Session(engine) as session, session.begin():
        assessment_id = session.scalars(select(Assessment.id).order_by(Assessment.id)).first()
        session.execute(update(Assessment).values(revision=0))
        # Enough pages that each copy takes a while.
        session.add_all(
            AuditEvent(action="report.viewed", details={"page": n, "padding": "x" * 400})
            for n in range(3000)
        )

    stop = threading.Event()
    commits = 0
    errors: list[BaseException] = []

    def write() -> None:
        # Each transaction adds one event and bumps the revision: in any consistent copy
        # the revision equals the number of these events.
        nonlocal commits
        try:
            while not stop.is_set():
                with Session(engine) as session, session.begin():
                    session.add(AuditEvent(action="writer.tick", assessment_id=assessment_id))
                    session.execute(
                        update(Assessment)
                        .where(Assessment.id == assessment_id)
                        .values(revision=Assessment.revision + 1)
                    )
                commits += 1
        except BaseException as exc:
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while commits < 20 and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        first_commit = commits
        copies = [service.backup(filled_url, tmp_path / f"copy-{n}.db") for n in range(5)]
        commits_during = commits - first_commit
    finally:
        stop.set()
        writer.join(timeout=30)
        engine.dispose()

    assert not errors
    assert commits_during > 0, "the writer must have been writing while the copies were made"
    ticks = []
    for copy in copies:
        with closing(sqlite3.connect(f"file:{copy.path}?mode=ro", uri=True)) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            (count,) = connection.execute(
                "SELECT count(*) FROM audit_events WHERE action = 'writer.tick'"
            ).fetchone()
            (revision,) = connection.execute(
                "SELECT revision FROM assessments WHERE id = ?", (assessment_id,)
            ).fetchone()
        assert revision == count
        assert copy.row_counts["audit_events"] == count + 3002
        ticks.append(count)
    assert ticks == sorted(ticks)
    assert ticks[0] < ticks[-1]


# --- refusing bad backups ----------------------------------------------------------------


def _text_file(good: Path, folder: Path) -> Path:
    path = folder / "countries.csv"
    path.write_text("code,name\nJOR,Jordan\n", encoding="utf-8")
    return path


def _empty_file(good: Path, folder: Path) -> Path:
    path = folder / "empty.db"
    path.write_bytes(b"")
    return path


def _missing_file(good: Path, folder: Path) -> Path:
    return folder / "never-written.db"


def _truncated(good: Path, folder: Path) -> Path:
    data = good.read_bytes()
    path = folder / "truncated.db"
    path.write_bytes(data[: len(data) // 2])
    return path


def _truncated_in_header(good: Path, folder: Path) -> Path:
    path = folder / "stub.db"
    path.write_bytes(good.read_bytes()[:60])
    return path


def _damaged(good: Path, folder: Path) -> Path:
    data = bytearray(good.read_bytes())
    data[4096 * 2 : 4096 * 3] = bytes([0xA5]) * 4096
    path = folder / "damaged.db"
    path.write_bytes(bytes(data))
    return path


def _other_sqlite(good: Path, folder: Path) -> Path:
    path = folder / "notes.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        connection.execute("INSERT INTO notes (body) VALUES ('not ours')")
        connection.commit()
    return path


def _unknown_revision(good: Path, folder: Path) -> Path:
    path = folder / "from-the-future.db"
    path.write_bytes(good.read_bytes())
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
        connection.commit()
    return path


def _changed_after_backup(good: Path, folder: Path) -> Path:
    path = folder / good.name
    path.write_bytes(good.read_bytes())
    service.sidecar_path(path).write_bytes(service.sidecar_path(good).read_bytes())
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("UPDATE countries SET name = 'Atlantis' WHERE code = 'JOR'")
        connection.commit()
    return path


@pytest.mark.parametrize(
    ("make_bad", "reason"),
    [
        (_text_file, r"countries\.csv is not an SQLite database file"),
        (_empty_file, r"empty\.db is not an SQLite database file"),
        (_missing_file, r"there is no file at .*never-written\.db"),
        (_truncated, r"truncated\.db is truncated: its header describes \d+ bytes"),
        (_truncated_in_header, r"stub\.db is truncated: it is 60 bytes"),
        (_damaged, r"damaged\.db (failed SQLite's integrity check|is not a readable SQLite)"),
        (_other_sqlite, r"notes\.db is not a gsr-assess database: it has no alembic_version"),
        (_unknown_revision, r"revision ffffffffffff, which this version of gsr-assess"),
        (_changed_after_backup, r"does not match the sha256 recorded in .*good\.db\.json"),
    ],
)
def test_restore_refuses_a_bad_backup_and_changes_nothing(
    filled_url: str,
    good_backup: service.BackupInfo,
    tmp_path: Path,
    make_bad: Callable[[Path, Path], Path],
    reason: str,
) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    bad = make_bad(good_backup.path, folder)
    before = dump(filled_url)

    with pytest.raises(service.BackupError, match=reason):
        service.restore(filled_url, bad)

    assert dump(filled_url) == before
    assert safety_copies(db_path(filled_url)) == []


def test_restore_refuses_the_database_itself(filled_url: str) -> None:
    before = dump(filled_url)
    with pytest.raises(service.BackupError, match="is the database itself"):
        service.restore(filled_url, db_path(filled_url))
    assert dump(filled_url) == before
    assert safety_copies(db_path(filled_url)) == []


def test_restore_of_an_older_schema_upgrades_it_to_head(make_database, tmp_path: Path) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_revision(HEAD)
    if not isinstance(script.down_revision, str):
        pytest.skip("a single migration so far: there is no older schema to restore from")
    old = make_database("sqlite")
    migrate.upgrade(old.url, script.down_revision)
    info = service.backup(old.url, tmp_path / "old.db")
    assert info.revision == script.down_revision

    target = make_database("sqlite")
    restored = service.restore(target.url, info.path)

    assert restored.restored_revision == script.down_revision
    assert restored.revision == HEAD
    assert restored.upgraded
    migrate.check(target.url)


# --- PostgreSQL ---------------------------------------------------------------------------


def test_postgresql_is_refused_with_the_pg_dump_and_pg_restore_commands(tmp_path: Path) -> None:
    target = tmp_path / "gsr.dump"
    with pytest.raises(service.BackupError) as refused:
        service.backup(PG_URL, target)
    message = str(refused.value)
    assert (
        f"pg_dump --format=custom {shlex.quote(f'--file={target}')} "
        "--host=db.internal --port=5433 --username=gsr_app gsr_prod"
    ) in message
    assert "pg_restore" in message
    assert "s3cret" not in message
    assert not target.exists()

    with pytest.raises(service.BackupError) as refused:
        service.restore(PG_URL, target)
    message = str(refused.value)
    assert (
        "pg_restore --clean --if-exists --single-transaction --host=db.internal --port=5433 "
        f"--username=gsr_app --dbname=gsr_prod {shlex.quote(str(target))}"
    ) in message
    assert "gsr db upgrade" in message
    assert "s3cret" not in message


def test_the_shared_database_backs_up_on_sqlite_and_points_to_pg_dump_on_postgresql(
    database, tmp_path: Path
) -> None:
    target = tmp_path / "shared.db"
    if database.backend == "sqlite":
        info = service.backup(database.url, target)
        assert info.revision == HEAD
        assert set(info.row_counts) == set(Base.metadata.tables)
    else:
        name = make_url(database.url).database
        with pytest.raises(service.BackupError, match=rf"pg_dump --format=custom .* {name}\n"):
            service.backup(database.url, target)
        assert not target.exists()


# --- commands ----------------------------------------------------------------------------


def test_backup_command_reports_the_copy_and_refuses_to_overwrite(
    filled_url: str, use_database: Callable[[str], None], tmp_path: Path
) -> None:
    use_database(filled_url)
    target = tmp_path / "nightly.db"

    result = runner.invoke(backup_cli, ["backup", str(target)])

    assert result.exit_code == 0, result.output
    sidecar = json.loads(service.sidecar_path(target).read_text(encoding="utf-8"))
    assert f"Backed up {db_path(filled_url)} to {target}" in result.stdout
    assert f"schema revision {HEAD}, gsr-assess {app.__version__}" in result.stdout
    assert f"sha256 {sidecar['sha256']}" in result.stdout
    total = sum(sidecar["row_counts"].values())
    assert f"rows: {total} in {len(Base.metadata.tables)} tables" in result.stdout
    for table, count in sidecar["row_counts"].items():
        assert re.search(rf"^ +{table} +{count}$", result.stdout, re.MULTILINE), table

    again = runner.invoke(backup_cli, ["backup", str(target)])
    assert again.exit_code == 1
    assert "nightly.db already exists" in again.stderr
    assert "--overwrite" in again.stderr
    assert again.stdout == ""

    forced = runner.invoke(backup_cli, ["backup", str(target), "--overwrite"])
    assert forced.exit_code == 0, forced.output


def test_restore_command_asks_first_and_restores_only_on_yes(
    filled_url: str, use_database: Callable[[str], None], tmp_path: Path
) -> None:
    use_database(filled_url)
    database = db_path(filled_url)
    original = dump(filled_url)
    target = tmp_path / "before-wipe.db"
    assert runner.invoke(backup_cli, ["backup", str(target)]).exit_code == 0
    wipe_rows(filled_url)
    wiped = dump(filled_url)

    declined = runner.invoke(backup_cli, ["restore", str(target)], input="n\n")
    assert declined.exit_code == 1
    assert f"Replace the content of {database}" in declined.stdout
    assert "Restore cancelled; nothing was changed." in declined.stderr
    assert dump(filled_url) == wiped
    assert safety_copies(database) == []

    accepted = runner.invoke(backup_cli, ["restore", str(target)], input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert f"Restored {target} into {database}" in accepted.stdout
    assert f"previous database kept at {safety_copies(database)[0]}" in accepted.stdout
    assert f"schema revision {HEAD}" in accepted.stdout
    assert dump(filled_url) == original

    unattended = runner.invoke(backup_cli, ["restore", str(target), "--yes"])
    assert unattended.exit_code == 0, unattended.output
    assert "Replace the content" not in unattended.stdout
    assert len(safety_copies(database)) == 2
    assert dump(filled_url) == original


def test_restore_command_refuses_a_bad_file_with_the_reason(
    filled_url: str, use_database: Callable[[str], None], tmp_path: Path
) -> None:
    use_database(filled_url)
    before = dump(filled_url)
    bad = tmp_path / "notes.txt"
    bad.write_text("meeting notes, not a database\n", encoding="utf-8")

    result = runner.invoke(backup_cli, ["restore", str(bad), "--yes"])

    assert result.exit_code == 1
    assert result.stderr == f"Error: {bad} is not an SQLite database file\n"
    assert dump(filled_url) == before


def test_commands_on_postgresql_point_to_pg_dump_and_pg_restore(
    use_database: Callable[[str], None], tmp_path: Path
) -> None:
    use_database(PG_URL)

    backed_up = runner.invoke(backup_cli, ["backup", str(tmp_path / "gsr.dump")])
    restored = runner.invoke(backup_cli, ["restore", str(tmp_path / "gsr.dump"), "--yes"])

    assert backed_up.exit_code == restored.exit_code == 1
    assert "pg_dump --format=custom" in backed_up.stderr
    assert "pg_restore --clean" in restored.stderr
    assert "s3cret" not in backed_up.output + restored.output


def test_commands_register_on_the_main_command_as_plain_functions(
    filled_url: str, use_database: Callable[[str], None], tmp_path: Path
) -> None:
    use_database(filled_url)
    main = typer.Typer()
    main.command("backup")(backup)
    main.command("restore")(restore)
    target = tmp_path / "via-main.db"

    backed_up = runner.invoke(main, ["backup", str(target)])
    restored = runner.invoke(main, ["restore", str(target), "--yes"])

    assert backed_up.exit_code == 0, backed_up.output
    assert restored.exit_code == 0, restored.output
    assert f"Restored {target}" in restored.stdout
