"""Comparisons API: sharing choices, the alliance view, a country's position, peers.

Thin: every rule lives in app/comparisons/service.py. Everything under /alliance answers
404 to anyone but the secretariat, before any parameter is even read.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from app.accounts.dependencies import CurrentUser
from app.comparisons import service
from app.comparisons.dependencies import require_alliance
from app.comparisons.schemas import SharingUpdate
from app.core.db import SessionDep
from app.core.deps import min_group
from app.core.inputs import Id, Text

NO_STORE = {"Cache-Control": "no-store"}


router = APIRouter(tags=["comparisons"])
alliance = APIRouter(prefix="/alliance", dependencies=[Depends(require_alliance)])


# ---------------------------------------------------------------- sharing


@router.get("/sharing")
def get_sharing(user: CurrentUser, session: SessionDep) -> service.SharingView:
    """The caller's country's sharing choices (secretariat only by default)."""
    return service.sharing(session, user=user)


@router.put("/sharing")
def put_sharing(data: SharingUpdate, user: CurrentUser, session: SessionDep) -> service.SharingView:
    """The coordinator includes the country in anonymised aggregates, or takes it out."""
    return service.set_sharing(session, user=user, include_in_aggregates=data.include_in_aggregates)


@router.post("/sharing/peers/{country_code}")
def give_consent(country_code: Text, user: CurrentUser, session: SessionDep) -> service.SharingView:
    """Agree to share levels with a member; they see them only once they agree too."""
    return service.give_consent(session, user=user, country_code=country_code)


@router.delete("/sharing/peers/{country_code}")
def withdraw_consent(
    country_code: Text, user: CurrentUser, session: SessionDep
) -> service.SharingView:
    return service.withdraw_consent(session, user=user, country_code=country_code)


# ---------------------------------------------------------------- a country's own view


@router.get("/assessments/{assessment_id}/position")
def position(
    assessment_id: Id, request: Request, user: CurrentUser, session: SessionDep
) -> service.Position:
    """The assessment's levels beside its region's and the membership's published aggregates."""
    return service.position(session, user=user, assessment_id=assessment_id, k=min_group(request))


@router.get("/peers/{country_code}/comparison")
def peer_comparison(
    country_code: Text,
    user: CurrentUser,
    session: SessionDep,
    response: Response,
    cycle: Text | None = None,
) -> service.PeerComparison:
    """Capability levels side by side; 404 unless both countries consented to each other."""
    response.headers.update(NO_STORE)
    return service.peer_comparison(session, user=user, country_code=country_code, cycle=cycle)


# ---------------------------------------------------------------- the alliance view


@alliance.get("/members")
def members(
    user: CurrentUser,
    session: SessionDep,
    cycle: Text | None = None,
    region: Text | None = None,
    income_group: Text | None = None,
    status: Text | None = None,
    order: Text = "name",
) -> service.MembersOverview:
    """Every member's status and progress in a cycle, in name or region order."""
    return service.members_overview(
        session,
        user=user,
        cycle=cycle,
        region=region,
        income_group=income_group,
        status=status,
        order=order,
    )


@alliance.get("/review-queue")
def review_queue(user: CurrentUser, session: SessionDep) -> list[service.ReviewItem]:
    """Submissions awaiting validation, longest waiting first."""
    return list(service.review_queue(session, user=user))


@alliance.get("/heatmap")
def heatmap(
    user: CurrentUser,
    session: SessionDep,
    response: Response,
    cycle: Text | None = None,
    region: Text | None = None,
    income_group: Text | None = None,
    order: Text = "name",
) -> service.Heatmap:
    """Capability levels per member for a cycle, rows in name or region order."""
    response.headers.update(NO_STORE)
    return service.heatmap(
        session, user=user, cycle=cycle, region=region, income_group=income_group, order=order
    )


@alliance.get("/distributions")
def distributions(
    user: CurrentUser,
    session: SessionDep,
    cycle: Text | None = None,
    region: Text | None = None,
    income_group: Text | None = None,
) -> service.LevelDistributions:
    """Per capability, how many members are at each level."""
    return service.level_distributions(
        session, user=user, cycle=cycle, region=region, income_group=income_group
    )


@alliance.get("/trends")
def trends(
    user: CurrentUser,
    session: SessionDep,
    region: Text | None = None,
    income_group: Text | None = None,
) -> service.Trends:
    """Counts by status and mean and median overall score, cycle by cycle."""
    return service.trends(session, user=user, region=region, income_group=income_group)


@alliance.get("/aggregates")
def aggregates(
    request: Request, user: CurrentUser, session: SessionDep, cycle: Text | None = None
) -> service.AggregateReport:
    """Anonymised aggregates of a cycle, groups below the threshold withheld."""
    return service.alliance_aggregates(session, user=user, cycle=cycle, k=min_group(request))


@alliance.get("/aggregates.{file_format}")
def export_aggregates(
    file_format: Text,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    cycle: Text | None = None,
) -> Response:
    """The aggregates as a CSV or XLSX download (aggregates.csv, aggregates.xlsx)."""
    export = service.export_aggregates(
        session, user=user, cycle=cycle, file_format=file_format, k=min_group(request)
    )
    return Response(
        export.content,
        media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            **NO_STORE,
        },
    )


router.include_router(alliance)
