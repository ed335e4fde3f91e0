"""Gathering a report's data takes a fixed handful of queries, however big the assessment."""

from datetime import date

from sqlalchemy import event

from app.accounts import service as accounts
from app.assessments import service as assessment_service
from app.assessments.schemas import SignOff
from app.reporting import context, sample


def count_queries(app_client, build) -> int:
    engine = app_client.app.state.engine
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app_client.app.state.sessionmaker() as session:
        event.listen(engine, "before_cursor_execute", record)
        try:
            build(session)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def test_report_data_takes_the_same_few_queries_for_any_size(app_client, worked, world):
    # The small assessment's previous cycle is signed off, as the worked one's is, so both
    # reports compare with it (a draft cycle is not compared with).
    signed = world.post(
        "other_coordinator",
        "/api/v1/assessments",
        {"country_code": "XAB", "cycle": f"P{world.tag}"},
    ).json()
    catalogue = app_client.app.state.catalogue.catalogue
    with app_client.app.state.sessionmaker.begin() as session:
        other = accounts.get_user(session, world.ids["other_coordinator"])
        sample.answer_all(session, user=other, assessment_id=signed["id"], catalogue=catalogue)
        assessment_service.submit(
            session,
            user=other,
            assessment_id=signed["id"],
            signoff=SignOff(name="Tomas Reyes", position="Coordinator", date=date.today()),
        )
    small = world.post(
        "other_coordinator",
        "/api/v1/assessments",
        {"country_code": "XAB", "cycle": f"Q{world.tag}"},
    ).json()
    assert small["id"] > signed["id"]
    counts = {}
    for name, assessment_id, user_id in (
        ("full", worked.assessment_id, worked.world.ids["coordinator"]),
        ("empty", small["id"], world.ids["other_coordinator"]),
    ):

        def build(session, assessment_id=assessment_id, user_id=user_id):
            user = accounts.get_user(session, user_id)
            assessment = assessment_service.get_assessment(
                session, user=user, assessment_id=assessment_id
            )
            figures = context.position_figures(session, assessment, k=5)
            context.build_gap_report(
                session, user=user, assessment=assessment, locale="en", figures=figures
            )
            context.build_action_plan(
                session, user=user, assessment=assessment, locale="en", today=date.today()
            )

        counts[name] = count_queries(app_client, build)
    # 96 answers, 26 targets, 100+ plan items and a previous cycle cost no more queries than
    # an empty assessment with a previous cycle: nothing is loaded row by row.
    assert counts["full"] == counts["empty"], counts
    assert counts["full"] <= 20, counts
