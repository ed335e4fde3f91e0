"""Every API route that takes an assessment id, tried as a user of another country.

The sweep reads the application's OpenAPI description, so an endpoint added later is
covered without editing this test (the web pages have isolation tests of their own). A
cross-country call must answer exactly as for an id that does not exist, and must hold none
of the assessment's data.
"""

import re

SAMPLE = {"capability_id": "legislation", "area_id": "policy"}
MISSING_ID = 987654321


def _path(template: str, assessment_id: int, indicator_id: str) -> str:
    values = {**SAMPLE, "assessment_id": str(assessment_id), "indicator_id": indicator_id}
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), template)


def test_no_route_reveals_another_countrys_assessment(world, app_client):
    catalogue = app_client.app.state.catalogue.catalogue
    indicator_id = catalogue.capability("legislation").indicators[0].id
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"Z{world.tag}"}
    ).json()
    world.put(
        "coordinator",
        f"/api/v1/assessments/{created['id']}/answers/legislation/{indicator_id}",
        {
            "version": 0,
            "response": "level",
            "level": 2,
            "evidence_notes": f"confidential-{world.tag}",
        },
    )

    paths = {
        path: methods
        for path, methods in app_client.app.openapi()["paths"].items()
        if "{assessment_id}" in path
    }
    assert len(paths) >= 15
    tried = 0
    for template, methods in paths.items():
        for method in sorted(m.upper() for m in methods):
            real = _path(template, created["id"], indicator_id)
            missing = _path(template, MISSING_ID, indicator_id)
            answer = world.client.request(
                method, real, json={}, headers=world.headers("other_coordinator")
            )
            baseline = world.client.request(
                method, missing, json={}, headers=world.headers("other_coordinator")
            )
            # Same answer as for an id that does not exist: no existence oracle.
            assert answer.status_code == baseline.status_code, (method, template)
            assert answer.status_code in (404, 422), (method, template, answer.status_code)
            for secret in (f"Z{world.tag}", f"confidential-{world.tag}", "Arvenia"):
                assert secret not in answer.text, (method, template)
            tried += 1
    assert tried >= 20
