"""Comparisons: what countries agree to share, the secretariat's view of the membership,
anonymised aggregates, a country's position among them and consented peer comparisons.

Access is checked here, in the service layer, on every read and write, so pages, the JSON
API and the exports apply the same rules:

- the alliance view (members, review queue, heatmap, distributions, trends, aggregates and
  their exports) is the secretariat's alone; anyone else is answered NotFound;
- a country sees another country's levels only when each has consented to the other, and
  both are members; every other case is the same NotFound;
- anything leaving the secretariat is built from `cycle_aggregates`, where small groups are
  withheld (app/comparisons/aggregates.py), so every view withholds the same cells.

Lists of named countries are ordered by name or by region, never by a score: no function
here can produce a league table. Every function returns plain frozen dataclasses.
docs/confidentiality.md explains the promises and how each is kept.
"""

from __future__ import annotations

import csv
import io
import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import scoring
from app.accounts.models import User
from app.assessments import service as assessment_service
from app.assessments.models import Answer, Assessment, Status
from app.audit import service as audit
from app.catalogue import service as catalogue_service
from app.catalogue.models import CatalogueVersion
from app.catalogue.schema import Catalogue
from app.comparisons import aggregates, permissions
from app.comparisons.aggregates import (
    ALL_MEMBERS,
    INCOME_GROUP,
    MEMBERSHIP,
    REGION,
    Cell,
    GroupAggregate,
    Measure,
    MeasureKind,
)
from app.comparisons.models import PeerConsent, SharingSettings
from app.core.db import utcnow
from app.core.errors import Forbidden, Invalid, NotFound
from app.countries import service as country_service
from app.countries.models import Country
from app.countries.service import INCOME_GROUPS, REGIONS

# What counts in aggregates, distributions, trends and peer comparisons: assessments signed
# off by the country's coordinator. They are complete and read-only, and they are the
# country's official answer; drafts and returned assessments may still change.
COUNTED_STATUSES: tuple[str, ...] = (Status.SUBMITTED.value, Status.VALIDATED.value)
NOT_STARTED = "not_started"
STATUSES: tuple[str, ...] = (NOT_STARTED, *(status.value for status in Status))
ORDERS = ("name", "region")

_NOT_FOUND = "not found"
_NO_PEER = "country not found"


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class PeerLink:
    """Consent between the caller's country and one other member, in either direction."""

    country_code: str
    country_name: str
    consent_given: bool  # the caller's country shares with this one
    consent_received: bool  # this country shares with the caller's
    mutual: bool  # both: the two can compare their levels


@dataclass(frozen=True, slots=True)
class SharingView:
    country_code: str
    country_name: str
    include_in_aggregates: bool
    updated_at: datetime | None  # None: never changed, the default applies
    can_change: bool  # the caller is the country's coordinator
    peers: tuple[PeerLink, ...]  # in name order


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """Where one member stands in a cycle: status and progress, never a score."""

    country_code: str
    country_name: str
    region: str
    income_group: str
    assessment_id: int | None
    status: str  # one of STATUSES
    answered: int
    indicators: int
    completeness: float  # answered / indicators, 0.0 to 1.0
    submitted_at: datetime | None
    validated_at: datetime | None
    last_activity_at: datetime | None
    days_since_activity: int | None


@dataclass(frozen=True, slots=True)
class MembersOverview:
    cycle: str | None
    cycles: tuple[str, ...]  # newest first
    order: str
    counts_by_status: dict[str, int]  # over the region and income filters, any status
    members: tuple[MemberStatus, ...]


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A submission awaiting validation."""

    assessment_id: int
    country_code: str
    country_name: str
    region: str
    is_member: bool
    cycle: str
    submitted_at: datetime | None
    days_waiting: int | None


@dataclass(frozen=True, slots=True)
class CapabilityColumn:
    capability_id: str
    area_id: str
    title: str


@dataclass(frozen=True, slots=True)
class HeatmapRow:
    country_code: str
    country_name: str
    region: str
    income_group: str
    assessment_id: int
    status: str
    provisional: bool  # some indicators are still unanswered
    levels: tuple[int | None, ...]  # one per column; None: no level


@dataclass(frozen=True, slots=True)
class Heatmap:
    cycle: str | None
    cycles: tuple[str, ...]
    order: str
    max_level: int
    level_names: tuple[str, ...]
    columns: tuple[CapabilityColumn, ...]
    rows: tuple[HeatmapRow, ...]


@dataclass(frozen=True, slots=True)
class CapabilityDistribution:
    capability_id: str
    area_id: str
    title: str
    distribution: tuple[int, ...]  # countries at each level
    no_level: int  # countries without a level (not applicable)


@dataclass(frozen=True, slots=True)
class LevelDistributions:
    cycle: str | None
    cycles: tuple[str, ...]
    statuses_counted: tuple[str, ...]
    countries: int
    max_level: int
    level_names: tuple[str, ...]
    capabilities: tuple[CapabilityDistribution, ...]


@dataclass(frozen=True, slots=True)
class CycleTrend:
    cycle: str
    members: int  # today's members (within the filters)
    counts_by_status: dict[str, int]
    counted: int  # submitted or validated
    mean_overall: float | None  # over the counted assessments, 0-100, one decimal
    median_overall: float | None


@dataclass(frozen=True, slots=True)
class Trends:
    region: str | None
    income_group: str | None
    statuses_counted: tuple[str, ...]
    cycles: tuple[CycleTrend, ...]  # oldest first


@dataclass(frozen=True, slots=True)
class MeasureInfo:
    kind: MeasureKind
    id: str
    area_id: str
    title: str


@dataclass(frozen=True, slots=True)
class AggregateReport:
    """A cycle's anonymised aggregates, small groups withheld: publishable as it stands."""

    cycle: str | None
    min_group: int
    statuses_counted: tuple[str, ...]
    max_level: int
    level_names: tuple[str, ...]
    measures: tuple[MeasureInfo, ...]
    groups: tuple[GroupAggregate, ...]  # membership, regions, income groups

    def group(self, partition: str, name: str) -> GroupAggregate:
        """One group's cells; KeyError if there is no such group."""
        return aggregates.find_group(self.groups, partition, name)

    def partition(self, partition: str) -> tuple[GroupAggregate, ...]:
        """The groups of one partition, in display order."""
        return aggregates.groups_in(self.groups, partition)


@dataclass(frozen=True, slots=True)
class PositionRow:
    kind: MeasureKind
    measure_id: str
    area_id: str
    title: str
    own: float | None  # the country's level (an area's is the mean of its capabilities)
    region: Cell
    membership: Cell


@dataclass(frozen=True, slots=True)
class Position:
    """A country's own levels beside the published aggregates of its region and the membership."""

    assessment_id: int
    cycle: str
    country_code: str
    country_name: str
    region: str
    status: str
    provisional: bool
    min_group: int
    statuses_counted: tuple[str, ...]
    max_level: int
    level_names: tuple[str, ...]
    rows: tuple[PositionRow, ...]


@dataclass(frozen=True, slots=True)
class PeerSide:
    country_code: str
    country_name: str
    assessment_id: int | None  # None: nothing submitted yet
    cycle: str | None
    status: str | None
    levels: tuple[int | None, ...]


@dataclass(frozen=True, slots=True)
class PeerComparison:
    max_level: int
    level_names: tuple[str, ...]
    columns: tuple[CapabilityColumn, ...]
    own: PeerSide
    peer: PeerSide


@dataclass(frozen=True, slots=True)
class BriefContext:
    """What the membership brief publishes: anonymised tables with small groups withheld."""

    cycle: str | None
    generated_at: datetime
    min_group: int
    statuses_counted: tuple[str, ...]
    max_level: int
    level_names: tuple[str, ...]
    measures: tuple[MeasureInfo, ...]
    membership: GroupAggregate
    regions: tuple[GroupAggregate, ...]
    income_groups: tuple[GroupAggregate, ...]


@dataclass(frozen=True, slots=True)
class Export:
    filename: str
    media_type: str
    content: bytes


# ---------------------------------------------------------------- access and shared helpers


def _require_alliance(user: User) -> None:
    # Answered like a missing page: a country user learns nothing from the attempt.
    if not permissions.can_compare_countries(user):
        raise NotFound(_NOT_FOUND)


def _own_country(session: Session, user: User) -> Country:
    country = session.get(Country, user.country_id) if user.country_id is not None else None
    if country is None:
        raise NotFound("sharing settings belong to a country; this account has none")
    return country


def _require_coordinator(user: User) -> None:
    if not permissions.can_change_sharing(user):
        raise Forbidden("only the country's coordinator can change what it shares")


def _check_filters(region: str | None, income_group: str | None, order: str = "name") -> None:
    if region is not None and region not in REGIONS:
        raise Invalid(f"unknown region; choose one of: {', '.join(REGIONS)}", field="region")
    if income_group is not None and income_group not in INCOME_GROUPS:
        raise Invalid(
            f"unknown income group; choose one of: {', '.join(INCOME_GROUPS)}",
            field="income_group",
        )
    if order not in ORDERS:
        # Deliberately no score order: lists of named countries are never league tables.
        raise Invalid("order by 'name' or 'region'", field="order")


def name_key(name: str) -> str:
    """A sort key for names that ignores case and accents ("Åland" sorts with "A")."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _country_order(order: str, name: str, region: str, code: str) -> tuple[str, ...]:
    if order == "region":
        return (region, name_key(name), code)
    return (name_key(name), code)


def _member_filters(query, region: str | None, income_group: str | None):
    query = query.where(Country.is_member.is_(True))
    if region is not None:
        query = query.where(Country.region == region)
    if income_group is not None:
        query = query.where(Country.income_group == income_group)
    return query


def cycles(session: Session) -> tuple[str, ...]:
    """Every cycle a member has an assessment for, newest first (labels sort as text)."""
    rows = session.scalars(
        select(Assessment.cycle)
        .join(Country, Country.id == Assessment.country_id)
        .where(Country.is_member.is_(True))
        .distinct()
    )
    return tuple(sorted(rows, reverse=True))


def _resolve_cycle(known: Sequence[str], cycle: str | None) -> str | None:
    return cycle if cycle else (known[0] if known else None)


def _days(now: datetime, then: datetime | None) -> int | None:
    return None if then is None else max(0, (now - then).days)


@dataclass(frozen=True, slots=True)
class _Pinned:
    catalogue: Catalogue
    content_hash: str


def _catalogues(session: Session, version_ids: Iterable[int]) -> dict[int, _Pinned]:
    """The catalogues of several versions (the newest stored if none), in one query."""
    wanted = set(version_ids)
    query = select(CatalogueVersion)
    if wanted:
        query = query.where(CatalogueVersion.id.in_(wanted))
    else:
        query = query.order_by(CatalogueVersion.id.desc()).limit(1)
    # Kept referenced so catalogue_for_version finds them in the session without a query.
    rows = list(session.scalars(query))
    return {
        row.id: _Pinned(catalogue_service.catalogue_for_version(session, row.id), row.content_hash)
        for row in rows
    }


def _newest_first(pinned: dict[int, _Pinned]) -> list[Catalogue]:
    return [pinned[version_id].catalogue for version_id in sorted(pinned, reverse=True)]


def _measures(catalogues: Sequence[Catalogue]) -> tuple[MeasureInfo, ...]:
    """Each area followed by its capabilities, newest catalogue first."""
    seen: dict[tuple[str, str], MeasureInfo] = {}
    for catalogue in catalogues:
        for area in catalogue.areas:
            seen.setdefault(
                ("area", area.id), MeasureInfo("area", area.id, area.id, area.title.get("en"))
            )
            for capability in area.capabilities:
                seen.setdefault(
                    ("capability", capability.id),
                    MeasureInfo("capability", capability.id, area.id, capability.title.get("en")),
                )
    return tuple(seen.values())


def _columns(catalogues: Sequence[Catalogue]) -> tuple[CapabilityColumn, ...]:
    """Capabilities of the newest catalogue in order, then any only older ones have."""
    return tuple(
        CapabilityColumn(info.id, info.area_id, info.title)
        for info in _measures(catalogues)
        if info.kind == "capability"
    )


def _scale(catalogues: Sequence[Catalogue]) -> tuple[int, tuple[str, ...]]:
    newest = catalogues[0]
    names = tuple(newest.level_name(level) for level in range(newest.max_level + 1))
    return newest.max_level, names


def _scores(
    session: Session, assessments: Sequence[tuple[int, int]], pinned: dict[int, _Pinned]
) -> dict[int, scoring.AssessmentScore]:
    """Score several assessments (id, catalogue version id) from one query for their answers."""
    if not assessments:
        return {}
    answers: dict[int, dict[tuple[str, str], scoring.AnswerValue]] = {
        assessment_id: {} for assessment_id, _ in assessments
    }
    rows = session.execute(
        select(
            Answer.assessment_id,
            Answer.capability_id,
            Answer.indicator_id,
            Answer.response,
            Answer.level,
        ).where(Answer.assessment_id.in_(list(answers)))
    )
    for assessment_id, capability_id, indicator_id, response, level in rows:
        answers[assessment_id][(capability_id, indicator_id)] = scoring.AnswerValue(response, level)
    keys = {version_id: set(p.catalogue.indicator_keys()) for version_id, p in pinned.items()}
    scores = {}
    for assessment_id, version_id in assessments:
        known = keys[version_id]
        # Answers outside the pinned catalogue cannot be scored; one stray row must not
        # take the whole membership view down with it.
        given = {key: value for key, value in answers[assessment_id].items() if key in known}
        scores[assessment_id] = scoring.score_assessment(
            pinned[version_id].catalogue, given, catalogue_hash=pinned[version_id].content_hash
        )
    return scores


def _levels(score: scoring.AssessmentScore, columns: Sequence[CapabilityColumn]):
    by_id = {result.capability_id: result.level for result in score.capabilities}
    return tuple(by_id.get(column.capability_id) for column in columns)


# ---------------------------------------------------------------- sharing settings


def sharing(session: Session, *, user: User) -> SharingView:
    """The caller's country's sharing choices; every country user may read them."""
    country = _own_country(session, user)
    settings = session.get(SharingSettings, country.id)
    consents = session.execute(
        select(PeerConsent.country_id, PeerConsent.peer_id).where(
            or_(PeerConsent.country_id == country.id, PeerConsent.peer_id == country.id)
        )
    ).all()
    given = {peer for owner, peer in consents if owner == country.id}
    received = {owner for owner, peer in consents if peer == country.id}
    others = given | received
    peers = (
        session.scalars(
            select(Country).where(Country.id.in_(others), Country.is_member.is_(True))
        ).all()
        if others
        else []
    )
    links = [
        PeerLink(
            country_code=peer.code,
            country_name=peer.name,
            consent_given=peer.id in given,
            consent_received=peer.id in received,
            mutual=peer.id in given and peer.id in received,
        )
        for peer in peers
    ]
    links.sort(key=lambda link: (name_key(link.country_name), link.country_code))
    return SharingView(
        country_code=country.code,
        country_name=country.name,
        include_in_aggregates=bool(settings and settings.include_in_aggregates),
        updated_at=settings.updated_at if settings else None,
        can_change=permissions.can_change_sharing(user),
        peers=tuple(links),
    )


def set_sharing(session: Session, *, user: User, include_in_aggregates: bool) -> SharingView:
    """The coordinator decides whether the country counts in anonymised aggregates.

    Every decision is logged, a confirmation of the current choice included.
    """
    country = _own_country(session, user)
    _require_coordinator(user)
    settings = session.get(SharingSettings, country.id)
    if settings is None:
        try:
            with session.begin_nested():
                settings = SharingSettings(country_id=country.id, include_in_aggregates=False)
                session.add(settings)
        except IntegrityError:  # another request created the row meanwhile
            settings = session.get(SharingSettings, country.id, populate_existing=True)
            assert settings is not None
    previous = settings.include_in_aggregates
    settings.include_in_aggregates = include_in_aggregates
    settings.updated_by_id = user.id
    settings.updated_at = utcnow()
    audit.record(
        session,
        actor=user,
        action="sharing.aggregates_decided",
        country_id=country.id,
        details={"from": previous, "to": include_in_aggregates},
    )
    session.flush()
    return sharing(session, user=user)


def _peer(session: Session, code: str, *, members_only: bool) -> Country:
    peer = country_service.get_by_code(session, code)
    if peer is None or (members_only and not peer.is_member):
        raise NotFound(_NO_PEER)
    return peer


def give_consent(session: Session, *, user: User, country_code: str) -> SharingView:
    """The country agrees to share its levels with one other member (who must agree too)."""
    country = _own_country(session, user)
    _require_coordinator(user)
    peer = _peer(session, country_code, members_only=True)
    if peer.id == country.id:
        raise Invalid("a country cannot share with itself", field="country_code")
    if not country.is_member:
        raise Forbidden("sharing with peers is open to alliance members")
    exists = session.scalar(
        select(PeerConsent.id).where(
            PeerConsent.country_id == country.id, PeerConsent.peer_id == peer.id
        )
    )
    if exists is None:
        try:
            with session.begin_nested():
                session.add(
                    PeerConsent(
                        country_id=country.id,
                        peer_id=peer.id,
                        given_by_id=user.id,
                        given_at=utcnow(),
                    )
                )
        except IntegrityError:  # given by another request meanwhile: the same outcome
            pass
        else:
            audit.record(
                session,
                actor=user,
                action="sharing.peer_consent_given",
                country_id=country.id,
                target=("country", peer.code),
            )
    session.flush()
    return sharing(session, user=user)


def withdraw_consent(session: Session, *, user: User, country_code: str) -> SharingView:
    """The country stops sharing with a peer; the peer no longer sees its levels."""
    country = _own_country(session, user)
    _require_coordinator(user)
    peer = _peer(session, country_code, members_only=False)
    consent = session.scalar(
        select(PeerConsent).where(
            PeerConsent.country_id == country.id, PeerConsent.peer_id == peer.id
        )
    )
    if consent is not None:
        session.delete(consent)
        audit.record(
            session,
            actor=user,
            action="sharing.peer_consent_withdrawn",
            country_id=country.id,
            target=("country", peer.code),
        )
    session.flush()
    return sharing(session, user=user)


# ---------------------------------------------------------------- the secretariat's dashboard


def members_overview(
    session: Session,
    *,
    user: User,
    cycle: str | None = None,
    region: str | None = None,
    income_group: str | None = None,
    status: str | None = None,
    order: str = "name",
    now: datetime | None = None,
) -> MembersOverview:
    """Every member's status and progress in a cycle (the latest by default)."""
    _require_alliance(user)
    _check_filters(region, income_group, order)
    if status is not None and status not in STATUSES:
        raise Invalid(f"unknown status; choose one of: {', '.join(STATUSES)}", field="status")
    now = now or utcnow()
    known = cycles(session)
    cycle = _resolve_cycle(known, cycle)
    joined = (
        and_(Assessment.country_id == Country.id, Assessment.cycle == cycle) if cycle else false()
    )
    rows = session.execute(
        _member_filters(
            select(Country, Assessment).outerjoin(Assessment, joined), region, income_group
        )
    ).all()
    started = [assessment for _, assessment in rows if assessment is not None]
    pinned = _catalogues(session, {a.catalogue_version_id for a in started}) if started else {}
    answered = assessment_service.answered_keys(session, [a.id for a in started])

    members = []
    counts = dict.fromkeys(STATUSES, 0)
    for country, assessment in rows:
        if assessment is None:
            counts[NOT_STARTED] += 1
            members.append(_not_started(country))
            continue
        counts[assessment.status] += 1
        catalogue = pinned[assessment.catalogue_version_id].catalogue
        progress = assessment_service.progress(catalogue, answered[assessment.id])[""]
        last = max(
            moment
            for moment in (
                assessment.created_at,
                assessment.updated_at,
                assessment.submitted_at,
                assessment.validated_at,
            )
            if moment is not None
        )
        members.append(
            MemberStatus(
                country_code=country.code,
                country_name=country.name,
                region=country.region,
                income_group=country.income_group,
                assessment_id=assessment.id,
                status=assessment.status,
                answered=progress.answered,
                indicators=progress.total,
                completeness=progress.answered / progress.total if progress.total else 1.0,
                submitted_at=assessment.submitted_at,
                validated_at=assessment.validated_at,
                last_activity_at=last,
                days_since_activity=_days(now, last),
            )
        )
    if status is not None:
        members = [member for member in members if member.status == status]
    members.sort(key=lambda m: _country_order(order, m.country_name, m.region, m.country_code))
    return MembersOverview(
        cycle=cycle,
        cycles=known,
        order=order,
        counts_by_status=counts,
        members=tuple(members),
    )


def _not_started(country: Country) -> MemberStatus:
    return MemberStatus(
        country_code=country.code,
        country_name=country.name,
        region=country.region,
        income_group=country.income_group,
        assessment_id=None,
        status=NOT_STARTED,
        answered=0,
        indicators=0,
        completeness=0.0,
        submitted_at=None,
        validated_at=None,
        last_activity_at=None,
        days_since_activity=None,
    )


def review_queue(
    session: Session, *, user: User, now: datetime | None = None
) -> tuple[ReviewItem, ...]:
    """Submissions awaiting validation, longest waiting first, whatever the country."""
    _require_alliance(user)
    now = now or utcnow()
    rows = session.execute(
        select(Assessment, Country)
        .join(Country, Country.id == Assessment.country_id)
        .where(Assessment.status == Status.SUBMITTED)
    ).all()
    items = [
        ReviewItem(
            assessment_id=assessment.id,
            country_code=country.code,
            country_name=country.name,
            region=country.region,
            is_member=country.is_member,
            cycle=assessment.cycle,
            submitted_at=assessment.submitted_at,
            days_waiting=_days(now, assessment.submitted_at),
        )
        for assessment, country in rows
    ]
    items.sort(
        key=lambda item: (
            item.submitted_at is None,
            item.submitted_at or now,
            name_key(item.country_name),
            item.assessment_id,
        )
    )
    return tuple(items)


# ---------------------------------------------------------------- comparisons (secretariat only)


@dataclass(frozen=True, slots=True)
class _Scored:
    country: Country
    assessment: Assessment
    score: scoring.AssessmentScore


def _scored_members(
    session: Session,
    *,
    cycle: str | None,
    region: str | None,
    income_group: str | None,
    statuses: Sequence[str] | None,
) -> tuple[list[_Scored], dict[int, _Pinned]]:
    """Members' assessments of a cycle, scored: four queries whatever the number of rows."""
    query = _member_filters(
        select(Country, Assessment).join(Assessment, Assessment.country_id == Country.id),
        region,
        income_group,
    )
    query = query.where(Assessment.cycle == cycle) if cycle else query.where(false())
    if statuses is not None:
        query = query.where(Assessment.status.in_(list(statuses)))
    rows = session.execute(query).all()
    pinned = _catalogues(session, {assessment.catalogue_version_id for _, assessment in rows})
    scores = _scores(
        session,
        [(assessment.id, assessment.catalogue_version_id) for _, assessment in rows],
        pinned,
    )
    return [
        _Scored(country, assessment, scores[assessment.id]) for country, assessment in rows
    ], pinned


def heatmap(
    session: Session,
    *,
    user: User,
    cycle: str | None = None,
    region: str | None = None,
    income_group: str | None = None,
    order: str = "name",
) -> Heatmap:
    """Capability levels of every member with an assessment in the cycle, one row each.

    Rows come in name or region order: the levels are for reading across, never for ranking.
    """
    _require_alliance(user)
    _check_filters(region, income_group, order)
    known = cycles(session)
    cycle = _resolve_cycle(known, cycle)
    scored, pinned = _scored_members(
        session, cycle=cycle, region=region, income_group=income_group, statuses=None
    )
    catalogues = _newest_first(pinned)
    columns = _columns(catalogues)
    max_level, level_names = _scale(catalogues)
    rows = [
        HeatmapRow(
            country_code=item.country.code,
            country_name=item.country.name,
            region=item.country.region,
            income_group=item.country.income_group,
            assessment_id=item.assessment.id,
            status=item.assessment.status,
            provisional=item.score.provisional,
            levels=_levels(item.score, columns),
        )
        for item in scored
    ]
    rows.sort(key=lambda r: _country_order(order, r.country_name, r.region, r.country_code))
    audit.record(
        session,
        actor=user,
        action="alliance.heatmap_viewed",
        details={"cycle": cycle, "region": region, "income_group": income_group},
    )
    return Heatmap(
        cycle=cycle,
        cycles=known,
        order=order,
        max_level=max_level,
        level_names=level_names,
        columns=columns,
        rows=tuple(rows),
    )


def level_distributions(
    session: Session,
    *,
    user: User,
    cycle: str | None = None,
    region: str | None = None,
    income_group: str | None = None,
) -> LevelDistributions:
    """Per capability, how many members are at each level (submitted or validated only)."""
    _require_alliance(user)
    _check_filters(region, income_group)
    known = cycles(session)
    cycle = _resolve_cycle(known, cycle)
    scored, pinned = _scored_members(
        session,
        cycle=cycle,
        region=region,
        income_group=income_group,
        statuses=COUNTED_STATUSES,
    )
    catalogues = _newest_first(pinned)
    columns = _columns(catalogues)
    max_level, level_names = _scale(catalogues)
    levels = [_levels(item.score, columns) for item in scored]
    found = []
    for index, column in enumerate(columns):
        distribution = [0] * (max_level + 1)
        no_level = 0
        for row in levels:
            if row[index] is None:
                no_level += 1
            else:
                distribution[row[index]] += 1
        found.append(
            CapabilityDistribution(
                capability_id=column.capability_id,
                area_id=column.area_id,
                title=column.title,
                distribution=tuple(distribution),
                no_level=no_level,
            )
        )
    return LevelDistributions(
        cycle=cycle,
        cycles=known,
        statuses_counted=COUNTED_STATUSES,
        countries=len(scored),
        max_level=max_level,
        level_names=level_names,
        capabilities=tuple(found),
    )


def trends(
    session: Session,
    *,
    user: User,
    region: str | None = None,
    income_group: str | None = None,
) -> Trends:
    """Today's members across cycles: counts by status, mean and median overall score."""
    _require_alliance(user)
    _check_filters(region, income_group)
    members = (
        session.scalar(_member_filters(select(func.count(Country.id)), region, income_group)) or 0
    )
    assessments = session.scalars(
        _member_filters(
            select(Assessment).join(Country, Country.id == Assessment.country_id),
            region,
            income_group,
        )
    ).all()
    counted = [a for a in assessments if a.status in COUNTED_STATUSES]
    pinned = _catalogues(session, {a.catalogue_version_id for a in counted}) if counted else {}
    scores = _scores(session, [(a.id, a.catalogue_version_id) for a in counted], pinned)

    by_cycle: dict[str, list[Assessment]] = {}
    for assessment in assessments:
        by_cycle.setdefault(assessment.cycle, []).append(assessment)
    found = []
    for cycle in sorted(by_cycle):
        counts = dict.fromkeys(STATUSES, 0)
        for assessment in by_cycle[cycle]:
            counts[assessment.status] += 1
        counts[NOT_STARTED] = members - len(by_cycle[cycle])
        overall = [
            scores[a.id].overall
            for a in by_cycle[cycle]
            if a.id in scores and scores[a.id].overall is not None
        ]
        found.append(
            CycleTrend(
                cycle=cycle,
                members=members,
                counts_by_status=counts,
                counted=sum(1 for a in by_cycle[cycle] if a.id in scores),
                mean_overall=_one_decimal(statistics.fmean(overall)) if overall else None,
                median_overall=_one_decimal(statistics.median(overall)) if overall else None,
            )
        )
    return Trends(
        region=region,
        income_group=income_group,
        statuses_counted=COUNTED_STATUSES,
        cycles=tuple(found),
    )


def _one_decimal(value: float) -> float:
    return float(scoring.round_for_display(value))


# ---------------------------------------------------------------- anonymised aggregates


def cycle_aggregates(session: Session, cycle: str | None = None, *, k: int) -> AggregateReport:
    """A cycle's anonymised aggregates (the latest cycle by default), small groups withheld.

    Counts only members that opted in to aggregates, with a submitted or validated
    assessment. The result is publishable as it stands; callers still decide who sees it.
    No country name or code is read: the aggregates cannot carry one.
    """
    cycle = _resolve_cycle(cycles(session), cycle)
    rows = (
        session.execute(
            select(
                Assessment.id,
                Assessment.catalogue_version_id,
                Country.region,
                Country.income_group,
            )
            .join(Country, Country.id == Assessment.country_id)
            .join(SharingSettings, SharingSettings.country_id == Country.id)
            .where(
                Country.is_member.is_(True),
                SharingSettings.include_in_aggregates.is_(True),
                Assessment.cycle == cycle,
                Assessment.status.in_(COUNTED_STATUSES),
            )
        ).all()
        if cycle
        else []
    )
    pinned = _catalogues(session, {row.catalogue_version_id for row in rows})
    scores = _scores(session, [(row.id, row.catalogue_version_id) for row in rows], pinned)
    contributions = [
        aggregates.contribution_of(scores[row.id], region=row.region, income_group=row.income_group)
        for row in rows
    ]
    catalogues = _newest_first(pinned)
    measures = _measures(catalogues)
    max_level, level_names = _scale(catalogues)
    result = aggregates.aggregate(
        contributions,
        measures=[Measure(info.kind, info.id) for info in measures],
        max_level=max_level,
        k=k,
        regions=REGIONS,
        income_groups=INCOME_GROUPS,
    )
    return AggregateReport(
        cycle=cycle,
        min_group=result.min_group,
        statuses_counted=COUNTED_STATUSES,
        max_level=max_level,
        level_names=level_names,
        measures=measures,
        groups=result.groups,
    )


def alliance_aggregates(
    session: Session, *, user: User, cycle: str | None = None, k: int
) -> AggregateReport:
    """The aggregates for the secretariat's view (publishable, yet served to it alone)."""
    _require_alliance(user)
    return cycle_aggregates(session, cycle, k=k)


def membership_brief_context(session: Session, cycle: str | None = None, *, k: int) -> BriefContext:
    """The plain data of the publishable membership brief: every table with cells withheld.

    Callers must check that the reader may have the brief; nothing here names a country.
    """
    report = cycle_aggregates(session, cycle, k=k)
    return BriefContext(
        cycle=report.cycle,
        generated_at=utcnow(),
        min_group=report.min_group,
        statuses_counted=report.statuses_counted,
        max_level=report.max_level,
        level_names=report.level_names,
        measures=report.measures,
        membership=report.group(MEMBERSHIP, ALL_MEMBERS),
        regions=report.partition(REGION),
        income_groups=report.partition(INCOME_GROUP),
    )


# ---------------------------------------------------------------- exports

WITHHELD_NOTE = "withheld: too few countries, or needed to protect a smaller group"


def export_rows(report: AggregateReport) -> tuple[list[str], list[list[object]]]:
    """The aggregates as one flat table (header, rows), shared by the CSV and XLSX exports."""
    header = [
        "cycle",
        "partition",
        "group",
        "measure_kind",
        "measure_id",
        "area_id",
        "measure",
        "countries",
        "median",
        "lower_quartile",
        "upper_quartile",
        *(f"level_{level}_{_slug(name)}" for level, name in enumerate(report.level_names)),
        "note",
    ]
    infos = {(info.kind, info.id): info for info in report.measures}
    rows: list[list[object]] = []
    for group in report.groups:
        for cell in group.cells:
            info = infos[(cell.kind, cell.measure_id)]
            head: list[object] = [
                report.cycle or "",
                group.partition,
                group.group,
                cell.kind,
                cell.measure_id,
                info.area_id,
                info.title,
            ]
            if cell.suppressed:
                blanks = [None] * (4 + len(report.level_names))
                rows.append([*head, *blanks, WITHHELD_NOTE])
            else:
                rows.append(
                    [
                        *head,
                        cell.countries,
                        cell.median,
                        cell.lower_quartile,
                        cell.upper_quartile,
                        *(cell.distribution or ()),
                        "",
                    ]
                )
    return header, rows


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _safe_text(value: object) -> object:
    # A spreadsheet would run text starting with these as a formula.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def aggregates_csv(report: AggregateReport) -> bytes:
    """The aggregates as CSV (UTF-8 with a byte order mark, so spreadsheets read accents)."""
    header, rows = export_rows(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else _safe_text(value) for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def aggregates_xlsx(report: AggregateReport) -> bytes:
    """The aggregates as an Excel workbook: the table, and a sheet explaining the method."""
    header, rows = export_rows(report)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Aggregates"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_safe_text(value) for value in row])
    sheet.freeze_panes = "A2"
    about = workbook.create_sheet("About")
    for line in _method_notes(report):
        about.append([line])
    about.column_dimensions["A"].width = 110
    workbook.properties.creator = "gsr-assess"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _method_notes(report: AggregateReport) -> list[str]:
    statuses = " or ".join(report.statuses_counted)
    return [
        f"Anonymised aggregates of the self-assessments, cycle {report.cycle or '(none yet)'}.",
        f"Counted: alliance members that chose to be included, with a {statuses} assessment.",
        "Capabilities: the capability level. Areas: the weighted mean of the area's "
        "capability levels; the distribution counts it at its whole level (3.5 at 3).",
        "Median and quartiles: linear interpolation between closest ranks (QUARTILE.INC), "
        "rounded to two decimals.",
        f"A group with fewer than {report.min_group} countries is withheld, and so is any "
        "group whose figures would let a withheld one be worked out by subtraction.",
        "No figure names or ranks a country.",
    ]


def export_aggregates(
    session: Session, *, user: User, cycle: str | None, file_format: str, k: int
) -> Export:
    """The aggregates as a CSV or XLSX file for the secretariat; the export is logged."""
    _require_alliance(user)
    if file_format not in ("csv", "xlsx"):
        raise NotFound(_NOT_FOUND)
    report = cycle_aggregates(session, cycle, k=k)
    label = _slug(report.cycle or "none") or "cycle"
    audit.record(
        session,
        actor=user,
        action="aggregates.exported",
        details={"cycle": report.cycle, "format": file_format},
    )
    if file_format == "csv":
        return Export(
            f"gsr-aggregates-{label}.csv", "text/csv; charset=utf-8", aggregates_csv(report)
        )
    return Export(
        f"gsr-aggregates-{label}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        aggregates_xlsx(report),
    )


# ---------------------------------------------------------------- a country's position


def position(session: Session, *, user: User, assessment_id: int, k: int) -> Position:
    """An assessment's levels beside the published aggregates of its region and membership.

    The aggregates are the very cells every other view publishes, withheld the same way.
    """
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessment_service.catalogue_of(session, assessment)
    pinned = {
        assessment.catalogue_version_id: _Pinned(
            catalogue, assessment.catalogue_version.content_hash
        )
    }
    score = _scores(session, [(assessment.id, assessment.catalogue_version_id)], pinned)[
        assessment.id
    ]
    own = aggregates.contribution_of(
        score, region=assessment.country.region, income_group=assessment.country.income_group
    ).values
    report = cycle_aggregates(session, assessment.cycle, k=k)
    region = report.group(REGION, assessment.country.region)
    membership = report.group(MEMBERSHIP, ALL_MEMBERS)
    rows = []
    for info in _measures([catalogue]):
        measure = Measure(info.kind, info.id)
        value = own.get(measure)
        rows.append(
            PositionRow(
                kind=info.kind,
                measure_id=info.id,
                area_id=info.area_id,
                title=info.title,
                own=None if value is None else float(round(value, 2)),
                region=_cell_or_withheld(region, measure),
                membership=_cell_or_withheld(membership, measure),
            )
        )
    max_level, level_names = _scale([catalogue])
    return Position(
        assessment_id=assessment.id,
        cycle=assessment.cycle,
        country_code=assessment.country.code,
        country_name=assessment.country.name,
        region=assessment.country.region,
        status=assessment.status,
        provisional=score.provisional,
        min_group=report.min_group,
        statuses_counted=report.statuses_counted,
        max_level=max_level,
        level_names=level_names,
        rows=tuple(rows),
    )


def _cell_or_withheld(group: GroupAggregate, measure: Measure) -> Cell:
    try:
        return group.cell(measure)
    except KeyError:  # nobody counted has this measure: nothing to publish
        return Cell.withheld(measure)


# ---------------------------------------------------------------- peer comparison


def peer_comparison(
    session: Session, *, user: User, country_code: str, cycle: str | None = None
) -> PeerComparison:
    """Two members that consented to each other see each other's capability levels.

    Each side shows its latest submitted or validated assessment (or the chosen cycle's).
    Anything else, a missing consent in either direction, a non-member, an unknown code,
    is answered NotFound, the same way, so the attempt reveals nothing.
    """
    if user.country_id is None:
        raise NotFound(_NO_PEER)
    code = country_code.strip().upper()
    countries = session.scalars(
        select(Country).where(or_(Country.id == user.country_id, Country.code == code))
    ).all()
    own = next((c for c in countries if c.id == user.country_id), None)
    peer = next((c for c in countries if c.code == code and c.id != user.country_id), None)
    if own is None or peer is None or not (own.is_member and peer.is_member):
        raise NotFound(_NO_PEER)
    consents = session.scalar(
        select(func.count(PeerConsent.id)).where(
            or_(
                and_(PeerConsent.country_id == own.id, PeerConsent.peer_id == peer.id),
                and_(PeerConsent.country_id == peer.id, PeerConsent.peer_id == own.id),
            )
        )
    )
    if consents != 2:
        raise NotFound(_NO_PEER)

    query = select(Assessment).where(
        Assessment.country_id.in_([own.id, peer.id]),
        Assessment.status.in_(COUNTED_STATUSES),
    )
    if cycle:
        query = query.where(Assessment.cycle == cycle)
    latest: dict[int, Assessment] = {}
    for assessment in session.scalars(query):
        held = latest.get(assessment.country_id)
        if held is None or assessment.cycle > held.cycle:
            latest[assessment.country_id] = assessment
    chosen = list(latest.values())
    pinned = _catalogues(session, {a.catalogue_version_id for a in chosen})
    scores = _scores(session, [(a.id, a.catalogue_version_id) for a in chosen], pinned)
    catalogues = _newest_first(pinned)
    columns = _columns(catalogues)
    max_level, level_names = _scale(catalogues)

    def side(country: Country) -> PeerSide:
        assessment = latest.get(country.id)
        return PeerSide(
            country_code=country.code,
            country_name=country.name,
            assessment_id=assessment.id if assessment else None,
            cycle=assessment.cycle if assessment else None,
            status=assessment.status if assessment else None,
            levels=_levels(scores[assessment.id], columns)
            if assessment
            else (None,) * len(columns),
        )

    audit.record(
        session,
        actor=user,
        action="peers.compared",
        country_id=own.id,
        target=("country", peer.code),
        details={"cycle": cycle},
    )
    return PeerComparison(
        max_level=max_level,
        level_names=level_names,
        columns=columns,
        own=side(own),
        peer=side(peer),
    )
